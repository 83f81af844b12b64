// certfleetctl campaign: plan, create, start, pause, resume, abort, list and
// show renewal campaigns through the admin API (docs/campaigns.md). A
// campaign is described by flags for the common cases, or by a JSON file of
// certfleet.v1.CampaignSpec (--spec) with flags applied on top.
//
// Thread safety: registration and callbacks run on certfleetctl's single
// thread.

#ifndef CERTFLEET_CONTROLLER_CLI_CAMPAIGN_COMMANDS_H_
#define CERTFLEET_CONTROLLER_CLI_CAMPAIGN_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace certfleet::cli {

// Adds `campaign` with its subcommands to `app`; the chosen command's exit
// status is written to `exit_code`.
void RegisterCampaignCommands(CLI::App& app, int& exit_code);

}  // namespace certfleet::cli

#endif  // CERTFLEET_CONTROLLER_CLI_CAMPAIGN_COMMANDS_H_
