#include "controller/renewal/order_steps.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace certfleet::controller::renewal {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

store::CertificateRecord Current() {
  store::CertificateRecord certificate;
  certificate.subject_name.common_name = "www.example.com";
  certificate.subject_name.organization = "Old Name Ltd";
  certificate.subject_name.country = "JP";
  certificate.subject_alternative_names = {"DNS:www.example.com", "DNS:example.com"};
  return certificate;
}

TEST(RequestedNamesTest, KeepsTheCurrentNamesWithoutATemplate) {
  const store::CertificateRecord current = Current();
  RequestedNames names = RequestedNamesFor(&current, v1::SubjectTemplate(), "web01");
  EXPECT_EQ(names.subject, current.subject_name);
  EXPECT_THAT(names.subject_alternative_names,
              ElementsAre("DNS:www.example.com", "DNS:example.com"));
}

TEST(RequestedNamesTest, TemplateReplacesAttributesAndMergesNames) {
  const store::CertificateRecord current = Current();
  v1::SubjectTemplate subject_template;
  subject_template.set_organization("New Name KK");
  subject_template.set_country("");
  v1::SubjectAlternativeName* extra = subject_template.add_subject_alternative_names();
  extra->set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
  extra->set_value("shop.example.com");
  RequestedNames names = RequestedNamesFor(&current, subject_template, "web01");
  EXPECT_EQ(names.subject.common_name, "www.example.com");
  EXPECT_EQ(names.subject.organization, "New Name KK");
  EXPECT_EQ(names.subject.country, "") << "an empty value removes the attribute";
  EXPECT_THAT(names.subject_alternative_names,
              ElementsAre("DNS:www.example.com", "DNS:example.com", "DNS:shop.example.com"));

  subject_template.set_subject_alternative_name_mode(v1::SUBJECT_ALTERNATIVE_NAME_MODE_REPLACE);
  names = RequestedNamesFor(&current, subject_template, "web01");
  EXPECT_THAT(names.subject_alternative_names,
              ElementsAre("DNS:shop.example.com", "DNS:www.example.com"))
      << "the common name is always requested as a DNS name";
}

TEST(RequestedNamesTest, FallsBackToTheHostNameWithoutACertificate) {
  RequestedNames names = RequestedNamesFor(nullptr, v1::SubjectTemplate(), "web01.example.com");
  EXPECT_EQ(names.subject.common_name, "web01.example.com");
  EXPECT_THAT(names.subject_alternative_names, ElementsAre("DNS:web01.example.com"));
  names = RequestedNamesFor(nullptr, v1::SubjectTemplate(), "Payroll Portal");
  EXPECT_TRUE(names.subject_alternative_names.empty()) << "not a host name";
}

store::OrderRecord OrderIn(store::OrderState state) {
  store::OrderRecord order;
  order.order_id = "ord-1";
  order.host_id = "host-1";
  order.site_id = "1";
  order.binding_id = "1";
  order.state = state;
  order.previous_thumbprint = "AA";
  order.key_spec = "RSA_3072";
  order.signature_hash = "SHA256";
  order.subject.common_name = "www.example.com";
  order.subject_alternative_names = {"DNS:www.example.com"};
  return order;
}

store::JobRecord JobOf(store::JobKind kind) {
  store::JobRecord job;
  job.job_id = "job-1";
  job.order_id = "ord-1";
  job.kind = kind;
  return job;
}

TEST(PrepareJobTest, CarriesTheOrdersRequest) {
  v1::JobSpec spec = PrepareJobFor(OrderIn(store::OrderState::kDue));
  ASSERT_TRUE(spec.has_prepare());
  EXPECT_EQ(spec.prepare().key_spec(), v1::KEY_SPEC_RSA_3072);
  EXPECT_EQ(spec.prepare().expected_current_thumbprint(), "AA");
  EXPECT_EQ(spec.prepare().temporary_site_name(), "certfleet-renewal-ord-1");
  EXPECT_EQ(spec.prepare().subject().common_name(), "www.example.com");
  ASSERT_EQ(spec.prepare().subject_alternative_names_size(), 1);
  EXPECT_EQ(spec.prepare().subject_alternative_names(0).value(), "www.example.com");
}

TEST(DeployJobTest, RefusesAnOrderWhoseCertificateDoesNotParse) {
  store::OrderRecord order = OrderIn(store::OrderState::kIssued);
  order.certificate_pem = "not a certificate";
  absl::StatusOr<v1::JobSpec> spec = DeployJobFor(order, v1::RenewalPolicy());
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(spec.status().message()), HasSubstr("ord-1"));
}

TEST(TransitionForResultTest, RetryableFailureIsRetriedAtTheGivenTime) {
  store::JobResultRecord result;
  result.outcome = store::JobOutcome::kFailed;
  result.failure = store::FailureRecord{
      .code = "FAILURE_CODE_IO_ERROR", .message = "disk full", .retryable = true, .diagnosis = {}};
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  std::optional<store::OrderTransition> transition =
      TransitionForResult(OrderIn(store::OrderState::kCsrRequested),
                          JobOf(store::JobKind::kPrepare), result, now + absl::Minutes(5), now);
  ASSERT_TRUE(transition.has_value());
  EXPECT_EQ(transition->to, store::OrderState::kFailed);
  EXPECT_EQ(transition->expected_state, store::OrderState::kCsrRequested);
  EXPECT_EQ(transition->next_attempt_at, now + absl::Minutes(5));
  EXPECT_THAT(transition->reason, HasSubstr("disk full"));

  result.failure->retryable = false;
  transition =
      TransitionForResult(OrderIn(store::OrderState::kCsrRequested),
                          JobOf(store::JobKind::kPrepare), result, now + absl::Minutes(5), now);
  ASSERT_TRUE(transition.has_value());
  EXPECT_FALSE(transition->next_attempt_at.has_value()) << "closes the order";
}

TEST(TransitionForResultTest, NothingForAnOrderThatMovedOnOrAJobOutsideIt) {
  store::JobResultRecord result;
  result.outcome = store::JobOutcome::kSucceeded;
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  store::OrderRecord cancelled = OrderIn(store::OrderState::kCancelled);
  cancelled.open = false;
  EXPECT_FALSE(
      TransitionForResult(cancelled, JobOf(store::JobKind::kDeploy), result, now, now).has_value());
  EXPECT_FALSE(TransitionForResult(OrderIn(store::OrderState::kAwaitingIssuance),
                                   JobOf(store::JobKind::kPrepare), result, now, now)
                   .has_value())
      << "a repeated prepare result";
  EXPECT_FALSE(TransitionForResult(OrderIn(store::OrderState::kDeploying),
                                   JobOf(store::JobKind::kInventory), result, now, now)
                   .has_value());
}

TEST(TransitionForResultTest, DeploySuccessGoesToVerifying) {
  store::JobResultRecord result;
  result.outcome = store::JobOutcome::kSucceeded;
  v1::JobResult detail;
  v1::ProbeResult* probe = detail.mutable_deploy()->add_verification();
  probe->set_address("127.0.0.2:8443");
  probe->set_served_thumbprint("BB");
  probe->set_chain_verifies(true);
  result.detail = detail.SerializeAsString();
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  std::optional<store::OrderTransition> transition = TransitionForResult(
      OrderIn(store::OrderState::kDeploying), JobOf(store::JobKind::kDeploy), result, now, now);
  ASSERT_TRUE(transition.has_value());
  EXPECT_EQ(transition->to, store::OrderState::kVerifying);
  EXPECT_THAT(transition->reason, HasSubstr("127.0.0.2:8443 serves BB with a verified chain"));
}

}  // namespace
}  // namespace certfleet::controller::renewal
