// Restarting the web service of an IIS 6 host: a configured command (the
// stand-in for `iisreset /restart`) and the emulator's SIGHUP with a wait for
// its reload generation.

#include "agent/drivers/iis6/web_service_restart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

extern char** environ;

namespace certfleet::iis6 {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::AllOf;
using ::testing::HasSubstr;

TEST(RunRestartCommandTest, SucceedsWhenTheCommandExitsZero) {
  EXPECT_THAT(RunRestartCommand({"/bin/sh", "-c", "echo restarted"}, absl::Seconds(10)), IsOk());
}

TEST(RunRestartCommandTest, FailureNamesStatusAndOutput) {
  EXPECT_THAT(RunRestartCommand({"/bin/sh", "-c", "echo 'IISADMIN did not stop' >&2; exit 3"},
                                absl::Seconds(10)),
              StatusIs(absl::StatusCode::kUnavailable, AllOf(HasSubstr("exited with status 3"),
                                                             HasSubstr("IISADMIN did not stop"))));
}

TEST(RunRestartCommandTest, CommandThatCannotStartIsUnavailable) {
  EXPECT_THAT(RunRestartCommand({"/nonexistent/iisreset", "/restart"}, absl::Seconds(10)),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("cannot start the restart command \"/nonexistent/iisreset "
                                 "/restart\"")));
  EXPECT_THAT(RunRestartCommand({}, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

TEST(RunRestartCommandTest, CommandOverItsTimeIsKilled) {
  const absl::Time start = absl::Now();
  EXPECT_THAT(RunRestartCommand({"/bin/sh", "-c", "exec sleep 30"}, absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("was killed")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

// A stand-in for iis6-emulator: a shell script of that name that bumps
// run/reload-generation (atomically, as the emulator does) on SIGHUP.
class FakeEmulator {
 public:
  FakeEmulator(const std::filesystem::path& folder, const HostRoot& host, bool reloads) {
    std::filesystem::create_directories(host.RunFolder());
    script_ = folder / "iis6-emulator";
    std::ofstream(script_) << "#!/bin/sh\n"
                           << "generation=0\n"
                           << (reloads ? "trap 'generation=$((generation+1)); echo $generation > "
                                         "\"$1.tmp\"; mv \"$1.tmp\" \"$1\"' HUP\n"
                                       : "trap '' HUP\n")
                           << "echo ready > \"$2\"\n"
                           << "while true; do sleep 0.02; done\n";
    std::filesystem::permissions(script_, std::filesystem::perms::owner_all);
    const std::string generation = host.ReloadGenerationFile().string();
    const std::string ready = (folder / "ready").string();
    std::vector<std::string> arguments = {"/bin/sh", script_.string(), generation, ready};
    std::vector<char*> argv;
    for (std::string& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, "/bin/sh", nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    std::ofstream(host.PidFile()) << pid_ << "\n";
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (!std::filesystem::exists(folder / "ready") && absl::Now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  ~FakeEmulator() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  std::filesystem::path script_;
  pid_t pid_ = -1;
};

TEST(SignalEmulatorTest, WaitsForTheReloadGeneration) {
  TemporaryDirectory folder;
  const HostRoot host(folder.path() / "host");
  FakeEmulator emulator(folder.path(), host, /*reloads=*/true);
  ASSERT_GT(emulator.pid(), 0);
  ASSERT_THAT(SignalEmulatorAndWait(host, absl::Seconds(10)), IsOk());
  std::ifstream generation(host.ReloadGenerationFile());
  std::string value;
  generation >> value;
  EXPECT_EQ(value, "1");
  ASSERT_THAT(SignalEmulatorAndWait(host, absl::Seconds(10)), IsOk());
}

TEST(SignalEmulatorTest, EmulatorThatDoesNotReloadTimesOut) {
  TemporaryDirectory folder;
  const HostRoot host(folder.path() / "host");
  FakeEmulator emulator(folder.path(), host, /*reloads=*/false);
  EXPECT_THAT(SignalEmulatorAndWait(host, absl::Milliseconds(300)),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(HasSubstr("did not finish reloading"),
                             HasSubstr("reload-generation did not change"))));
}

TEST(SignalEmulatorTest, MissingPidFileMeansNoEmulator) {
  TemporaryDirectory folder;
  EXPECT_THAT(SignalEmulatorAndWait(HostRoot(folder.path()), absl::Seconds(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("no iis6-emulator is serving this host")));
}

TEST(SignalEmulatorTest, StalePidFileNamingAnotherProcessIsNotSignalled) {
  TemporaryDirectory folder;
  const HostRoot host(folder.path());
  std::filesystem::create_directories(host.RunFolder());
  // This test's own process: SIGHUP would kill it.
  std::ofstream(host.PidFile()) << ::getpid() << "\n";
  EXPECT_THAT(
      SignalEmulatorAndWait(host, absl::Seconds(1)),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("is not an iis6-emulator"), HasSubstr("the pid file is stale"))));
}

TEST(SignalEmulatorTest, ExitedEmulatorIsUnavailable) {
  TemporaryDirectory folder;
  const HostRoot host(folder.path());
  std::filesystem::create_directories(host.RunFolder());
  pid_t pid = 0;
  char shell[] = "/bin/true";
  char* argv[] = {shell, nullptr};
  ASSERT_EQ(::posix_spawn(&pid, "/bin/true", nullptr, nullptr, argv, environ), 0);
  ::waitpid(pid, nullptr, 0);
  std::ofstream(host.PidFile()) << pid << "\n";
  EXPECT_THAT(SignalEmulatorAndWait(host, absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("is not running")));
}

}  // namespace
}  // namespace certfleet::iis6
