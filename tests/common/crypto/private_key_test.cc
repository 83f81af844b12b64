#include "common/crypto/private_key.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

TEST(KeySpecTest, ParsesEveryNamedSpecAndPrintsItBack) {
  for (std::string text : {"rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384"}) {
    absl::StatusOr<KeySpec> spec = KeySpec::Parse(text);
    ASSERT_THAT(spec, IsOk()) << text;
    EXPECT_EQ(spec->ToString(), text);
  }
  EXPECT_EQ(*KeySpec::Parse("RSA2048"), (KeySpec{KeyAlgorithm::kRsa, 2048}));
  EXPECT_EQ(*KeySpec::Parse("ECDSA-P384"), (KeySpec{KeyAlgorithm::kEcdsa, 384}));
}

TEST(KeySpecTest, RefusesUnknownSpecNamingTheChoices) {
  EXPECT_THAT(KeySpec::Parse("rsa1024"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rsa2048, rsa3072")));
  EXPECT_THAT(KeySpec::Parse(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

class GenerateTest : public ::testing::TestWithParam<KeySpec> {};

TEST_P(GenerateTest, GeneratesTheRequestedKey) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate(GetParam());
  ASSERT_THAT(key, IsOk());
  EXPECT_EQ(key->algorithm(), GetParam().algorithm);
  EXPECT_EQ(key->bits(), GetParam().bits);
  EXPECT_EQ(key->public_key().bits(), GetParam().bits);
}

INSTANTIATE_TEST_SUITE_P(AllSupported, GenerateTest,
                         ::testing::Values(KeySpec{KeyAlgorithm::kRsa, 2048},
                                           KeySpec{KeyAlgorithm::kRsa, 3072},
                                           KeySpec{KeyAlgorithm::kRsa, 4096},
                                           KeySpec{KeyAlgorithm::kEcdsa, 256},
                                           KeySpec{KeyAlgorithm::kEcdsa, 384}));

TEST(PrivateKeyTest, RefusesUnsupportedSizes) {
  EXPECT_THAT(PrivateKey::Generate({KeyAlgorithm::kRsa, 1024}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not 1024")));
  EXPECT_THAT(PrivateKey::Generate({KeyAlgorithm::kEcdsa, 521}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("P-256 or P-384")));
  EXPECT_THAT(PrivateKey::Generate({KeyAlgorithm::kOther, 256}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(PrivateKeyTest, PemRoundTripKeepsTheKey) {
  const PrivateKey& key = testing::TestPki::Shared().rsa_leaf.key;
  const std::string pem = key.ToPem();
  EXPECT_THAT(pem, HasSubstr("-----BEGIN PRIVATE KEY-----"));
  absl::StatusOr<PrivateKey> parsed = PrivateKey::Parse(pem);
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(parsed->public_key(), key.public_key());
  EXPECT_EQ(parsed->public_key().Description(), "RSA 2048");
}

TEST(PrivateKeyTest, ParseReportsWhatIsWrong) {
  EXPECT_THAT(PrivateKey::Parse(""), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(PrivateKey::Parse("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED "
                                "PRIVATE KEY-----\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("encrypted")));
  EXPECT_THAT(PrivateKey::Parse(testing::TestPki::Shared().leaf.certificate.ToPem()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no PEM private key")));
  EXPECT_THAT(PrivateKey::Parse("garbage bytes"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a private key")));
}

TEST(PublicKeyTest, EqualOnlyForTheSameKey) {
  const auto& pki = testing::TestPki::Shared();
  EXPECT_EQ(pki.leaf.key.public_key(), pki.leaf.certificate.public_key());
  EXPECT_FALSE(pki.leaf.key.public_key() == pki.other_leaf.certificate.public_key());
  EXPECT_EQ(pki.leaf.key.public_key().Sha256Fingerprint().size(), 64u);
  EXPECT_EQ(pki.leaf.key.public_key().Description(), "ECDSA P-256");
}

TEST(PublicKeyTest, FromDerRoundTripsAndRefusesGarbage) {
  const PublicKey key = testing::TestPki::Shared().leaf.key.public_key();
  absl::StatusOr<PublicKey> parsed = PublicKey::FromDer(key.der());
  ASSERT_THAT(parsed, IsOk());
  EXPECT_EQ(*parsed, key);
  EXPECT_THAT(PublicKey::FromDer("nope"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a DER public key")));
}

}  // namespace
}  // namespace certfleet::crypto
