#include "common/crypto/certificate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

std::string DigestHex(const std::string& bytes, const EVP_MD* algorithm) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, algorithm, nullptr);
  return HexUpper(std::string_view(reinterpret_cast<char*>(digest), length));
}

TEST(CertificateTest, ThumbprintIsSha1OfDerAsIisWritesIt) {
  const Certificate& leaf = TestPki::Shared().leaf.certificate;
  EXPECT_THAT(leaf.Thumbprint(), MatchesRegex("^[0-9A-F]{40}$"));
  EXPECT_EQ(leaf.Thumbprint(), DigestHex(leaf.ToDer(), EVP_sha1()));
  EXPECT_EQ(leaf.Sha256Fingerprint(), DigestHex(leaf.ToDer(), EVP_sha256()));
}

TEST(CertificateTest, ExposesNamesValidityAndKey) {
  const TestPki& pki = TestPki::Shared();
  const Certificate& leaf = pki.leaf.certificate;
  EXPECT_EQ(leaf.SubjectText(), "CN=www.example.test,O=certfleet tests");
  EXPECT_EQ(leaf.IssuerText(), "CN=certfleet Test Intermediate CA,O=certfleet tests");
  EXPECT_EQ(leaf.Subject().common_name, "www.example.test");
  EXPECT_EQ(leaf.Issuer().common_name, "certfleet Test Intermediate CA");
  EXPECT_THAT(leaf.SubjectAlternativeNames(), ElementsAre("DNS:www.example.test"));
  EXPECT_THAT(leaf.DnsNames(), ElementsAre("www.example.test"));
  EXPECT_EQ(leaf.NotBefore(), pki.now - absl::Hours(24 * 10));
  EXPECT_EQ(leaf.NotAfter(), pki.now + absl::Hours(24 * 80));
  EXPECT_TRUE(leaf.IsValidAt(pki.now));
  EXPECT_FALSE(leaf.IsValidAt(pki.now + absl::Hours(24 * 81)));
  EXPECT_EQ(leaf.public_key().Description(), "ECDSA P-256");
  EXPECT_EQ(leaf.SignatureAlgorithm(), "ecdsa-with-SHA256");
  EXPECT_THAT(leaf.SerialHex(), MatchesRegex("^[0-9A-F]+$"));
  EXPECT_EQ(pki.rsa_leaf.certificate.public_key().Description(), "RSA 2048");
}

TEST(CertificateTest, TellsCertificateAuthoritiesAndPathLength) {
  const TestPki& pki = TestPki::Shared();
  EXPECT_TRUE(pki.root.certificate.IsCertificateAuthority());
  EXPECT_EQ(pki.root.certificate.PathLength(), std::nullopt);
  EXPECT_TRUE(pki.intermediate.certificate.IsCertificateAuthority());
  EXPECT_EQ(pki.intermediate.certificate.PathLength(), 0);
  EXPECT_FALSE(pki.leaf.certificate.IsCertificateAuthority());
}

TEST(CertificateTest, KnowsWhoIssuedIt) {
  const TestPki& pki = TestPki::Shared();
  EXPECT_TRUE(pki.root.certificate.IsSelfIssued());
  EXPECT_TRUE(pki.root.certificate.IsIssuedBy(pki.root.certificate));
  EXPECT_TRUE(pki.intermediate.certificate.IsIssuedBy(pki.root.certificate));
  EXPECT_TRUE(pki.leaf.certificate.IsIssuedBy(pki.intermediate.certificate));
  EXPECT_FALSE(pki.leaf.certificate.IsIssuedBy(pki.root.certificate));
  EXPECT_FALSE(pki.other_leaf.certificate.IsIssuedBy(pki.intermediate.certificate));
  EXPECT_FALSE(pki.leaf.certificate.IsSelfIssued());
}

TEST(CertificateTest, DerAndPemRoundTrip) {
  const Certificate& leaf = TestPki::Shared().leaf.certificate;
  absl::StatusOr<Certificate> parsed = Certificate::FromDer(leaf.ToDer());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, leaf);
  EXPECT_THAT(leaf.ToPem(), HasSubstr("-----BEGIN CERTIFICATE-----"));
  EXPECT_FALSE(leaf == TestPki::Shared().other_leaf.certificate);
}

TEST(CertificateTest, FromDerRefusesGarbageAndTrailingBytes) {
  EXPECT_THAT(Certificate::FromDer("not der"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a DER X.509")));
  EXPECT_THAT(Certificate::FromDer(TestPki::Shared().leaf.certificate.ToDer() + "xx"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("2 unexpected bytes")));
}

}  // namespace
}  // namespace certfleet::crypto
