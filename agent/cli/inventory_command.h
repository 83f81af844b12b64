// `certfleet-agent inventory --host-root DIR [--json]`: prints what the IIS 6
// driver sees on a host, offline (no controller): sites with their bindings,
// the bound certificate with its expiry and days left, pending requests and
// the contents of every store. It is what the agent reports to the
// controller, in a form a person (or a script, with --json) can read.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_AGENT_CLI_INVENTORY_COMMAND_H_
#define CERTFLEET_AGENT_CLI_INVENTORY_COMMAND_H_

#include <iosfwd>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "nlohmann/json.hpp"

namespace certfleet::agent::cli {

enum class InventoryFormat { kText, kJson };

struct InventoryOptions {
  std::string host_root;
  InventoryFormat format = InventoryFormat::kText;
  // "Now" for days-left figures.
  absl::Time now = absl::Now();
};

// Adds the `inventory` subcommand to `app`; `exit_code` receives the result.
void RegisterInventoryCommand(CLI::App& app, int& exit_code);

// Scans the host and writes the report to `out`. Returns 0 on success;
// otherwise writes one line naming the host and the problem to `error` and
// returns 1.
int RunInventory(const InventoryOptions& options, std::ostream& out, std::ostream& error);

// The JSON form of an inventory (documented in docs/certfleet-agent.md).
nlohmann::json InventoryToJson(const HostInventory& inventory, const std::string& host_root,
                               const std::string& address, absl::Time now);

}  // namespace certfleet::agent::cli

#endif  // CERTFLEET_AGENT_CLI_INVENTORY_COMMAND_H_
