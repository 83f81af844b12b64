// Renewal policies: the default from the first migration, set/get/list and
// delete rules.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class PolicyStoreTest : public StoreTest {
 protected:
  PolicyStore& policies() { return store().policies(); }

  PolicyRecord Production() {
    PolicyRecord policy;
    policy.name = "prod-iis6";
    policy.description = "Production IIS 6 hosts";
    policy.hosts.labels = {{"env", "prod"}};
    policy.hosts.hostname_pattern = "web-*";
    policy.priority = 10;
    policy.renew_when_remaining_fraction = 0.25;
    policy.renew_before = absl::Hours(24 * 30);
    policy.jitter = absl::Hours(6);
    policy.key_spec = "RSA_3072";
    policy.signature_hash = "SHA256";
    policy.connector = "manual";
    policy.ca_product = "Enterprise SSL (SHA-256)";
    policy.initial_backoff = absl::Minutes(30);
    policy.maximum_backoff = absl::Hours(12);
    policy.settings = std::string("\x52\x02\x08\x01", 4);
    policy.updated_at = now();
    policy.updated_by = "alice";
    return policy;
  }
};

TEST_F(PolicyStoreTest, DefaultPolicyExistsAfterMigration) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(PolicyRecord policy, policies().GetPolicy("default"));
  EXPECT_DOUBLE_EQ(policy.renew_when_remaining_fraction, 1.0 / 3.0);
  EXPECT_EQ(policy.key_spec, "RSA_2048");
  EXPECT_EQ(policy.signature_hash, "SHA256");
  EXPECT_EQ(policy.connector, "local");
  EXPECT_EQ(policy.renew_before, std::nullopt);
  EXPECT_EQ(policy.hosts, HostSelectorRecord{});
  EXPECT_FALSE(policy.description.empty());
}

TEST_F(PolicyStoreTest, SetGetAndReplaceKeepEveryField) {
  const PolicyRecord production = Production();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(PolicyRecord stored, policies().SetPolicy(production));
  EXPECT_EQ(stored.name, production.name);
  EXPECT_EQ(stored.hosts, production.hosts);
  EXPECT_EQ(stored.priority, 10);
  EXPECT_DOUBLE_EQ(stored.renew_when_remaining_fraction, 0.25);
  EXPECT_EQ(stored.renew_before, absl::Hours(24 * 30));
  EXPECT_EQ(stored.jitter, absl::Hours(6));
  EXPECT_EQ(stored.key_spec, "RSA_3072");
  EXPECT_EQ(stored.connector, "manual");
  EXPECT_EQ(stored.ca_product, "Enterprise SSL (SHA-256)");
  EXPECT_EQ(stored.initial_backoff, absl::Minutes(30));
  EXPECT_EQ(stored.maximum_backoff, absl::Hours(12));
  EXPECT_EQ(stored.settings, production.settings);
  EXPECT_EQ(stored.updated_at, now());
  EXPECT_EQ(stored.updated_by, "alice");

  PolicyRecord changed = production;
  changed.connector = "local";
  changed.renew_before.reset();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(stored, policies().SetPolicy(changed));
  EXPECT_EQ(stored.connector, "local");
  EXPECT_EQ(stored.renew_before, std::nullopt);
  EXPECT_EQ(policies().ListPolicies()->size(), 2u);
}

TEST_F(PolicyStoreTest, ListIsByPriorityThenName) {
  PolicyRecord high = Production();
  ASSERT_THAT(policies().SetPolicy(high), IsOk());
  PolicyRecord also_high = Production();
  also_high.name = "a-first";
  ASSERT_THAT(policies().SetPolicy(also_high), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<PolicyRecord> listed, policies().ListPolicies());
  std::vector<std::string> names;
  for (const PolicyRecord& policy : listed) names.push_back(policy.name);
  EXPECT_THAT(names, ElementsAre("a-first", "prod-iis6", "default"));
}

TEST_F(PolicyStoreTest, InvalidPoliciesAreRefused) {
  PolicyRecord bad_name = Production();
  bad_name.name = "Prod IIS";
  EXPECT_THAT(policies().SetPolicy(bad_name),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'Prod IIS'")));
  PolicyRecord bad_fraction = Production();
  bad_fraction.renew_when_remaining_fraction = 1.5;
  EXPECT_THAT(policies().SetPolicy(bad_fraction),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("between 0 and 1")));
}

TEST_F(PolicyStoreTest, DeleteRemovesButNeverTheDefault) {
  ASSERT_THAT(policies().SetPolicy(Production()), IsOk());
  EXPECT_THAT(policies().DeletePolicy("prod-iis6"), IsOk());
  EXPECT_THAT(policies().GetPolicy("prod-iis6"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no policy named prod-iis6")));
  EXPECT_THAT(policies().DeletePolicy("prod-iis6"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(policies().DeletePolicy("default"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot be deleted")));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
