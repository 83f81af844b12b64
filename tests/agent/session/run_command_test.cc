// Runs the real certfleet-agent binary's `run` command as an operator (or
// systemd) would: a refused configuration exits 1 naming the problem; a
// good one enrolls with a real in-process controller, brings the host
// online with its inventory, and exits 0 on SIGTERM.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/drivers/iis6/emulated_host_builder.h"
#include "common/io/file.h"
#include "controller/server/controller_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/agent/drivers/iis6/iis6_test_host.h"
#include "tests/support/command_runner.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"
#include "tests/tools/iis6-emulator/emulated_host.h"

extern char** environ;

namespace certfleet::agent::session {
namespace {

namespace fs = std::filesystem;
namespace store = certfleet::controller::store;
using ::certfleet::testing::CommandResult;
using ::certfleet::testing::IsOk;
using ::certfleet::testing::RunCommand;
using ::testing::HasSubstr;

// These tests queue jobs themselves: no renewal engine may add its own.
// (ControllerOptions gains run_renewal_engine with the engine; until then
// there is none to turn off.)
template <typename Options>
void DisableRenewalEngine(Options& options) {
  if constexpr (requires { options.run_renewal_engine; }) options.run_renewal_engine = false;
}

bool WaitUntil(const std::function<bool()>& condition) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    if (condition()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return condition();
}

// The agent binary running in the background, its standard error in a file.
class AgentProcess {
 public:
  AgentProcess(const std::vector<std::string>& arguments, const fs::path& log) : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& argument : arguments)
      argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }

  ~AgentProcess() {
    if (pid_ > 0 && !exit_code_.has_value()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }
  void Signal(int signal_number) const { kill(pid_, signal_number); }

  // The exit code, or nullopt when it did not exit within 30 s.
  std::optional<int> WaitForExit() {
    WaitUntil([this] {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    });
    return exit_code_;
  }

  std::string Log() const { return io::ReadFile(log_, 1 << 20).value_or(""); }

 private:
  pid_t pid_ = -1;
  fs::path log_;
  std::optional<int> exit_code_;
};

TEST(RunCommandTest, ABadConfigurationExitsOneNamingTheOption) {
  testing::TemporaryDirectory directory;
  const fs::path config = directory.WriteFile(
      "agent.yaml",
      "controller:\n  address: 127.0.0.1:7443\nsession:\n  reconnect_max_backof: 5s\n");
  CommandResult result =
      RunCommand({testing::BinaryPath("certfleet-agent"), "run", "--config", config.string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error,
              HasSubstr("unknown option session.reconnect_max_backof (line 4)"));

  const fs::path incomplete = directory.WriteFile("incomplete.yaml", "hostname: web01\n");
  result = RunCommand({testing::BinaryPath("certfleet-agent"), "run", "--config",
                       incomplete.string(), "--controller", "127.0.0.1:7443"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error, HasSubstr("option controller.ca_sha256: missing"));

  result = RunCommand({testing::BinaryPath("certfleet-agent"), "run", "--config",
                       (directory.path() / "absent.yaml").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error, HasSubstr("absent.yaml"));

  // A bad flag value is refused like a bad file value, naming the option.
  result = RunCommand({testing::BinaryPath("certfleet-agent"), "run", "--config",
                       incomplete.string(), "--inventory-interval", "often"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error,
              HasSubstr("option inventory.interval: \"often\" is not a duration"));

  result = RunCommand({testing::BinaryPath("certfleet-agent"), "run"});
  EXPECT_EQ(result.exit_code, 2);
}

TEST(RunCommandTest, RunsWithAControllerUntilSigterm) {
  testing::TemporaryDirectory directory;
  controller::server::ControllerOptions options;
  options.data_dir = directory.path() / "controller";
  options.listen_address = "127.0.0.1:0";
  options.agent_service.heartbeat_interval = absl::Seconds(1);
  DisableRenewalEngine(options);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<controller::server::ControllerServer> controller,
                                 controller::server::ControllerServer::Start(options));
  iis6::EmulatedHostOptions host;
  host.host_root = directory.path() / "host";
  host.http_port = testing::FreePort();
  host.https_port = testing::FreePort();
  host.issuer = testing::TestIssuer();
  ASSERT_THAT(iis6::BuildEmulatedHost(host), IsOk());
  controller::server::JoinTokenSpec spec;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      const std::string token,
      controller::server::CreateJoinToken(controller->store(), spec, absl::Now()));
  const fs::path token_file = directory.WriteFile("join-token", token + "\n");
  const fs::path config = directory.WriteFile(
      "agent.yaml",
      absl::StrCat(
          "controller:\n  address: 127.0.0.1:", controller->port(),
          "\n  ca_sha256: ", controller->authority().ca_certificate().Sha256Fingerprint(),
          "\nenrollment:\n  join_token_file: ", token_file.string(),
          "\nhostname: web07.example.test\nstate_dir: ", (directory.path() / "state").string(),
          "\nlabels:\n  env: test\ndriver:\n  iis6:\n    host_root: ", host.host_root.string(),
          "\n"));

  AgentProcess agent({testing::BinaryPath("certfleet-agent"), "run", "--config", config.string(),
                      "--reconnect-max-backoff", "1s", "--label", "group=session-test"},
                     directory.path() / "agent.log");
  ASSERT_TRUE(agent.started());
  std::string host_id;
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<store::HostRecord> record =
        controller->store().hosts().GetHostByName("web07.example.test");
    if (!record.ok() || !record->online) return false;
    host_id = record->host_id;
    return true;
  })) << agent.Log();
  absl::StatusOr<store::HostRecord> record = controller->store().hosts().GetHost(host_id);
  ASSERT_THAT(record, IsOk());
  EXPECT_EQ(record->labels.at("env"), "test");
  EXPECT_EQ(record->labels.at("group"), "session-test");
  EXPECT_TRUE(WaitUntil([&] {
    absl::StatusOr<std::vector<store::SiteRecord>> sites =
        controller->store().inventory().ListSites(host_id);
    return sites.ok() && !sites->empty();
  })) << agent.Log();

  agent.Signal(SIGTERM);
  EXPECT_EQ(agent.WaitForExit(), 0) << agent.Log();
  const std::string log = agent.Log();
  EXPECT_THAT(log, HasSubstr("enrolled as host " + host_id));
  EXPECT_THAT(log, HasSubstr("session up as host " + host_id));
  EXPECT_THAT(log, HasSubstr("SIGTERM: stopping"));
  // The identity is kept; the token is not.
  EXPECT_TRUE(fs::exists(directory.path() / "state" / "identity.json"));
  EXPECT_THAT(io::ReadFile(directory.path() / "state" / "identity.json", 1 << 20).value_or(""),
              ::testing::Not(HasSubstr(token)));
  controller->Shutdown(absl::Seconds(2));
}

}  // namespace
}  // namespace certfleet::agent::session
