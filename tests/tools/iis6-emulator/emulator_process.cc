#include "tests/tools/iis6-emulator/emulator_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/support/command_runner.h"
#include "tests/tools/iis6-emulator/emulated_host.h"

extern char** environ;

namespace certfleet::testing {
namespace {

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Reaps `pid` if it has exited; returns its exit code then.
std::optional<int> TryReap(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, WNOHANG) == pid) return ExitCodeOf(status);
  return std::nullopt;
}

}  // namespace

absl::StatusOr<pid_t> EmulatorProcess::Spawn(const std::filesystem::path& host_root,
                                             const std::filesystem::path& log_file,
                                             const std::vector<std::string>& extra_arguments) {
  std::vector<std::string> arguments = {BinaryPath("iis6-emulator"), "--host-root",
                                        host_root.string(), "--log-file", log_file.string()};
  arguments.insert(arguments.end(), extra_arguments.begin(), extra_arguments.end());
  std::vector<char*> argv;
  for (std::string& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);

  const std::string error_file = log_file.string() + ".stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, error_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // The test binary may block signals in some thread; the child starts
  // with a clean mask and default dispositions.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal_number : {SIGHUP, SIGTERM, SIGINT, SIGPIPE}) sigaddset(&defaults, signal_number);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (spawned != 0) {
    return absl::InternalError(
        absl::StrCat("cannot start ", arguments[0], ": ", std::strerror(spawned)));
  }
  return pid;
}

absl::StatusOr<std::unique_ptr<EmulatorProcess>> EmulatorProcess::Start(
    const std::filesystem::path& host_root, const std::filesystem::path& log_file,
    const std::vector<std::string>& extra_arguments) {
  absl::StatusOr<pid_t> pid = Spawn(host_root, log_file, extra_arguments);
  if (!pid.ok()) return pid.status();
  std::unique_ptr<EmulatorProcess> process(new EmulatorProcess(*pid, log_file));
  const std::string expected = absl::StrCat(*pid, "\n");
  std::optional<int> exit_code;
  const bool ready = WaitUntil([&] {
    exit_code = TryReap(*pid);
    return exit_code.has_value() ||
           ReadWholeFile(host_root / "run" / "iis6-emulator.pid") == expected;
  });
  if (exit_code.has_value()) {
    process->reaped_ = true;
    return absl::FailedPreconditionError(absl::StrCat("iis6-emulator exited with ", *exit_code,
                                                      " before writing its pid file:\n",
                                                      process->Log()));
  }
  if (!ready) {
    return absl::DeadlineExceededError(
        absl::StrCat("iis6-emulator wrote no pid file within 10 seconds:\n", process->Log()));
  }
  return process;
}

std::optional<int> EmulatorProcess::RunToExit(const std::filesystem::path& host_root,
                                              const std::filesystem::path& log_file,
                                              const std::vector<std::string>& extra_arguments,
                                              absl::Duration timeout) {
  absl::StatusOr<pid_t> pid = Spawn(host_root, log_file, extra_arguments);
  if (!pid.ok()) return std::nullopt;
  EmulatorProcess process(*pid, log_file);
  return process.WaitForExit(timeout);
}

EmulatorProcess::~EmulatorProcess() {
  if (reaped_) return;
  kill(pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

void EmulatorProcess::Signal(int signal_number) const {
  if (!reaped_) kill(pid_, signal_number);
}

std::optional<int> EmulatorProcess::WaitForExit(absl::Duration timeout) {
  std::optional<int> exit_code;
  if (reaped_) return std::nullopt;
  WaitUntil(
      [&] {
        exit_code = TryReap(pid_);
        return exit_code.has_value();
      },
      timeout);
  if (exit_code.has_value()) reaped_ = true;
  return exit_code;
}

std::string EmulatorProcess::Log() const {
  return absl::StrCat(ReadWholeFile(log_file_), ReadWholeFile(log_file_.string() + ".stderr"));
}

}  // namespace certfleet::testing
