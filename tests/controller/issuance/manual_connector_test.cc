#include "controller/issuance/manual_connector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/certificate_request.h"
#include "tests/support/status_matchers.h"

namespace certfleet::controller {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

crypto::CertificateRequest Csr() {
  static const crypto::PrivateKey key =
      *crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  crypto::DistinguishedName subject;
  subject.common_name = "www.example.test";
  return *crypto::CertificateRequest::Create(key, subject, {"www.example.test"});
}

IssuanceRequest Request(const crypto::CertificateRequest& csr) {
  return IssuanceRequest{.order_id = "ord-42",
                         .request = csr,
                         .ca_product = "Enterprise SSL (SHA-256)",
                         .hostname = "web01.example.test",
                         .site_name = "Shop",
                         .now = kNow};
}

TEST(ManualConnectorTest, SubmitLeavesTheOrderWaitingForAnOperator) {
  ManualConnector connector;
  EXPECT_EQ(connector.name(), "manual");
  absl::StatusOr<IssuanceResult> result = connector.Submit(Request(Csr()));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->state, IssuanceState::kPending);
  EXPECT_FALSE(result->leaf.has_value());
  EXPECT_TRUE(result->chain.empty());
  EXPECT_EQ(result->retry_at, absl::InfiniteFuture());
  EXPECT_EQ(result->message,
            "order ord-42 (web01.example.test, site 'Shop') waits for an operator: run "
            "`certfleetctl orders csr ord-42` to print its CSR, submit it at the CA's portal as "
            "product 'Enterprise SSL (SHA-256)', then run `certfleetctl cert upload FILE` with "
            "the certificate the CA returns (PEM, DER or PKCS#7; the order is found by its key)");
}

TEST(ManualConnectorTest, PollSaysTheSameBecauseOnlyAnUploadCompletesTheOrder) {
  ManualConnector connector;
  absl::StatusOr<IssuanceResult> result = connector.Poll(Request(Csr()), "");
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->state, IssuanceState::kPending);
  EXPECT_EQ(result->retry_at, absl::InfiniteFuture());
  EXPECT_THAT(result->message, HasSubstr("`certfleetctl cert upload FILE`"));
}

TEST(ManualConnectorTest, ATamperedCsrIsNotOfferedToAPerson) {
  std::string der = Csr().ToDer();
  der[der.find("www.example.test")] = 'x';
  absl::StatusOr<crypto::CertificateRequest> tampered = crypto::CertificateRequest::Parse(der);
  ASSERT_THAT(tampered, IsOk());
  ManualConnector connector;
  EXPECT_THAT(connector.Submit(Request(*tampered)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("order ord-42: CSR signature does not verify")));
}

}  // namespace
}  // namespace certfleet::controller
