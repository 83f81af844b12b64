// certfleetctl: everything an operator does with certfleet. Commands that
// need the controller talk only to its admin API; `cert inspect` works
// offline.

#include <iostream>

#include "CLI/CLI.hpp"
#include "controller/cli/fleet_commands.h"
#include "controller/cli/inspect_command.h"
#include "controller/cli/probe_command.h"

int main(int argc, char** argv) {
  CLI::App app{
      "certfleetctl: inspect certificate files and (with a controller) manage the fleet's "
      "certificates, renewals and campaigns."};
  app.require_subcommand(1);
  int exit_code = 0;

  CLI::App* cert = app.add_subcommand("cert", "Certificates: inspect files, probe servers");
  cert->require_subcommand(1);
  certfleet::cli::RegisterInspectCommand(*cert, exit_code);
  certfleet::cli::RegisterProbeCommand(*cert, exit_code);
  certfleet::cli::RegisterFleetCommands(app, *cert, exit_code);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    // CLI11 returns 0 for --help; any real usage error exits with 2 as is usual.
    return code == 0 ? 0 : 2;
  }
  return exit_code;
}
