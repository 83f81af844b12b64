// Making an IIS 6 host serve its current configuration: the "restart IIS"
// step of ../shared/docs/IIS6.md.
//
// On Windows Server 2003 that is `iisreset /restart` (it restarts the IIS
// Admin Service, IISADMIN, and W3SVC with it); a driver for a real host runs
// it as a configured command. On an emulated host (docs/iis6-emulated-host.md)
// the driver sends SIGHUP to the pid in run/iis6-emulator.pid and waits until
// run/reload-generation changes, so that the verify step that follows sees
// the new configuration. These are POSIX process operations, kept in this
// file apart from the driver's logic.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_WEB_SERVICE_RESTART_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_WEB_SERVICE_RESTART_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/drivers/iis6/host_root.h"

namespace certfleet::iis6 {

enum class RestartMethod {
  // SIGHUP to the emulator, then wait for its reload generation to change.
  kSignalEmulator,
  // Run a command (argv) and wait for it to exit 0, e.g. a wrapper that runs
  // `iisreset /restart` on the managed Windows host.
  kCommand,
};

struct RestartSettings {
  RestartMethod method = RestartMethod::kSignalEmulator;
  // For kCommand: the program (an absolute path) and its arguments.
  std::vector<std::string> command;
  // How long the reload or the command may take.
  absl::Duration timeout = absl::Seconds(30);
};

// Sends SIGHUP to the emulator serving `host` and waits until it has
// reloaded. Returns FailedPrecondition when the pid file is missing or
// malformed or names a process that is not an iis6-emulator (a stale pid
// file: the signal is then not sent), Unavailable when that process is gone,
// and DeadlineExceeded when the reload generation did not change within
// `timeout` (the message says the emulator's log has the reason).
absl::Status SignalEmulatorAndWait(const HostRoot& host, absl::Duration timeout);

// Runs `command` (argv; command[0] an absolute path) with standard input
// closed and waits for it. Returns InvalidArgument for an empty command,
// Unavailable naming the exit status and the end of its output when it
// fails or cannot be started, and DeadlineExceeded (after killing it) when
// it runs longer than `timeout`.
absl::Status RunRestartCommand(const std::vector<std::string>& command, absl::Duration timeout);

// Restarts as `settings` says.
absl::Status RestartWebService(const HostRoot& host, const RestartSettings& settings);

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_WEB_SERVICE_RESTART_H_
