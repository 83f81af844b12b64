// Finding certificates that expire with no renewal planned, against a real
// in-memory SQLite store: in the window without an order (found), with an
// open order, outside the window, unbound, and governed by a policy that
// renews later (none found); and the webhook delivery's stable event id.

#include "controller/notifications/unplanned_expiry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::notifications {
namespace {

using ::certfleet::testing::IsOk;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class UnplannedExpiryTest : public store::testing::StoreTest {
 protected:
  // Enrolls `hostname` with one site "Shop" bound to a certificate expiring
  // `days_left` days from now, and an unbound one expiring as soon.
  store::HostRecord HostExpiringIn(const std::string& hostname, int number, int days_left) {
    store::HostRecord host = Enroll(hostname);
    store::CertificateRecord bound =
        store::testing::MakeCertificate(number, now() + absl::Hours(24 * days_left));
    bound.subject_name.common_name = "www." + hostname;
    store::InventoryReport report = ReportWithOneSite(host.host_id, "h1", bound);
    report.certificates.push_back(
        store::testing::MakeCertificate(number + 100, now() + absl::Hours(24 * days_left)));
    EXPECT_THAT(store().inventory().IngestInventory(report, now()), IsOk());
    return host;
  }
};

TEST_F(UnplannedExpiryTest, FindsOnlyBoundCertificatesInTheWindowThatNobodyRenews) {
  const store::HostRecord forgotten = HostExpiringIn("web-01", 1, 12);
  const store::HostRecord renewing = HostExpiringIn("web-02", 2, 12);
  HostExpiringIn("web-03", 3, 60);
  store::NewOrder order;
  order.host_id = renewing.host_id;
  order.site_id = "1";
  order.binding_id = "1";
  order.connector = "local";
  order.created_at = now();
  ASSERT_THAT(store().orders().CreateOrder(order), IsOk());

  absl::StatusOr<std::vector<UnplannedExpiry>> found =
      FindUnplannedExpiries(store(), now(), kDefaultExpiryWarning);
  ASSERT_THAT(found, IsOk());
  ASSERT_THAT(*found, SizeIs(1));
  EXPECT_EQ((*found)[0].hostname, "web-01");
  EXPECT_EQ((*found)[0].binding.binding_id, "1");
  EXPECT_EQ((*found)[0].certificate.thumbprint_sha1,
            store::testing::MakeCertificate(1, now()).thumbprint_sha1);
  EXPECT_TRUE((*found)[0].certificate.der.empty());

  const v1::WebhookDelivery delivery = UnplannedExpiryDelivery((*found)[0], now());
  EXPECT_EQ(delivery.event(), v1::WEBHOOK_EVENT_CERTIFICATE_UNPLANNED_EXPIRY);
  EXPECT_EQ(delivery.summary(),
            "web-01 / Shop: www.web-01 expires in 12 days and no renewal is planned");
  EXPECT_EQ(delivery.certificate().hostname(), "web-01");
  EXPECT_EQ(delivery.certificate().bound_sites(0).site_name(), "Shop");
  Advance(absl::Hours(1));
  EXPECT_EQ(UnplannedExpiryDelivery((*found)[0], now()).event_id(), delivery.event_id())
      << "one event per binding and certificate, however often it is found";
  EXPECT_NE(delivery.event_id().find(forgotten.host_id), std::string::npos);
}

TEST_F(UnplannedExpiryTest, APolicyThatRenewsLaterIsAPlan) {
  // Renew in the last 1% of a year (3.65 days): at 12 days left the
  // scheduler has not opened an order yet, and will.
  store::PolicyRecord late = *store().policies().GetPolicy("default");
  late.name = "late";
  late.priority = 10;
  late.hosts.hostname_pattern = "late-*";
  late.renew_when_remaining_fraction = 0.01;
  late.jitter = absl::ZeroDuration();
  ASSERT_THAT(store().policies().SetPolicy(late), IsOk());
  HostExpiringIn("late-01", 1, 12);
  absl::StatusOr<std::vector<UnplannedExpiry>> found =
      FindUnplannedExpiries(store(), now(), kDefaultExpiryWarning);
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(*found, IsEmpty());

  Advance(absl::Hours(24 * 10));  // 2 days left: due for 1.65 days, still no order.
  found = FindUnplannedExpiries(store(), now(), kDefaultExpiryWarning);
  ASSERT_THAT(found, IsOk());
  EXPECT_THAT(*found, SizeIs(1));
}

}  // namespace
}  // namespace certfleet::controller::notifications
