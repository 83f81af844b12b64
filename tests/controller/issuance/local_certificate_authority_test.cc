#include "controller/issuance/local_certificate_authority.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/chain_verifier.h"
#include "common/crypto/object_inspector.h"
#include "common/io/file.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::controller {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const crypto::KeySpec kFastKey = {crypto::KeyAlgorithm::kEcdsa, 256};

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat information {};
  stat(path.c_str(), &information);
  return information.st_mode & 07777;
}

std::string Contents(const std::filesystem::path& path) { return *io::ReadFile(path, 1 << 20); }

crypto::PrivateKey NewKey(crypto::KeySpec spec = kFastKey) {
  return *crypto::PrivateKey::Generate(spec);
}

crypto::CertificateRequest Csr(const crypto::PrivateKey& key, const std::string& common_name,
                               const std::vector<std::string>& dns_names) {
  crypto::DistinguishedName subject;
  subject.common_name = common_name;
  subject.organization = "Example Ltd";
  return *crypto::CertificateRequest::Create(key, subject, dns_names);
}

IssuanceRequest RequestFor(const crypto::CertificateRequest& csr) {
  return IssuanceRequest{.order_id = "order-1", .request = csr, .now = kNow};
}

class LocalCertificateAuthorityTest : public ::testing::Test {
 protected:
  LocalCertificateAuthorityOptions Options() const {
    LocalCertificateAuthorityOptions options;
    options.data_dir = folder_.path() / "data";
    options.key_spec = kFastKey;
    return options;
  }
  std::filesystem::path CaFolder() const { return folder_.path() / "data" / "local-ca"; }

  std::unique_ptr<LocalCertificateAuthority> Open(absl::Time now = kNow) const {
    absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> authority =
        LocalCertificateAuthority::OpenOrCreate(Options(), now);
    EXPECT_THAT(authority, IsOk());
    return authority.ok() ? *std::move(authority) : nullptr;
  }

  TemporaryDirectory folder_;
};

TEST_F(LocalCertificateAuthorityTest, FirstUseCreatesRootAndIntermediateWithTightModes) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  EXPECT_EQ(authority->folder(), CaFolder());
  EXPECT_EQ(ModeOf(CaFolder()), 0700u);
  EXPECT_EQ(ModeOf(CaFolder() / "root.key"), 0600u);
  EXPECT_EQ(ModeOf(CaFolder() / "intermediate.key"), 0600u);
  EXPECT_EQ(ModeOf(CaFolder() / "root.crt"), 0644u);
  EXPECT_EQ(ModeOf(CaFolder() / "intermediate.crt"), 0644u);

  const crypto::Certificate& root = authority->root_certificate();
  const crypto::Certificate& intermediate = authority->intermediate_certificate();
  EXPECT_EQ(crypto::RoleOf(root), crypto::CertificateRole::kRoot);
  EXPECT_EQ(crypto::RoleOf(intermediate), crypto::CertificateRole::kIntermediate);
  EXPECT_TRUE(intermediate.IsIssuedBy(root));
  EXPECT_EQ(root.SubjectText(), "CN=certfleet Local Root CA,O=certfleet");
  EXPECT_EQ(intermediate.SubjectText(), "CN=certfleet Local Issuing CA,O=certfleet");
  EXPECT_EQ(root.public_key().Description(), "ECDSA P-256");
  EXPECT_EQ(root.NotAfter() - kNow, absl::Hours(24 * 365 * 20));
  EXPECT_EQ(intermediate.NotAfter() - kNow, absl::Hours(24 * 365 * 5));
  EXPECT_EQ(*crypto::ReadSingleCertificate(Contents(CaFolder() / "root.crt")), root);
  EXPECT_EQ(authority->name(), "local");
}

TEST_F(LocalCertificateAuthorityTest, DefaultKeyIsRsa2048ForIis6Hosts) {
  LocalCertificateAuthorityOptions options;
  options.data_dir = folder_.path() / "data";
  absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> authority =
      LocalCertificateAuthority::OpenOrCreate(options, kNow);
  ASSERT_THAT(authority, IsOk());
  EXPECT_EQ((*authority)->root_certificate().public_key().Description(), "RSA 2048");
  EXPECT_EQ((*authority)->intermediate_certificate().public_key().Description(), "RSA 2048");
}

TEST_F(LocalCertificateAuthorityTest, LaterStartsLoadTheSameCa) {
  std::unique_ptr<LocalCertificateAuthority> first = Open();
  ASSERT_NE(first, nullptr);
  const std::string root_key = Contents(CaFolder() / "root.key");
  const std::string intermediate_key = Contents(CaFolder() / "intermediate.key");

  std::unique_ptr<LocalCertificateAuthority> second = Open(kNow + absl::Hours(24 * 30));
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->root_certificate(), first->root_certificate());
  EXPECT_EQ(second->intermediate_certificate(), first->intermediate_certificate());
  EXPECT_EQ(Contents(CaFolder() / "root.key"), root_key);
  EXPECT_EQ(Contents(CaFolder() / "intermediate.key"), intermediate_key);
}

TEST_F(LocalCertificateAuthorityTest, IntermediateNearItsEndIsReissuedUnderTheSameRoot) {
  std::unique_ptr<LocalCertificateAuthority> first = Open();
  ASSERT_NE(first, nullptr);
  // Four and a half years later, a third of the five-year lifetime is gone.
  std::unique_ptr<LocalCertificateAuthority> later = Open(kNow + absl::Hours(24 * 365 * 4));
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->root_certificate(), first->root_certificate());
  EXPECT_FALSE(later->intermediate_certificate() == first->intermediate_certificate());
  EXPECT_TRUE(later->intermediate_certificate().IsIssuedBy(first->root_certificate()));
}

TEST_F(LocalCertificateAuthorityTest, SignsAServerCertificateWithTheFullChain) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  const crypto::PrivateKey key = NewKey({crypto::KeyAlgorithm::kRsa, 2048});
  const crypto::CertificateRequest csr =
      Csr(key, "www.example.test", {"www.example.test", "example.test"});

  absl::StatusOr<IssuanceResult> result = authority->Submit(RequestFor(csr));
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->state, IssuanceState::kIssued);
  ASSERT_TRUE(result->leaf.has_value());
  const crypto::Certificate& leaf = *result->leaf;
  EXPECT_EQ(leaf.public_key(), key.public_key());
  EXPECT_EQ(crypto::RoleOf(leaf), crypto::CertificateRole::kServer);
  EXPECT_EQ(leaf.SubjectText(), "CN=www.example.test,O=Example Ltd");
  EXPECT_THAT(leaf.SubjectAlternativeNames(),
              ElementsAre("DNS:www.example.test", "DNS:example.test"));
  EXPECT_EQ(leaf.NotAfter() - kNow, absl::Hours(24 * 90));
  EXPECT_LE(leaf.NotBefore(), kNow);
  EXPECT_EQ(leaf.SignatureAlgorithm(), "ecdsa-with-SHA256");
  EXPECT_THAT(result->chain,
              ElementsAre(authority->intermediate_certificate(), authority->root_certificate()));
  EXPECT_THAT(result->message, HasSubstr("issued at once by the local CA"));

  crypto::ChainVerificationOptions verify;
  verify.at = kNow;
  verify.hostname = "example.test";
  const crypto::ChainVerification verification =
      crypto::VerifyChain(leaf, {result->chain[0]}, {result->chain[1]}, verify);
  EXPECT_TRUE(verification.ok()) << verification.reason;
  EXPECT_EQ(verification.chain.size(), 3u);
}

TEST_F(LocalCertificateAuthorityTest, OrderNamesSubjectAndValidityOverrideTheCsr) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  const crypto::CertificateRequest csr = Csr(NewKey(), "ignored.example.test", {});
  IssuanceRequest request = RequestFor(csr);
  request.subject.common_name = "shop.example.test";
  request.names = {"shop.example.test", "10.0.0.5"};
  request.validity = absl::Hours(24 * 30);

  absl::StatusOr<IssuanceResult> result = authority->Submit(request);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->leaf->SubjectText(), "CN=shop.example.test");
  EXPECT_THAT(result->leaf->SubjectAlternativeNames(),
              ElementsAre("DNS:shop.example.test", "IP:10.0.0.5"));
  EXPECT_EQ(result->leaf->NotAfter() - kNow, absl::Hours(24 * 30));
}

TEST_F(LocalCertificateAuthorityTest, CommonNameBecomesAnAlternativeNameWhenTheCsrHasNone) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  absl::StatusOr<IssuanceResult> result =
      authority->Submit(RequestFor(Csr(NewKey(), "legacy.example.test", {})));
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->leaf->SubjectAlternativeNames(), ElementsAre("DNS:legacy.example.test"));
}

TEST_F(LocalCertificateAuthorityTest, ConfiguredLeafValidityIsCutAtTheIntermediatesEnd) {
  LocalCertificateAuthorityOptions options = Options();
  options.leaf_validity = absl::Hours(24 * 10);
  options.intermediate_validity = absl::Hours(24 * 400);
  absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> authority =
      LocalCertificateAuthority::OpenOrCreate(options, kNow);
  ASSERT_THAT(authority, IsOk());
  IssuanceRequest request = RequestFor(Csr(NewKey(), "www.example.test", {}));
  absl::StatusOr<IssuanceResult> result = (*authority)->Submit(request);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->leaf->NotAfter() - kNow, absl::Hours(24 * 10));

  request.validity = absl::Hours(24 * 1000);
  result = (*authority)->Submit(request);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->leaf->NotAfter(), (*authority)->intermediate_certificate().NotAfter());
}

TEST_F(LocalCertificateAuthorityTest, RefusesATamperedCsr) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  std::string der = Csr(NewKey(), "www.example.test", {"www.example.test"}).ToDer();
  // Change the requested name after the host signed the request.
  const size_t position = der.find("www.example.test");
  ASSERT_NE(position, std::string::npos);
  der[position] = 'x';
  absl::StatusOr<crypto::CertificateRequest> tampered = crypto::CertificateRequest::Parse(der);
  ASSERT_THAT(tampered, IsOk());

  EXPECT_THAT(authority->Submit(RequestFor(*tampered)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("order order-1: the local CA refuses the CSR: CSR signature "
                                 "does not verify")));
}

TEST_F(LocalCertificateAuthorityTest, RefusesWeakKeysSha1AndNamelessRequests) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  IssuanceRequest sha1 = RequestFor(Csr(NewKey(), "www.example.test", {}));
  sha1.digest = crypto::SignatureDigest::kSha1;
  EXPECT_THAT(authority->Submit(sha1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the local CA does not issue SHA-1 certificates")));

  crypto::DistinguishedName nameless;
  nameless.organization = "Example Ltd";
  const crypto::CertificateRequest no_names =
      *crypto::CertificateRequest::Create(NewKey(), nameless, {});
  EXPECT_THAT(authority->Submit(RequestFor(no_names)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nothing to certify")));
}

TEST_F(LocalCertificateAuthorityTest, PollIsRefusedBecauseNothingIsEverPending) {
  std::unique_ptr<LocalCertificateAuthority> authority = Open();
  ASSERT_NE(authority, nullptr);
  EXPECT_THAT(
      authority->Poll(RequestFor(Csr(NewKey(), "www.example.test", {})), "ticket"),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("never leaves an order pending")));
}

TEST_F(LocalCertificateAuthorityTest, RefusesAnIntermediateKeyThatIsNotTheCertificates) {
  ASSERT_NE(Open(), nullptr);
  const std::filesystem::path key_path = CaFolder() / "intermediate.key";
  ASSERT_THAT(io::WriteFileAtomically(key_path, NewKey().ToPem(), 0600), IsOk());
  const std::string before = Contents(key_path);

  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(key_path.string() + " does not hold the key of " +
                                 (CaFolder() / "intermediate.crt").string())));
  EXPECT_EQ(Contents(key_path), before);
}

TEST_F(LocalCertificateAuthorityTest, RefusesAnIntermediateFromAnotherRoot) {
  ASSERT_NE(Open(), nullptr);
  const TestPki& pki = TestPki::Shared();
  ASSERT_THAT(io::WriteFileAtomically(CaFolder() / "intermediate.crt",
                                      pki.intermediate.certificate.ToPem(), 0644),
              IsOk());
  ASSERT_THAT(
      io::WriteFileAtomically(CaFolder() / "intermediate.key", pki.intermediate.key.ToPem(), 0600),
      IsOk());
  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr((CaFolder() / "intermediate.crt").string() +
                                 " holds 'CN=certfleet Test Intermediate CA,O=certfleet tests', "
                                 "which was not issued by the root in")));
}

TEST_F(LocalCertificateAuthorityTest, RefusesARootKeyThatIsNotTheRoots) {
  ASSERT_NE(Open(), nullptr);
  const std::filesystem::path key_path = CaFolder() / "root.key";
  ASSERT_THAT(io::WriteFileAtomically(key_path, NewKey().ToPem(), 0600), IsOk());
  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(key_path.string() + " does not hold the key of")));
}

TEST_F(LocalCertificateAuthorityTest, RefusesALeafInPlaceOfTheRoot) {
  ASSERT_NE(Open(), nullptr);
  const TestPki& pki = TestPki::Shared();
  ASSERT_THAT(io::WriteFileAtomically(CaFolder() / "root.crt", pki.leaf.certificate.ToPem(), 0644),
              IsOk());
  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr((CaFolder() / "root.crt").string() +
                                 " holds 'CN=www.example.test,O=certfleet tests', which is not a "
                                 "CA certificate")));
}

TEST_F(LocalCertificateAuthorityTest, RefusesAKeyReadableByOthers) {
  ASSERT_NE(Open(), nullptr);
  const std::filesystem::path key_path = CaFolder() / "intermediate.key";
  ASSERT_EQ(::chmod(key_path.c_str(), 0644), 0);
  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr(key_path.string() + " has mode 0644")));
}

TEST_F(LocalCertificateAuthorityTest, RefusesAnIntermediateWithoutItsRoot) {
  ASSERT_NE(Open(), nullptr);
  std::filesystem::remove(CaFolder() / "root.crt");
  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr((CaFolder() / "root.crt").string() + " is missing but")));
  EXPECT_FALSE(std::filesystem::exists(CaFolder() / "root.crt"));
}

TEST_F(LocalCertificateAuthorityTest, ARootWithoutItsKeyIsRefused) {
  ASSERT_NE(Open(), nullptr);
  std::filesystem::remove(CaFolder() / "root.key");
  EXPECT_THAT(LocalCertificateAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr((CaFolder() / "root.key").string() + " is missing")));
}

TEST_F(LocalCertificateAuthorityTest, AMissingIntermediateIsMadeUnderTheExistingRoot) {
  std::unique_ptr<LocalCertificateAuthority> first = Open();
  ASSERT_NE(first, nullptr);
  // What a crash between writing the intermediate's key and its certificate
  // leaves behind.
  std::filesystem::remove(CaFolder() / "intermediate.crt");
  std::unique_ptr<LocalCertificateAuthority> second = Open();
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->root_certificate(), first->root_certificate());
  EXPECT_TRUE(second->intermediate_certificate().IsIssuedBy(first->root_certificate()));
}

TEST_F(LocalCertificateAuthorityTest, RefusesImpossibleOptions) {
  LocalCertificateAuthorityOptions options = Options();
  options.leaf_validity = absl::ZeroDuration();
  EXPECT_THAT(
      LocalCertificateAuthority::OpenOrCreate(options, kNow),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("leaf validity must be positive")));
  EXPECT_FALSE(std::filesystem::exists(CaFolder()));
}

}  // namespace
}  // namespace certfleet::controller
