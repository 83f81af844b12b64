#include "controller/cli/webhook_commands.h"

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "controller/cli/command_support.h"

namespace certfleet::cli {

void RegisterWebhookCommands(CLI::App& app, int& exit_code) {
  CLI::App* webhook = app.add_subcommand("webhook", "Webhooks the controller notifies");
  webhook->require_subcommand(1);

  CLI::App* list = webhook->add_subcommand("list", "List webhooks with their last delivery");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  list->callback([list_command] {
    list_command->Run("webhook list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListWebhooksResponse response;
      grpc::Status status = stub.ListWebhooks(CallContext().get(), {}, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"WEBHOOK", "NAME", "URL", "EVENTS", "ENABLED", "LAST DELIVERY", "FAILURES"});
      for (const v1::Webhook& hook : response.webhooks()) {
        std::vector<std::string> events;
        for (int event : hook.events()) {
          events.push_back(
              Short(v1::WebhookEvent_Name(static_cast<v1::WebhookEvent>(event)), "WEBHOOK_EVENT_"));
        }
        table.Add(
            {hook.webhook_id(), hook.name(), hook.url(),
             events.empty() ? "all" : absl::StrJoin(events, ","), hook.enabled() ? "yes" : "no",
             hook.has_last_delivery_at()
                 ? absl::StrCat(Time(hook.last_delivery_at()), " ", hook.last_delivery_result())
                 : "-",
             absl::StrCat(hook.consecutive_failures())});
      }
      table.Print(out);
      return status;
    });
  });

  CLI::App* set = webhook->add_subcommand("set", "Create (no --id) or replace a webhook");
  auto set_command = std::make_shared<FleetCommand>(*set, exit_code);
  struct Flags {
    std::string id;
    std::string name;
    std::string url;
    std::vector<std::string> events;
    bool disabled = false;
    std::string secret_file;
  };
  auto flags = std::make_shared<Flags>();
  set->add_option("--id", flags->id, "The webhook to replace");
  set->add_option("--name", flags->name, "Name for lists (ops-chat)")->required();
  set->add_option("--url", flags->url, "http:// or https:// URL to POST to")->required();
  set->add_option("--event", flags->events,
                  "Only this event (repeatable; default all): campaign_state_changed, "
                  "renewal_failed, renewal_rolled_back, renewal_succeeded, agent_silent");
  set->add_flag("--disabled", flags->disabled, "Keep it but make no deliveries");
  set->add_option("--secret-file", flags->secret_file,
                  "File holding the HMAC secret for X-Certfleet-Signature (kept when omitted)");
  set->callback([set_command, flags] {
    set_command->Run("webhook set", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::SetWebhookRequest request;
      v1::Webhook* hook = request.mutable_webhook();
      hook->set_webhook_id(flags->id);
      hook->set_name(flags->name);
      hook->set_url(flags->url);
      hook->set_enabled(!flags->disabled);
      for (const std::string& event : flags->events) {
        v1::WebhookEvent value;
        if (!v1::WebhookEvent_Parse("WEBHOOK_EVENT_" + absl::AsciiStrToUpper(event), &value)) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("--event ", event, " is not an event; see --help"));
        }
        hook->add_events(value);
      }
      if (!flags->secret_file.empty()) {
        std::ifstream file(flags->secret_file);
        std::string secret;
        if (!file || !std::getline(file, secret) || secret.empty()) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("cannot read a secret from ", flags->secret_file));
        }
        hook->set_secret(std::string(absl::StripAsciiWhitespace(secret)));
      }
      v1::SetWebhookResponse response;
      grpc::Status status = stub.SetWebhook(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (set_command->connection().json) {
        PrintJson(response, out);
      } else {
        out << "Webhook " << response.webhook().webhook_id() << " (" << response.webhook().name()
            << ") saved\n";
      }
      return status;
    });
  });

  CLI::App* remove =
      webhook->add_subcommand("delete", "Delete a webhook and its queued deliveries");
  auto delete_command = std::make_shared<FleetCommand>(*remove, exit_code);
  auto id = std::make_shared<std::string>();
  remove->add_option("WEBHOOK", *id, "Webhook id")->required();
  remove->callback([delete_command, id] {
    delete_command->Run("webhook delete", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::DeleteWebhookRequest request;
      request.set_webhook_id(*id);
      v1::DeleteWebhookResponse response;
      grpc::Status status = stub.DeleteWebhook(CallContext().get(), request, &response);
      if (status.ok() && !delete_command->connection().json)
        out << "Webhook " << *id << " deleted\n";
      return status;
    });
  });
}

}  // namespace certfleet::cli
