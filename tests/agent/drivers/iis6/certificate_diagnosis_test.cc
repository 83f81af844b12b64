// Each wrong-file cause of IIS6.md ("Failure causes") gets its own verdict
// and a message that names what the file really is.

#include "agent/drivers/iis6/certificate_diagnosis.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/certificate_builder.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/test_pki.h"

namespace certfleet::iis6 {
namespace {

using ::certfleet::testing::TestPki;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kDay = absl::Hours(24);

crypto::Certificate Issue(const crypto::PrivateKey& key, const std::string& common_name,
                          absl::Time not_before,
                          crypto::CertificateUsage usage = crypto::CertificateUsage::kTlsServer) {
  const TestPki& pki = TestPki::Shared();
  crypto::CertificateProfile profile;
  profile.subject.common_name = common_name;
  profile.alternative_names = {common_name};
  profile.not_before = not_before;
  profile.not_after = not_before + 90 * kDay;
  profile.usage = usage;
  return *crypto::IssueCertificate(profile, key.public_key(), pki.intermediate.certificate,
                                   pki.intermediate.key);
}

class CertificateDiagnosisTest : public ::testing::Test {
 protected:
  CertificateDiagnosisTest() {
    input_.site_id = "1811939328";
    input_.site_name = "certfleet temporary";
    input_.site_request = KnownPendingRequest{"",
                                              "1811939328",
                                              "certfleet temporary",
                                              "CN=www.example.test",
                                              request_key_.public_key(),
                                              now_ - kDay};
    input_.expected_issuers = {pki_.intermediate.certificate, pki_.root.certificate};
  }

  const TestPki& pki_ = TestPki::Shared();
  const absl::Time now_ = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  crypto::PrivateKey request_key_ = testing::NewRsaKey();
  DiagnosisInput input_;
};

TEST_F(CertificateDiagnosisTest, CertificateForTheRequestIsAccepted) {
  const CertificateDiagnosis diagnosis =
      DiagnoseIssuedCertificate(Issue(request_key_, "www.example.test", now_), input_);
  EXPECT_TRUE(diagnosis.accepted());
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kAnswersRequest);
  EXPECT_THAT(diagnosis.message, IsEmpty());
}

TEST_F(CertificateDiagnosisTest, PlaceholderIsNotTheIssuedCertificate) {
  crypto::CertificateProfile profile;
  profile.subject.common_name = "www.example.test";
  profile.not_before = now_ - kDay;
  profile.not_after = now_ + 365 * kDay;
  const crypto::Certificate placeholder =
      *crypto::IssueCertificate(profile, request_key_.public_key(), std::nullopt, request_key_);
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(placeholder, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kPlaceholder);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("this is the self-signed placeholder 'CN=www.example.test' that IIS keeps "
                        "for the pending request of site 1811939328 'certfleet temporary'"));
}

TEST_F(CertificateDiagnosisTest, IntermediateIsNamedAsSuch) {
  const CertificateDiagnosis diagnosis =
      DiagnoseIssuedCertificate(pki_.intermediate.certificate, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kCertificateAuthority);
  EXPECT_THAT(diagnosis.message,
              AllOf(HasSubstr("this is an intermediate CA certificate "
                              "'CN=certfleet Test Intermediate CA"),
                    HasSubstr("not the server certificate"), HasSubstr("CA:TRUE")));
}

TEST_F(CertificateDiagnosisTest, RootIsNamedAsSuch) {
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(pki_.root.certificate, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kCertificateAuthority);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("this is a root CA certificate 'CN=certfleet Test Root CA"));
}

TEST_F(CertificateDiagnosisTest, AnotherVendorsCertificateIsNamed) {
  const CertificateDiagnosis diagnosis =
      DiagnoseIssuedCertificate(pki_.other_leaf.certificate, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kOtherIssuer);
  EXPECT_THAT(diagnosis.message,
              AllOf(HasSubstr("was issued by 'CN=Unrelated Root CA"),
                    HasSubstr("which is not in the expected chain ('CN=certfleet Test "
                              "Intermediate CA"),
                    HasSubstr("another CA's or another vendor's certificate")));
}

TEST_F(CertificateDiagnosisTest, OlderCertificateOfThisHostGivesDatesAndThumbprint) {
  // The host's current certificate and an older one for the same key.
  const crypto::PrivateKey installed_key = testing::NewRsaKey();
  const crypto::Certificate current = Issue(installed_key, "www.example.test", now_ - 60 * kDay);
  const crypto::Certificate older = Issue(installed_key, "www.example.test", now_ - 150 * kDay);
  input_.installed.push_back({current, "in the MY store, bound to site 1 'Default Web Site'"});

  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(older, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kOlderCertificate);
  EXPECT_THAT(
      diagnosis.message,
      AllOf(HasSubstr("this is an older certificate of this host"), HasSubstr(older.Thumbprint()),
            HasSubstr(absl::FormatTime("valid %Y-%m-%d", older.NotBefore(), absl::UTCTimeZone())),
            HasSubstr("bound to site 1 'Default Web Site'"),
            HasSubstr("issued before the pending request of site 1811939328"),
            HasSubstr("not the one just issued")));
}

TEST_F(CertificateDiagnosisTest, CurrentCertificateUploadedAgainIsRecognised) {
  const crypto::PrivateKey installed_key = testing::NewRsaKey();
  const crypto::Certificate current = Issue(installed_key, "www.example.test", now_ - 60 * kDay);
  input_.installed.push_back({current, "in the MY store"});
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(current, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kOlderCertificate);
  EXPECT_THAT(diagnosis.message, HasSubstr("this is a certificate this host already has"));
}

TEST_F(CertificateDiagnosisTest, AnswerToAnotherSitesRequestNamesThatSite) {
  const crypto::PrivateKey other_key = testing::NewRsaKey();
  input_.other_requests.push_back({"", "1962875481", "Boutique Zürich",
                                   "CN=www.boutique-zuerich.example.test", other_key.public_key(),
                                   now_ - 2 * kDay});
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(
      Issue(other_key, "www.boutique-zuerich.example.test", now_), input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kAnswersOtherRequest);
  EXPECT_THAT(diagnosis.message,
              AllOf(HasSubstr("answers the pending request of another site: site 1962875481 "
                              "'Boutique Zürich'"),
                    HasSubstr("not site 1811939328 'certfleet temporary'")));
}

TEST_F(CertificateDiagnosisTest, FleetWideRequestsNameTheirHost) {
  const crypto::PrivateKey other_key = testing::NewRsaKey();
  input_.other_requests.push_back({"web02.example.test", "1", "Default Web Site",
                                   "CN=www.example.test", other_key.public_key(), now_});
  const CertificateDiagnosis diagnosis =
      DiagnoseIssuedCertificate(Issue(other_key, "www.example.test", now_), input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kAnswersOtherRequest);
  EXPECT_THAT(diagnosis.message, HasSubstr("site 1 'Default Web Site' on host web02.example.test"));
}

TEST_F(CertificateDiagnosisTest, ClientCertificateIsNotAServerCertificate) {
  const crypto::Certificate client =
      Issue(testing::NewRsaKey(), "agent-7", now_, crypto::CertificateUsage::kTlsClient);
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(client, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kNotServerCertificate);
  EXPECT_THAT(diagnosis.message, HasSubstr("is not meant for TLS servers"));
}

TEST_F(CertificateDiagnosisTest, SiteWithoutPendingRequestIsSaidSo) {
  input_.site_request.reset();
  const CertificateDiagnosis diagnosis =
      DiagnoseIssuedCertificate(Issue(testing::NewRsaKey(), "www.example.test", now_), input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kNoPendingRequest);
  EXPECT_THAT(diagnosis.message,
              HasSubstr("site 1811939328 'certfleet temporary' has no pending request"));
}

TEST_F(CertificateDiagnosisTest, UnknownKeyIssuedBeforeTheRequestLooksOlder) {
  const crypto::Certificate stranger =
      Issue(testing::NewRsaKey(), "www.example.test", now_ - 200 * kDay);
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(stranger, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kUnknownKey);
  EXPECT_THAT(diagnosis.message,
              AllOf(HasSubstr("does not answer the pending request of site 1811939328"),
                    HasSubstr(request_key_.public_key().Sha256Fingerprint()),
                    HasSubstr("most likely an older certificate")));
}

TEST_F(CertificateDiagnosisTest, UnknownKeyIssuedAfterTheRequestWasMadeElsewhere) {
  const crypto::Certificate stranger = Issue(testing::NewRsaKey(), "www.example.test", now_);
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(stranger, input_);
  EXPECT_EQ(diagnosis.verdict, CertificateVerdict::kUnknownKey);
  EXPECT_THAT(diagnosis.message, HasSubstr("it was issued for a CSR made elsewhere"));
}

TEST(CertificateVerdictNameTest, NamesAreStable) {
  EXPECT_EQ(CertificateVerdictName(CertificateVerdict::kAnswersRequest), "answers_request");
  EXPECT_EQ(CertificateVerdictName(CertificateVerdict::kCertificateAuthority),
            "certificate_authority");
  EXPECT_EQ(CertificateVerdictName(CertificateVerdict::kAnswersOtherRequest),
            "answers_other_request");
  EXPECT_EQ(CertificateVerdictName(CertificateVerdict::kOlderCertificate), "older_certificate");
  EXPECT_EQ(CertificateVerdictName(CertificateVerdict::kOtherIssuer), "other_issuer");
}

}  // namespace
}  // namespace certfleet::iis6
