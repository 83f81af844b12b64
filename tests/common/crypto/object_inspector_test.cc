#include "common/crypto/object_inspector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "common/crypto/pkcs12.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::HasSubstr;

const TestPki& Pki() { return TestPki::Shared(); }

TEST(RoleOfTest, TellsServerIntermediateAndRoot) {
  EXPECT_EQ(RoleOf(Pki().leaf.certificate), CertificateRole::kServer);
  EXPECT_EQ(RoleOf(Pki().intermediate.certificate), CertificateRole::kIntermediate);
  EXPECT_EQ(RoleOf(Pki().root.certificate), CertificateRole::kRoot);
  EXPECT_EQ(RoleName(CertificateRole::kIntermediate), "intermediate CA certificate");
}

TEST(InspectObjectTest, PemServerCertificate) {
  absl::StatusOr<InspectedObject> object = InspectObject(Pki().leaf.certificate.ToPem());
  ASSERT_THAT(object, IsOk());
  EXPECT_EQ(object->kind, ObjectKind::kCertificate);
  EXPECT_EQ(object->format, "PEM");
  EXPECT_EQ(object->description, "server certificate");
  ASSERT_EQ(object->certificates.size(), 1u);
}

TEST(InspectObjectTest, DerIntermediateAndRoot) {
  absl::StatusOr<InspectedObject> intermediate = InspectObject(Pki().intermediate.certificate.ToDer());
  ASSERT_THAT(intermediate, IsOk());
  EXPECT_EQ(intermediate->format, "DER");
  EXPECT_EQ(intermediate->description, "intermediate CA certificate");
  absl::StatusOr<InspectedObject> root = InspectObject(Pki().root.certificate.ToPem());
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(root->description, "root CA certificate");
}

TEST(InspectObjectTest, Pkcs7Bundle) {
  absl::StatusOr<std::string> p7b = ToPkcs7Der(
      {Pki().leaf.certificate, Pki().intermediate.certificate, Pki().root.certificate});
  ASSERT_THAT(p7b, IsOk());
  absl::StatusOr<InspectedObject> object = InspectObject(*p7b);
  ASSERT_THAT(object, IsOk());
  EXPECT_EQ(object->kind, ObjectKind::kCertificateBundle);
  EXPECT_EQ(object->format, "PKCS#7 (DER)");
  EXPECT_EQ(object->description, "PKCS#7 bundle of 3 certificates");
}

TEST(InspectObjectTest, CertificateRequest) {
  absl::StatusOr<CertificateRequest> request = CertificateRequest::Create(
      Pki().rsa_leaf.key, Pki().rsa_leaf.certificate.Subject(), {"shop.example.test"});
  ASSERT_THAT(request, IsOk());
  absl::StatusOr<InspectedObject> object = InspectObject(request->ToPem());
  ASSERT_THAT(object, IsOk());
  EXPECT_EQ(object->kind, ObjectKind::kCertificateRequest);
  EXPECT_EQ(object->description, "certificate signing request (CSR)");
  ASSERT_TRUE(object->key.has_value());
  EXPECT_EQ(*object->key, Pki().rsa_leaf.key.public_key());
}

TEST(InspectObjectTest, PrivateKeyIsDescribedByItsPublicHalf) {
  absl::StatusOr<InspectedObject> object = InspectObject(Pki().rsa_leaf.key.ToPem());
  ASSERT_THAT(object, IsOk());
  EXPECT_EQ(object->kind, ObjectKind::kPrivateKey);
  EXPECT_EQ(object->description, "private key (RSA 2048)");
  ASSERT_TRUE(object->key.has_value());
  EXPECT_EQ(*object->key, Pki().rsa_leaf.certificate.public_key());
}

TEST(InspectObjectTest, EncryptedPrivateKey) {
  BioHandle bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PKCS8PrivateKey(bio.get(), Pki().leaf.key.native_handle(), EVP_aes_256_cbc(),
                                nullptr, 0, nullptr, const_cast<char*>("secret"));
  absl::StatusOr<InspectedObject> object = InspectObject(ReadMemoryBio(bio.get()));
  ASSERT_THAT(object, IsOk());
  EXPECT_EQ(object->kind, ObjectKind::kPrivateKey);
  EXPECT_TRUE(object->encrypted);
  EXPECT_FALSE(object->key.has_value());
}

TEST(InspectObjectTest, Pkcs12Archive) {
  absl::StatusOr<std::string> pfx = ExportPkcs12(Pki().leaf.key, Pki().leaf.certificate,
                                                 {Pki().intermediate.certificate}, "secret",
                                                 Pkcs12Encryption::kLegacySha1TripleDes);
  ASSERT_THAT(pfx, IsOk());
  absl::StatusOr<InspectedObject> object = InspectObject(*pfx);
  ASSERT_THAT(object, IsOk());
  EXPECT_EQ(object->kind, ObjectKind::kPkcs12);
  EXPECT_TRUE(object->encrypted);
}

TEST(InspectObjectTest, RefusesGarbageEmptyAndTruncated) {
  EXPECT_THAT(InspectObject(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(InspectObject("just some words"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("neither PEM text nor DER")));
  std::string pem = Pki().leaf.certificate.ToPem();
  pem.resize(100);
  EXPECT_THAT(InspectObject(pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("truncated PEM")));
}

}  // namespace
}  // namespace certfleet::crypto
