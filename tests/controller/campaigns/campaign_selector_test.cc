#include "controller/campaigns/campaign_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "certfleet/v1/common.pb.h"
#include "tests/support/status_matchers.h"

namespace certfleet::controller::campaigns {
namespace {

using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

store::HostRecord Iis6Host() {
  store::HostRecord host;
  host.host_id = "host-1";
  host.hostname = "web01.example.com";
  host.labels = {{"env", "prod"}, {"region", "eu"}};
  host.platform.driver = "iis6";
  host.platform.web_server = "IIS 6.0";
  v1::HostCapabilities capabilities;
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_2048);
  capabilities.add_supported_key_specs(v1::KEY_SPEC_RSA_4096);
  capabilities.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA1);
  capabilities.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA256);
  host.capabilities = capabilities.SerializeAsString();
  return host;
}

store::BindingRecord Binding() {
  store::BindingRecord binding;
  binding.binding_id = "binding-1";
  binding.site_id = "1";
  binding.site_name = "Default Web Site";
  binding.certificate_thumbprint = "AAAA";
  return binding;
}

store::CertificateRecord Sha1Certificate() {
  store::CertificateRecord certificate;
  certificate.thumbprint_sha1 = "AAAA";
  certificate.issuer = "CN=Old Issuing CA,O=Example Trust,C=US";
  certificate.key_algorithm = "RSA";
  certificate.key_bits = 1024;
  certificate.signature_hash = "SHA1";
  certificate.not_before = kNow - absl::Hours(24 * 300);
  certificate.not_after = kNow + absl::Hours(24 * 60);
  return certificate;
}

class CampaignSelectorTest : public ::testing::Test {
 protected:
  SelectionDecision Select(const SelectionCriteria& criteria,
                           const CaProductOf& ca_product_of = {}) {
    BindingCandidate candidate = candidate_;
    candidate.host = &host_;
    candidate.binding = &binding_;
    candidate.certificate = certificate_present_ ? &certificate_ : nullptr;
    return SelectBinding(criteria, candidate, kNow, ca_product_of);
  }

  store::HostRecord host_ = Iis6Host();
  store::BindingRecord binding_ = Binding();
  store::CertificateRecord certificate_ = Sha1Certificate();
  bool certificate_present_ = true;
  BindingCandidate candidate_;
};

TEST_F(CampaignSelectorTest, EmptyCriteriaSelectEveryBindingWithACertificate) {
  EXPECT_EQ(Select({}).selection, Selection::kSelected);
}

TEST_F(CampaignSelectorTest, HostSelectorMatchesLabelsPatternAndIdsLikePolicies) {
  SelectionCriteria criteria;
  criteria.hosts.labels = {{"env", "prod"}};
  criteria.hosts.hostname_pattern = "WEB*.example.com";
  criteria.hosts.host_ids = {"host-1", "host-7"};
  EXPECT_EQ(Select(criteria).selection, Selection::kSelected);

  criteria.hosts.labels = {{"env", "staging"}};
  EXPECT_EQ(Select(criteria).selection, Selection::kNotSelected);
  criteria.hosts.labels.clear();
  criteria.hosts.hostname_pattern = "db*";
  EXPECT_EQ(Select(criteria).selection, Selection::kNotSelected);
  criteria.hosts.hostname_pattern.clear();
  criteria.hosts.host_ids = {"host-7"};
  EXPECT_EQ(Select(criteria).selection, Selection::kNotSelected);
}

TEST_F(CampaignSelectorTest, CertificateConditionsMustAllHold) {
  SelectionCriteria criteria;
  criteria.issuer_contains = "old issuing";
  criteria.key_algorithm = "RSA";
  criteria.key_bits = {1024, 2048};
  criteria.signature_hashes = {"MD5", "SHA1"};
  criteria.expiring_within = absl::Hours(24 * 60);
  EXPECT_EQ(Select(criteria).selection, Selection::kSelected);

  SelectionCriteria other_issuer = criteria;
  other_issuer.issuer_contains = "New CA";
  EXPECT_EQ(Select(other_issuer).selection, Selection::kNotSelected);
  SelectionCriteria ecdsa = criteria;
  ecdsa.key_algorithm = "ECDSA";
  EXPECT_EQ(Select(ecdsa).selection, Selection::kNotSelected);
  SelectionCriteria large_keys = criteria;
  large_keys.key_bits = {4096};
  EXPECT_EQ(Select(large_keys).selection, Selection::kNotSelected);
  SelectionCriteria sha256 = criteria;
  sha256.signature_hashes = {"SHA256"};
  EXPECT_EQ(Select(sha256).selection, Selection::kNotSelected);
}

TEST_F(CampaignSelectorTest, ExpiringWithinIsRelativeToNow) {
  SelectionCriteria criteria;
  criteria.expiring_within = absl::Hours(24 * 60) - absl::Seconds(1);
  EXPECT_EQ(Select(criteria).selection, Selection::kNotSelected);
  criteria.expiring_within = absl::Hours(24 * 60);
  EXPECT_EQ(Select(criteria).selection, Selection::kSelected);
}

TEST_F(CampaignSelectorTest, CaProductComesFromTheCallersHook) {
  SelectionCriteria criteria;
  criteria.ca_product = "Enterprise SSL (SHA-1)";
  EXPECT_EQ(Select(criteria).selection, Selection::kNotSelected) << "no hook: product unknown";
  std::string asked_for;
  const CaProductOf product_of = [&](const store::CertificateRecord& certificate) {
    asked_for = certificate.thumbprint_sha1;
    return std::string("enterprise ssl (sha-1)");
  };
  EXPECT_EQ(Select(criteria, product_of).selection, Selection::kSelected);
  EXPECT_EQ(asked_for, "AAAA");
  criteria.ca_product = "Enterprise SSL (SHA-256)";
  EXPECT_EQ(Select(criteria, product_of).selection, Selection::kNotSelected);
}

TEST_F(CampaignSelectorTest, BindingWithoutCertificate) {
  binding_.certificate_thumbprint.clear();
  certificate_present_ = false;
  const SelectionDecision decision = Select({});
  EXPECT_EQ(decision.selection, Selection::kExcluded);
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_NO_CERTIFICATE);
  EXPECT_EQ(decision.detail, "site 'Default Web Site' on web01.example.com has no certificate");

  SelectionCriteria sha1;
  sha1.signature_hashes = {"SHA1"};
  EXPECT_EQ(Select(sha1).selection, Selection::kNotSelected)
      << "a certificate condition cannot hold without a certificate";

  binding_.certificate_thumbprint = "BBBB";
  EXPECT_THAT(Select({}).detail, HasSubstr("names certificate BBBB, which is not in the host's"));
}

TEST_F(CampaignSelectorTest, DecommissionedAndExcludedHosts) {
  SelectionCriteria criteria;
  criteria.exclude_host_ids = {"host-1"};
  SelectionDecision decision = Select(criteria);
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_HOST_EXCLUDED);
  EXPECT_EQ(decision.detail, "web01.example.com is excluded by the campaign");

  host_.state = store::HostState::kDecommissioned;
  decision = Select(criteria);
  EXPECT_EQ(decision.selection, Selection::kExcluded);
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_HOST_DECOMMISSIONED) << "checked first";
  EXPECT_EQ(decision.detail, "web01.example.com is decommissioned");
}

TEST_F(CampaignSelectorTest, OpenOrdersAndOtherCampaignsAreNamed) {
  candidate_.open_order_id = "order-12";
  candidate_.other_campaign_id = "campaign-3";
  SelectionDecision decision = Select({});
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_ORDER_IN_FLIGHT);
  EXPECT_THAT(decision.detail, HasSubstr("already has order order-12 in flight"));

  candidate_.open_order_id.clear();
  decision = Select({});
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_IN_OTHER_CAMPAIGN);
  EXPECT_THAT(decision.detail, HasSubstr("belongs to campaign campaign-3"));
}

TEST_F(CampaignSelectorTest, PlatformLimitsExcludeWhatTheHostCannotUse) {
  candidate_.key_spec = "ECDSA_P256";
  SelectionDecision decision = Select({});
  EXPECT_EQ(decision.selection, Selection::kExcluded);
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_UNSUPPORTED_BY_PLATFORM);
  EXPECT_THAT(decision.detail, HasSubstr("web01.example.com (IIS 6.0) cannot use ECDSA_P256 keys"));

  candidate_.key_spec = "RSA_4096";
  candidate_.signature_hash = "SHA384";
  decision = Select({});
  EXPECT_EQ(decision.reason, v1::EXCLUSION_REASON_UNSUPPORTED_BY_PLATFORM);
  EXPECT_THAT(decision.detail, HasSubstr("cannot validate SHA384 signatures"));

  candidate_.signature_hash = "SHA256";
  EXPECT_EQ(Select({}).selection, Selection::kSelected);
}

TEST(PlatformLimitTest, DefaultsAndUnknownCapabilities) {
  store::HostRecord host = Iis6Host();
  EXPECT_EQ(PlatformLimit(host, "", ""), std::nullopt) << "RSA_2048 and SHA256 by default";
  v1::HostCapabilities only_sha1;
  only_sha1.add_supported_key_specs(v1::KEY_SPEC_RSA_2048);
  only_sha1.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA1);
  host.capabilities = only_sha1.SerializeAsString();
  EXPECT_THAT(PlatformLimit(host, "", ""), ::testing::Optional(HasSubstr("SHA256")));
  host.capabilities.clear();
  EXPECT_EQ(PlatformLimit(host, "ECDSA_P384", "SHA512"), std::nullopt)
      << "nothing reported, nothing to judge by";
}

TEST(SelectionCriteriaTest, FromProto) {
  v1::CampaignSelector selector;
  (*selector.mutable_hosts()->mutable_labels())["env"] = "prod";
  selector.mutable_hosts()->set_hostname_pattern("web*");
  selector.add_exclude_host_ids("host-9");
  selector.set_issuer_contains("Old CA");
  selector.set_key_algorithm(v1::KEY_ALGORITHM_RSA);
  selector.add_key_bits(1024);
  selector.add_signature_hashes(v1::SIGNATURE_HASH_SHA1);
  selector.mutable_expiring_within()->set_seconds(86400 * 30);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const SelectionCriteria criteria,
                                 FromCampaignSelectorProto(selector));
  EXPECT_EQ(criteria.hosts.labels.at("env"), "prod");
  EXPECT_EQ(criteria.hosts.hostname_pattern, "web*");
  EXPECT_EQ(criteria.exclude_host_ids, std::vector<std::string>{"host-9"});
  EXPECT_EQ(criteria.key_algorithm, "RSA");
  EXPECT_EQ(criteria.key_bits, std::vector<int>{1024});
  EXPECT_EQ(criteria.signature_hashes, std::vector<std::string>{"SHA1"});
  EXPECT_EQ(criteria.expiring_within, absl::Hours(24 * 30));
  EXPECT_TRUE(criteria.HasCertificateConditions());
  EXPECT_FALSE(SelectionCriteria{}.HasCertificateConditions());
}

TEST(SelectionCriteriaTest, FromProtoRefusesBadValuesNamingTheField) {
  v1::CampaignSelector negative;
  negative.mutable_expiring_within()->set_seconds(-1);
  EXPECT_THAT(FromCampaignSelectorProto(negative),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("selector.expiring_within")));
  v1::CampaignSelector zero_bits;
  zero_bits.add_key_bits(0);
  EXPECT_THAT(FromCampaignSelectorProto(zero_bits),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("selector.key_bits")));
  v1::CampaignSelector unspecified_hash;
  unspecified_hash.add_signature_hashes(v1::SIGNATURE_HASH_UNSPECIFIED);
  EXPECT_THAT(FromCampaignSelectorProto(unspecified_hash),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("selector.signature_hashes: SIGNATURE_HASH_UNSPECIFIED")));
}

}  // namespace
}  // namespace certfleet::controller::campaigns
