// `certfleetctl cert probe HOST:PORT`: the "check from another machine" of
// the IIS 6 procedure, by hand. Completes a real TLS handshake and shows what
// the server sent and whether it verifies.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_CONTROLLER_CLI_PROBE_COMMAND_H_
#define CERTFLEET_CONTROLLER_CLI_PROBE_COMMAND_H_

#include <iosfwd>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "controller/cli/inspect_command.h"

namespace certfleet::cli {

struct ProbeCommandOptions {
  // "host:port", "[v6]:port", or a host alone (port 443).
  std::string target;
  std::optional<std::string> server_name;
  // A file of trusted roots (any format); without it the chain is shown but
  // cannot be judged.
  std::optional<std::string> roots_file;
  // The name the leaf must be valid for.
  std::optional<std::string> expected_hostname;
  absl::Duration timeout = absl::Seconds(10);
  OutputFormat output = OutputFormat::kTable;
};

// Adds the `probe` subcommand to `cert`; `exit_code` receives its result.
void RegisterProbeCommand(CLI::App& cert, int& exit_code);

// Probes and writes the report to `out`. Returns 0 when the handshake
// succeeded and (with roots) the chain verified; 1 with a line on `error`
// when the target could not be probed, or when the chain did not verify (the
// report then says why).
int RunProbe(const ProbeCommandOptions& options, std::ostream& out, std::ostream& error);

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_PROBE_COMMAND_H_
