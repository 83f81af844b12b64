#include "common/crypto/certificate_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

CertificateProfile LeafProfile(const std::string& name) {
  CertificateProfile profile;
  profile.subject.common_name = name;
  profile.alternative_names = {name, "IP:127.0.0.1"};
  profile.not_before = TestPki::Shared().now;
  profile.not_after = TestPki::Shared().now + absl::Hours(24 * 30);
  return profile;
}

TEST(CertificateBuilderTest, IssuesALeafWithTheProfile) {
  const TestPki& pki = TestPki::Shared();
  CertificateProfile profile = LeafProfile("api.example.test");
  profile.serial_hex = "0A1B2C";
  absl::StatusOr<Certificate> leaf = IssueCertificate(
      profile, pki.rsa_leaf.key.public_key(), pki.intermediate.certificate, pki.intermediate.key);
  ASSERT_THAT(leaf, IsOk());
  EXPECT_EQ(leaf->Subject().common_name, "api.example.test");
  EXPECT_THAT(leaf->SubjectAlternativeNames(), ElementsAre("DNS:api.example.test", "IP:127.0.0.1"));
  EXPECT_EQ(leaf->SerialHex(), "0A1B2C");
  EXPECT_EQ(leaf->NotAfter(), profile.not_after);
  EXPECT_FALSE(leaf->IsCertificateAuthority());
  EXPECT_TRUE(leaf->IsIssuedBy(pki.intermediate.certificate));
  EXPECT_EQ(leaf->SignatureAlgorithm(), "ecdsa-with-SHA256");
  EXPECT_EQ(X509_get_extended_key_usage(leaf->native_handle()) & XKU_SSL_SERVER, XKU_SSL_SERVER);
  // An RSA server key must allow key encipherment for IIS 6's RSA key exchange.
  EXPECT_NE(X509_get_key_usage(leaf->native_handle()) & KU_KEY_ENCIPHERMENT, 0u);
}

TEST(CertificateBuilderTest, IssuesASelfSignedRootWithSha1WhenAskedForLegacy) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate({KeyAlgorithm::kRsa, 2048});
  ASSERT_THAT(key, IsOk());
  CertificateProfile profile = LeafProfile("Legacy Root");
  profile.alternative_names.clear();
  profile.usage = CertificateUsage::kCertificateAuthority;
  profile.path_length = 1;
  profile.digest = SignatureDigest::kSha1;
  absl::StatusOr<Certificate> root = IssueCertificate(profile, key->public_key(), std::nullopt, *key);
  ASSERT_THAT(root, IsOk());
  EXPECT_TRUE(root->IsCertificateAuthority());
  EXPECT_EQ(root->PathLength(), 1);
  EXPECT_TRUE(root->IsIssuedBy(*root));
  EXPECT_EQ(root->SignatureAlgorithm(), "sha1WithRSAEncryption");
}

TEST(CertificateBuilderTest, RefusesInconsistentProfiles) {
  const TestPki& pki = TestPki::Shared();
  CertificateProfile backwards = LeafProfile("a.test");
  backwards.not_after = backwards.not_before - absl::Seconds(1);
  EXPECT_THAT(IssueCertificate(backwards, pki.leaf.key.public_key(), pki.intermediate.certificate,
                               pki.intermediate.key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("later than not_before")));

  CertificateProfile leaf_with_path = LeafProfile("a.test");
  leaf_with_path.path_length = 0;
  EXPECT_THAT(IssueCertificate(leaf_with_path, pki.leaf.key.public_key(),
                               pki.intermediate.certificate, pki.intermediate.key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("path length")));

  EXPECT_THAT(IssueCertificate(LeafProfile("a.test"), pki.leaf.key.public_key(),
                               pki.intermediate.certificate, pki.root.key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not belong")));

  EXPECT_THAT(IssueCertificate(LeafProfile("a.test"), pki.leaf.key.public_key(), std::nullopt,
                               pki.root.key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("its own key")));

  CertificateProfile bad_name = LeafProfile("a.test");
  bad_name.alternative_names = {"IP:not-an-address"};
  EXPECT_THAT(IssueCertificate(bad_name, pki.leaf.key.public_key(), pki.intermediate.certificate,
                               pki.intermediate.key),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("subjectAltName")));
}

TEST(CertificateBuilderTest, IssueFromRequestTakesTheRequestNamesUnlessOverridden) {
  const TestPki& pki = TestPki::Shared();
  DistinguishedName subject;
  subject.common_name = "portal.example.test";
  subject.organization = "New Org Name";
  absl::StatusOr<CertificateRequest> request =
      CertificateRequest::Create(pki.rsa_leaf.key, subject, {"portal.example.test"});
  ASSERT_THAT(request, IsOk());
  CertificateProfile profile;
  profile.not_before = pki.now;
  profile.not_after = pki.now + absl::Hours(24);
  absl::StatusOr<Certificate> issued =
      IssueFromRequest(*request, profile, pki.intermediate.certificate, pki.intermediate.key);
  ASSERT_THAT(issued, IsOk());
  EXPECT_EQ(issued->Subject(), subject);
  EXPECT_THAT(issued->DnsNames(), ElementsAre("portal.example.test"));
  EXPECT_EQ(issued->public_key(), pki.rsa_leaf.key.public_key());
}

}  // namespace
}  // namespace certfleet::crypto
