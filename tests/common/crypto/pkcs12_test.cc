#include "common/crypto/pkcs12.h"

#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {

namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kPassphrase[] = "correct horse battery staple";

// How one part of a PKCS#12 is encrypted: the algorithm NID, and for PBES2
// the cipher and the PBKDF2 pseudo-random function.
struct Encryption {
  int scheme = NID_undef;
  int cipher = NID_undef;
  int prf = NID_undef;
};

// The algorithms a PKCS#12 file really uses, read from its structure rather
// than trusted from the exporter.
struct Pkcs12Algorithms {
  Encryption key;
  Encryption certificates;
  int mac_digest = NID_undef;
};

struct Pbe2ParametersDeleter {
  void operator()(PBE2PARAM* parameters) const { PBE2PARAM_free(parameters); }
};
struct Pbkdf2ParametersDeleter {
  void operator()(PBKDF2PARAM* parameters) const { PBKDF2PARAM_free(parameters); }
};
struct Pkcs7StackDeleter {
  void operator()(STACK_OF(PKCS7) * stack) const { sk_PKCS7_pop_free(stack, PKCS7_free); }
};
struct SafeBagStackDeleter {
  void operator()(STACK_OF(PKCS12_SAFEBAG) * stack) const {
    sk_PKCS12_SAFEBAG_pop_free(stack, PKCS12_SAFEBAG_free);
  }
};

Encryption EncryptionOf(const X509_ALGOR* algorithm) {
  Encryption encryption;
  const ASN1_OBJECT* object = nullptr;
  int parameter_type = 0;
  const void* parameter = nullptr;
  X509_ALGOR_get0(&object, &parameter_type, &parameter, algorithm);
  encryption.scheme = OBJ_obj2nid(object);
  if (encryption.scheme != NID_pbes2 || parameter_type != V_ASN1_SEQUENCE) return encryption;

  std::unique_ptr<PBE2PARAM, Pbe2ParametersDeleter> pbe2(static_cast<PBE2PARAM*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), algorithm->parameter)));
  if (pbe2 == nullptr) return encryption;
  encryption.cipher = OBJ_obj2nid(pbe2->encryption->algorithm);
  if (OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2) return encryption;
  std::unique_ptr<PBKDF2PARAM, Pbkdf2ParametersDeleter> pbkdf2(static_cast<PBKDF2PARAM*>(
      ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), pbe2->keyfunc->parameter)));
  if (pbkdf2 == nullptr) return encryption;
  // RFC 8018: an absent PRF means HMAC-SHA1.
  encryption.prf = pbkdf2->prf == nullptr ? NID_hmacWithSHA1 : OBJ_obj2nid(pbkdf2->prf->algorithm);
  return encryption;
}

Pkcs12Algorithms AlgorithmsOf(const std::string& der) {
  Pkcs12Algorithms algorithms;
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  Pkcs12Handle pkcs12(d2i_PKCS12(nullptr, &cursor, static_cast<long>(der.size())));
  if (pkcs12 == nullptr) return algorithms;

  const ASN1_OCTET_STRING* mac = nullptr;
  const X509_ALGOR* mac_algorithm = nullptr;
  const ASN1_OCTET_STRING* mac_salt = nullptr;
  const ASN1_INTEGER* mac_iterations = nullptr;
  PKCS12_get0_mac(&mac, &mac_algorithm, &mac_salt, &mac_iterations, pkcs12.get());
  if (mac_algorithm != nullptr) {
    const ASN1_OBJECT* object = nullptr;
    X509_ALGOR_get0(&object, nullptr, nullptr, mac_algorithm);
    algorithms.mac_digest = OBJ_obj2nid(object);
  }

  std::unique_ptr<STACK_OF(PKCS7), Pkcs7StackDeleter> safes(PKCS12_unpack_authsafes(pkcs12.get()));
  if (safes == nullptr) return algorithms;
  for (int i = 0; i < sk_PKCS7_num(safes.get()); ++i) {
    PKCS7* safe = sk_PKCS7_value(safes.get(), i);
    if (PKCS7_type_is_encrypted(safe)) {
      // The certificates travel in an encrypted-data content.
      algorithms.certificates = EncryptionOf(safe->d.encrypted->enc_data->algorithm);
    } else if (PKCS7_type_is_data(safe)) {
      // The key travels in a shrouded key bag inside a plain data content.
      std::unique_ptr<STACK_OF(PKCS12_SAFEBAG), SafeBagStackDeleter> bags(
          PKCS12_unpack_p7data(safe));
      if (bags == nullptr) continue;
      for (int j = 0; j < sk_PKCS12_SAFEBAG_num(bags.get()); ++j) {
        const PKCS12_SAFEBAG* bag = sk_PKCS12_SAFEBAG_value(bags.get(), j);
        if (PKCS12_SAFEBAG_get_nid(bag) != NID_pkcs8ShroudedKeyBag) continue;
        const X509_ALGOR* algorithm = nullptr;
        X509_SIG_get0(PKCS12_SAFEBAG_get0_pkcs8(bag), &algorithm, nullptr);
        algorithms.key = EncryptionOf(algorithm);
      }
    }
  }
  return algorithms;
}

class Pkcs12Test : public ::testing::TestWithParam<Pkcs12Encryption> {
 protected:
  const TestPki& pki_ = TestPki::Shared();

  std::string ExportRsaLeaf(Pkcs12Encryption encryption) const {
    absl::StatusOr<std::string> der =
        ExportPkcs12(pki_.rsa_leaf.key, pki_.rsa_leaf.certificate,
                     {pki_.intermediate.certificate, pki_.root.certificate}, kPassphrase,
                     encryption, "shop.example.test 2025");
    EXPECT_TRUE(der.ok()) << der.status();
    return der.value_or("");
  }
};

TEST_P(Pkcs12Test, RoundTripKeepsKeyCertificateChainAndFriendlyName) {
  const std::string der = ExportRsaLeaf(GetParam());

  absl::StatusOr<Pkcs12Contents> contents = ImportPkcs12(der, kPassphrase);

  ASSERT_THAT(contents, IsOk());
  EXPECT_EQ(contents->key.ToPem(), pki_.rsa_leaf.key.ToPem());
  EXPECT_EQ(contents->key.public_key(), pki_.rsa_leaf.certificate.public_key());
  EXPECT_EQ(contents->certificate, pki_.rsa_leaf.certificate);
  EXPECT_EQ(contents->certificate.ToDer(), pki_.rsa_leaf.certificate.ToDer());
  EXPECT_THAT(contents->chain, ElementsAre(pki_.intermediate.certificate, pki_.root.certificate));
  EXPECT_EQ(contents->friendly_name, "shop.example.test 2025");
}

TEST_P(Pkcs12Test, EcdsaKeyWithoutChainRoundTrips) {
  absl::StatusOr<std::string> der =
      ExportPkcs12(pki_.leaf.key, pki_.leaf.certificate, {}, kPassphrase, GetParam());
  ASSERT_THAT(der, IsOk());

  absl::StatusOr<Pkcs12Contents> contents = ImportPkcs12(*der, kPassphrase);

  ASSERT_THAT(contents, IsOk());
  EXPECT_EQ(contents->key.public_key(), pki_.leaf.certificate.public_key());
  EXPECT_EQ(contents->certificate, pki_.leaf.certificate);
  EXPECT_TRUE(contents->chain.empty());
  EXPECT_EQ(contents->friendly_name, "");
}

TEST_P(Pkcs12Test, WrongPassphraseIsPermissionDenied) {
  const std::string der = ExportRsaLeaf(GetParam());

  absl::StatusOr<Pkcs12Contents> contents = ImportPkcs12(der, "not the passphrase");

  EXPECT_THAT(contents, StatusIs(absl::StatusCode::kPermissionDenied,
                                 "wrong passphrase for the PKCS#12 file"));
}

TEST_P(Pkcs12Test, ExportOutputLooksLikePkcs12) {
  EXPECT_TRUE(LooksLikePkcs12(ExportRsaLeaf(GetParam())));
}

INSTANTIATE_TEST_SUITE_P(BothEncryptions, Pkcs12Test,
                         ::testing::Values(Pkcs12Encryption::kLegacySha1TripleDes,
                                           Pkcs12Encryption::kAes256),
                         [](const ::testing::TestParamInfo<Pkcs12Encryption>& info) {
                           return info.param == Pkcs12Encryption::kAes256 ? "Aes256"
                                                                          : "LegacyTripleDes";
                         });

TEST(Pkcs12AlgorithmTest, LegacyUsesSha1TripleDesForKeyAndCertificatesAndASha1Mac) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<std::string> der =
      ExportPkcs12(pki.rsa_leaf.key, pki.rsa_leaf.certificate, {pki.intermediate.certificate},
                   kPassphrase, Pkcs12Encryption::kLegacySha1TripleDes);
  ASSERT_THAT(der, IsOk());

  const Pkcs12Algorithms algorithms = AlgorithmsOf(*der);

  // What Windows Server 2003 (IIS 6) can import.
  EXPECT_EQ(algorithms.key.scheme, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
  EXPECT_EQ(algorithms.certificates.scheme, NID_pbe_WithSHA1And3_Key_TripleDES_CBC);
  EXPECT_EQ(algorithms.mac_digest, NID_sha1);
}

TEST(Pkcs12AlgorithmTest, Aes256UsesPbes2WithAes256AndSha256) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<std::string> der =
      ExportPkcs12(pki.rsa_leaf.key, pki.rsa_leaf.certificate, {pki.intermediate.certificate},
                   kPassphrase, Pkcs12Encryption::kAes256);
  ASSERT_THAT(der, IsOk());

  const Pkcs12Algorithms algorithms = AlgorithmsOf(*der);

  EXPECT_EQ(algorithms.key.scheme, NID_pbes2);
  EXPECT_EQ(algorithms.key.cipher, NID_aes_256_cbc);
  EXPECT_EQ(algorithms.key.prf, NID_hmacWithSHA256);
  EXPECT_EQ(algorithms.certificates.scheme, NID_pbes2);
  EXPECT_EQ(algorithms.certificates.cipher, NID_aes_256_cbc);
  EXPECT_EQ(algorithms.certificates.prf, NID_hmacWithSHA256);
  EXPECT_EQ(algorithms.mac_digest, NID_sha256);
}

TEST(Pkcs12ExportTest, KeyOfAnotherCertificateIsRefused) {
  const TestPki& pki = TestPki::Shared();

  absl::StatusOr<std::string> der = ExportPkcs12(pki.rsa_leaf.key, pki.leaf.certificate, {},
                                                 kPassphrase, Pkcs12Encryption::kAes256);

  EXPECT_THAT(der, StatusIs(absl::StatusCode::kInvalidArgument,
                            HasSubstr("does not belong to the certificate")));
}

TEST(Pkcs12ExportTest, EmptyPassphraseIsRefused) {
  const TestPki& pki = TestPki::Shared();

  absl::StatusOr<std::string> der = ExportPkcs12(pki.leaf.key, pki.leaf.certificate, {}, "",
                                                 Pkcs12Encryption::kLegacySha1TripleDes);

  EXPECT_THAT(der, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("passphrase")));
}

TEST(Pkcs12ImportTest, EmptyPassphraseIsRefused) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<std::string> der =
      ExportPkcs12(pki.leaf.key, pki.leaf.certificate, {}, kPassphrase, Pkcs12Encryption::kAes256);
  ASSERT_THAT(der, IsOk());

  EXPECT_THAT(ImportPkcs12(*der, ""), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Pkcs12ImportTest, GarbageIsInvalidArgument) {
  absl::StatusOr<Pkcs12Contents> contents =
      ImportPkcs12("this is not a PKCS#12 file at all", kPassphrase);

  EXPECT_THAT(contents,
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a DER PKCS#12")));
}

TEST(Pkcs12ImportTest, EmptyInputIsInvalidArgument) {
  EXPECT_THAT(ImportPkcs12("", kPassphrase), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Pkcs12ImportTest, TruncatedFileIsInvalidArgument) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<std::string> der =
      ExportPkcs12(pki.leaf.key, pki.leaf.certificate, {}, kPassphrase, Pkcs12Encryption::kAes256);
  ASSERT_THAT(der, IsOk());

  absl::StatusOr<Pkcs12Contents> contents =
      ImportPkcs12(der->substr(0, der->size() / 2), kPassphrase);

  EXPECT_THAT(contents, StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Pkcs12ImportTest, CertificateInsteadOfPkcs12IsInvalidArgument) {
  const TestPki& pki = TestPki::Shared();

  EXPECT_THAT(ImportPkcs12(pki.leaf.certificate.ToDer(), kPassphrase),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Pkcs12ImportTest, FileWhoseKeyMatchesNoCertificateIsInvalidArgument) {
  // ExportPkcs12 refuses to write such a file, so it is made with OpenSSL
  // directly: the RSA key, and only the ECDSA leaf as an extra certificate.
  const TestPki& pki = TestPki::Shared();
  X509StackHandle extra(sk_X509_new_null());
  ASSERT_EQ(X509_add_cert(extra.get(), pki.leaf.certificate.native_handle(), X509_ADD_FLAG_UP_REF),
            1);
  Pkcs12Handle mismatched(PKCS12_create(kPassphrase, nullptr, pki.rsa_leaf.key.native_handle(),
                                        nullptr, extra.get(), NID_aes_256_cbc, NID_aes_256_cbc,
                                        PKCS12_DEFAULT_ITER, PKCS12_DEFAULT_ITER, 0));
  ASSERT_NE(mismatched, nullptr);
  unsigned char* buffer = nullptr;
  const int length = i2d_PKCS12(mismatched.get(), &buffer);
  ASSERT_GT(length, 0);
  const std::string der(reinterpret_cast<char*>(buffer), static_cast<size_t>(length));
  OPENSSL_free(buffer);

  absl::StatusOr<Pkcs12Contents> contents = ImportPkcs12(der, kPassphrase);

  EXPECT_THAT(contents, StatusIs(absl::StatusCode::kInvalidArgument,
                                 HasSubstr("no certificate matching its private key")));
}

TEST(Pkcs12DetectionTest, OtherObjectsDoNotLookLikePkcs12) {
  const TestPki& pki = TestPki::Shared();

  EXPECT_FALSE(LooksLikePkcs12(""));
  EXPECT_FALSE(LooksLikePkcs12("garbage"));
  EXPECT_FALSE(LooksLikePkcs12(pki.leaf.certificate.ToDer()));
  EXPECT_FALSE(LooksLikePkcs12(pki.leaf.certificate.ToPem()));
  EXPECT_FALSE(LooksLikePkcs12(pki.leaf.key.ToPem()));
}

TEST(Pkcs12DetectionTest, TrailingBytesAfterAPkcs12AreNotAPkcs12) {
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<std::string> der =
      ExportPkcs12(pki.leaf.key, pki.leaf.certificate, {}, kPassphrase, Pkcs12Encryption::kAes256);
  ASSERT_THAT(der, IsOk());

  EXPECT_TRUE(LooksLikePkcs12(*der));
  EXPECT_FALSE(LooksLikePkcs12(*der + "x"));
}

TEST(Pkcs12EncryptionNameTest, NamesParseBackAndUnknownNamesAreRefused) {
  for (Pkcs12Encryption encryption :
       {Pkcs12Encryption::kLegacySha1TripleDes, Pkcs12Encryption::kAes256}) {
    absl::StatusOr<Pkcs12Encryption> parsed =
        ParsePkcs12Encryption(Pkcs12EncryptionName(encryption));
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, encryption);
  }
  EXPECT_EQ(Pkcs12EncryptionName(Pkcs12Encryption::kLegacySha1TripleDes), "legacy-3des");
  EXPECT_EQ(Pkcs12EncryptionName(Pkcs12Encryption::kAes256), "aes256");
  EXPECT_EQ(ParsePkcs12Encryption("AES256").value_or(Pkcs12Encryption::kLegacySha1TripleDes),
            Pkcs12Encryption::kAes256);
  EXPECT_THAT(ParsePkcs12Encryption("rc2"), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace certfleet::crypto
