#include "controller/renewal/renewal_policy.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace certfleet::controller::renewal {
namespace {

const absl::Time kNotBefore = absl::FromUnixSeconds(1700000000);
const absl::Time kNotAfter = kNotBefore + absl::Hours(24 * 90);

store::PolicyRecord DefaultPolicy() {
  store::PolicyRecord policy;
  policy.name = "default";
  return policy;
}

store::CertificateRecord Certificate(std::string thumbprint) {
  store::CertificateRecord certificate;
  certificate.thumbprint_sha1 = std::move(thumbprint);
  certificate.not_before = kNotBefore;
  certificate.not_after = kNotAfter;
  return certificate;
}

TEST(RenewalPointTest, DefaultIsWhenAThirdOfTheLifetimeRemains) {
  EXPECT_EQ(RenewalPoint(DefaultPolicy(), kNotBefore, kNotAfter), kNotAfter - absl::Hours(24 * 30));
}

TEST(RenewalPointTest, RenewBeforeWinsOverTheFraction) {
  store::PolicyRecord policy = DefaultPolicy();
  policy.renew_before = absl::Hours(24 * 10);
  EXPECT_EQ(RenewalPoint(policy, kNotBefore, kNotAfter), kNotAfter - absl::Hours(24 * 10));
  policy.renew_before.reset();
  policy.renew_when_remaining_fraction = 0.5;
  EXPECT_EQ(RenewalPoint(policy, kNotBefore, kNotAfter), kNotAfter - absl::Hours(24 * 45));
}

TEST(JitterTest, OffsetIsStableAndWithinTheRange) {
  std::set<int64_t> offsets;
  for (int index = 0; index < 200; ++index) {
    const std::string key = absl::StrCat("binding-", index);
    const absl::Duration offset = JitterOffset(key, absl::Hours(6));
    EXPECT_GE(offset, absl::ZeroDuration());
    EXPECT_LT(offset, absl::Hours(6));
    EXPECT_EQ(offset, JitterOffset(key, absl::Hours(6))) << "the offset must survive a restart";
    offsets.insert(absl::ToInt64Seconds(offset));
  }
  // Spread, not one value for everyone.
  EXPECT_GT(offsets.size(), 150u);
  EXPECT_EQ(JitterOffset("binding-1", absl::ZeroDuration()), absl::ZeroDuration());
}

TEST(RenewalDueAtTest, JitterOnlyMovesTheDueTimeEarlier) {
  store::PolicyRecord policy = DefaultPolicy();
  policy.jitter = absl::Hours(12);
  const absl::Time point = RenewalPoint(policy, kNotBefore, kNotAfter);
  bool some_earlier = false;
  for (int index = 0; index < 50; ++index) {
    const absl::Time due = RenewalDueAt(policy, absl::StrCat("binding-", index), Certificate("AB"));
    EXPECT_LE(due, point);
    EXPECT_GT(due, point - absl::Hours(12));
    some_earlier = some_earlier || due < point;
  }
  EXPECT_TRUE(some_earlier);
}

TEST(RenewalDueAtTest, ShortLivedCertificatesKeepHalfTheirLifeBeforeThePoint) {
  store::PolicyRecord policy = DefaultPolicy();
  policy.jitter = absl::Hours(24 * 365);
  store::CertificateRecord certificate = Certificate("AB");
  certificate.not_after = kNotBefore + absl::Hours(3);
  const absl::Time point = RenewalPoint(policy, certificate.not_before, certificate.not_after);
  const absl::Time due = RenewalDueAt(policy, "binding", certificate);
  EXPECT_GE(due, certificate.not_before + (point - certificate.not_before) / 2);
  EXPECT_LE(due, point);
}

TEST(NextRetryAtTest, BacksOffExponentiallyUpToTheMaximum) {
  store::PolicyRecord policy = DefaultPolicy();
  policy.initial_backoff = absl::Minutes(5);
  policy.maximum_backoff = absl::Minutes(30);
  const absl::Time now = kNotBefore;
  const absl::Time far = now + absl::Hours(24 * 365);
  EXPECT_EQ(NextRetryAt(policy, 1, now, far), now + absl::Minutes(5));
  EXPECT_EQ(NextRetryAt(policy, 2, now, far), now + absl::Minutes(10));
  EXPECT_EQ(NextRetryAt(policy, 3, now, far), now + absl::Minutes(20));
  EXPECT_EQ(NextRetryAt(policy, 4, now, far), now + absl::Minutes(30));
  EXPECT_EQ(NextRetryAt(policy, 40, now, far), now + absl::Minutes(30));
}

TEST(NextRetryAtTest, NeverRunsPastExpiry) {
  store::PolicyRecord policy = DefaultPolicy();
  policy.initial_backoff = absl::Hours(1);
  policy.maximum_backoff = absl::Hours(48);
  const absl::Time now = kNotBefore;
  // Ten hours left: the retry comes after at most half of them.
  EXPECT_EQ(NextRetryAt(policy, 6, now, now + absl::Hours(10)), now + absl::Hours(5));
  // Close to expiry retries come often but not in a loop.
  EXPECT_EQ(NextRetryAt(policy, 6, now, now + absl::Seconds(30)), now + kMinimumRetryDelay);
  // Unknown expiry: the backoff alone.
  EXPECT_EQ(NextRetryAt(policy, 2, now, absl::InfiniteFuture()), now + absl::Hours(2));
}

TEST(SelectPolicyTest, FirstMatchingPolicyElseDefault) {
  store::HostRecord host;
  host.host_id = "h1";
  host.hostname = "WEB01.example.com";
  host.labels = {{"env", "prod"}};
  store::PolicyRecord by_label;
  by_label.name = "prod";
  by_label.hosts.labels = {{"env", "prod"}};
  store::PolicyRecord by_name;
  by_name.name = "web";
  by_name.hosts.hostname_pattern = "web*";
  store::PolicyRecord staging;
  staging.name = "staging";
  staging.hosts.labels = {{"env", "staging"}};
  const std::vector<store::PolicyRecord> policies = {DefaultPolicy(), staging, by_label, by_name};
  EXPECT_EQ(SelectPolicy(policies, host)->name, "prod");
  host.labels.clear();
  EXPECT_EQ(SelectPolicy(policies, host)->name, "web") << "the glob ignores case";
  host.hostname = "db01";
  EXPECT_EQ(SelectPolicy(policies, host)->name, "default");
  EXPECT_EQ(SelectPolicy({staging}, host), nullptr);
}

}  // namespace
}  // namespace certfleet::controller::renewal
