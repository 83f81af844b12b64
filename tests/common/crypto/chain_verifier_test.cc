#include "common/crypto/chain_verifier.h"

#include <ostream>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/certificate_builder.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_pki.h"

namespace certfleet::crypto {

namespace {

using ::certfleet::testing::Issued;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::Duration Days(int days) { return absl::Hours(24 * days); }

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

class ChainVerifierTest : public ::testing::Test {
 protected:
  const TestPki& pki_ = TestPki::Shared();

  ChainVerificationOptions AtNow() const {
    ChainVerificationOptions options;
    options.at = pki_.now;
    return options;
  }

  // Issues a certificate for a fresh key from `issuer`, failing the test when
  // the builder refuses.
  Issued IssueFrom(const Issued& issuer, const std::string& common_name, absl::Time not_before,
                   absl::Time not_after, CertificateUsage usage) const {
    absl::StatusOr<PrivateKey> key = PrivateKey::Generate({KeyAlgorithm::kEcdsa, 256});
    EXPECT_TRUE(key.ok()) << key.status();
    CertificateProfile profile;
    profile.subject.common_name = common_name;
    profile.subject.organization = "certfleet tests";
    profile.not_before = not_before;
    profile.not_after = not_after;
    profile.usage = usage;
    if (usage != CertificateUsage::kCertificateAuthority) {
      profile.alternative_names = {"DNS:" + common_name};
    }
    absl::StatusOr<Certificate> certificate =
        IssueCertificate(profile, key->public_key(), issuer.certificate, issuer.key);
    EXPECT_TRUE(certificate.ok()) << certificate.status();
    return Issued{*certificate, *key};
  }
};

TEST_F(ChainVerifierTest, CompleteChainVerifiesAndIsReturnedLeafFirst) {
  ChainVerification result = VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate},
                                         {pki_.root.certificate}, AtNow());

  EXPECT_TRUE(result.ok()) << result.reason;
  EXPECT_EQ(result.problem, ChainProblem::kNone);
  EXPECT_EQ(result.reason, "");
  EXPECT_THAT(result.chain, ElementsAre(pki_.leaf.certificate, pki_.intermediate.certificate,
                                        pki_.root.certificate));
}

TEST_F(ChainVerifierTest, ServedRootAndUnrelatedExtrasDoNotDisturbVerification) {
  // Servers often send the root too, and bundles carry certificates of other
  // hierarchies; only the path to a trusted root matters.
  ChainVerification result = VerifyChain(
      pki_.leaf.certificate,
      {pki_.other_root.certificate, pki_.root.certificate, pki_.intermediate.certificate},
      {pki_.root.certificate}, AtNow());

  EXPECT_TRUE(result.ok()) << result.reason;
  EXPECT_THAT(result.chain, ElementsAre(pki_.leaf.certificate, pki_.intermediate.certificate,
                                        pki_.root.certificate));
}

TEST_F(ChainVerifierTest, MissingIntermediateNamesTheLeafAndItsIssuer) {
  ChainVerification result =
      VerifyChain(pki_.leaf.certificate, {}, {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kMissingIntermediate);
  EXPECT_EQ(result.reason,
            "the issuer of 'CN=www.example.test,O=certfleet tests' ('CN=certfleet Test "
            "Intermediate CA,O=certfleet tests') was not provided: the chain is missing an "
            "intermediate");
  EXPECT_THAT(result.chain, ElementsAre(pki_.leaf.certificate));
}

TEST_F(ChainVerifierTest, ExpiredLeafIsNamedWithItsExpiryDate) {
  ChainVerification result =
      VerifyChain(pki_.expired_leaf.certificate, {pki_.intermediate.certificate},
                  {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kExpired);
  EXPECT_THAT(result.reason, HasSubstr("'CN=old.example.test,O=certfleet tests' expired on " +
                                       FormatUtc(pki_.expired_leaf.certificate.NotAfter())));
  // The chain could be built completely; only the dates are wrong.
  EXPECT_THAT(result.chain, ElementsAre(pki_.expired_leaf.certificate,
                                        pki_.intermediate.certificate, pki_.root.certificate));
}

TEST_F(ChainVerifierTest, FutureLeafIsNotYetValid) {
  ChainVerification result =
      VerifyChain(pki_.future_leaf.certificate, {pki_.intermediate.certificate},
                  {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kNotYetValid);
  EXPECT_THAT(result.reason,
              HasSubstr("'CN=future.example.test,O=certfleet tests' is not valid before " +
                        FormatUtc(pki_.future_leaf.certificate.NotBefore())));
}

TEST_F(ChainVerifierTest, VerifyingAfterTheLeafsExpiryReportsExpired) {
  ChainVerificationOptions options;
  options.at = pki_.leaf.certificate.NotAfter() + absl::Hours(1);

  ChainVerification result = VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate},
                                         {pki_.root.certificate}, options);

  EXPECT_EQ(result.problem, ChainProblem::kExpired);
  EXPECT_THAT(result.reason, HasSubstr("'CN=www.example.test,O=certfleet tests' expired on"));
}

TEST_F(ChainVerifierTest, VerifyingBeforeTheLeafsStartReportsNotYetValid) {
  ChainVerificationOptions options;
  options.at = pki_.leaf.certificate.NotBefore() - absl::Hours(1);

  ChainVerification result = VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate},
                                         {pki_.root.certificate}, options);

  EXPECT_EQ(result.problem, ChainProblem::kNotYetValid);
}

TEST_F(ChainVerifierTest, ExpiredIntermediateIsTheCertificateNamed) {
  Issued old_intermediate =
      IssueFrom(pki_.root, "certfleet Old Intermediate CA", pki_.now - Days(200),
                pki_.now - Days(2), CertificateUsage::kCertificateAuthority);
  Issued leaf = IssueFrom(old_intermediate, "legacy.example.test", pki_.now - Days(10),
                          pki_.now + Days(10), CertificateUsage::kTlsServer);

  ChainVerification result = VerifyChain(leaf.certificate, {old_intermediate.certificate},
                                         {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kExpired);
  EXPECT_THAT(result.reason,
              HasSubstr("'CN=certfleet Old Intermediate CA,O=certfleet tests' expired on " +
                        FormatUtc(old_intermediate.certificate.NotAfter())));
}

// other_leaf comes from another hierarchy whose root is not provided. Seen
// from the verifier, its issuer is simply absent: nothing tells whether that
// issuer is an intermediate or a root, so the honest answer is the missing
// certificate, named (the reason says which CA is expected). Only when the
// foreign root itself is presented can the verifier say "untrusted root".
TEST_F(ChainVerifierTest, LeafOfAnotherHierarchyAloneIsMissingItsIssuer) {
  ChainVerification result =
      VerifyChain(pki_.other_leaf.certificate, {pki_.intermediate.certificate},
                  {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kMissingIntermediate);
  EXPECT_THAT(result.reason, HasSubstr("('CN=Unrelated Root CA,O=certfleet tests')"));
  EXPECT_THAT(result.chain, ElementsAre(pki_.other_leaf.certificate));
}

TEST_F(ChainVerifierTest, LeafOfAnotherHierarchyWithItsRootIsUntrusted) {
  ChainVerification result = VerifyChain(pki_.other_leaf.certificate, {pki_.other_root.certificate},
                                         {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kUntrustedRoot);
  EXPECT_EQ(result.reason,
            "the chain ends in 'CN=Unrelated Root CA,O=certfleet tests', a root that is not "
            "among the trusted roots");
  EXPECT_THAT(result.chain, ElementsAre(pki_.other_leaf.certificate, pki_.other_root.certificate));
}

TEST_F(ChainVerifierTest, SelfSignedCertificateThatIsNotTrustedIsAnUntrustedRoot) {
  ChainVerification result =
      VerifyChain(pki_.other_root.certificate, {}, {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kUntrustedRoot);
  EXPECT_THAT(result.reason, HasSubstr("'CN=Unrelated Root CA,O=certfleet tests' is self-signed"));
}

TEST_F(ChainVerifierTest, NoTrustedRootsMeansUntrustedRoot) {
  ChainVerification result =
      VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate}, {}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kUntrustedRoot);
  EXPECT_THAT(result.reason, HasSubstr("no trusted roots were given"));
}

TEST_F(ChainVerifierTest, IntermediateWithTheRightNameButAnotherKeyIsTheWrongIssuer) {
  // A re-keyed or impostor CA: same subject as the real intermediate, other
  // key, so the leaf's signature cannot come from it.
  Issued impostor = IssueFrom(pki_.root, "certfleet Test Intermediate CA", pki_.now - Days(10),
                              pki_.now + Days(100), CertificateUsage::kCertificateAuthority);
  ASSERT_EQ(impostor.certificate.SubjectText(), pki_.intermediate.certificate.SubjectText());

  ChainVerification result =
      VerifyChain(pki_.leaf.certificate, {impostor.certificate}, {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kWrongIssuer);
  EXPECT_THAT(result.reason, HasSubstr("'CN=www.example.test,O=certfleet tests' names "
                                       "'CN=certfleet Test Intermediate CA,O=certfleet tests'"));
  EXPECT_THAT(result.reason, HasSubstr(impostor.certificate.Sha256Fingerprint()));
}

TEST_F(ChainVerifierTest, MatchingHostnameVerifies) {
  ChainVerificationOptions options = AtNow();
  options.hostname = "www.example.test";

  EXPECT_TRUE(VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate},
                          {pki_.root.certificate}, options)
                  .ok());
}

TEST_F(ChainVerifierTest, OtherHostnameIsAMismatchNamingWhatTheLeafCovers) {
  ChainVerificationOptions options = AtNow();
  options.hostname = "shop.example.test";

  ChainVerification result = VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate},
                                         {pki_.root.certificate}, options);

  EXPECT_EQ(result.problem, ChainProblem::kHostnameMismatch);
  EXPECT_EQ(result.reason,
            "'CN=www.example.test,O=certfleet tests' is not valid for 'shop.example.test' (it "
            "names DNS:www.example.test)");
}

TEST_F(ChainVerifierTest, IpAddressNotInTheLeafIsAMismatch) {
  ChainVerificationOptions options = AtNow();
  options.hostname = "10.0.0.5";

  ChainVerification result = VerifyChain(pki_.leaf.certificate, {pki_.intermediate.certificate},
                                         {pki_.root.certificate}, options);

  EXPECT_EQ(result.problem, ChainProblem::kHostnameMismatch);
  EXPECT_THAT(result.reason, HasSubstr("'10.0.0.5'"));
}

TEST_F(ChainVerifierTest, LeafUsedAsAnIntermediateIsAnInvalidCa) {
  // Someone "signed" a certificate with a server certificate's key: the
  // chain builds by name, but a CA:FALSE certificate cannot issue.
  Issued child = IssueFrom(pki_.leaf, "child.example.test", pki_.now - Days(1), pki_.now + Days(10),
                           CertificateUsage::kTlsServer);

  ChainVerification result =
      VerifyChain(child.certificate, {pki_.leaf.certificate, pki_.intermediate.certificate},
                  {pki_.root.certificate}, AtNow());

  EXPECT_EQ(result.problem, ChainProblem::kInvalidCa);
  EXPECT_THAT(result.reason,
              HasSubstr("'CN=www.example.test,O=certfleet tests' cannot act as a CA"));
}

TEST(ChainProblemNameTest, EveryProblemHasItsStableName) {
  EXPECT_EQ(ChainProblemName(ChainProblem::kNone), "none");
  EXPECT_EQ(ChainProblemName(ChainProblem::kMissingIntermediate), "missing_intermediate");
  EXPECT_EQ(ChainProblemName(ChainProblem::kExpired), "expired");
  EXPECT_EQ(ChainProblemName(ChainProblem::kNotYetValid), "not_yet_valid");
  EXPECT_EQ(ChainProblemName(ChainProblem::kUntrustedRoot), "untrusted_root");
  EXPECT_EQ(ChainProblemName(ChainProblem::kWrongIssuer), "wrong_issuer");
  EXPECT_EQ(ChainProblemName(ChainProblem::kInvalidCa), "invalid_ca");
  EXPECT_EQ(ChainProblemName(ChainProblem::kHostnameMismatch), "hostname_mismatch");
  EXPECT_EQ(ChainProblemName(ChainProblem::kOther), "other");
}

}  // namespace
}  // namespace certfleet::crypto
