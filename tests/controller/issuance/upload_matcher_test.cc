#include "controller/issuance/upload_matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/pkcs12.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"

namespace certfleet::controller {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::Issued;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

absl::Duration Days(int days) { return absl::Hours(24 * days); }

const TestPki& Pki() { return TestPki::Shared(); }

crypto::PrivateKey NewKey() {
  return *crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
}

// A server certificate for `key` issued by `issuer`, as a CA would return it.
crypto::Certificate IssueFor(const crypto::PrivateKey& key, const std::string& common_name,
                             const Issued& issuer, absl::Time not_before, absl::Time not_after) {
  crypto::CertificateProfile profile;
  profile.subject.common_name = common_name;
  profile.alternative_names = {"DNS:" + common_name};
  profile.not_before = not_before;
  profile.not_after = not_after;
  profile.usage = crypto::CertificateUsage::kTlsServer;
  return *crypto::IssueCertificate(profile, key.public_key(), issuer.certificate, issuer.key);
}

crypto::Certificate IssueFor(const crypto::PrivateKey& key, const std::string& common_name) {
  return IssueFor(key, common_name, Pki().intermediate, Pki().now - Days(1), Pki().now + Days(90));
}

OrderCandidate Order(const std::string& order_id, const std::string& hostname,
                     const std::string& site_id, const std::string& site_name,
                     const crypto::PrivateKey& key) {
  return OrderCandidate{.order_id = order_id,
                        .host_id = "host-" + hostname.substr(0, hostname.find('.')),
                        .hostname = hostname,
                        .site_id = site_id,
                        .site_name = site_name,
                        .request_key = key.public_key(),
                        .request_created_at = Pki().now - absl::Hours(1)};
}

UploadOptions Options(const std::string& file_name = "ssl_example.crt") {
  return UploadOptions{.file_name = file_name, .now = Pki().now};
}

// One open order on web01's "Shop" site, which most tests upload against.
class UploadMatcherTest : public ::testing::Test {
 protected:
  UploadMatcherTest() : order_key_(NewKey()), answer_(IssueFor(order_key_, "shop.example.test")) {
    candidates_.orders.push_back(
        Order("order-7", "web01.example.test", "1962875481", "Shop", order_key_));
  }

  const UploadAcceptance& Accepted(const absl::StatusOr<UploadOutcome>& outcome) {
    EXPECT_THAT(outcome, IsOk());
    EXPECT_TRUE(outcome->accepted.has_value());
    EXPECT_FALSE(outcome->diagnosis.has_value());
    return *outcome->accepted;
  }

  const UploadDiagnosis& Diagnosed(const absl::StatusOr<UploadOutcome>& outcome) {
    EXPECT_THAT(outcome, IsOk());
    EXPECT_FALSE(outcome->accepted.has_value());
    EXPECT_TRUE(outcome->diagnosis.has_value());
    return *outcome->diagnosis;
  }

  crypto::PrivateKey order_key_;
  crypto::Certificate answer_;
  UploadCandidates candidates_;
};

// --- Uploads that answer an order, in every format --------------------------

TEST_F(UploadMatcherTest, PemCertificateMatchesItsOrderByKey) {
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(answer_.ToPem(), candidates_, Options());
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.order_id, "order-7");
  EXPECT_EQ(accepted.leaf, answer_);
  EXPECT_THAT(accepted.chain, IsEmpty());
  EXPECT_EQ(accepted.format, UploadFormat::kPem);
  EXPECT_EQ(accepted.detected_content, "server certificate");
  EXPECT_FALSE(accepted.already_uploaded);
  EXPECT_THAT(accepted.notes, IsEmpty());
}

TEST_F(UploadMatcherTest, DerCertificateMatches) {
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(answer_.ToDer(), candidates_, Options("ssl_example.cer"));
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.order_id, "order-7");
  EXPECT_EQ(accepted.format, UploadFormat::kDer);
}

TEST_F(UploadMatcherTest, Pkcs7BundleMatchesAndItsCaCertificatesBecomeTheChain) {
  const std::string p7b =
      *crypto::ToPkcs7Der({Pki().root.certificate, answer_, Pki().intermediate.certificate});
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(p7b, candidates_, Options("ssl.p7b"));
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.order_id, "order-7");
  EXPECT_EQ(accepted.leaf, answer_);
  EXPECT_EQ(accepted.format, UploadFormat::kPkcs7);
  EXPECT_EQ(accepted.detected_content, "PKCS#7 bundle of 3 certificates");
  EXPECT_THAT(accepted.chain,
              UnorderedElementsAre(Pki().intermediate.certificate, Pki().root.certificate));
}

TEST_F(UploadMatcherTest, PemBundlePicksTheLeafWhereverItIs) {
  const std::string pem =
      crypto::ToPemBundle({Pki().intermediate.certificate, answer_, Pki().root.certificate});
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(pem, candidates_, Options());
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.leaf, answer_);
  EXPECT_EQ(accepted.detected_content, "PEM bundle of 3 certificates");
  EXPECT_THAT(accepted.chain, ElementsAre(Pki().intermediate.certificate, Pki().root.certificate));
}

TEST_F(UploadMatcherTest, BundleWithSeveralLeavesPicksTheOneThatAnswersAnOrder) {
  const std::string pem =
      crypto::ToPemBundle({Pki().leaf.certificate, answer_, Pki().intermediate.certificate});
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(pem, candidates_, Options());
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.leaf, answer_);
  EXPECT_THAT(accepted.chain, ElementsAre(Pki().intermediate.certificate));
}

TEST_F(UploadMatcherTest, TargetedUploadMatchesItsOrder) {
  UploadOptions options = Options();
  options.order_id = "order-7";
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(answer_.ToPem(), candidates_, options);
  EXPECT_EQ(Accepted(outcome).order_id, "order-7");
}

TEST_F(UploadMatcherTest, UploadingTheSameCertificateAgainChangesNothing) {
  candidates_.orders[0].stage = OrderStage::kIssued;
  candidates_.orders[0].issued_thumbprint = answer_.Thumbprint();
  candidates_.orders[0].state_name = "deploying";
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(answer_.ToPem(), candidates_, Options());
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.order_id, "order-7");
  EXPECT_TRUE(accepted.already_uploaded);
}

TEST_F(UploadMatcherTest, AnswerFromAnUnexpectedIssuerIsAcceptedWithANote) {
  candidates_.expected_issuers = {Pki().other_root.certificate};
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(answer_.ToPem(), candidates_, Options());
  const UploadAcceptance& accepted = Accepted(outcome);
  EXPECT_EQ(accepted.order_id, "order-7");
  EXPECT_THAT(accepted.notes,
              ElementsAre(HasSubstr("'CN=shop.example.test' was issued by 'CN=certfleet Test "
                                    "Intermediate CA,O=certfleet tests', which is not in the "
                                    "chain expected")));
}

// --- Wrong files: what the file is instead -----------------------------------

TEST_F(UploadMatcherTest, IntermediateIsNamedAsSuch) {
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(Pki().intermediate.certificate.ToPem(), candidates_, Options("CrossTrust.crt"));
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kIntermediateCertificate);
  EXPECT_EQ(diagnosis.format, UploadFormat::kPem);
  EXPECT_EQ(diagnosis.detected_content, "intermediate CA certificate");
  EXPECT_EQ(diagnosis.certificate, Pki().intermediate.certificate);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("CrossTrust.crt is the intermediate CA certificate 'CN=certfleet Test "
                        "Intermediate CA,O=certfleet tests' (basicConstraints CA:TRUE, issued by "
                        "'CN=certfleet Test Root CA,O=certfleet tests'), not a server "
                        "certificate; upload the server certificate the CA issued"));
}

TEST_F(UploadMatcherTest, RootIsNamedAsSuch) {
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(Pki().root.certificate.ToDer(), candidates_, Options("root.cer"));
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kRootCertificate);
  EXPECT_EQ(diagnosis.format, UploadFormat::kDer);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("root.cer is the root CA certificate 'CN=certfleet Test Root "
                        "CA,O=certfleet tests' (self-signed, basicConstraints CA:TRUE), not a "
                        "server certificate"));
}

TEST_F(UploadMatcherTest, BundleOfCaCertificatesOnlyIsTheChainNotTheCertificate) {
  const std::string p7b =
      *crypto::ToPkcs7Der({Pki().intermediate.certificate, Pki().root.certificate});
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(p7b, candidates_, Options("chain.p7b"));
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kIntermediateCertificate);
  EXPECT_EQ(diagnosis.format, UploadFormat::kPkcs7);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("chain.p7b is a PKCS#7 bundle of 2 certificates holding only CA "
                        "certificates ("));
  EXPECT_THAT(diagnosis.message,
              HasSubstr("intermediate 'CN=certfleet Test Intermediate CA,O=certfleet tests'"));
  EXPECT_THAT(diagnosis.message, HasSubstr("root 'CN=certfleet Test Root CA,O=certfleet tests'"));
}

TEST_F(UploadMatcherTest, CertificateFromAnotherIssuerIsNamedWithItsIssuer) {
  candidates_.expected_issuers = {Pki().intermediate.certificate};
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(Pki().other_leaf.certificate.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kOtherIssuer);
  EXPECT_EQ(diagnosis.certificate, Pki().other_leaf.certificate);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("issued by 'CN=Unrelated Root CA,O=certfleet tests', which is not in "
                        "the expected chain (expected issuer: 'CN=certfleet Test Intermediate "
                        "CA,O=certfleet tests'): it is another vendor's or another CA's "
                        "certificate"));
}

TEST_F(UploadMatcherTest, OlderCertificateOfTheSameHostIsNamedWithHostSiteAndThumbprint) {
  // web01's Shop site serves a certificate issued 300 days ago; the renewal's
  // request was made an hour ago with a new key.
  const crypto::PrivateKey installed_key = NewKey();
  const crypto::Certificate installed =
      IssueFor(installed_key, "shop.example.test", Pki().intermediate, Pki().now - Days(300),
               Pki().now + Days(65));
  candidates_.inventory.push_back(InventoryCertificate{.host_id = "host-web01",
                                                       .hostname = "web01.example.test",
                                                       .site_id = "1962875481",
                                                       .site_name = "Shop",
                                                       .thumbprint = installed.Thumbprint(),
                                                       .public_key = installed_key.public_key(),
                                                       .not_before = installed.NotBefore()});

  absl::StatusOr<UploadOutcome> outcome = MatchUpload(installed.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kOlderCertificateOfSameHost);
  EXPECT_EQ(diagnosis.matched_host_id, "host-web01");
  EXPECT_EQ(diagnosis.matched_hostname, "web01.example.test");
  EXPECT_EQ(diagnosis.matched_site_id, "1962875481");
  EXPECT_EQ(diagnosis.matched_site_name, "Shop");
  EXPECT_EQ(diagnosis.matched_order_id, "order-7");
  const std::string started =
      absl::FormatTime("%Y-%m-%d", installed.NotBefore(), absl::UTCTimeZone());
  const std::string requested =
      absl::FormatTime("%Y-%m-%d", Pki().now - absl::Hours(1), absl::UTCTimeZone());
  EXPECT_THAT(diagnosis.message,
              HasSubstr("ssl_example.crt holds an older certificate of web01.example.test, site "
                        "'Shop' (1962875481): it is the certificate already installed there "
                        "(thumbprint " +
                        installed.Thumbprint() + ", valid from " + started + ")"));
  EXPECT_THAT(diagnosis.message, HasSubstr("it starts on " + started +
                                           ", before the request of order order-7 was "
                                           "made (" +
                                           requested + ")"));
}

TEST_F(UploadMatcherTest, EarlierCertificateForAnInstalledKeyIsAlsoAnOlderCertificate) {
  // The CA once issued two certificates for the same old key; the host has
  // the second, the operator uploads the first.
  const crypto::PrivateKey installed_key = NewKey();
  const crypto::Certificate first = IssueFor(installed_key, "shop.example.test", Pki().intermediate,
                                             Pki().now - Days(400), Pki().now - Days(10));
  const crypto::Certificate second =
      IssueFor(installed_key, "shop.example.test", Pki().intermediate, Pki().now - Days(200),
               Pki().now + Days(100));
  candidates_.inventory.push_back(InventoryCertificate{.host_id = "host-web01",
                                                       .hostname = "web01.example.test",
                                                       .site_id = "1962875481",
                                                       .site_name = "Shop",
                                                       .thumbprint = second.Thumbprint(),
                                                       .public_key = installed_key.public_key(),
                                                       .not_before = second.NotBefore()});
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(first.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kOlderCertificateOfSameHost);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("its key is the key of the certificate installed there (thumbprint " +
                        second.Thumbprint() + ","));
  EXPECT_THAT(diagnosis.message, HasSubstr("not the key of a pending request"));
}

TEST_F(UploadMatcherTest, AnswerToAnotherSitesPendingRequestNamesThatHostAndSite) {
  // A CSR made by hand on web02's real site (not certfleet's temporary one).
  const crypto::PrivateKey other_key = NewKey();
  candidates_.pending_requests.push_back(
      PendingRequestRecord{.host_id = "host-web02",
                           .hostname = "web02.example.test",
                           .site_id = "1",
                           .site_name = "Default Web Site",
                           .public_key = other_key.public_key(),
                           .created_at = absl::FromUnixSeconds(1'790'000'000)});
  const crypto::Certificate certificate = IssueFor(other_key, "www.example.test");

  absl::StatusOr<UploadOutcome> outcome = MatchUpload(certificate.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kAnswersOtherSiteRequest);
  EXPECT_EQ(diagnosis.matched_host_id, "host-web02");
  EXPECT_EQ(diagnosis.matched_hostname, "web02.example.test");
  EXPECT_EQ(diagnosis.matched_site_id, "1");
  EXPECT_EQ(diagnosis.matched_site_name, "Default Web Site");
  EXPECT_EQ(diagnosis.matched_order_id, "");
  EXPECT_THAT(diagnosis.message,
              HasSubstr("which answers the pending request made on 2026-09-21 14:13 UTC on "
                        "web02.example.test, site 'Default Web Site' (1), not any open certfleet "
                        "order: the CSR was made on a different site"));
}

TEST_F(UploadMatcherTest, TargetedUploadThatAnswersAnotherOrderNamesThatOrder) {
  const crypto::PrivateKey other_key = NewKey();
  candidates_.orders.push_back(
      Order("order-8", "web02.example.test", "1", "Default Web Site", other_key));
  UploadOptions options = Options();
  options.order_id = "order-7";
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(IssueFor(other_key, "www.example.test").ToPem(), candidates_, options);
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kAnswersOtherSiteRequest);
  EXPECT_EQ(diagnosis.matched_order_id, "order-8");
  EXPECT_EQ(diagnosis.matched_hostname, "web02.example.test");
  EXPECT_EQ(diagnosis.matched_site_name, "Default Web Site");
  EXPECT_THAT(diagnosis.message,
              HasSubstr("which answers the request of order order-8 on web02.example.test, site "
                        "'Default Web Site' (1), not order order-7's request on "
                        "web01.example.test, site 'Shop' (1962875481): it was requested on a "
                        "different site"));
}

TEST_F(UploadMatcherTest, TargetingAnUnknownOrderIsNotFound) {
  UploadOptions options = Options();
  options.order_id = "order-99";
  EXPECT_THAT(MatchUpload(answer_.ToPem(), candidates_, options),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("order order-99 is not awaiting a certificate")));
}

TEST_F(UploadMatcherTest, AnswerToAClosedOrderSaysSo) {
  candidates_.orders[0].stage = OrderStage::kClosed;
  candidates_.orders[0].state_name = "cancelled";
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(answer_.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kOrderAlreadyClosed);
  EXPECT_EQ(diagnosis.matched_order_id, "order-7");
  EXPECT_THAT(diagnosis.message,
              HasSubstr("which answers order order-7 (web01.example.test, site 'Shop' "
                        "(1962875481)), but that order is already cancelled; nothing changed"));
}

TEST_F(UploadMatcherTest, ExpiredCertificateThatAnswersNothingIsCalledExpired) {
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(Pki().expired_leaf.certificate.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kExpired);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("'CN=old.example.test,O=certfleet tests' (thumbprint " +
                        Pki().expired_leaf.certificate.Thumbprint() + "), which expired on"));
}

TEST_F(UploadMatcherTest, ExpiredAnswerToAnOpenOrderIsRefused) {
  const crypto::Certificate expired = IssueFor(order_key_, "shop.example.test", Pki().intermediate,
                                               Pki().now - Days(100), Pki().now - Days(1));
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(expired.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kExpired);
  EXPECT_EQ(diagnosis.matched_order_id, "order-7");
  EXPECT_THAT(diagnosis.message, HasSubstr("answers order order-7"));
  EXPECT_THAT(diagnosis.message, HasSubstr("ask the CA to reissue it"));
}

TEST_F(UploadMatcherTest, CertificateForAnUnknownKeyAnswersNoRequest) {
  absl::StatusOr<UploadOutcome> outcome =
      MatchUpload(Pki().leaf.certificate.ToPem(), candidates_, Options());
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kAnswersNoRequest);
  EXPECT_THAT(
      diagnosis.message,
      HasSubstr("whose key (SHA-256 " + Pki().leaf.certificate.public_key().Sha256Fingerprint() +
                ") matches no open order, no pending request and no known certificate"));
}

TEST_F(UploadMatcherTest, CsrIsNotACertificateAndIsRecognisedAsTheOrdersOwn) {
  crypto::DistinguishedName subject;
  subject.common_name = "shop.example.test";
  const crypto::CertificateRequest csr =
      *crypto::CertificateRequest::Create(order_key_, subject, {});
  absl::StatusOr<UploadOutcome> outcome = MatchUpload(csr.ToPem(), candidates_, Options("x.csr"));
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kNotACertificate);
  EXPECT_EQ(diagnosis.detected_content, "certificate signing request (CSR)");
  EXPECT_EQ(diagnosis.matched_order_id, "order-7");
  EXPECT_FALSE(diagnosis.certificate.has_value());
  EXPECT_EQ(diagnosis.message,
            "x.csr is a certificate signing request (CSR) for 'CN=shop.example.test', the CSR of "
            "order order-7 (web01.example.test, site 'Shop' (1962875481)), not a certificate: "
            "submit it at the CA's portal and upload the certificate the CA returns");
}

TEST_F(UploadMatcherTest, GarbageIsNotACertificateWithTheReadersReason) {
  absl::StatusOr<UploadOutcome> outcome = MatchUpload("hello", candidates_, Options("notes.txt"));
  const UploadDiagnosis& diagnosis = Diagnosed(outcome);
  EXPECT_EQ(diagnosis.kind, DiagnosisKind::kNotACertificate);
  EXPECT_EQ(diagnosis.format, UploadFormat::kUnknown);
  EXPECT_EQ(diagnosis.detected_content, "unreadable bytes");
  EXPECT_THAT(diagnosis.message,
              HasSubstr("notes.txt is not a certificate: not a certificate: the 5 bytes are "
                        "neither PEM text nor DER"));
}

// --- Private keys are refused, never matched ---------------------------------

TEST_F(UploadMatcherTest, PrivateKeyAloneIsRefused) {
  EXPECT_THAT(MatchUpload(order_key_.ToPem(), candidates_, Options("server.key")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("server.key contains a private key (ECDSA P-256); certfleet "
                                 "refuses it and stored nothing: private keys never leave their "
                                 "host")));
}

TEST_F(UploadMatcherTest, DerPrivateKeyIsRefused) {
  const crypto::PrivateKey rsa = *crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kRsa, 2048});
  // The PKCS#8 DER inside the PEM armour.
  std::string pem = rsa.ToPem();
  std::string base64;
  for (const absl::string_view line : absl::StrSplit(pem, '\n')) {
    if (!line.empty() && !absl::StartsWith(line, "-----")) base64 += std::string(line);
  }
  std::string der;
  ASSERT_TRUE(absl::Base64Unescape(base64, &der));
  EXPECT_THAT(MatchUpload(der, candidates_, Options("server.der")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("server.der contains a private key (RSA 2048); certfleet "
                                 "refuses it")));
}

TEST_F(UploadMatcherTest, CertificateWithItsPrivateKeyIsRefusedEvenThoughItAnswersTheOrder) {
  const std::string pem = answer_.ToPem() + order_key_.ToPem();
  EXPECT_THAT(MatchUpload(pem, candidates_, Options("combined.pem")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("private keys never leave their host")));
}

TEST_F(UploadMatcherTest, Pkcs12ArchiveIsRefused) {
  const std::string pfx =
      *crypto::ExportPkcs12(order_key_, answer_, {}, "secret", crypto::Pkcs12Encryption::kAes256);
  EXPECT_THAT(MatchUpload(pfx, candidates_, Options("backup.pfx")),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("backup.pfx contains a PKCS#12 (.pfx) archive, which holds a "
                                 "private key; certfleet refuses it")));
}

TEST_F(UploadMatcherTest, OversizedUploadIsRefused) {
  const std::string huge(crypto::kMaxInputBytes + 1, 'A');
  EXPECT_THAT(MatchUpload(huge, candidates_, Options()),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("over the")));
}

TEST(UploadMatcherNamesTest, NamesAreStable) {
  EXPECT_EQ(DiagnosisKindName(DiagnosisKind::kOlderCertificateOfSameHost),
            "older_certificate_of_same_host");
  EXPECT_EQ(DiagnosisKindName(DiagnosisKind::kAnswersOtherSiteRequest),
            "answers_other_site_request");
  EXPECT_EQ(UploadFormatName(UploadFormat::kPkcs7), "pkcs7");
}

}  // namespace
}  // namespace certfleet::controller
