// `certfleetctl cert inspect FILE [--json]`: says what a certificate-related
// file is, offline, with no controller. It is the command an operator
// reaches for when they no longer know which downloaded file is which.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_CONTROLLER_CLI_INSPECT_COMMAND_H_
#define CERTFLEET_CONTROLLER_CLI_INSPECT_COMMAND_H_

#include <iosfwd>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/time.h"
#include "common/crypto/object_inspector.h"
#include "nlohmann/json.hpp"

namespace certfleet::cli {

enum class OutputFormat { kTable, kJson };

struct InspectOptions {
  std::string file;
  OutputFormat output = OutputFormat::kTable;
  // For PKCS#12 archives: a file whose first line is the passphrase.
  std::optional<std::string> passphrase_file;
  // "Now" for days-left figures.
  absl::Time now = absl::Now();
};

// Adds the `inspect` subcommand to `cert`; `exit_code` receives the result
// of running it.
void RegisterInspectCommand(CLI::App& cert, int& exit_code);

// Inspects options.file and writes the report to `out`. Returns 0 on
// success; on an unreadable or unrecognised file writes one line to `error`
// naming the file and the reason, and returns 1.
int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& error);

// The JSON form of an inspection (the schema is documented in
// docs/cli.md).
nlohmann::json InspectionToJson(const crypto::InspectedObject& object, absl::Time now);

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_INSPECT_COMMAND_H_
