// certfleetctl's fleet commands, all talking to the controller's admin API
// over mutual TLS (admin_connection.h): hosts, certs, orders, renew,
// cert upload, jobs, token and policy. Each prints a readable table, or the
// API's answer as JSON with --json, and on failure one line naming the
// problem and what to do, with exit status 1 (2 for usage errors, as CLI11
// does).
//
// Thread safety: registration and callbacks run on certfleetctl's single
// thread.

#ifndef CERTFLEET_CONTROLLER_CLI_FLEET_COMMANDS_H_
#define CERTFLEET_CONTROLLER_CLI_FLEET_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace certfleet::cli {

// Adds hosts, certs, orders, renew, jobs, token and policy to `app`, and
// `upload` to the existing `cert` command. The chosen command's exit status
// is written to `exit_code`.
void RegisterFleetCommands(CLI::App& app, CLI::App& cert, int& exit_code);

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_FLEET_COMMANDS_H_
