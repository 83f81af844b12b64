#include "common/tls/tls_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/test_pki.h"
#include "tests/support/tls_test_server.h"

namespace certfleet::tls {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TestPki;
using ::certfleet::testing::TlsTestServer;
using ::certfleet::testing::TlsTestServerOptions;
using ::certfleet::testing::TlsTestVersion;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// A port on 127.0.0.1 that is bound but not listening, held for the test's
// lifetime so that no one else can start listening on it: connecting to it is
// refused, deterministically.
class RefusingPort {
 public:
  RefusingPort() {
    descriptor_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address = {};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(descriptor_, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(descriptor_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { close(descriptor_); }
  RefusingPort(const RefusingPort&) = delete;
  RefusingPort& operator=(const RefusingPort&) = delete;

  uint16_t port() const { return port_; }

 private:
  int descriptor_ = -1;
  uint16_t port_ = 0;
};

class TlsProbeTest : public ::testing::Test {
 protected:
  const TestPki& pki_ = TestPki::Shared();

  std::unique_ptr<TlsTestServer> StartServer(const certfleet::testing::Issued& identity,
                                             const TlsTestServerOptions& options) const {
    absl::StatusOr<std::unique_ptr<TlsTestServer>> server =
        TlsTestServer::Start(identity.certificate, identity.key, options);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  ProbeOptions OptionsFor(uint16_t port) const {
    ProbeOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.timeout = absl::Seconds(10);
    options.trusted_roots = {pki_.root.certificate};
    return options;
  }
};

TEST_F(TlsProbeTest, ReturnsTheServedChainAndVerifiesIt) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.leaf, {.chain = {pki_.intermediate.certificate}});
  ASSERT_NE(server, nullptr);
  ProbeOptions options = OptionsFor(server->port());
  options.expected_hostname = "www.example.test";

  absl::StatusOr<ProbeResult> result = ProbeTls(options);

  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->served_chain,
              ElementsAre(pki_.leaf.certificate, pki_.intermediate.certificate));
  EXPECT_EQ(result->leaf(), pki_.leaf.certificate);
  EXPECT_TRUE(result->verification.ok()) << result->verification.reason;
  EXPECT_THAT(
      result->verification.chain,
      ElementsAre(pki_.leaf.certificate, pki_.intermediate.certificate, pki_.root.certificate));
  EXPECT_EQ(result->protocol, "TLSv1.3");
  EXPECT_THAT(result->cipher, Not(IsEmpty()));
}

TEST_F(TlsProbeTest, ReportsTheServedChainExactlyEvenWithTheRoot) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.leaf, {.chain = {pki_.intermediate.certificate, pki_.root.certificate}});
  ASSERT_NE(server, nullptr);

  absl::StatusOr<ProbeResult> result = ProbeTls(OptionsFor(server->port()));

  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(
      result->served_chain,
      ElementsAre(pki_.leaf.certificate, pki_.intermediate.certificate, pki_.root.certificate));
  EXPECT_TRUE(result->verification.ok()) << result->verification.reason;
}

TEST_F(TlsProbeTest, ServerOmittingTheIntermediateIsAMissingIntermediate) {
  std::unique_ptr<TlsTestServer> server = StartServer(pki_.leaf, {});
  ASSERT_NE(server, nullptr);

  absl::StatusOr<ProbeResult> result = ProbeTls(OptionsFor(server->port()));

  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->served_chain, ElementsAre(pki_.leaf.certificate));
  EXPECT_EQ(result->verification.problem, crypto::ChainProblem::kMissingIntermediate);
  EXPECT_THAT(result->verification.reason, HasSubstr("CN=certfleet Test Intermediate CA"));
}

TEST_F(TlsProbeTest, ServedExpiredLeafIsReportedAsExpired) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.expired_leaf, {.chain = {pki_.intermediate.certificate}});
  ASSERT_NE(server, nullptr);

  absl::StatusOr<ProbeResult> result = ProbeTls(OptionsFor(server->port()));

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->verification.problem, crypto::ChainProblem::kExpired);
}

TEST_F(TlsProbeTest, UnexpectedHostnameIsAHostnameMismatch) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.leaf, {.chain = {pki_.intermediate.certificate}});
  ASSERT_NE(server, nullptr);
  ProbeOptions options = OptionsFor(server->port());
  options.expected_hostname = "shop.example.test";

  absl::StatusOr<ProbeResult> result = ProbeTls(options);

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->verification.problem, crypto::ChainProblem::kHostnameMismatch);
}

TEST_F(TlsProbeTest, WithoutTrustedRootsTheChainIsUntrusted) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.leaf, {.chain = {pki_.intermediate.certificate}});
  ASSERT_NE(server, nullptr);
  ProbeOptions options = OptionsFor(server->port());
  options.trusted_roots.clear();

  absl::StatusOr<ProbeResult> result = ProbeTls(options);

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->verification.problem, crypto::ChainProblem::kUntrustedRoot);
}

TEST_F(TlsProbeTest, ObservesATls10OnlyServerLikeIis6) {
  std::unique_ptr<TlsTestServer> server = StartServer(
      pki_.rsa_leaf,
      {.chain = {pki_.intermediate.certificate}, .maximum_version = TlsTestVersion::kTls10});
  ASSERT_NE(server, nullptr);

  absl::StatusOr<ProbeResult> result = ProbeTls(OptionsFor(server->port()));

  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->protocol, "TLSv1");
  EXPECT_EQ(result->leaf(), pki_.rsa_leaf.certificate);
  EXPECT_TRUE(result->verification.ok()) << result->verification.reason;
}

TEST_F(TlsProbeTest, SendsSniOnlyWhenAServerNameIsSet) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.leaf, {.chain = {pki_.intermediate.certificate}});
  ASSERT_NE(server, nullptr);
  ProbeOptions without_sni = OptionsFor(server->port());
  ProbeOptions with_sni = OptionsFor(server->port());
  with_sni.server_name = "www.example.test";

  absl::StatusOr<ProbeResult> first = ProbeTls(without_sni);
  absl::StatusOr<ProbeResult> second = ProbeTls(with_sni);

  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  EXPECT_THAT(server->ServerNamesSeen(),
              ElementsAre(std::nullopt, std::optional<std::string>("www.example.test")));
  EXPECT_EQ(server->ConnectionsAccepted(), 2);
}

TEST_F(TlsProbeTest, ResolvesLocalhostByName) {
  std::unique_ptr<TlsTestServer> server =
      StartServer(pki_.leaf, {.chain = {pki_.intermediate.certificate}});
  ASSERT_NE(server, nullptr);
  ProbeOptions options = OptionsFor(server->port());
  options.host = "localhost";

  absl::StatusOr<ProbeResult> result = ProbeTls(options);

  // localhost may resolve to ::1 first, where nothing listens; the probe
  // must then go on to 127.0.0.1.
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->leaf(), pki_.leaf.certificate);
}

TEST_F(TlsProbeTest, RefusedConnectionIsUnavailable) {
  RefusingPort refusing;

  absl::StatusOr<ProbeResult> result = ProbeTls(OptionsFor(refusing.port()));

  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused")));
}

TEST_F(TlsProbeTest, ServerThatNeverAnswersExceedsTheDeadline) {
  absl::StatusOr<std::unique_ptr<TlsTestServer>> server = TlsTestServer::StartSilent();
  ASSERT_THAT(server, IsOk());
  ProbeOptions options = OptionsFor((*server)->port());
  options.timeout = absl::Milliseconds(300);

  absl::StatusOr<ProbeResult> result = ProbeTls(options);

  EXPECT_THAT(result, StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("handshake")));
}

TEST_F(TlsProbeTest, PlainHttpOnTheTlsPortIsAFailedHandshake) {
  absl::StatusOr<std::unique_ptr<TlsTestServer>> server = TlsTestServer::StartPlainHttp();
  ASSERT_THAT(server, IsOk());

  absl::StatusOr<ProbeResult> result = ProbeTls(OptionsFor((*server)->port()));

  EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnavailable, HasSubstr("TLS handshake")));
}

TEST_F(TlsProbeTest, UnresolvableHostIsNotFound) {
  ProbeOptions options = OptionsFor(443);
  // RFC 6761 reserves .invalid: it never resolves.
  options.host = "nonexistent.invalid";

  absl::StatusOr<ProbeResult> result = ProbeTls(options);

  EXPECT_THAT(result, StatusIs(absl::StatusCode::kNotFound, HasSubstr("nonexistent.invalid")));
}

TEST_F(TlsProbeTest, EmptyHostPortZeroAndNoTimeAreInvalidArguments) {
  ProbeOptions empty_host = OptionsFor(443);
  empty_host.host = "";
  ProbeOptions port_zero = OptionsFor(0);
  ProbeOptions no_time = OptionsFor(443);
  no_time.timeout = absl::ZeroDuration();

  EXPECT_THAT(ProbeTls(empty_host), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ProbeTls(port_zero), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ProbeTls(no_time), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace certfleet::tls
