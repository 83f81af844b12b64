// Unit tests of FromHostInventoryProto: the host comes from the caller,
// enum spellings the store expects, and refusals naming the problem.

#include "controller/agents/inventory_conversion.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certfleet::controller::agents {
namespace {

namespace v1 = ::certfleet::v1;
using ::testing::HasSubstr;

v1::HostInventory OneSiteInventory() {
  v1::HostInventory inventory;
  inventory.mutable_scanned_at()->set_seconds(1'750'000'000);
  inventory.set_content_hash("hash-1");
  v1::Site* site = inventory.add_sites();
  site->set_site_id("1962875481");
  site->set_state(v1::SITE_STATE_STOPPED);
  v1::Binding* binding = inventory.add_bindings();
  binding->set_binding_id("1962875481");
  binding->set_site_id("1962875481");
  binding->add_secure_endpoints()->set_port(443);
  binding->set_certificate_thumbprint(std::string(40, 'a'));
  binding->set_certificate_store(v1::CERTIFICATE_STORE_MY);
  v1::CertificateInfo* certificate = inventory.add_certificates();
  certificate->set_thumbprint_sha1(std::string(40, 'a'));
  certificate->mutable_not_before()->set_seconds(1'700'000'000);
  certificate->mutable_not_after()->set_seconds(1'800'000'000);
  certificate->set_key_algorithm(v1::KEY_ALGORITHM_RSA);
  certificate->set_signature_hash(v1::SIGNATURE_HASH_SHA1);
  certificate->set_kind(v1::CERTIFICATE_KIND_LEAF);
  certificate->set_store(v1::CERTIFICATE_STORE_CA);
  v1::SubjectAlternativeName* name = certificate->add_subject_alternative_names();
  name->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_IP_ADDRESS);
  name->set_value("10.0.0.5");
  return inventory;
}

TEST(InventoryConversionTest, ConvertsForTheCallersHostWithStoreSpellings) {
  absl::StatusOr<store::InventoryReport> report =
      FromHostInventoryProto("host_1", OneSiteInventory());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->host_id, "host_1");
  EXPECT_EQ(report->scanned_at, absl::FromUnixSeconds(1'750'000'000));
  ASSERT_EQ(report->sites.size(), 1u);
  EXPECT_EQ(report->sites[0].state, "stopped");
  ASSERT_EQ(report->bindings.size(), 1u);
  EXPECT_EQ(report->bindings[0].certificate_thumbprint, std::string(40, 'A'));
  ASSERT_EQ(report->certificates.size(), 1u);
  const store::CertificateRecord& certificate = report->certificates[0];
  EXPECT_EQ(certificate.store, store::CertificateStoreName::kCa);
  EXPECT_EQ(certificate.key_algorithm, "RSA");
  EXPECT_EQ(certificate.signature_hash, "SHA1");
  EXPECT_EQ(certificate.kind, "LEAF");
  EXPECT_THAT(certificate.subject_alternative_names, ::testing::ElementsAre("IP:10.0.0.5"));
}

TEST(InventoryConversionTest, OversizedReportIsRefused) {
  v1::HostInventory inventory = OneSiteInventory();
  inventory.add_sites()->set_site_id("2");
  InventoryLimits limits;
  limits.max_sites = 1;
  absl::StatusOr<store::InventoryReport> report =
      FromHostInventoryProto("host_1", inventory, limits);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("the report has 2 sites; at most 1"));

  limits = InventoryLimits{};
  limits.max_certificate_bytes = 10;
  inventory = OneSiteInventory();
  inventory.mutable_certificates(0)->set_der(std::string(11, 'x'));
  report = FromHostInventoryProto("host_1", inventory, limits);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(report.status().message(), HasSubstr("DER of 11 bytes exceeds 10"));
}

TEST(InventoryConversionTest, MalformedItemsAreRefusedByName) {
  v1::HostInventory inventory = OneSiteInventory();
  inventory.add_sites()->set_site_id("1962875481");
  EXPECT_THAT(FromHostInventoryProto("host_1", inventory).status().message(),
              HasSubstr("site 1962875481 is reported twice"));

  inventory = OneSiteInventory();
  inventory.mutable_certificates(0)->set_thumbprint_sha1("ABC");
  EXPECT_THAT(FromHostInventoryProto("host_1", inventory).status().message(),
              HasSubstr("thumbprint_sha1 \"ABC\" is not 40 hex digits"));

  inventory = OneSiteInventory();
  inventory.mutable_certificates(0)->set_store(v1::CERTIFICATE_STORE_UNSPECIFIED);
  EXPECT_THAT(FromHostInventoryProto("host_1", inventory).status().message(),
              HasSubstr("certificate store is not set"));

  inventory = OneSiteInventory();
  inventory.clear_scanned_at();
  EXPECT_EQ(FromHostInventoryProto("host_1", inventory).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(InventoryConversionTest, ScanFailureSkipsContentChecks) {
  v1::HostInventory inventory = OneSiteInventory();
  inventory.mutable_bindings(0)->set_site_id("missing");
  inventory.mutable_scan_failure()->set_message("MetaBase.xml line 212: unterminated element");
  absl::StatusOr<store::InventoryReport> report = FromHostInventoryProto("host_1", inventory);
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_TRUE(report->scan_failure.has_value());
  EXPECT_EQ(report->scan_failure->message, "MetaBase.xml line 212: unterminated element");
}

TEST(InventoryConversionTest, ServedProbesBecomeStatusesOfTheirBindings) {
  v1::HostInventory inventory;
  auto add = [&](const std::string& binding_id, bool handshake, bool matches, bool complete) {
    v1::ServedProbe* served = inventory.add_served();
    served->set_binding_id(binding_id);
    v1::ProbeResult* probe = served->mutable_probe();
    probe->set_address("10.0.0.5:443");
    probe->mutable_probed_at()->set_seconds(1'750'000'000);
    probe->set_handshake_completed(handshake);
    probe->set_expected_thumbprint("AA");
    probe->set_served_thumbprint(handshake ? (matches ? "AA" : "BB") : "");
    probe->set_thumbprint_matches(matches);
    probe->set_chain_complete(complete);
    probe->set_chain_verifies(complete);
    if (!handshake) probe->set_problem("connection refused");
  };
  add("1", true, true, true);
  add("2", true, false, true);
  add("3", true, true, false);
  add("4", false, false, false);
  add("", true, true, true);  // no binding id: skipped

  const std::vector<store::BindingProbeRecord> records =
      FromServedProbes("host-1", inventory, absl::FromUnixSeconds(1'760'000'000));
  ASSERT_EQ(records.size(), 4u);
  EXPECT_EQ(records[0].status, store::ServedStatus::kMatches);
  EXPECT_EQ(records[0].host_id, "host-1");
  EXPECT_EQ(records[0].endpoint, "10.0.0.5:443");
  EXPECT_EQ(records[0].probed_at, absl::FromUnixSeconds(1'750'000'000));
  EXPECT_EQ(records[1].status, store::ServedStatus::kMismatch);
  EXPECT_THAT(records[1].detail, HasSubstr("serves BB instead of the bound AA"));
  EXPECT_EQ(records[2].status, store::ServedStatus::kIncompleteChain);
  EXPECT_EQ(records[3].status, store::ServedStatus::kUnreachable);
  EXPECT_EQ(records[3].detail, "connection refused");

  InventoryLimits limits;
  limits.max_bindings = 2;
  EXPECT_EQ(FromServedProbes("host-1", inventory, absl::Now(), limits).size(), 2u);
}

}  // namespace
}  // namespace certfleet::controller::agents
