#include "controller/identity/fleet_authority.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "common/crypto/certificate_reader.h"
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
using ::testing::Contains;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

mode_t ModeOf(const std::filesystem::path& path) {
  struct stat information {};
  stat(path.c_str(), &information);
  return information.st_mode & 07777;
}

crypto::CertificateRequest AgentRequest(const crypto::PrivateKey& key) {
  crypto::DistinguishedName subject;
  subject.common_name = "whatever-the-agent-claims";
  return *crypto::CertificateRequest::Create(key, subject, {});
}

class FleetAuthorityTest : public ::testing::Test {
 protected:
  FleetAuthorityOptions Options() {
    FleetAuthorityOptions options;
    options.data_dir = folder_.path() / "data";
    return options;
  }
  TemporaryDirectory folder_;
};

TEST_F(FleetAuthorityTest, FirstStartCreatesCredentialsWithTightModes) {
  absl::StatusOr<FleetAuthority> fleet = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(fleet, IsOk());
  const auto data = folder_.path() / "data";
  for (const char* key : {"fleet-ca/ca.key", "server/server.key", "admin/admin.key"}) {
    EXPECT_EQ(ModeOf(data / key), 0600u) << key;
  }
  EXPECT_EQ(ModeOf(data / "fleet-ca"), 0700u);
  EXPECT_TRUE(fleet->ca_certificate().IsCertificateAuthority());
  EXPECT_EQ(fleet->ca_certificate().public_key().Description(), "ECDSA P-256");
  EXPECT_EQ(fleet->CaFingerprint().size(), 64u);
  absl::StatusOr<crypto::CertificateFile> chain =
      crypto::ReadCertificates(fleet->ServerCertificateChainPem());
  ASSERT_THAT(chain, IsOk());
  ASSERT_EQ(chain->certificates.size(), 2u);
  EXPECT_THAT(chain->certificates[0].SubjectAlternativeNames(), Contains("IP:127.0.0.1"));
  EXPECT_TRUE(chain->certificates[0].IsIssuedBy(fleet->ca_certificate()));
}

TEST_F(FleetAuthorityTest, SecondStartKeepsTheSameCaAndServerCertificate) {
  absl::StatusOr<FleetAuthority> first = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(first, IsOk());
  absl::StatusOr<FleetAuthority> second =
      FleetAuthority::OpenOrCreate(Options(), kNow + absl::Hours(1));
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->CaFingerprint(), first->CaFingerprint());
  EXPECT_EQ(second->ServerCertificateChainPem(), first->ServerCertificateChainPem());
}

TEST_F(FleetAuthorityTest, ServerCertificateIsReissuedForNewNamesOrNearExpiry) {
  absl::StatusOr<FleetAuthority> first = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(first, IsOk());
  FleetAuthorityOptions renamed = Options();
  renamed.server_names = {"controller.example.test", "10.1.2.3"};
  absl::StatusOr<FleetAuthority> second = FleetAuthority::OpenOrCreate(renamed, kNow);
  ASSERT_THAT(second, IsOk());
  absl::StatusOr<crypto::CertificateFile> chain =
      crypto::ReadCertificates(second->ServerCertificateChainPem());
  ASSERT_THAT(chain, IsOk());
  EXPECT_THAT(chain->certificates[0].SubjectAlternativeNames(),
              Contains("DNS:controller.example.test"));
  EXPECT_THAT(chain->certificates[0].SubjectAlternativeNames(), Contains("IP:10.1.2.3"));
  EXPECT_EQ(second->CaFingerprint(), first->CaFingerprint());

  absl::StatusOr<FleetAuthority> late =
      FleetAuthority::OpenOrCreate(renamed, kNow + absl::Hours(24 * 300));
  ASSERT_THAT(late, IsOk());
  EXPECT_NE(late->ServerCertificateChainPem(), second->ServerCertificateChainPem());
}

TEST_F(FleetAuthorityTest, RefusesAServerCertificateFromAnotherCa) {
  ASSERT_THAT(FleetAuthority::OpenOrCreate(Options(), kNow), IsOk());
  const auto server = folder_.path() / "data" / "server";
  const TestPki& pki = TestPki::Shared();
  ASSERT_THAT(io::WriteFileAtomically(server / "server.crt", pki.leaf.certificate.ToPem(), 0644),
              IsOk());
  ASSERT_THAT(io::WriteFileAtomically(server / "server.key", pki.leaf.key.ToPem(), 0600), IsOk());
  EXPECT_THAT(FleetAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("was not issued by the fleet CA")));
  // Nothing was overwritten.
  EXPECT_EQ(*io::ReadFile(server / "server.crt", 65536), pki.leaf.certificate.ToPem());
}

TEST_F(FleetAuthorityTest, RefusesAKeyThatDoesNotMatchItsCertificate) {
  ASSERT_THAT(FleetAuthority::OpenOrCreate(Options(), kNow), IsOk());
  ASSERT_THAT(io::WriteFileAtomically(folder_.path() / "data" / "fleet-ca" / "ca.key",
                                      TestPki::Shared().leaf.key.ToPem(), 0600),
              IsOk());
  EXPECT_THAT(FleetAuthority::OpenOrCreate(Options(), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("does not hold the key")));
}

TEST_F(FleetAuthorityTest, AgentCertificateIdentifiesItsHostOnly) {
  absl::StatusOr<FleetAuthority> fleet = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(fleet, IsOk());
  const crypto::PrivateKey& key = TestPki::Shared().leaf.key;
  absl::StatusOr<crypto::Certificate> agent =
      fleet->IssueAgentCertificate(AgentRequest(key), "h-42", "web01.example.test", kNow);
  ASSERT_THAT(agent, IsOk());
  EXPECT_EQ(agent->public_key(), key.public_key());
  EXPECT_EQ(agent->Subject().common_name, "web01.example.test");
  EXPECT_EQ(agent->NotAfter(), kNow + absl::Hours(24 * 7));
  absl::StatusOr<FleetIdentity> identity = fleet->Identify(*agent, kNow);
  ASSERT_THAT(identity, IsOk());
  EXPECT_EQ(identity->role, FleetRole::kAgent);
  EXPECT_EQ(identity->host_id, "h-42");
  EXPECT_EQ(identity->name, "web01.example.test");
}

TEST_F(FleetAuthorityTest, AdminCertificateIsAnAdminNotAnAgent) {
  absl::StatusOr<FleetAuthority> fleet = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(fleet, IsOk());
  absl::StatusOr<std::string> admin_pem =
      io::ReadFile(folder_.path() / "data" / "admin" / "admin.crt", 65536);
  ASSERT_THAT(admin_pem, IsOk());
  absl::StatusOr<crypto::Certificate> admin = crypto::ReadSingleCertificate(*admin_pem);
  ASSERT_THAT(admin, IsOk());
  absl::StatusOr<FleetIdentity> identity = fleet->Identify(*admin, kNow);
  ASSERT_THAT(identity, IsOk());
  EXPECT_EQ(identity->role, FleetRole::kAdmin);
  EXPECT_TRUE(identity->host_id.empty());
}

TEST_F(FleetAuthorityTest, IdentifyRefusesForeignExpiredAndRolelessCertificates) {
  absl::StatusOr<FleetAuthority> fleet = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(fleet, IsOk());
  EXPECT_THAT(fleet->Identify(TestPki::Shared().leaf.certificate, kNow),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not issued by this fleet")));
  absl::StatusOr<crypto::Certificate> agent = fleet->IssueAgentCertificate(
      AgentRequest(TestPki::Shared().leaf.key), "h-1", "web01", kNow);
  ASSERT_THAT(agent, IsOk());
  EXPECT_THAT(fleet->Identify(*agent, kNow + absl::Hours(24 * 8)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not valid now")));
  // The server certificate is the fleet CA's, but carries no client role.
  absl::StatusOr<crypto::CertificateFile> chain =
      crypto::ReadCertificates(fleet->ServerCertificateChainPem());
  ASSERT_THAT(chain, IsOk());
  EXPECT_THAT(fleet->Identify(chain->certificates[0], kNow),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no certfleet role")));
}

TEST_F(FleetAuthorityTest, RefusesATamperedAgentRequest) {
  absl::StatusOr<FleetAuthority> fleet = FleetAuthority::OpenOrCreate(Options(), kNow);
  ASSERT_THAT(fleet, IsOk());
  std::string der = AgentRequest(TestPki::Shared().leaf.key).ToDer();
  der[der.find("whatever")] = 'W';
  absl::StatusOr<crypto::CertificateRequest> tampered = crypto::CertificateRequest::Parse(der);
  ASSERT_THAT(tampered, IsOk());
  EXPECT_THAT(fleet->IssueAgentCertificate(*tampered, "h-1", "web01", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not verify")));
}

}  // namespace
}  // namespace certfleet::controller
