#include "controller/cli/probe_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"
#include "tests/support/tls_test_server.h"

namespace certfleet::cli {
namespace {

using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::certfleet::testing::TlsTestServer;
using ::certfleet::testing::TlsTestServerOptions;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

struct ProbeRun {
  int exit_code;
  std::string out;
  std::string error;
};

ProbeRun Probe(ProbeCommandOptions options) {
  std::ostringstream out;
  std::ostringstream error;
  const int exit_code = RunProbe(options, out, error);
  return {exit_code, out.str(), error.str()};
}

class ProbeCommandTest : public ::testing::Test {
 protected:
  std::unique_ptr<TlsTestServer> Serve(std::vector<crypto::Certificate> chain) {
    TlsTestServerOptions options;
    options.chain = std::move(chain);
    auto server = TlsTestServer::Start(pki_.leaf.certificate, pki_.leaf.key, options);
    EXPECT_TRUE(server.ok()) << server.status();
    return *std::move(server);
  }
  ProbeCommandOptions OptionsFor(const TlsTestServer& server) {
    ProbeCommandOptions options;
    options.target = "127.0.0.1:" + std::to_string(server.port());
    options.timeout = absl::Seconds(5);
    return options;
  }
  const TestPki& pki_ = TestPki::Shared();
  TemporaryDirectory folder_;
};

TEST_F(ProbeCommandTest, ShowsTheServedChainAndVerifiesItAgainstTheRoots) {
  auto server = Serve({pki_.intermediate.certificate});
  ProbeCommandOptions options = OptionsFor(*server);
  options.roots_file = folder_.WriteFile("root.crt", pki_.root.certificate.ToPem()).string();
  ProbeRun run = Probe(options);
  EXPECT_EQ(run.exit_code, 0) << run.error;
  EXPECT_THAT(run.out, HasSubstr("Served:   2 certificate(s)"));
  EXPECT_THAT(run.out, HasSubstr(pki_.leaf.certificate.Thumbprint()));
  EXPECT_THAT(run.out, HasSubstr("Verified: yes"));
  EXPECT_THAT(run.error, IsEmpty());
}

TEST_F(ProbeCommandTest, AnIncompleteChainFailsWithTheReason) {
  auto server = Serve({});
  ProbeCommandOptions options = OptionsFor(*server);
  options.roots_file = folder_.WriteFile("root.crt", pki_.root.certificate.ToPem()).string();
  options.output = OutputFormat::kJson;
  ProbeRun run = Probe(options);
  EXPECT_EQ(run.exit_code, 1);
  const nlohmann::json json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["verified"], false);
  EXPECT_EQ(json["problem"], "missing_intermediate");
  EXPECT_EQ(json["served_chain"].size(), 1u);
}

TEST_F(ProbeCommandTest, WithoutRootsTheChainIsShownButNotJudged) {
  auto server = Serve({pki_.intermediate.certificate});
  ProbeRun run = Probe(OptionsFor(*server));
  EXPECT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("not judged"));
}

TEST_F(ProbeCommandTest, RefusesABadTargetAndAnUnreachablePort) {
  ProbeCommandOptions bad;
  bad.target = "127.0.0.1:99999";
  ProbeRun run = Probe(bad);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.error, HasSubstr("is not a port number"));

  auto server = Serve({});
  ProbeCommandOptions closed = OptionsFor(*server);
  server->Stop();
  ProbeRun refused = Probe(closed);
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.error, HasSubstr("cannot probe 127.0.0.1:"));
}

TEST_F(ProbeCommandTest, RefusesARootsFileThatIsNotCertificates) {
  ProbeCommandOptions options;
  options.target = "127.0.0.1:1";
  options.roots_file = folder_.WriteFile("roots.pem", pki_.leaf.key.ToPem()).string();
  ProbeRun run = Probe(options);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.error, HasSubstr("private key"));
}

}  // namespace
}  // namespace certfleet::cli
