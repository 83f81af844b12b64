// `certfleet-agent run --config FILE [flags]`: the agent process. Reads the
// YAML configuration (agent/session/agent_config.h; every option is also a
// flag, and a flag wins), opens the host's driver, and runs the controller
// session (agent/session/controller_session.h) until SIGTERM or SIGINT. One
// line per event goes to standard error, prefixed with the UTC time.
//
// Exit codes: 0 after a clean stop, 1 when the configuration is refused or
// the agent cannot go on without a person (the message says why), 2 for a
// usage error.
//
// Thread safety: RunAgent blocks the calling thread; it must be called
// before other threads exist (it blocks SIGTERM and SIGINT for the process
// and waits for them on a thread of its own).

#ifndef CERTFLEET_AGENT_CLI_RUN_COMMAND_H_
#define CERTFLEET_AGENT_CLI_RUN_COMMAND_H_

#include <filesystem>
#include <iosfwd>
#include <vector>

#include "CLI/CLI.hpp"
#include "agent/session/agent_config.h"

namespace certfleet::agent::cli {

// Adds the `run` subcommand to `app`; `exit_code` receives the result.
void RegisterRunCommand(CLI::App& app, int& exit_code);

// Loads `config_file` with `overrides`, then runs the agent until SIGTERM
// or SIGINT. Writes the events and any error to `error`. Returns the exit
// code.
int RunAgent(const std::filesystem::path& config_file,
             const std::vector<session::ConfigOverride>& overrides, std::ostream& error);

}  // namespace certfleet::agent::cli

#endif  // CERTFLEET_AGENT_CLI_RUN_COMMAND_H_
