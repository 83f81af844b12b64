#include "controller/admin/record_conversion.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace certfleet::controller::admin {
namespace {

TEST(RecordConversionTest, OrderStatesRoundTripAndUnspecifiedIsRefused) {
  for (store::OrderState state : {store::OrderState::kDue, store::OrderState::kCsrRequested,
                                  store::OrderState::kAwaitingIssuance, store::OrderState::kIssued,
                                  store::OrderState::kDeploying, store::OrderState::kVerifying,
                                  store::OrderState::kDone, store::OrderState::kFailed,
                                  store::OrderState::kRolledBack, store::OrderState::kCancelled}) {
    const v1::OrderState wire = ToOrderStateProto(state);
    EXPECT_NE(wire, v1::ORDER_STATE_UNSPECIFIED) << store::ToString(state);
    absl::StatusOr<store::OrderState> back = FromOrderStateProto(wire);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, state);
  }
  EXPECT_EQ(ToOrderStateProto(store::OrderState::kAwaitingIssuance),
            v1::ORDER_STATE_AWAITING_ISSUANCE);
  EXPECT_FALSE(FromOrderStateProto(v1::ORDER_STATE_UNSPECIFIED).ok());
}

TEST(RecordConversionTest, SubjectAlternativeNamesKeepTheirKind) {
  v1::SubjectAlternativeName dns = ToSubjectAlternativeNameProto("DNS:www.example.test");
  EXPECT_EQ(dns.kind(), v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
  EXPECT_EQ(dns.value(), "www.example.test");
  v1::SubjectAlternativeName ip = ToSubjectAlternativeNameProto("IP:10.0.0.5");
  EXPECT_EQ(ip.kind(), v1::SUBJECT_ALTERNATIVE_NAME_KIND_IP_ADDRESS);
  EXPECT_EQ(ip.value(), "10.0.0.5");
  v1::SubjectAlternativeName odd = ToSubjectAlternativeNameProto("othername:x");
  EXPECT_EQ(odd.kind(), v1::SUBJECT_ALTERNATIVE_NAME_KIND_UNSPECIFIED);
  EXPECT_EQ(odd.value(), "othername:x");
}

TEST(RecordConversionTest, PolicyRoundTripsThroughTheWire) {
  v1::RenewalPolicy wire;
  wire.set_name("web");
  wire.set_priority(7);
  wire.set_renew_when_remaining_fraction(0.25);
  wire.mutable_renew_before()->set_seconds(30 * 86400);
  wire.set_key_spec(v1::KEY_SPEC_RSA_3072);
  wire.set_connector("manual");
  wire.mutable_hosts()->set_hostname_pattern("web-*");
  wire.set_restart_policy(v1::RESTART_POLICY_ALWAYS);
  absl::StatusOr<store::PolicyRecord> record = FromPolicyProto(wire);
  ASSERT_TRUE(record.ok()) << record.status();
  EXPECT_EQ(record->key_spec, "RSA_3072");
  EXPECT_EQ(record->signature_hash, "SHA256");
  EXPECT_EQ(record->renew_before, absl::Hours(24 * 30));
  const v1::RenewalPolicy back = ToPolicyProto(*record);
  EXPECT_EQ(back.name(), "web");
  EXPECT_EQ(back.priority(), 7);
  EXPECT_DOUBLE_EQ(back.renew_when_remaining_fraction(), 0.25);
  EXPECT_EQ(back.key_spec(), v1::KEY_SPEC_RSA_3072);
  EXPECT_EQ(back.connector(), "manual");
  EXPECT_EQ(back.hosts().hostname_pattern(), "web-*");
  EXPECT_EQ(back.restart_policy(), v1::RESTART_POLICY_ALWAYS);

  wire.clear_name();
  EXPECT_THAT(FromPolicyProto(wire).status(),
              certfleet::testing::StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RecordConversionTest, PageSizeIsCappedAtTheStoreMaximum) {
  v1::PageRequest page;
  page.set_page_size(1'000'000);
  page.set_page_token("abc");
  store::PageRequest converted = FromPageRequest(page);
  EXPECT_EQ(converted.page_size, store::kMaximumPageSize);
  EXPECT_EQ(converted.page_token, "abc");
}

}  // namespace
}  // namespace certfleet::controller::admin
