#include "common/crypto/certificate_request.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/certificate_builder.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

DistinguishedName ShopSubject() {
  DistinguishedName subject;
  subject.common_name = "shop.example.test";
  subject.organization = "Example Trading K.K.";
  subject.country = "JP";
  return subject;
}

TEST(CertificateRequestTest, CreatesASignedRequestWithSubjectAndNames) {
  const PrivateKey& key = TestPki::Shared().rsa_leaf.key;
  absl::StatusOr<CertificateRequest> request = CertificateRequest::Create(
      key, ShopSubject(), {"shop.example.test", "www.shop.example.test"});
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->Subject(), ShopSubject());
  EXPECT_EQ(request->SubjectText(), "CN=shop.example.test,O=Example Trading K.K.,C=JP");
  EXPECT_THAT(request->DnsNames(), ElementsAre("shop.example.test", "www.shop.example.test"));
  EXPECT_EQ(request->public_key(), key.public_key());
  EXPECT_EQ(request->SignatureAlgorithm(), "sha256WithRSAEncryption");
  EXPECT_THAT(request->VerifySignature(), IsOk());
}

TEST(CertificateRequestTest, PemAndDerRoundTrip) {
  absl::StatusOr<CertificateRequest> request =
      CertificateRequest::Create(TestPki::Shared().leaf.key, ShopSubject(), {});
  ASSERT_THAT(request, IsOk());
  EXPECT_THAT(request->ToPem(), HasSubstr("-----BEGIN CERTIFICATE REQUEST-----"));
  for (const std::string& encoded : {request->ToPem(), request->ToDer()}) {
    absl::StatusOr<CertificateRequest> parsed = CertificateRequest::Parse(encoded);
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(parsed->ToDer(), request->ToDer());
    EXPECT_TRUE(parsed->DnsNames().empty());
  }
}

TEST(CertificateRequestTest, TamperedRequestFailsItsSignatureCheck) {
  absl::StatusOr<CertificateRequest> request =
      CertificateRequest::Create(TestPki::Shared().leaf.key, ShopSubject(), {"shop.example.test"});
  ASSERT_THAT(request, IsOk());
  std::string der = request->ToDer();
  // The subject's country code sits well inside the signed part; "JP" -> "JQ".
  const size_t country = der.find("JP");
  ASSERT_NE(country, std::string::npos);
  der[country + 1] = 'Q';
  absl::StatusOr<CertificateRequest> tampered = CertificateRequest::Parse(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_THAT(tampered->VerifySignature(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not verify")));
}

TEST(CertificateRequestTest, ParseSaysWhatTheInputIsInstead) {
  EXPECT_THAT(CertificateRequest::Parse(""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(CertificateRequest::Parse(TestPki::Shared().leaf.certificate.ToPem()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds something else")));
  EXPECT_THAT(CertificateRequest::Parse("-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("damaged or truncated")));
  EXPECT_THAT(CertificateRequest::Parse("\x30\x03\x02\x01"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a CSR")));
}

TEST(CertificateRequestTest, RefusesARequestWithNoNameAtAll) {
  EXPECT_THAT(CertificateRequest::Create(TestPki::Shared().leaf.key, DistinguishedName{}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subject")));
}

TEST(CertificateRequestTest, KeyRequestAndIssuedCertificateMatchByPublicKey) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate({KeyAlgorithm::kEcdsa, 256});
  ASSERT_THAT(key, IsOk());
  absl::StatusOr<CertificateRequest> request =
      CertificateRequest::Create(*key, ShopSubject(), {"shop.example.test"});
  ASSERT_THAT(request, IsOk());
  CertificateProfile profile;
  profile.not_before = pki.now;
  profile.not_after = pki.now + absl::Hours(24 * 90);
  absl::StatusOr<Certificate> issued = IssueFromRequest(*request, profile, pki.intermediate.certificate,
                                                        pki.intermediate.key);
  ASSERT_THAT(issued, IsOk());
  EXPECT_EQ(issued->public_key(), request->public_key());
  EXPECT_EQ(issued->public_key(), key->public_key());
  EXPECT_FALSE(issued->public_key() == pki.leaf.key.public_key());
}

}  // namespace
}  // namespace certfleet::crypto
