#include "common/crypto/certificate_reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "common/crypto/certificate_request.h"
#include "common/crypto/pkcs12.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const TestPki& Pki() { return TestPki::Shared(); }

TEST(CertificateReaderTest, ReadsOnePemCertificate) {
  absl::StatusOr<CertificateFile> file = ReadCertificates(Pki().leaf.certificate.ToPem());
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->encoding, Encoding::kPem);
  EXPECT_EQ(file->container, Container::kCertificate);
  EXPECT_THAT(file->certificates, ElementsAre(Pki().leaf.certificate));
}

TEST(CertificateReaderTest, ReadsAPemBundleInOrderIgnoringTextAround) {
  const std::string bundle = "subject=CN=www.example.test\r\n" + Pki().leaf.certificate.ToPem() +
                             "\nsome comment\n" + Pki().intermediate.certificate.ToPem() +
                             Pki().root.certificate.ToPem();
  absl::StatusOr<CertificateFile> file = ReadCertificates(bundle);
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(file->certificates, ElementsAre(Pki().leaf.certificate,
                                              Pki().intermediate.certificate,
                                              Pki().root.certificate));
}

TEST(CertificateReaderTest, ReadsDerWhateverTheFileIsCalled) {
  absl::StatusOr<CertificateFile> file = ReadCertificates(Pki().leaf.certificate.ToDer());
  ASSERT_THAT(file, IsOk());
  EXPECT_EQ(file->encoding, Encoding::kDer);
  EXPECT_THAT(file->certificates, ElementsAre(Pki().leaf.certificate));
}

TEST(CertificateReaderTest, ReadsPkcs7BundlesInDerAndPem) {
  absl::StatusOr<std::string> p7b =
      ToPkcs7Der({Pki().intermediate.certificate, Pki().root.certificate});
  ASSERT_THAT(p7b, IsOk());
  absl::StatusOr<CertificateFile> der = ReadCertificates(*p7b);
  ASSERT_THAT(der, IsOk());
  EXPECT_EQ(der->encoding, Encoding::kDer);
  EXPECT_EQ(der->container, Container::kPkcs7);
  EXPECT_THAT(der->certificates,
              ElementsAre(Pki().intermediate.certificate, Pki().root.certificate));

  BioHandle bio(BIO_new(BIO_s_mem()));
  const auto* cursor = reinterpret_cast<const unsigned char*>(p7b->data());
  Pkcs7Handle bundle(d2i_PKCS7(nullptr, &cursor, static_cast<long>(p7b->size())));
  ASSERT_NE(bundle, nullptr);
  PEM_write_bio_PKCS7(bio.get(), bundle.get());
  absl::StatusOr<CertificateFile> pem = ReadCertificates(ReadMemoryBio(bio.get()));
  ASSERT_THAT(pem, IsOk());
  EXPECT_EQ(pem->encoding, Encoding::kPem);
  EXPECT_EQ(pem->container, Container::kPkcs7);
  EXPECT_EQ(pem->certificates.size(), 2u);
}

TEST(CertificateReaderTest, RefusesEmptyAndOversizedInput) {
  EXPECT_THAT(ReadCertificates(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ReadCertificates(std::string(kMaxInputBytes + 1, 'A')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("limit")));
}

TEST(CertificateReaderTest, RefusesTruncatedPemNamingTheLine) {
  std::string pem = Pki().leaf.certificate.ToPem();
  pem.resize(pem.size() / 2);
  EXPECT_THAT(ReadCertificates("\n\n" + pem),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("truncated PEM: the 'CERTIFICATE' block that begins at line 3")));
}

TEST(CertificateReaderTest, RefusesPemWithBrokenBase64) {
  std::string pem = Pki().leaf.certificate.ToPem();
  pem.replace(40, 8, "!!!!!!!!");
  EXPECT_THAT(ReadCertificates(pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not decode")));
}

TEST(CertificateReaderTest, RefusesGarbageAndDamagedDer) {
  EXPECT_THAT(ReadCertificates("hello, this is not a certificate"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("neither PEM text nor DER")));
  std::string der = Pki().leaf.certificate.ToDer();
  der.resize(der.size() - 20);
  EXPECT_THAT(ReadCertificates(der),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("damaged DER")));
}

TEST(CertificateReaderTest, NamesAPrivateKeyWhereACertificateWasExpected) {
  const std::string pem = Pki().leaf.key.ToPem();
  EXPECT_THAT(ReadCertificates(pem),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a private key")));
  BioHandle bio(BIO_new(BIO_s_mem()));
  i2d_PrivateKey_bio(bio.get(), Pki().leaf.key.native_handle());
  EXPECT_THAT(ReadCertificates(ReadMemoryBio(bio.get())),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a private key")));
}

TEST(CertificateReaderTest, NamesACsrWhereACertificateWasExpected) {
  absl::StatusOr<CertificateRequest> request = CertificateRequest::Create(
      Pki().leaf.key, Pki().leaf.certificate.Subject(), {"www.example.test"});
  ASSERT_THAT(request, IsOk());
  for (const std::string& encoded : {request->ToPem(), request->ToDer()}) {
    EXPECT_THAT(ReadCertificates(encoded),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("certificate signing request (CSR)")));
  }
}

TEST(CertificateReaderTest, NamesAPkcs12ArchiveWhereACertificateWasExpected) {
  absl::StatusOr<std::string> pfx = ExportPkcs12(Pki().leaf.key, Pki().leaf.certificate, {},
                                                 "secret", Pkcs12Encryption::kAes256);
  ASSERT_THAT(pfx, IsOk());
  EXPECT_THAT(ReadCertificates(*pfx),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("PKCS#12")));
}

TEST(CertificateReaderTest, RefusesAnEmptyPkcs7Bundle) {
  absl::StatusOr<std::string> empty = ToPkcs7Der({});
  ASSERT_THAT(empty, IsOk());
  EXPECT_THAT(ReadCertificates(*empty),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no certificates")));
}

TEST(CertificateReaderTest, SingleCertificateRefusesABundle) {
  EXPECT_THAT(ReadSingleCertificate(Pki().leaf.certificate.ToPem() +
                                    Pki().intermediate.certificate.ToPem()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("holds 2")));
  absl::StatusOr<Certificate> single = ReadSingleCertificate(Pki().leaf.certificate.ToDer());
  ASSERT_THAT(single, IsOk());
  EXPECT_EQ(*single, Pki().leaf.certificate);
}

TEST(CertificateReaderTest, PemBundleWriterRoundTrips) {
  const std::string bundle = ToPemBundle({Pki().leaf.certificate, Pki().intermediate.certificate});
  absl::StatusOr<CertificateFile> file = ReadCertificates(bundle);
  ASSERT_THAT(file, IsOk());
  EXPECT_THAT(file->certificates,
              ElementsAre(Pki().leaf.certificate, Pki().intermediate.certificate));
}

}  // namespace
}  // namespace certfleet::crypto
