// Tests of the inventory report: what the IIS 6 driver scans on an
// emulated host becomes a HostInventory that the controller's own
// conversion (controller/agents/inventory_conversion.h) accepts, with a
// content hash that ignores the scan time and follows every change.

#include "agent/session/inventory_report.h"

#include <string>

#include "absl/time/clock.h"
#include "agent/drivers/iis6/emulated_host_builder.h"
#include "agent/drivers/iis6/iis6_driver.h"
#include "controller/agents/inventory_conversion.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::agent::session {
namespace {

namespace v1 = certfleet::v1;
using ::certfleet::testing::IsOk;

class InventoryReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_ = testing::BuildTestHost(directory_.path() / "host");
    iis6::Iis6DriverSettings settings;
    settings.host_root = directory_.path() / "host";
    CERTFLEET_ASSERT_OK_AND_ASSIGN(driver_, iis6::Iis6Driver::Open(std::move(settings)));
    platform_.set_driver("iis6");
  }

  v1::HostInventory Scan(absl::Time at) {
    absl::StatusOr<HostInventory> inventory = driver_->ScanInventory();
    EXPECT_THAT(inventory, IsOk());
    return ToHostInventoryProto(*inventory, platform_, at);
  }

  testing::TemporaryDirectory directory_;
  iis6::EmulatedHost host_;
  std::unique_ptr<iis6::Iis6Driver> driver_;
  v1::Platform platform_;
};

TEST_F(InventoryReportTest, TheControllerAcceptsTheReport) {
  const v1::HostInventory report = Scan(absl::Now());
  EXPECT_EQ(report.sites_size(), static_cast<int>(host_.sites.size()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(controller::store::InventoryReport converted,
                                 controller::agents::FromHostInventoryProto("host-1", report, {}));
  EXPECT_EQ(converted.content_hash, report.content_hash());
  // One TLS binding per site with a secure binding, with its thumbprint.
  std::vector<std::string> thumbprints;
  for (const controller::store::BindingRecord& binding : converted.bindings) {
    thumbprints.push_back(binding.certificate_thumbprint);
  }
  for (const iis6::EmulatedSite& site : host_.sites) {
    if (!site.thumbprint.empty()) {
      EXPECT_THAT(thumbprints, ::testing::Contains(site.thumbprint));
    }
  }
  EXPECT_EQ(converted.bindings.size(), 2u);
  for (const v1::CertificateInfo& certificate : report.certificates()) {
    EXPECT_FALSE(certificate.der().empty());
    EXPECT_EQ(certificate.public_key_sha256().size(), 64u);
  }
}

TEST_F(InventoryReportTest, TheHashIgnoresTheScanTimeAndFollowsChanges) {
  const v1::HostInventory first = Scan(absl::Now());
  const v1::HostInventory again = Scan(absl::Now() + absl::Hours(1));
  EXPECT_EQ(first.content_hash(), again.content_hash());
  EXPECT_EQ(first.content_hash().size(), 64u);

  // A temporary site with a pending request: a different inventory, where
  // both are marked for what they are.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string site_id,
                                 driver_->CreateTemporarySite("certfleet-renewal-order-1"));
  crypto::DistinguishedName subject;
  subject.common_name = "www.example.test";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      crypto::CertificateRequest request,
      driver_->CreatePendingRequest(site_id, subject, {"www.example.test"},
                                    {crypto::KeyAlgorithm::kRsa, 2048}));
  const v1::HostInventory changed = Scan(absl::Now());
  EXPECT_NE(changed.content_hash(), first.content_hash());
  bool temporary = false;
  for (const v1::Site& site : changed.sites()) {
    if (site.site_id() == site_id) temporary = site.temporary();
  }
  EXPECT_TRUE(temporary);
  ASSERT_EQ(changed.pending_requests_size(), 1);
  const v1::PendingRequest& pending = changed.pending_requests(0);
  EXPECT_EQ(pending.site_id(), site_id);
  EXPECT_EQ(pending.public_key_sha256(), request.public_key().Sha256Fingerprint());
  EXPECT_EQ(pending.key_spec(), v1::KEY_SPEC_RSA_2048);
  EXPECT_FALSE(pending.placeholder_thumbprint().empty());
  EXPECT_THAT(controller::agents::FromHostInventoryProto("host-1", changed, {}), IsOk());
}

TEST_F(InventoryReportTest, AFailedScanIsReportedAsSuch) {
  const v1::HostInventory report =
      ScanFailureReport(absl::FailedPreconditionError("MetaBase.xml line 3: unterminated element"),
                        platform_, absl::Now());
  EXPECT_EQ(report.scan_failure().code(), v1::FAILURE_CODE_CORRUPT_CONFIGURATION);
  EXPECT_EQ(report.sites_size(), 0);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(controller::store::InventoryReport converted,
                                 controller::agents::FromHostInventoryProto("host-1", report, {}));
  ASSERT_TRUE(converted.scan_failure.has_value());
  EXPECT_THAT(converted.scan_failure->message, ::testing::HasSubstr("MetaBase.xml line 3"));
}

}  // namespace
}  // namespace certfleet::agent::session
