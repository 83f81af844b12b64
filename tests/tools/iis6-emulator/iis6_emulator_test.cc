// Runs the real iis6-emulator binary against host roots built in temporary
// folders, as the IIS 6 driver uses it: start, TLS probe, SIGHUP after an
// edit, SIGTERM. Waits are on the pid file and the reload generation, never
// on a fixed sleep.

#include <signal.h>

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/crypto/certificate.h"
#include "common/crypto/chain_verifier.h"
#include "common/tls/tls_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"
#include "tests/tools/iis6-emulator/emulated_host.h"
#include "tests/tools/iis6-emulator/emulator_process.h"

namespace certfleet::testing {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAddress[] = "127.0.0.2";
constexpr char kContentPath[] = "C:\\Inetpub\\wwwroot";

class Iis6EmulatorBinaryTest : public ::testing::Test {
 protected:
  Iis6EmulatorBinaryTest() : host_(temporary_.path() / "host") {
    host_.WriteEmulationConfig(kAddress);
    host_.InstallRoot(pki_.root.certificate);
  }

  // The Default Web Site with one secure binding on `secure_port` bound to
  // `thumbprint` and one plain binding on `http_port` (none when 0).
  SiteSpecification DefaultSite(std::uint16_t secure_port, const std::string& thumbprint,
                                std::uint16_t http_port = 0) const {
    SiteSpecification site{.id = "1",
                           .name = "Default Web Site",
                           .server_bindings = {},
                           .secure_bindings = {":" + std::to_string(secure_port) + ":"},
                           .certificate_hash = thumbprint,
                           .auto_start = true,
                           .root_path = kContentPath};
    if (http_port != 0) site.server_bindings.push_back(":" + std::to_string(http_port) + ":");
    // IIS needs a server binding to start a site; one on a port nobody
    // probes keeps the test's ports to the point.
    if (site.server_bindings.empty()) {
      site.server_bindings.push_back(":" + std::to_string(FreePort()) + ":");
    }
    return site;
  }

  fs::path LogFile() const { return temporary_.path() / "emulator.log"; }

  absl::StatusOr<tls::ProbeResult> Probe(std::uint16_t port,
                                         const std::string& address = kAddress) const {
    tls::ProbeOptions options;
    options.host = address;
    options.port = port;
    options.timeout = absl::Seconds(10);
    options.trusted_roots = {pki_.root.certificate};
    return tls::ProbeTls(options);
  }

  const TestPki& pki_ = TestPki::Shared();
  TemporaryDirectory temporary_;
  EmulatedHost host_;
};

TEST_F(Iis6EmulatorBinaryTest, ServesTheBoundLeafAndIntermediateThatVerifyToTheRoot) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  const std::uint16_t port = FreePort();
  host_.WriteMetaBase({DefaultSite(port, thumbprint)});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult result, Probe(port));
  EXPECT_THAT(result.served_chain,
              ElementsAre(pki_.leaf.certificate, pki_.intermediate.certificate));
  EXPECT_TRUE(result.verification.ok()) << result.verification.reason;
  EXPECT_EQ(result.protocol, "TLSv1.2");
  EXPECT_EQ(host_.ReloadGeneration(), 1u);
}

TEST_F(Iis6EmulatorBinaryTest, WithoutTheIntermediateInCaTheChainOnTheWireIsIncomplete) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  const std::uint16_t port = FreePort();
  host_.WriteMetaBase({DefaultSite(port, thumbprint)});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult result, Probe(port));
  EXPECT_THAT(result.served_chain, ElementsAre(pki_.leaf.certificate));
  EXPECT_EQ(result.verification.problem, crypto::ChainProblem::kMissingIntermediate)
      << result.verification.reason;
}

TEST_F(Iis6EmulatorBinaryTest, AWithheldIntermediateIsNotSentThoughItIsInCa) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  const std::uint16_t port = FreePort();
  host_.WriteMetaBase({DefaultSite(port, thumbprint)});
  const std::string subject = pki_.intermediate.certificate.Subject().common_name;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      auto emulator,
      EmulatorProcess::Start(host_.root(), LogFile(), {"--withhold-intermediate", subject}));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult result, Probe(port));
  EXPECT_THAT(result.served_chain, ElementsAre(pki_.leaf.certificate));
  EXPECT_EQ(result.verification.problem, crypto::ChainProblem::kMissingIntermediate);
  EXPECT_THAT(emulator->Log(), HasSubstr("is withheld"));
}

TEST_F(Iis6EmulatorBinaryTest, AfterSighupTheNewlyBoundCertificateIsServed) {
  const Issued renewed = pki_.IssueLeaf("renewed.example.test");
  const std::string old_thumbprint = host_.InstallPersonal(pki_.leaf);
  const std::string new_thumbprint = host_.InstallPersonal(renewed);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  const std::uint16_t port = FreePort();
  SiteSpecification site = DefaultSite(port, old_thumbprint);
  host_.WriteMetaBase({site});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult before, Probe(port));
  ASSERT_EQ(before.leaf(), pki_.leaf.certificate);

  const std::uint64_t generation = host_.ReloadGeneration();
  site.certificate_hash = new_thumbprint;
  host_.WriteMetaBase({site});
  emulator->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return host_.ReloadGeneration() == generation + 1; }))
      << emulator->Log();

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult after, Probe(port));
  EXPECT_THAT(after.served_chain, ElementsAre(renewed.certificate, pki_.intermediate.certificate));
  EXPECT_TRUE(after.verification.ok()) << after.verification.reason;
  EXPECT_THAT(
      emulator->Log(),
      HasSubstr("keeping the listener on 127.0.0.2:" + std::to_string(port) + ", now serving"));
}

TEST_F(Iis6EmulatorBinaryTest, WithAReloadDelayTheOldCertificateIsServedUntilOneDelayedReload) {
  const Issued renewed = pki_.IssueLeaf("renewed.example.test");
  const std::string old_thumbprint = host_.InstallPersonal(pki_.leaf);
  const std::string new_thumbprint = host_.InstallPersonal(renewed);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  const std::uint16_t port = FreePort();
  SiteSpecification site = DefaultSite(port, old_thumbprint);
  host_.WriteMetaBase({site});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      auto emulator, EmulatorProcess::Start(host_.root(), LogFile(), {"--reload-delay", "4"}));
  const std::uint64_t generation = host_.ReloadGeneration();

  site.certificate_hash = new_thumbprint;
  host_.WriteMetaBase({site});
  emulator->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return emulator->Log().find("reloading in") != std::string::npos; }))
      << emulator->Log();
  // Scheduled, not done: the previous configuration is still served.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult waiting, Probe(port));
  EXPECT_EQ(waiting.leaf(), pki_.leaf.certificate);
  emulator->Signal(SIGHUP);

  ASSERT_TRUE(WaitUntil([&] { return host_.ReloadGeneration() > generation; })) << emulator->Log();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult after, Probe(port));
  EXPECT_EQ(after.leaf(), renewed.certificate);
  EXPECT_EQ(host_.ReloadGeneration(), generation + 1) << "the second SIGHUP joins the first";
  EXPECT_THAT(emulator->Log(), HasSubstr("joins the reload already scheduled"));
}

TEST_F(Iis6EmulatorBinaryTest, ACorruptMetaBaseOnSighupAdvancesTheGenerationAndKeepsServing) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  const std::uint16_t port = FreePort();
  host_.WriteMetaBase({DefaultSite(port, thumbprint)});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  const std::uint64_t generation = host_.ReloadGeneration();
  host_.WriteRawMetaBase("<?xml version =\"1.0\"?>\r\n<configuration xmlns=\"urn:microsoft");
  emulator->Signal(SIGHUP);
  ASSERT_TRUE(WaitUntil([&] { return host_.ReloadGeneration() == generation + 1; }))
      << emulator->Log();

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult result, Probe(port));
  EXPECT_EQ(result.leaf(), pki_.leaf.certificate);
  EXPECT_THAT(emulator->Log(),
              HasSubstr("reload failed, still serving the previous configuration"));
  EXPECT_THAT(emulator->Log(), HasSubstr("MetaBase.xml"));
}

TEST_F(Iis6EmulatorBinaryTest, AStoppedSiteIsNotServed) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  const std::string other_thumbprint = host_.InstallPersonal(pki_.rsa_leaf);
  host_.InstallIntermediate(pki_.intermediate.certificate);
  const std::uint16_t started_port = FreePort();
  const std::uint16_t stopped_port = FreePort();
  SiteSpecification stopped{.id = "1962875481",
                            .name = "Shop",
                            .server_bindings = {":" + std::to_string(FreePort()) + ":"},
                            .secure_bindings = {":" + std::to_string(stopped_port) + ":"},
                            .certificate_hash = other_thumbprint,
                            .auto_start = false,
                            .root_path = "C:\\Inetpub\\shop"};
  host_.WriteMetaBase({DefaultSite(started_port, thumbprint), stopped});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  EXPECT_THAT(Probe(started_port), IsOk());
  EXPECT_EQ(TryConnect(kAddress, stopped_port), ConnectOutcome::kRefused);
  EXPECT_THAT(emulator->Log(),
              HasSubstr("site 'Shop' (1962875481) is stopped (ServerAutoStart FALSE)"));
}

TEST_F(Iis6EmulatorBinaryTest, PlainHttpServesTheIndexAndRefusesPathsOutOfTheSite) {
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  const std::uint16_t http_port = FreePort();
  host_.WriteContent(kContentPath, "index.html", "<h1>Default Web Site</h1>\n");
  SiteSpecification site = DefaultSite(FreePort(), thumbprint, http_port);
  // Spelled as IIS 6 setup writes it, unlike the folder on disk.
  site.root_path = "c:\\inetpub\\WWWROOT";
  host_.WriteMetaBase({site});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  const std::string index =
      SendRawRequest(kAddress, http_port, "GET / HTTP/1.1\r\nHost: www.example.test\r\n\r\n");
  EXPECT_EQ(StatusCodeOf(index), 200) << index;
  EXPECT_EQ(BodyOf(index), "<h1>Default Web Site</h1>\n");

  for (const char* path :
       {"/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc/passwd"}) {
    const std::string refused =
        SendRawRequest(kAddress, http_port, std::string("GET ") + path + " HTTP/1.0\r\n\r\n");
    EXPECT_EQ(StatusCodeOf(refused), 400) << path << ": " << refused;
    EXPECT_THAT(refused, ::testing::Not(HasSubstr("root:")));
  }
  const std::string missing =
      SendRawRequest(kAddress, http_port, "GET /missing.html HTTP/1.0\r\n\r\n");
  EXPECT_EQ(StatusCodeOf(missing), 404) << missing;

  // A symbolic link out of the content folder is answered as if absent.
  fs::create_symlink("/etc", host_.ContentFolder(kContentPath) / "system");
  const std::string linked =
      SendRawRequest(kAddress, http_port, "GET /system/passwd HTTP/1.0\r\n\r\n");
  EXPECT_EQ(StatusCodeOf(linked), 404) << linked;
  EXPECT_THAT(linked, ::testing::Not(HasSubstr("root:")));
  EXPECT_THAT(emulator->Log(), HasSubstr("outside the site's content folder"));
}

TEST_F(Iis6EmulatorBinaryTest, TwoEmulatedHostsOnTheSamePortServeTheirOwnCertificates) {
  const Issued first_leaf = pki_.IssueLeaf("first.example.test");
  const Issued second_leaf = pki_.IssueLeaf("second.example.test");
  const std::uint16_t port = FreePort();

  host_.InstallIntermediate(pki_.intermediate.certificate);
  host_.WriteMetaBase({DefaultSite(port, host_.InstallPersonal(first_leaf))});
  EmulatedHost second_host(temporary_.path() / "second-host");
  second_host.WriteEmulationConfig("127.0.0.3");
  second_host.InstallIntermediate(pki_.intermediate.certificate);
  second_host.WriteMetaBase({DefaultSite(port, second_host.InstallPersonal(second_leaf))});

  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto first, EmulatorProcess::Start(host_.root(), LogFile()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      auto second,
      EmulatorProcess::Start(second_host.root(), temporary_.path() / "second-emulator.log"));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult first_result, Probe(port, "127.0.0.2"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult second_result, Probe(port, "127.0.0.3"));
  EXPECT_EQ(first_result.leaf(), first_leaf.certificate);
  EXPECT_EQ(second_result.leaf(), second_leaf.certificate);
  EXPECT_TRUE(second_result.verification.ok()) << second_result.verification.reason;
}

TEST_F(Iis6EmulatorBinaryTest, SigtermRemovesThePidFileAndExitsZero) {
  const std::uint16_t port = FreePort();
  host_.WriteMetaBase({DefaultSite(port, host_.InstallPersonal(pki_.leaf))});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));
  ASSERT_TRUE(fs::exists(host_.PidFile()));

  emulator->Signal(SIGTERM);
  EXPECT_EQ(emulator->WaitForExit(), 0) << emulator->Log();
  EXPECT_FALSE(fs::exists(host_.PidFile()));
  EXPECT_EQ(TryConnect(kAddress, port), ConnectOutcome::kRefused);
  EXPECT_THAT(emulator->Log(), HasSubstr("received SIGTERM: stopping"));
}

TEST_F(Iis6EmulatorBinaryTest, MaxTlsOneZeroSpeaksOnlyTlsOneZeroLikeIis6) {
  const std::uint16_t port = FreePort();
  host_.InstallIntermediate(pki_.intermediate.certificate);
  host_.WriteMetaBase({DefaultSite(port, host_.InstallPersonal(pki_.rsa_leaf))});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      auto emulator, EmulatorProcess::Start(host_.root(), LogFile(), {"--max-tls", "1.0"}));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult result, Probe(port));
  EXPECT_EQ(result.protocol, "TLSv1");
  EXPECT_EQ(result.leaf(), pki_.rsa_leaf.certificate);
}

TEST_F(Iis6EmulatorBinaryTest, ASecureBindingWithoutSslCertHashIsNotListenedOn) {
  const std::uint16_t secure_port = FreePort();
  const std::uint16_t http_port = FreePort();
  SiteSpecification site = DefaultSite(secure_port, "", http_port);
  site.certificate_hash.reset();
  host_.WriteContent(kContentPath, "index.html", "plain only");
  host_.WriteMetaBase({site});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  EXPECT_EQ(TryConnect(kAddress, secure_port), ConnectOutcome::kRefused);
  EXPECT_EQ(BodyOf(SendRawRequest(kAddress, http_port, "GET / HTTP/1.0\r\n\r\n")), "plain only");
  EXPECT_THAT(emulator->Log(),
              HasSubstr("site 'Default Web Site' (1) has SecureBindings but no SSLCertHash"));
}

TEST_F(Iis6EmulatorBinaryTest, ABoundCertificateWithoutItsKeyIsNotListenedOn) {
  const std::uint16_t port = FreePort();
  host_.WriteMetaBase({DefaultSite(port, host_.InstallPersonal(pki_.leaf, /*with_key=*/false))});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  EXPECT_EQ(TryConnect(kAddress, port), ConnectOutcome::kRefused);
  EXPECT_THAT(emulator->Log(), HasSubstr("which has no private key in the MY store"));
}

TEST_F(Iis6EmulatorBinaryTest, TwoSitesOnOneEndpointWithDifferentCertificatesServeTheFirst) {
  const std::uint16_t port = FreePort();
  host_.InstallIntermediate(pki_.intermediate.certificate);
  SiteSpecification second = DefaultSite(port, host_.InstallPersonal(pki_.rsa_leaf));
  second.id = "2";
  second.name = "Second";
  host_.WriteMetaBase({DefaultSite(port, host_.InstallPersonal(pki_.leaf)), second});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult result, Probe(port));
  EXPECT_EQ(result.leaf(), pki_.leaf.certificate);
  EXPECT_THAT(emulator->Log(), HasSubstr("site 'Second' (2): SecureBindings"));
  EXPECT_THAT(emulator->Log(), HasSubstr("IIS 6 has no SNI"));
}

TEST_F(Iis6EmulatorBinaryTest, ASecondEmulatorOnTheSameHostRootIsRefused) {
  host_.WriteMetaBase({DefaultSite(FreePort(), host_.InstallPersonal(pki_.leaf))});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto emulator, EmulatorProcess::Start(host_.root(), LogFile()));
  const fs::path second_log = temporary_.path() / "second.log";

  EXPECT_EQ(EmulatorProcess::RunToExit(host_.root(), second_log, {}), 1);
  EXPECT_THAT(ReadWholeFile(second_log),
              HasSubstr("another iis6-emulator already serves the host root"));
  EXPECT_EQ(ReadWholeFile(host_.PidFile()), std::to_string(emulator->pid()) + "\n");
}

TEST_F(Iis6EmulatorBinaryTest, AnUnreadableMetaBaseAtStartExitsOneAndSaysWhy) {
  host_.WriteRawMetaBase("this is not XML");

  EXPECT_EQ(EmulatorProcess::RunToExit(host_.root(), LogFile(), {}), 1);
  EXPECT_THAT(ReadWholeFile(LogFile()), HasSubstr("cannot start: "));
  EXPECT_THAT(ReadWholeFile(LogFile()), HasSubstr("MetaBase.xml"));
  EXPECT_FALSE(fs::exists(host_.PidFile()));
}

}  // namespace
}  // namespace certfleet::testing
