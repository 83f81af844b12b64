// The emulator in-process, its loop on a thread: reloads requested through
// the API, what a reload keeps and changes, idle timeouts and the connection
// cap.

#include "tools/iis6-emulator/emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/tls/tls_probe.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"
#include "tests/tools/iis6-emulator/emulated_host.h"

namespace certfleet::iis6_emulator {
namespace {

namespace fs = std::filesystem;

using ::certfleet::testing::EmulatedHost;
using ::certfleet::testing::FreePort;
using ::certfleet::testing::SiteSpecification;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::certfleet::testing::WaitUntil;
using ::testing::HasSubstr;

constexpr char kAddress[] = "127.0.0.4";

// A plain TCP client socket, closed when it goes away.
class ClientSocket {
 public:
  ClientSocket(const std::string& address, std::uint16_t port) {
    descriptor_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target{};
    target.sin_family = AF_INET;
    target.sin_port = htons(port);
    inet_pton(AF_INET, address.c_str(), &target.sin_addr);
    connected_ = connect(descriptor_, reinterpret_cast<sockaddr*>(&target), sizeof(target)) == 0;
  }
  ~ClientSocket() { Close(); }
  ClientSocket(const ClientSocket&) = delete;
  ClientSocket& operator=(const ClientSocket&) = delete;

  bool connected() const { return connected_; }

  void Send(std::string_view text) const {
    ASSERT_EQ(send(descriptor_, text.data(), text.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(text.size()));
  }

  // Reads until the server closes or `timeout` passes; returns what came.
  std::string ReceiveUntilClosed(absl::Duration timeout, bool* closed) const {
    std::string received;
    *closed = false;
    const absl::Time deadline = absl::Now() + timeout;
    char buffer[4096];
    while (absl::Now() < deadline) {
      pollfd watched{.fd = descriptor_, .events = POLLIN, .revents = 0};
      const int wait = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
      if (poll(&watched, 1, std::max(wait, 0)) <= 0) continue;
      const ssize_t count = recv(descriptor_, buffer, sizeof(buffer), 0);
      if (count <= 0) {
        *closed = true;
        break;
      }
      received.append(buffer, static_cast<size_t>(count));
    }
    return received;
  }

  void Close() {
    if (descriptor_ >= 0) close(descriptor_);
    descriptor_ = -1;
  }

 private:
  int descriptor_ = -1;
  bool connected_ = false;
};

class EmulatorInProcessTest : public ::testing::Test {
 protected:
  EmulatorInProcessTest()
      : host_(temporary_.path() / "host"), log_(EventLog::ToSink([this](std::string_view line) {
          std::lock_guard<std::mutex> lock(mutex_);
          lines_.emplace_back(line);
        })) {
    host_.WriteEmulationConfig(kAddress);
    host_.InstallIntermediate(pki_.intermediate.certificate);
    host_.WriteContent("C:\\Inetpub\\wwwroot", "index.html", "hello");
  }

  ~EmulatorInProcessTest() override {
    if (emulator_ != nullptr) emulator_->RequestStop();
    if (loop_.joinable()) loop_.join();
  }

  SiteSpecification Site(std::uint16_t http_port, std::uint16_t secure_port,
                         const std::string& thumbprint) const {
    return SiteSpecification{.id = "1",
                             .name = "Default Web Site",
                             .server_bindings = {":" + std::to_string(http_port) + ":"},
                             .secure_bindings = {":" + std::to_string(secure_port) + ":"},
                             .certificate_hash = thumbprint,
                             .auto_start = true,
                             .root_path = "C:\\Inetpub\\wwwroot"};
  }

  // Starts the emulator and runs its loop on a thread.
  void StartEmulator(EmulatorOptions options = {}) {
    options.host_root = host_.root();
    absl::StatusOr<std::unique_ptr<Emulator>> started = Emulator::Start(options, *log_);
    ASSERT_TRUE(started.ok()) << started.status();
    emulator_ = *std::move(started);
    loop_ = std::thread([this] { run_status_ = emulator_->Run(); });
  }

  std::string Log() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return absl::StrJoin(lines_, "\n");
  }

  bool LogContains(std::string_view text) const { return Log().find(text) != std::string::npos; }

  absl::StatusOr<tls::ProbeResult> Probe(std::uint16_t port) const {
    tls::ProbeOptions options;
    options.host = kAddress;
    options.port = port;
    options.trusted_roots = {pki_.root.certificate};
    return tls::ProbeTls(options);
  }

  const TestPki& pki_ = TestPki::Shared();
  TemporaryDirectory temporary_;
  EmulatedHost host_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<Emulator> emulator_;
  std::thread loop_;
  absl::Status run_status_;
};

TEST_F(EmulatorInProcessTest, StartWritesGenerationAndPidAndStopRemovesThePidFile) {
  host_.WriteMetaBase({Site(FreePort(), FreePort(), host_.InstallPersonal(pki_.leaf))});
  StartEmulator();
  EXPECT_EQ(emulator_->reload_generation(), 1u);
  EXPECT_EQ(host_.ReloadGeneration(), 1u);
  EXPECT_EQ(testing::ReadWholeFile(host_.PidFile()), std::to_string(getpid()) + "\n");

  emulator_->RequestStop();
  loop_.join();
  EXPECT_THAT(run_status_, testing::IsOk());
  EXPECT_FALSE(fs::exists(host_.PidFile()));
}

TEST_F(EmulatorInProcessTest, AReloadKeepsUnchangedEndpointsClosesOldOnesAndOpensNewOnes) {
  const std::uint16_t http_port = FreePort();
  const std::uint16_t secure_port = FreePort();
  const std::uint16_t new_secure_port = FreePort();
  const std::string thumbprint = host_.InstallPersonal(pki_.leaf);
  host_.WriteMetaBase({Site(http_port, secure_port, thumbprint)});
  StartEmulator();
  ASSERT_THAT(Probe(secure_port), testing::IsOk());

  host_.WriteMetaBase({Site(http_port, new_secure_port, thumbprint)});
  emulator_->RequestReload();
  ASSERT_TRUE(WaitUntil([&] { return emulator_->reload_generation() == 2; })) << Log();

  EXPECT_EQ(host_.ReloadGeneration(), 2u);
  EXPECT_THAT(Log(), HasSubstr("keeping the listener on 127.0.0.4:" + std::to_string(http_port) +
                               ", still serving"));
  EXPECT_THAT(Log(), HasSubstr("closing the listener on 127.0.0.4:" + std::to_string(secure_port)));
  EXPECT_EQ(testing::TryConnect(kAddress, secure_port), testing::ConnectOutcome::kRefused);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const tls::ProbeResult moved, Probe(new_secure_port));
  EXPECT_EQ(moved.leaf(), pki_.leaf.certificate);
  EXPECT_EQ(testing::BodyOf(testing::SendRawRequest(kAddress, http_port, "GET / HTTP/1.0\r\n\r\n")),
            "hello");
}

TEST_F(EmulatorInProcessTest, AnUnreadableConfigurationAtStartIsAnError) {
  host_.WriteRawMetaBase("<configuration");
  EmulatorOptions options;
  options.host_root = host_.root();
  EXPECT_THAT(Emulator::Start(options, *log_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("cannot start: ")));
  EXPECT_FALSE(fs::exists(host_.PidFile()));
}

TEST_F(EmulatorInProcessTest, InvalidOptionsAreRefused) {
  host_.WriteMetaBase({});
  EmulatorOptions options;
  options.host_root = host_.root();
  options.maximum_connections = 0;
  EXPECT_THAT(Emulator::Start(options, *log_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 1")));
  options.maximum_connections = 1;
  options.idle_timeout = absl::ZeroDuration();
  EXPECT_THAT(Emulator::Start(options, *log_),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("idle timeout")));
}

TEST_F(EmulatorInProcessTest, AnIdleConnectionIsClosed) {
  const std::uint16_t http_port = FreePort();
  host_.WriteMetaBase({Site(http_port, FreePort(), host_.InstallPersonal(pki_.leaf))});
  EmulatorOptions options;
  options.idle_timeout = absl::Milliseconds(200);
  StartEmulator(options);

  ClientSocket client(kAddress, http_port);
  ASSERT_TRUE(client.connected());
  bool closed = false;
  EXPECT_EQ(client.ReceiveUntilClosed(absl::Seconds(10), &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_TRUE(WaitUntil([&] { return LogContains("closing the idle connection"); })) << Log();
}

TEST_F(EmulatorInProcessTest, AtTheConnectionCapAcceptingWaitsForAConnectionToClose) {
  const std::uint16_t http_port = FreePort();
  host_.WriteMetaBase({Site(http_port, FreePort(), host_.InstallPersonal(pki_.leaf))});
  EmulatorOptions options;
  options.maximum_connections = 1;
  StartEmulator(options);

  ClientSocket holder(kAddress, http_port);
  ASSERT_TRUE(holder.connected());
  ASSERT_TRUE(WaitUntil([&] { return LogContains("not accepting until one closes"); })) << Log();
  // The kernel completes the connection in the backlog; the emulator does
  // not take it while the first one is open.
  ClientSocket waiting(kAddress, http_port);
  ASSERT_TRUE(waiting.connected());
  waiting.Send("GET / HTTP/1.0\r\n\r\n");
  bool closed = false;
  EXPECT_EQ(waiting.ReceiveUntilClosed(absl::Milliseconds(300), &closed), "");
  EXPECT_FALSE(closed);

  holder.Close();
  const std::string response = waiting.ReceiveUntilClosed(absl::Seconds(10), &closed);
  EXPECT_EQ(testing::StatusCodeOf(response), 200) << response;
  EXPECT_EQ(testing::BodyOf(response), "hello");
  EXPECT_TRUE(LogContains("below the connection limit again: accepting")) << Log();
}

TEST_F(EmulatorInProcessTest, ASecondEmulatorOnTheSameHostRootIsRefused) {
  host_.WriteMetaBase({Site(FreePort(), FreePort(), host_.InstallPersonal(pki_.leaf))});
  StartEmulator();
  EmulatorOptions options;
  options.host_root = host_.root();
  EXPECT_THAT(Emulator::Start(options, *log_),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("another iis6-emulator already serves the host root")));
}

}  // namespace
}  // namespace certfleet::iis6_emulator
