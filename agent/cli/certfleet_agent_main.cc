// certfleet-agent: the host-side process. Each subcommand registers itself
// from its own file, so that this file stays a list: today the offline
// commands for emulated IIS 6 hosts and `run`, the agent process that keeps a
// session with the controller.

#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "agent/cli/init_iis6_host_command.h"
#include "agent/cli/inventory_command.h"
#include "agent/cli/run_command.h"

int main(int argc, char** argv) {
  // Debian's abseil checks every absl::Mutex acquisition (gRPC's included)
  // for lock-order cycles, a debugging aid that showed up in the
  // controller's profile under thousands of agents (docs/performance.md).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  CLI::App app{"certfleet-agent: renews the TLS certificates of the web servers on this host."};
  app.require_subcommand(1);
  int exit_code = 0;

  certfleet::agent::cli::RegisterInitIis6HostCommand(app, exit_code);
  certfleet::agent::cli::RegisterInventoryCommand(app, exit_code);
  certfleet::agent::cli::RegisterRunCommand(app, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    // CLI11 returns 0 for --help; any real usage error exits with 2 as is usual.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
