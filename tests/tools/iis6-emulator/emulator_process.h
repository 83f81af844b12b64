// Runs the real iis6-emulator binary for a test: started with posix_spawn,
// its event log in a file beside the host root, waited for through its pid
// file, and always killed when the object goes away.
//
// Thread safety: used by one test thread.

#ifndef CERTFLEET_TESTS_TOOLS_IIS6_EMULATOR_EMULATOR_PROCESS_H_
#define CERTFLEET_TESTS_TOOLS_IIS6_EMULATOR_EMULATOR_PROCESS_H_

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certfleet::testing {

class EmulatorProcess {
 public:
  // Starts iis6-emulator --host-root `host_root` --log-file `log_file`
  // followed by `extra_arguments`, with its standard output and error in
  // `log_file` + ".stderr". Waits until run/iis6-emulator.pid holds the
  // child's pid. Returns FailedPrecondition with the log when the child
  // exits first, DeadlineExceeded with the log when 10 seconds pass.
  static absl::StatusOr<std::unique_ptr<EmulatorProcess>> Start(
      const std::filesystem::path& host_root, const std::filesystem::path& log_file,
      const std::vector<std::string>& extra_arguments = {});

  // Starts the binary as Start does but does not wait for a pid file; for
  // runs expected to fail. Returns its exit code, or nullopt when it did not
  // exit within `timeout` (it is then killed).
  static std::optional<int> RunToExit(const std::filesystem::path& host_root,
                                      const std::filesystem::path& log_file,
                                      const std::vector<std::string>& extra_arguments,
                                      absl::Duration timeout = absl::Seconds(10));

  // Kills the child (SIGKILL) if it still runs, and reaps it.
  ~EmulatorProcess();
  EmulatorProcess(const EmulatorProcess&) = delete;
  EmulatorProcess& operator=(const EmulatorProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Sends `signal_number` to the child.
  void Signal(int signal_number) const;

  // Waits for the child to exit and returns its exit code (128 + signal
  // when killed), or nullopt after `timeout`.
  std::optional<int> WaitForExit(absl::Duration timeout = absl::Seconds(10));

  // The event log and the captured standard error so far.
  std::string Log() const;

 private:
  EmulatorProcess(pid_t pid, std::filesystem::path log_file)
      : pid_(pid), log_file_(std::move(log_file)) {}

  static absl::StatusOr<pid_t> Spawn(const std::filesystem::path& host_root,
                                     const std::filesystem::path& log_file,
                                     const std::vector<std::string>& extra_arguments);

  pid_t pid_;
  std::filesystem::path log_file_;
  bool reaped_ = false;
};

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_TOOLS_IIS6_EMULATOR_EMULATOR_PROCESS_H_
