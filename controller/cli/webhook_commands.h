// certfleetctl webhook: list, set and delete the webhooks the controller
// notifies (docs/campaigns.md, "Notifications").
//
// Thread safety: registration and callbacks run on certfleetctl's single
// thread.

#ifndef CERTFLEET_CONTROLLER_CLI_WEBHOOK_COMMANDS_H_
#define CERTFLEET_CONTROLLER_CLI_WEBHOOK_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace certfleet::cli {

// Adds `webhook` with its subcommands to `app`; the chosen command's exit
// status is written to `exit_code`.
void RegisterWebhookCommands(CLI::App& app, int& exit_code);

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_WEBHOOK_COMMANDS_H_
