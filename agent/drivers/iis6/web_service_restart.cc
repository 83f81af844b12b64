#include "agent/drivers/iis6/web_service_restart.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/io/file.h"

extern char** environ;

namespace certfleet::iis6 {
namespace {

constexpr size_t kSmallFileBytes = 4096;
// The part of a failing command's output kept for the message.
constexpr size_t kOutputTailBytes = 2048;
// How often a wait looks at the reload generation or the child again.
constexpr absl::Duration kPollInterval = absl::Milliseconds(20);

// The content of a small run/ file, trimmed; nullopt when it is missing.
absl::StatusOr<std::optional<std::string>> ReadSmallFile(const std::filesystem::path& path) {
  absl::StatusOr<std::string> content = io::ReadFile(path, kSmallFileBytes);
  if (absl::IsNotFound(content.status())) return std::nullopt;
  if (!content.ok()) return content.status();
  return std::string(absl::StripAsciiWhitespace(*content));
}

// The command line of `pid` as one string, from /proc; empty when /proc is
// not there to ask.
std::string CommandLineOf(pid_t pid) {
  absl::StatusOr<std::string> raw =
      io::ReadFile(absl::StrCat("/proc/", pid, "/cmdline"), kSmallFileBytes);
  if (!raw.ok()) return "";
  std::replace(raw->begin(), raw->end(), '\0', ' ');
  return std::string(absl::StripAsciiWhitespace(*raw));
}

std::string Tail(const std::string& output) {
  std::string_view tail = output;
  if (tail.size() > kOutputTailBytes) tail = tail.substr(tail.size() - kOutputTailBytes);
  return std::string(absl::StripAsciiWhitespace(std::string(tail)));
}

}  // namespace

absl::Status SignalEmulatorAndWait(const HostRoot& host, absl::Duration timeout) {
  const std::filesystem::path pid_file = host.PidFile();
  absl::StatusOr<std::optional<std::string>> pid_text = ReadSmallFile(pid_file);
  if (!pid_text.ok()) return pid_text.status();
  if (!pid_text->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no iis6-emulator is serving this host: ", pid_file.string(),
        " does not exist (start `iis6-emulator --host-root ", host.root().string(), "`)"));
  }
  int pid = 0;
  if (!absl::SimpleAtoi(**pid_text, &pid) || pid <= 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(pid_file.string(), " does not hold a process id: \"", **pid_text, "\""));
  }
  const std::string command_line = CommandLineOf(pid);
  if (::kill(pid, 0) != 0 && errno == ESRCH) {
    return absl::UnavailableError(absl::StrCat("the iis6-emulator of this host (pid ", pid,
                                               " from ", pid_file.string(), ") is not running"));
  }
  // A stale pid file may name an unrelated process now; signalling it could
  // kill it, so the process must look like the emulator.
  if (!command_line.empty() && command_line.find("iis6-emulator") == std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pid ", pid, " from ", pid_file.string(), " is not an iis6-emulator (it runs \"",
        command_line, "\"): the pid file is stale; restart the emulator"));
  }

  const std::filesystem::path generation_file = host.ReloadGenerationFile();
  absl::StatusOr<std::optional<std::string>> before = ReadSmallFile(generation_file);
  if (!before.ok()) return before.status();
  if (::kill(pid, SIGHUP) != 0) {
    const int error = errno;
    if (error == ESRCH) {
      return absl::UnavailableError(absl::StrCat("the iis6-emulator of this host (pid ", pid,
                                                 ") exited before it could reload"));
    }
    return absl::PermissionDeniedError(
        absl::StrCat("cannot signal the iis6-emulator (pid ", pid, "): ", std::strerror(error)));
  }
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    absl::StatusOr<std::optional<std::string>> now = ReadSmallFile(generation_file);
    if (now.ok() && now->has_value() && !(*now)->empty() && *now != *before) {
      return absl::OkStatus();
    }
    if (absl::Now() >= deadline) break;
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(kPollInterval));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "the iis6-emulator (pid ", pid, ") did not finish reloading within ",
      absl::FormatDuration(timeout), ": ", generation_file.string(),
      " did not change; the emulator's log says why (a configuration it cannot read leaves it "
      "serving the previous one)"));
}

absl::Status RunRestartCommand(const std::vector<std::string>& command, absl::Duration timeout) {
  if (command.empty() || command.front().empty()) {
    return absl::InvalidArgumentError("the restart command is empty");
  }
  const std::string shown = absl::StrJoin(command, " ");
  int pipe_ends[2];
  if (::pipe2(pipe_ends, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("cannot create a pipe: ", std::strerror(errno)));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDERR_FILENO);
  std::vector<char*> arguments;
  for (const std::string& argument : command)
    arguments.push_back(const_cast<char*>(argument.c_str()));
  arguments.push_back(nullptr);
  pid_t pid = 0;
  const int spawn_error =
      ::posix_spawn(&pid, command.front().c_str(), &actions, nullptr, arguments.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_ends[1]);
  if (spawn_error != 0) {
    ::close(pipe_ends[0]);
    return absl::UnavailableError(absl::StrCat("cannot start the restart command \"", shown,
                                               "\": ", std::strerror(spawn_error)));
  }

  const absl::Time deadline = absl::Now() + timeout;
  std::string output;
  bool output_open = true;
  int wait_status = 0;
  bool exited = false;
  while (!exited) {
    const absl::Duration remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) break;
    if (output_open) {
      pollfd descriptor{pipe_ends[0], POLLIN, 0};
      const int timeout_ms =
          static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(remaining) + 1, 1000));
      if (::poll(&descriptor, 1, timeout_ms) > 0) {
        char buffer[4096];
        const ssize_t count = ::read(pipe_ends[0], buffer, sizeof buffer);
        if (count > 0) {
          output.append(buffer, static_cast<size_t>(count));
          // Only the end is reported; keep memory bounded for chatty commands.
          if (output.size() > 4 * kOutputTailBytes)
            output.erase(0, output.size() - kOutputTailBytes);
        } else if (count == 0 || errno != EINTR) {
          output_open = false;
        }
      }
    } else {
      std::this_thread::sleep_for(absl::ToChronoMilliseconds(kPollInterval));
    }
    const pid_t waited = ::waitpid(pid, &wait_status, WNOHANG);
    if (waited == pid) exited = true;
  }
  // Whatever the command wrote just before exiting is still in the pipe.
  while (exited && output_open) {
    pollfd descriptor{pipe_ends[0], POLLIN, 0};
    if (::poll(&descriptor, 1, 0) <= 0) break;
    char buffer[4096];
    const ssize_t count = ::read(pipe_ends[0], buffer, sizeof buffer);
    if (count <= 0) break;
    output.append(buffer, static_cast<size_t>(count));
  }
  ::close(pipe_ends[0]);
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &wait_status, 0);
    return absl::DeadlineExceededError(
        absl::StrCat("the restart command \"", shown, "\" did not finish within ",
                     absl::FormatDuration(timeout), " and was killed"));
  }
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) return absl::OkStatus();
  const std::string how = WIFEXITED(wait_status)
                              ? absl::StrCat("exited with status ", WEXITSTATUS(wait_status))
                              : absl::StrCat("was killed by signal ", WTERMSIG(wait_status));
  const std::string tail = Tail(output);
  return absl::UnavailableError(
      absl::StrCat("the restart command \"", shown, "\" ", how, tail.empty() ? "" : ": ", tail));
}

absl::Status RestartWebService(const HostRoot& host, const RestartSettings& settings) {
  switch (settings.method) {
    case RestartMethod::kSignalEmulator:
      return SignalEmulatorAndWait(host, settings.timeout);
    case RestartMethod::kCommand:
      return RunRestartCommand(settings.command, settings.timeout);
  }
  return absl::InvalidArgumentError("unknown restart method");
}

}  // namespace certfleet::iis6
