#include "controller/cli/campaign_commands.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "controller/cli/command_support.h"

namespace certfleet::cli {
namespace {

// The flags that describe a campaign (plan and create).
struct SpecFlags {
  std::string spec_file;
  std::string name;
  std::string description;
  // Selector.
  std::vector<std::string> labels;
  std::string hostname_pattern;
  std::vector<std::string> exclude_hosts;
  std::string issuer;
  std::string current_ca_product;
  std::vector<int> current_key_bits;
  std::vector<std::string> current_signature_hashes;
  std::string expiring_within;
  // Policy.
  std::string key_spec;
  std::string signature_hash;
  std::string organization;
  std::string organizational_unit;
  std::string connector;
  std::string ca_product;
  // Waves, budget, windows.
  int canary = 0;
  std::string waves;
  std::string soak;
  int max_in_flight = 0;
  int max_failures = -1;
  double max_failure_percent = -1;
  std::vector<std::string> windows;
};

void AddSpecFlags(CLI::App& command, SpecFlags& flags) {
  command.add_option("--spec", flags.spec_file,
                     "JSON file of a CampaignSpec (every field); the flags below override it");
  command.add_option("--name", flags.name, "Campaign name (sha256-migration)");
  command.add_option("--description", flags.description, "What and why");
  command.add_option("--label", flags.labels, "Only hosts with label KEY=VALUE (repeatable)");
  command.add_option("--hosts", flags.hostname_pattern, "Only hosts whose name matches (web-*)");
  command.add_option("--exclude-host", flags.exclude_hosts, "Never this host id (repeatable)");
  command.add_option("--issuer", flags.issuer, "Only certificates whose issuer contains TEXT");
  command.add_option("--current-ca-product", flags.current_ca_product,
                     "Only certificates of this CA product");
  command.add_option("--current-key-bits", flags.current_key_bits,
                     "Only certificates with this key size (repeatable)");
  command.add_option("--current-signature-hash", flags.current_signature_hashes,
                     "Only certificates signed with this hash: sha1, sha256, ... (repeatable)");
  command.add_option("--expiring-within", flags.expiring_within,
                     "Only certificates expiring within this long (90d)");
  command.add_option("--key-spec", flags.key_spec, "New key: rsa_2048, rsa_3072, rsa_4096");
  command.add_option("--signature-hash", flags.signature_hash, "Requested hash: sha256, ...");
  command.add_option("--organization", flags.organization, "New subject O=");
  command.add_option("--organizational-unit", flags.organizational_unit, "New subject OU=");
  command.add_option("--connector", flags.connector, "Issuance connector: local or manual");
  command.add_option("--ca-product", flags.ca_product, "CA product of the catalogue");
  command.add_option("--canary", flags.canary, "Hosts in the canary wave (default 1)");
  command.add_option("--waves", flags.waves,
                     "Cumulative percentages of hosts after each wave (10,50); the rest follows");
  command.add_option("--soak", flags.soak, "Wait this long after a healthy wave (30m)");
  command.add_option("--max-in-flight", flags.max_in_flight, "Renewals of the campaign at once");
  command.add_option("--max-failures", flags.max_failures,
                     "Pause when more renewals than this failed");
  command.add_option("--max-failure-percent", flags.max_failure_percent,
                     "Pause when more than this percentage of finished renewals failed");
  command.add_option("--window", flags.windows,
                     "Deploys only in \"DAYS HH:MM LENGTH ZONE\", e.g. \"sat,sun 22:00 4h "
                     "Europe/Berlin\", for every host (repeatable; --spec for per-group windows)");
}

grpc::Status Invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

grpc::Status ParseWindow(const std::string& text, v1::MaintenanceWindow* window) {
  const std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  const std::string usage = absl::StrCat("--window \"", text,
                                         "\" is not \"DAYS HH:MM LENGTH ZONE\", for example "
                                         "\"sat,sun 22:00 4h Europe/Berlin\"");
  if (parts.size() != 4) return Invalid(usage);
  window->set_name(text);
  for (absl::string_view day : absl::StrSplit(parts[0], ',')) {
    static const std::vector<std::pair<std::string, v1::DayOfWeek>> kDays = {
        {"mon", v1::DAY_OF_WEEK_MONDAY},    {"tue", v1::DAY_OF_WEEK_TUESDAY},
        {"wed", v1::DAY_OF_WEEK_WEDNESDAY}, {"thu", v1::DAY_OF_WEEK_THURSDAY},
        {"fri", v1::DAY_OF_WEEK_FRIDAY},    {"sat", v1::DAY_OF_WEEK_SATURDAY},
        {"sun", v1::DAY_OF_WEEK_SUNDAY}};
    bool found = false;
    for (const auto& [name, value] : kDays) {
      if (absl::AsciiStrToLower(std::string(day)) == name) {
        window->add_days(value);
        found = true;
      }
    }
    if (!found) return Invalid(absl::StrCat(usage, ": unknown day \"", std::string(day), "\""));
  }
  const std::vector<std::string> clock = absl::StrSplit(parts[1], ':');
  int hours = 0;
  int minutes = 0;
  if (clock.size() != 2 || !absl::SimpleAtoi(clock[0], &hours) ||
      !absl::SimpleAtoi(clock[1], &minutes)) {
    return Invalid(usage);
  }
  window->mutable_start()->set_hours(static_cast<uint32_t>(hours));
  window->mutable_start()->set_minutes(static_cast<uint32_t>(minutes));
  absl::Duration length;
  if (!ParseHumanDuration(parts[2], &length)) return Invalid(usage);
  SetDurationProto(length, window->mutable_length());
  window->set_time_zone(parts[3]);
  return grpc::Status::OK;
}

// The CampaignSpec the flags describe (on top of --spec).
grpc::Status BuildSpec(const SpecFlags& flags, v1::CampaignSpec* spec) {
  if (!flags.spec_file.empty()) {
    std::ifstream file(flags.spec_file);
    if (!file) return Invalid(absl::StrCat("cannot read --spec ", flags.spec_file));
    std::stringstream content;
    content << file.rdbuf();
    google::protobuf::util::JsonParseOptions options;
    if (auto parsed = google::protobuf::util::JsonStringToMessage(content.str(), spec, options);
        !parsed.ok()) {
      return Invalid(absl::StrCat("--spec ", flags.spec_file,
                                  " is not a CampaignSpec in JSON: ", parsed.ToString()));
    }
  }
  if (!flags.name.empty()) spec->set_name(flags.name);
  if (spec->name().empty()) return Invalid("give the campaign a --name (or a name in --spec)");
  if (!flags.description.empty()) spec->set_description(flags.description);
  v1::CampaignSelector* selector = spec->mutable_selector();
  for (const std::string& label : flags.labels) {
    std::vector<std::string> parts = absl::StrSplit(label, absl::MaxSplits('=', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return Invalid(absl::StrCat("--label ", label, " is not KEY=VALUE"));
    }
    (*selector->mutable_hosts()->mutable_labels())[parts[0]] = parts[1];
  }
  if (!flags.hostname_pattern.empty()) {
    selector->mutable_hosts()->set_hostname_pattern(flags.hostname_pattern);
  }
  for (const std::string& host : flags.exclude_hosts) selector->add_exclude_host_ids(host);
  if (!flags.issuer.empty()) selector->set_issuer_contains(flags.issuer);
  if (!flags.current_ca_product.empty()) selector->set_ca_product(flags.current_ca_product);
  for (int bits : flags.current_key_bits) selector->add_key_bits(static_cast<uint32_t>(bits));
  for (const std::string& hash : flags.current_signature_hashes) {
    v1::SignatureHash value;
    if (!v1::SignatureHash_Parse("SIGNATURE_HASH_" + absl::AsciiStrToUpper(hash), &value)) {
      return Invalid(absl::StrCat("--current-signature-hash ", hash,
                                  " is unknown; use md5, sha1, sha256, sha384 or sha512"));
    }
    selector->add_signature_hashes(value);
  }
  if (!flags.expiring_within.empty()) {
    absl::Duration within;
    if (!ParseHumanDuration(flags.expiring_within, &within)) {
      return Invalid("--expiring-within is not a duration; write 90d or 720h");
    }
    SetDurationProto(within, selector->mutable_expiring_within());
  }
  v1::RenewalPolicy* policy = spec->mutable_policy();
  if (!flags.key_spec.empty()) {
    v1::KeySpec key_spec;
    if (!v1::KeySpec_Parse("KEY_SPEC_" + absl::AsciiStrToUpper(flags.key_spec), &key_spec)) {
      return Invalid(absl::StrCat("--key-spec ", flags.key_spec,
                                  " is unknown; use rsa_2048, rsa_3072 or rsa_4096"));
    }
    policy->set_key_spec(key_spec);
  }
  if (!flags.signature_hash.empty()) {
    v1::SignatureHash hash;
    if (!v1::SignatureHash_Parse("SIGNATURE_HASH_" + absl::AsciiStrToUpper(flags.signature_hash),
                                 &hash)) {
      return Invalid(absl::StrCat("--signature-hash ", flags.signature_hash,
                                  " is unknown; use sha256, sha384 or sha512"));
    }
    policy->set_signature_hash(hash);
  }
  if (!flags.organization.empty()) policy->mutable_subject()->set_organization(flags.organization);
  if (!flags.organizational_unit.empty()) {
    policy->mutable_subject()->set_organizational_unit(flags.organizational_unit);
  }
  if (!flags.connector.empty()) policy->set_connector(flags.connector);
  if (!flags.ca_product.empty()) policy->set_ca_product(flags.ca_product);
  v1::WavePlan* waves = spec->mutable_wave_plan();
  if (flags.canary > 0) waves->set_canary_hosts(static_cast<uint32_t>(flags.canary));
  if (!flags.waves.empty()) {
    waves->clear_cumulative_percentages();
    for (absl::string_view part : absl::StrSplit(flags.waves, ',')) {
      int percentage = 0;
      if (!absl::SimpleAtoi(part, &percentage)) {
        return Invalid(absl::StrCat("--waves ", flags.waves, " is not a list like 10,50"));
      }
      waves->add_cumulative_percentages(static_cast<uint32_t>(percentage));
    }
  }
  if (!flags.soak.empty()) {
    absl::Duration soak;
    if (!ParseHumanDuration(flags.soak, &soak)) {
      return Invalid("--soak is not a duration; write 30m or 1h");
    }
    SetDurationProto(soak, waves->mutable_soak_time());
  }
  if (flags.max_in_flight > 0) spec->set_max_in_flight(static_cast<uint32_t>(flags.max_in_flight));
  if (flags.max_failures >= 0) {
    spec->mutable_failure_budget()->set_max_failures(static_cast<uint32_t>(flags.max_failures));
  }
  if (flags.max_failure_percent >= 0) {
    spec->mutable_failure_budget()->set_max_failure_percent(flags.max_failure_percent);
  }
  for (const std::string& text : flags.windows) {
    if (grpc::Status parsed = ParseWindow(text, spec->add_maintenance_windows()); !parsed.ok()) {
      return parsed;
    }
  }
  return grpc::Status::OK;
}

std::string Subject(const v1::DistinguishedName& name) {
  std::vector<std::string> parts;
  if (!name.common_name().empty()) parts.push_back("CN=" + name.common_name());
  if (!name.organizational_unit().empty()) parts.push_back("OU=" + name.organizational_unit());
  if (!name.organization().empty()) parts.push_back("O=" + name.organization());
  if (!name.locality().empty()) parts.push_back("L=" + name.locality());
  if (!name.country().empty()) parts.push_back("C=" + name.country());
  return absl::StrJoin(parts, ",");
}

void PrintPlan(const v1::CampaignPlan& plan, std::ostream& out) {
  out << "Plan: " << plan.binding_count() << " bindings on " << plan.host_count() << " hosts in "
      << plan.waves_size() << " waves (fingerprint " << plan.plan_fingerprint() << ")\n";
  for (const v1::PlannedWave& wave : plan.waves()) {
    out << "\nWave " << wave.index() << (wave.index() == 0 ? " (canary)" : "") << ": "
        << wave.host_count() << " hosts\n";
    Table table({"HOST", "SITE", "CURRENT", "NEW SUBJECT", "KEY", "HASH", "CHAIN", "WINDOW"});
    for (const v1::PlannedRenewal& renewal : wave.renewals()) {
      std::vector<std::string> chain;
      for (const v1::CertificateInfo& certificate : renewal.chain()) {
        chain.push_back(certificate.subject());
      }
      table.Add(
          {renewal.hostname(), Or(renewal.site_name(), renewal.site_id()),
           absl::StrCat(
               renewal.current_certificate().thumbprint_sha1().substr(0, 8), " ",
               Short(v1::SignatureHash_Name(renewal.current_certificate().signature_hash()),
                     "SIGNATURE_HASH_")),
           Subject(renewal.new_subject()), Short(v1::KeySpec_Name(renewal.key_spec()), "KEY_SPEC_"),
           Short(v1::SignatureHash_Name(renewal.signature_hash()), "SIGNATURE_HASH_"),
           chain.empty() ? "-" : absl::StrJoin(chain, " / "),
           renewal.has_next_window_opens_at() ? Time(renewal.next_window_opens_at()) : "any time"});
    }
    table.Print(out);
  }
  if (plan.excluded_size() > 0) {
    out << "\nLeft out:\n";
    Table table({"HOST", "SITE", "WHY"});
    for (const v1::ExcludedBinding& excluded : plan.excluded()) {
      table.Add(
          {excluded.hostname(), Or(excluded.site_name(), excluded.site_id()), excluded.detail()});
    }
    table.Print(out);
  }
}

std::string Progress(const v1::CampaignProgress& progress) {
  return absl::StrCat(progress.done(), "/", progress.total(), " done, ", progress.in_flight(),
                      " in flight, ", progress.failed() + progress.rolled_back(), " failed");
}

void PrintCampaign(const v1::Campaign& campaign, std::ostream& out) {
  out << "Campaign:  " << campaign.spec().name() << " (" << campaign.campaign_id() << ")\n"
      << "State:     " << Short(v1::CampaignState_Name(campaign.state()), "CAMPAIGN_STATE_")
      << (campaign.state_reason().empty() ? "" : ": " + campaign.state_reason()) << "\n"
      << "Progress:  " << Progress(campaign.progress()) << "\n"
      << "Created:   " << Time(campaign.created_at()) << " by " << campaign.created_by() << "\n"
      << "Started:   " << Time(campaign.started_at()) << "\n"
      << "Finished:  " << Time(campaign.finished_at()) << "\n";
  for (const v1::CampaignWave& wave : campaign.waves()) {
    out << "\nWave " << wave.index() << ": "
        << Short(v1::WaveState_Name(wave.state()), "WAVE_STATE_") << ", "
        << Progress(wave.progress()) << "\n";
    if (wave.targets_size() == 0) continue;
    Table table({"HOST", "SITE", "ORDER", "STATE", "NOTE"});
    for (const v1::CampaignTarget& target : wave.targets()) {
      std::string note = target.failure().message();
      if (target.has_waiting_for_window_until()) {
        note = "deploy waits for the window at " + Time(target.waiting_for_window_until());
      }
      table.Add({target.hostname(), Or(target.site_name(), target.site_id()), Or(target.order_id()),
                 target.order_id().empty()
                     ? "pending"
                     : Short(v1::OrderState_Name(target.order_state()), "ORDER_STATE_"),
                 Or(note)});
    }
    table.Print(out);
  }
}

// The call of a command that acts on one campaign: `method` with a request
// naming the campaign and, when the request has one, the reason; the
// campaign it answers with goes to `shown`.
template <typename Request, typename Response>
auto CampaignCall(grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                                 const Request&, Response*)) {
  return [method](v1::AdminService::Stub& stub, const std::string& id, const std::string& reason,
                  v1::Campaign* shown) {
    Request request;
    request.set_campaign_id(id);
    if constexpr (requires { request.set_reason(reason); }) request.set_reason(reason);
    Response response;
    grpc::Status status = (stub.*method)(CallContext().get(), request, &response);
    *shown = response.campaign();
    return status;
  };
}

// A command that acts on one campaign by id.
void RegisterAction(CLI::App& campaign, int& exit_code, const std::string& name,
                    const std::string& help, bool with_reason,
                    std::function<grpc::Status(v1::AdminService::Stub&, const std::string& id,
                                               const std::string& reason, v1::Campaign* shown)>
                        call) {
  CLI::App* command = campaign.add_subcommand(name, help);
  auto runner = std::make_shared<FleetCommand>(*command, exit_code);
  auto id = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  command->add_option("CAMPAIGN", *id, "Campaign id")->required();
  if (with_reason) command->add_option("--reason", *reason, "Why (kept in the audit log)");
  command->callback([runner, id, reason, call, name] {
    runner->Run(absl::StrCat("campaign ", name),
                [&](v1::AdminService::Stub& stub, std::ostream& out) {
                  v1::Campaign shown;
                  grpc::Status status = call(stub, *id, *reason, &shown);
                  if (!status.ok()) return status;
                  if (runner->connection().json) {
                    PrintJson(shown, out);
                  } else {
                    PrintCampaign(shown, out);
                  }
                  return status;
                });
  });
}

}  // namespace

void RegisterCampaignCommands(CLI::App& app, int& exit_code) {
  CLI::App* campaign = app.add_subcommand("campaign", "Renewal campaigns in staged waves");
  campaign->require_subcommand(1);

  CLI::App* plan =
      campaign->add_subcommand("plan", "Show what a campaign would do, changing nothing");
  auto plan_command = std::make_shared<FleetCommand>(*plan, exit_code);
  auto plan_flags = std::make_shared<SpecFlags>();
  AddSpecFlags(*plan, *plan_flags);
  plan->callback([plan_command, plan_flags] {
    plan_command->Run("campaign plan", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::PlanCampaignRequest request;
      if (grpc::Status built = BuildSpec(*plan_flags, request.mutable_spec()); !built.ok()) {
        return built;
      }
      v1::PlanCampaignResponse response;
      grpc::Status status = stub.PlanCampaign(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (plan_command->connection().json) {
        PrintJson(response, out);
      } else {
        PrintPlan(response.plan(), out);
        out << "\nCreate it with the same flags and --fingerprint "
            << response.plan().plan_fingerprint() << "\n";
      }
      return status;
    });
  });

  CLI::App* create = campaign->add_subcommand("create", "Create a campaign (draft) from its plan");
  auto create_command = std::make_shared<FleetCommand>(*create, exit_code);
  auto create_flags = std::make_shared<SpecFlags>();
  auto fingerprint = std::make_shared<std::string>();
  AddSpecFlags(*create, *create_flags);
  create->add_option("--fingerprint", *fingerprint,
                     "Refuse when the plan differs from the one `campaign plan` showed");
  create->callback([create_command, create_flags, fingerprint] {
    create_command->Run("campaign create", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::CreateCampaignRequest request;
      if (grpc::Status built = BuildSpec(*create_flags, request.mutable_spec()); !built.ok()) {
        return built;
      }
      request.set_plan_fingerprint(*fingerprint);
      v1::CreateCampaignResponse response;
      grpc::Status status = stub.CreateCampaign(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (create_command->connection().json) {
        PrintJson(response, out);
      } else {
        out << "Campaign " << response.campaign().campaign_id() << " created (draft); start it "
            << "with: certfleetctl campaign start " << response.campaign().campaign_id() << "\n";
      }
      return status;
    });
  });

  using Stub = v1::AdminService::Stub;
  RegisterAction(*campaign, exit_code, "start", "Start a draft campaign", false,
                 CampaignCall(&Stub::StartCampaign));
  RegisterAction(*campaign, exit_code, "pause", "Stop starting new renewals", true,
                 CampaignCall(&Stub::PauseCampaign));
  RegisterAction(*campaign, exit_code, "resume", "Resume a paused campaign", false,
                 CampaignCall(&Stub::ResumeCampaign));
  RegisterAction(*campaign, exit_code, "abort",
                 "Abort: nothing new starts, renewals not yet deploying are cancelled, deploys "
                 "finish or roll back",
                 true, CampaignCall(&Stub::AbortCampaign));
  RegisterAction(*campaign, exit_code, "show", "Show a campaign with its waves and renewals", false,
                 CampaignCall(&Stub::GetCampaign));

  CLI::App* list = campaign->add_subcommand("list", "List campaigns, newest first");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  list->callback([list_command] {
    list_command->Run("campaign list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListCampaignsRequest request;
      request.mutable_page()->set_page_size(1000);
      v1::ListCampaignsResponse response;
      grpc::Status status = stub.ListCampaigns(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"CAMPAIGN", "NAME", "STATE", "PROGRESS", "CREATED"});
      for (const v1::Campaign& campaign : response.campaigns()) {
        table.Add({campaign.campaign_id(), campaign.spec().name(),
                   Short(v1::CampaignState_Name(campaign.state()), "CAMPAIGN_STATE_"),
                   Progress(campaign.progress()), Time(campaign.created_at())});
      }
      table.Print(out);
      return status;
    });
  });
}

}  // namespace certfleet::cli
