#include "controller/cli/fleet_commands.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "controller/cli/admin_connection.h"
#include "controller/cli/campaign_commands.h"
#include "controller/cli/command_support.h"
#include "controller/cli/webhook_commands.h"

namespace certfleet::cli {
namespace {

void PrintOrderRow(const v1::Order& order, Table& table) {
  table.Add({order.order_id(), Or(order.hostname(), order.host_id()), order.site_id(),
             Short(v1::OrderState_Name(order.state()), "ORDER_STATE_"),
             Short(v1::OrderTrigger_Name(order.trigger()), "ORDER_TRIGGER_"),
             Time(order.created_at())});
}

void PrintOrder(const v1::Order& order, std::ostream& out) {
  out << "Order:       " << order.order_id() << "\n"
      << "Host:        " << order.hostname() << " (" << order.host_id() << ")\n"
      << "Site:        " << order.site_id() << ", binding " << order.binding_id() << "\n"
      << "State:       " << Short(v1::OrderState_Name(order.state()), "ORDER_STATE_") << "\n"
      << "Trigger:     " << Short(v1::OrderTrigger_Name(order.trigger()), "ORDER_TRIGGER_") << "\n"
      << "Policy:      " << Or(order.policy_name()) << " (connector " << Or(order.connector())
      << ")\n"
      << "Subject:     CN=" << Or(order.subject().common_name()) << "\n"
      << "Previous:    " << Or(order.previous_thumbprint()) << "\n";
  if (order.has_issued_certificate()) {
    out << "Issued:      " << order.issued_certificate().thumbprint_sha1() << " (expires "
        << Time(order.issued_certificate().not_after()) << ")\n";
  }
  if (order.has_last_failure()) out << "Last failure: " << order.last_failure().message() << "\n";
  out << "\nHistory:\n";
  Table history({"TIME", "STATE", "ACTOR", "REASON"});
  for (const v1::OrderStateChange& change : order.history()) {
    history.Add({Time(change.changed_at()),
                 Short(v1::OrderState_Name(change.state()), "ORDER_STATE_"), Or(change.actor()),
                 Or(change.reason())});
  }
  history.Print(out);
}

void PrintJob(const v1::Job& job, std::ostream& out) {
  out << "Job:     " << job.job_id() << "\n"
      << "Kind:    " << Short(v1::JobKind_Name(job.kind()), "JOB_KIND_") << "\n"
      << "Host:    " << job.host_id() << "\n"
      << "Order:   " << Or(job.order_id()) << "\n"
      << "Status:  " << Short(v1::JobStatus_Name(job.status()), "JOB_STATUS_") << "\n"
      << "Created: " << Time(job.created_at()) << " by " << Or(job.created_by()) << "\n";
  for (const v1::JobAttempt& attempt : job.attempts()) {
    out << "\nAttempt " << attempt.attempt() << " (started " << Time(attempt.started_at())
        << ", ended " << Time(attempt.ended_at()) << ")";
    if (!attempt.ended_reason().empty()) out << ": " << attempt.ended_reason();
    out << "\n";
    Table steps({"STEP", "START", "END", "OUTCOME", "DETAIL"});
    for (const v1::StepReport& step : attempt.steps()) {
      std::string detail = step.detail();
      if (step.has_failure())
        detail = absl::StrCat(detail, detail.empty() ? "" : "; ", step.failure().message());
      steps.Add({Short(v1::StepName_Name(step.step()), "STEP_NAME_"), Time(step.started_at()),
                 Time(step.finished_at()),
                 Short(v1::StepOutcome_Name(step.outcome()), "STEP_OUTCOME_"), Or(detail)});
    }
    steps.Print(out);
  }
}

// ---------------------------------------------------------------------------

void RegisterHosts(CLI::App& app, int& exit_code) {
  CLI::App* hosts = app.add_subcommand("hosts", "Hosts of the fleet");
  hosts->require_subcommand(1);

  CLI::App* list = hosts->add_subcommand("list", "List hosts by name");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  auto include_decommissioned = std::make_shared<bool>(false);
  list->add_flag("--all", *include_decommissioned, "Include decommissioned hosts");
  list->callback([list_command, include_decommissioned] {
    list_command->Run("hosts list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListHostsRequest request;
      request.set_include_decommissioned(*include_decommissioned);
      request.mutable_page()->set_page_size(1000);
      v1::ListHostsResponse response;
      grpc::Status status = stub.ListHosts(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"HOSTNAME", "HOST ID", "STATE", "ONLINE", "LAST SEEN", "AGENT", "LABELS"});
      for (const v1::Host& host : response.hosts()) {
        std::vector<std::string> labels;
        for (const auto& [key, value] : host.labels()) labels.push_back(key + "=" + value);
        std::sort(labels.begin(), labels.end());
        table.Add({host.hostname(), host.host_id(),
                   Short(v1::HostState_Name(host.state()), "HOST_STATE_"),
                   host.online() ? "yes" : "no", Time(host.last_seen_at()),
                   Or(host.agent_version()), Or(absl::StrJoin(labels, ","))});
      }
      table.Print(out);
      return status;
    });
  });

  CLI::App* show = hosts->add_subcommand("show", "Show a host with its sites and bindings");
  auto show_command = std::make_shared<FleetCommand>(*show, exit_code);
  auto host = std::make_shared<std::string>();
  show->add_option("HOST", *host, "Host name or id")->required();
  show->callback([show_command, host] {
    show_command->Run("hosts show", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::GetHostRequest request;
      std::string host_id;
      grpc::Status status = show_command->ResolveHost(stub, *host, &host_id);
      if (!status.ok()) return status;
      request.set_host_id(host_id);
      v1::GetHostResponse response;
      status = stub.GetHost(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (show_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      const v1::Host& shown = response.host();
      out << "Host:           " << shown.hostname() << " (" << shown.host_id() << ")\n"
          << "State:          " << Short(v1::HostState_Name(shown.state()), "HOST_STATE_")
          << (shown.online() ? ", online" : ", offline") << "\n"
          << "Last seen:      " << Time(shown.last_seen_at()) << "\n"
          << "Last inventory: " << Time(shown.last_inventory_at()) << "\n"
          << "Agent:          " << Or(shown.agent_version()) << "\n\nSites:\n";
      Table sites({"SITE", "NAME", "STATE"});
      for (const v1::Site& site : response.sites()) {
        sites.Add(
            {site.site_id(), site.name(), Short(v1::SiteState_Name(site.state()), "SITE_STATE_")});
      }
      sites.Print(out);
      out << "\nBindings:\n";
      Table bindings({"SITE", "BINDING", "ENDPOINTS", "THUMBPRINT", "EXPIRES", "SERVED", "POLICY",
                      "OPEN ORDER"});
      for (const v1::BindingView& view : response.bindings()) {
        std::vector<std::string> endpoints;
        for (const v1::Endpoint& endpoint : view.binding().secure_endpoints()) {
          endpoints.push_back(absl::StrCat(Or(endpoint.ip_address(), "*"), ":", endpoint.port(),
                                           endpoint.host_header().empty() ? "" : ":",
                                           endpoint.host_header()));
        }
        bindings.Add(
            {view.site_name(), view.binding().binding_id(), Or(absl::StrJoin(endpoints, ",")),
             Or(view.binding().certificate_thumbprint()),
             view.has_certificate() ? Time(view.certificate().not_after()) : "-",
             Short(v1::ServedStatus_Name(view.served_status()), "SERVED_STATUS_"),
             Or(view.policy_name()),
             view.open_order_id().empty()
                 ? "-"
                 : absl::StrCat(view.open_order_id(), " (",
                                Short(v1::OrderState_Name(view.open_order_state()), "ORDER_STATE_"),
                                ")")});
      }
      bindings.Print(out);
      return status;
    });
  });
}

void RegisterCerts(CLI::App& app, int& exit_code) {
  CLI::App* certs = app.add_subcommand("certs", "Certificates found on hosts");
  certs->require_subcommand(1);
  CLI::App* list = certs->add_subcommand("list", "List bound certificates, soonest expiry first");
  auto command = std::make_shared<FleetCommand>(*list, exit_code);
  auto expiring_within = std::make_shared<std::string>();
  auto host = std::make_shared<std::string>();
  auto all = std::make_shared<bool>(false);
  list->add_option("--expiring-within", *expiring_within,
                   "Only certificates expiring within this time (30d, 12h)");
  list->add_option("--host", *host, "Only this host's (name or id)");
  list->add_flag("--all", *all, "Every certificate in every store, not only bound ones");
  list->callback([command, expiring_within, host, all] {
    command->Run("certs list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListCertificatesRequest request;
      if (!expiring_within->empty()) {
        absl::Duration within;
        if (!ParseHumanDuration(*expiring_within, &within)) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("--expiring-within ", *expiring_within,
                                           " is not a duration; write 30d, 12h or 90m"));
        }
        SetDurationProto(within, request.mutable_expiring_within());
      }
      if (!host->empty()) {
        std::string host_id;
        grpc::Status status = command->ResolveHost(stub, *host, &host_id);
        if (!status.ok()) return status;
        request.set_host_id(host_id);
      }
      if (*all) request.set_scope(v1::CERTIFICATE_SCOPE_ALL);
      request.mutable_page()->set_page_size(1000);
      v1::ListCertificatesResponse response;
      grpc::Status status = stub.ListCertificates(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"HOST", "SITES", "SUBJECT", "ISSUER", "NOT AFTER", "THUMBPRINT", "OPEN ORDER"});
      for (const v1::CertificateRecord& record : response.certificates()) {
        std::vector<std::string> sites;
        for (const v1::SiteReference& site : record.bound_sites())
          sites.push_back(site.site_name());
        table.Add({record.hostname(), Or(absl::StrJoin(sites, ",")), record.certificate().subject(),
                   record.certificate().issuer(), Time(record.certificate().not_after()),
                   record.certificate().thumbprint_sha1(), Or(record.open_order_id())});
      }
      table.Print(out);
      return status;
    });
  });
}

void RegisterOrders(CLI::App& app, int& exit_code) {
  CLI::App* orders = app.add_subcommand("orders", "Renewal orders");
  orders->require_subcommand(1);

  CLI::App* list = orders->add_subcommand("list", "List orders, newest first");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  auto state = std::make_shared<std::string>();
  auto host = std::make_shared<std::string>();
  list->add_option("--state", *state, "Only orders in this state (due, awaiting_issuance, ...)");
  list->add_option("--host", *host, "Only this host's (name or id)");
  list->callback([list_command, state, host] {
    list_command->Run("orders list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListOrdersRequest request;
      if (!state->empty()) {
        v1::OrderState parsed;
        if (!v1::OrderState_Parse("ORDER_STATE_" + absl::AsciiStrToUpper(*state), &parsed) ||
            parsed == v1::ORDER_STATE_UNSPECIFIED) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("--state ", *state,
                                           " is not an order state; use due, csr_requested, "
                                           "awaiting_issuance, issued, deploying, verifying, "
                                           "done, failed, rolled_back or cancelled"));
        }
        request.add_states(parsed);
      }
      if (!host->empty()) {
        std::string host_id;
        grpc::Status status = list_command->ResolveHost(stub, *host, &host_id);
        if (!status.ok()) return status;
        request.set_host_id(host_id);
      }
      request.mutable_page()->set_page_size(1000);
      v1::ListOrdersResponse response;
      grpc::Status status = stub.ListOrders(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"ORDER", "HOST", "SITE", "STATE", "TRIGGER", "CREATED"});
      for (const v1::Order& order : response.orders()) PrintOrderRow(order, table);
      table.Print(out);
      return status;
    });
  });

  CLI::App* show = orders->add_subcommand("show", "Show an order with its state history");
  auto show_command = std::make_shared<FleetCommand>(*show, exit_code);
  auto order_id = std::make_shared<std::string>();
  show->add_option("ORDER", *order_id, "Order id")->required();
  show->callback([show_command, order_id] {
    show_command->Run("orders show", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::GetOrderRequest request;
      request.set_order_id(*order_id);
      v1::GetOrderResponse response;
      grpc::Status status = stub.GetOrder(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (show_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      PrintOrder(response.order(), out);
      if (response.jobs_size() > 0) {
        out << "\nJobs:\n";
        Table jobs({"JOB", "KIND", "STATUS", "CREATED"});
        for (const v1::Job& job : response.jobs()) {
          jobs.Add({job.job_id(), Short(v1::JobKind_Name(job.kind()), "JOB_KIND_"),
                    Short(v1::JobStatus_Name(job.status()), "JOB_STATUS_"),
                    Time(job.created_at())});
        }
        jobs.Print(out);
      }
      return status;
    });
  });

  CLI::App* csr = orders->add_subcommand("csr", "Print or save an order's CSR");
  auto csr_command = std::make_shared<FleetCommand>(*csr, exit_code);
  auto csr_order = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  csr->add_option("ORDER", *csr_order, "Order id")->required();
  csr->add_option("-o,--output", *output, "Write the CSR to this file");
  csr->callback([csr_command, csr_order, output] {
    csr_command->Run("orders csr", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::GetOrderCsrRequest request;
      request.set_order_id(*csr_order);
      v1::GetOrderCsrResponse response;
      grpc::Status status = stub.GetOrderCsr(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (output->empty()) {
        if (csr_command->connection().json) {
          PrintJson(response, out);
        } else {
          out << response.csr_pem();
        }
        return status;
      }
      std::ofstream file(*output, std::ios::binary | std::ios::trunc);
      file << response.csr_pem();
      if (!file.flush()) {
        return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                            absl::StrCat("cannot write ", *output));
      }
      out << "CSR of order " << *csr_order << " written to " << *output << "\n";
      return status;
    });
  });

  CLI::App* cancel = orders->add_subcommand("cancel", "Cancel an order that has not finished");
  auto cancel_command = std::make_shared<FleetCommand>(*cancel, exit_code);
  auto cancel_order = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  cancel->add_option("ORDER", *cancel_order, "Order id")->required();
  cancel->add_option("--reason", *reason, "Why, for the order's history and the audit log");
  cancel->callback([cancel_command, cancel_order, reason] {
    cancel_command->Run("orders cancel", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::CancelOrderRequest request;
      request.set_order_id(*cancel_order);
      request.set_reason(*reason);
      v1::CancelOrderResponse response;
      grpc::Status status = stub.CancelOrder(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (cancel_command->connection().json) {
        PrintJson(response, out);
      } else {
        out << "Order " << response.order().order_id() << " cancelled\n";
      }
      return status;
    });
  });
}

void RegisterRenew(CLI::App& app, int& exit_code) {
  CLI::App* renew = app.add_subcommand("renew", "Renew a host's certificates now");
  auto command = std::make_shared<FleetCommand>(*renew, exit_code);
  auto host = std::make_shared<std::string>();
  auto site = std::make_shared<std::string>();
  auto binding = std::make_shared<std::string>();
  auto reason = std::make_shared<std::string>();
  renew->add_option("HOST", *host, "Host name or id")->required();
  CLI::Option* site_option = renew->add_option("--site", *site, "Only this site (id)");
  renew->add_option("--binding", *binding, "Only this binding (id)")->excludes(site_option);
  renew->add_option("--reason", *reason, "Why, for the order's history and the audit log");
  renew->callback([command, host, site, binding, reason] {
    command->Run("renew", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::RenewNowRequest request;
      std::string host_id;
      grpc::Status status = command->ResolveHost(stub, *host, &host_id);
      if (!status.ok()) return status;
      request.set_host_id(host_id);
      request.set_site_id(*site);
      request.set_reason(*reason);
      if (!binding->empty()) {
        // The API renews per site; find the binding's site.
        v1::GetHostRequest get;
        get.set_host_id(host_id);
        v1::GetHostResponse shown;
        status = stub.GetHost(CallContext().get(), get, &shown);
        if (!status.ok()) return status;
        for (const v1::BindingView& view : shown.bindings()) {
          if (view.binding().binding_id() == *binding)
            request.set_site_id(view.binding().site_id());
        }
        if (request.site_id().empty()) {
          return grpc::Status(grpc::StatusCode::NOT_FOUND,
                              absl::StrCat("host ", *host, " has no binding ", *binding,
                                           "; see certfleetctl hosts show ", *host));
        }
      }
      v1::RenewNowResponse response;
      status = stub.RenewNow(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"BINDING", "ORDER", "STATE", "NOTE"});
      for (const v1::RenewNowResult& result : response.results()) {
        if (!binding->empty() && result.binding_id() != *binding) continue;
        table.Add({result.binding_id(), result.order().order_id(),
                   Short(v1::OrderState_Name(result.order().state()), "ORDER_STATE_"),
                   result.already_in_flight() ? "already in flight" : "created"});
      }
      table.Print(out);
      return status;
    });
  });
}

void RegisterUpload(CLI::App& cert, int& exit_code) {
  CLI::App* upload = cert.add_subcommand(
      "upload", "Upload a certificate a CA issued (PEM, DER or PKCS#7) for the order it answers");
  auto command = std::make_shared<FleetCommand>(*upload, exit_code);
  auto file = std::make_shared<std::string>();
  auto order = std::make_shared<std::string>();
  upload->add_option("FILE", *file, "The certificate file")->required();
  upload->add_option("--order", *order, "The order it must answer");
  upload->callback([command, file, order] {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      command->Fail(absl::StrCat("cannot read ", *file, ": check the path"));
      return;
    }
    std::stringstream content;
    content << in.rdbuf();
    command->Run("cert upload", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::UploadCertificateRequest request;
      request.set_content(content.str());
      request.set_file_name(std::filesystem::path(*file).filename().string());
      request.set_order_id(*order);
      v1::UploadCertificateResponse response;
      grpc::Status status = stub.UploadCertificate(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (command->connection().json) {
        PrintJson(response, out);
      } else if (response.has_accepted()) {
        const v1::UploadAccepted& accepted = response.accepted();
        out << (accepted.already_uploaded() ? "Already uploaded: " : "Accepted: ")
            << accepted.certificate().subject() << " (" << accepted.certificate().thumbprint_sha1()
            << ")\nOrder " << accepted.order().order_id() << " on " << accepted.order().hostname()
            << " is now " << Short(v1::OrderState_Name(accepted.order().state()), "ORDER_STATE_")
            << "; the renewal engine deploys it.\n";
        for (const v1::ChainWarning& warning : accepted.warnings()) {
          out << "Note: " << warning.message() << "\n";
        }
      }
      if (response.has_diagnosis()) {
        std::cerr << "certfleetctl: " << request.file_name() << " refused ("
                  << Short(v1::DiagnosisKind_Name(response.diagnosis().kind()), "DIAGNOSIS_KIND_")
                  << "): " << response.diagnosis().message() << "\n";
        command->set_exit_code(1);
      }
      return status;
    });
  });
}

void RegisterJobs(CLI::App& app, int& exit_code) {
  CLI::App* jobs = app.add_subcommand("jobs", "Jobs sent to agents");
  jobs->require_subcommand(1);
  CLI::App* list = jobs->add_subcommand("list", "List jobs, newest first");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  auto host = std::make_shared<std::string>();
  auto order = std::make_shared<std::string>();
  list->add_option("--host", *host, "Only this host's (name or id)");
  list->add_option("--order", *order, "Only this order's");
  list->callback([list_command, host, order] {
    list_command->Run("jobs list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListJobsRequest request;
      if (!host->empty()) {
        std::string host_id;
        grpc::Status status = list_command->ResolveHost(stub, *host, &host_id);
        if (!status.ok()) return status;
        request.set_host_id(host_id);
      }
      request.set_order_id(*order);
      request.mutable_page()->set_page_size(1000);
      v1::ListJobsResponse response;
      grpc::Status status = stub.ListJobs(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"JOB", "KIND", "HOST", "ORDER", "STATUS", "CREATED"});
      for (const v1::Job& job : response.jobs()) {
        table.Add({job.job_id(), Short(v1::JobKind_Name(job.kind()), "JOB_KIND_"), job.host_id(),
                   Or(job.order_id()), Short(v1::JobStatus_Name(job.status()), "JOB_STATUS_"),
                   Time(job.created_at())});
      }
      table.Print(out);
      return status;
    });
  });
  CLI::App* show = jobs->add_subcommand("show", "Show a job with its attempts and step logs");
  auto show_command = std::make_shared<FleetCommand>(*show, exit_code);
  auto job_id = std::make_shared<std::string>();
  show->add_option("JOB", *job_id, "Job id")->required();
  show->callback([show_command, job_id] {
    show_command->Run("jobs show", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::GetJobRequest request;
      request.set_job_id(*job_id);
      v1::GetJobResponse response;
      grpc::Status status = stub.GetJob(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (show_command->connection().json) {
        PrintJson(response, out);
      } else {
        PrintJob(response.job(), out);
      }
      return status;
    });
  });
}

void PrintTokenTable(const std::vector<const v1::JoinToken*>& tokens, std::ostream& out) {
  Table table({"TOKEN", "STATE", "HOST", "CREATED", "EXPIRES", "USED BY", "CREATED BY"});
  for (const v1::JoinToken* token : tokens) {
    table.Add({token->token_id(),
               Short(v1::JoinTokenState_Name(token->state()), "JOIN_TOKEN_STATE_"),
               Or(token->bound_hostname(), "any"), Time(token->created_at()),
               Time(token->expires_at()), Or(token->used_by_host_id()), Or(token->created_by())});
  }
  table.Print(out);
}

void RegisterToken(CLI::App& app, int& exit_code) {
  CLI::App* token = app.add_subcommand("token", "Join tokens with which agents enroll");
  token->require_subcommand(1);
  CLI::App* create = token->add_subcommand("create", "Create a one-time join token");
  auto create_command = std::make_shared<FleetCommand>(*create, exit_code);
  auto ttl = std::make_shared<std::string>("1h");
  auto host = std::make_shared<std::string>();
  auto description = std::make_shared<std::string>();
  create->add_option("--ttl", *ttl, "How long it may be used (default 1h)");
  create->add_option("--host", *host, "Only this host name may use it");
  create->add_option("--description", *description, "What it is for");
  create->callback([create_command, ttl, host, description] {
    create_command->Run("token create", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      absl::Duration duration;
      if (!ParseHumanDuration(*ttl, &duration)) {
        return grpc::Status(
            grpc::StatusCode::INVALID_ARGUMENT,
            absl::StrCat("--ttl ", *ttl, " is not a duration; write 1h, 30m or 2d"));
      }
      v1::CreateJoinTokenRequest request;
      SetDurationProto(duration, request.mutable_time_to_live());
      request.set_bound_hostname(*host);
      request.set_description(*description);
      v1::CreateJoinTokenResponse response;
      grpc::Status status = stub.CreateJoinToken(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (create_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      out << response.secret() << "\n";
      std::cerr << "Token " << response.token().token_id() << " expires "
                << Time(response.token().expires_at())
                << "; the secret above is shown only once.\n";
      return status;
    });
  });
  CLI::App* list = token->add_subcommand("list", "List join tokens (never their secrets)");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  list->callback([list_command] {
    list_command->Run("token list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListJoinTokensRequest request;
      request.mutable_page()->set_page_size(1000);
      v1::ListJoinTokensResponse response;
      grpc::Status status = stub.ListJoinTokens(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      std::vector<const v1::JoinToken*> tokens;
      for (const v1::JoinToken& listed : response.tokens()) tokens.push_back(&listed);
      PrintTokenTable(tokens, out);
      return status;
    });
  });
  CLI::App* revoke = token->add_subcommand("revoke", "Revoke a join token that was not used");
  auto revoke_command = std::make_shared<FleetCommand>(*revoke, exit_code);
  auto token_id = std::make_shared<std::string>();
  revoke->add_option("ID", *token_id, "Token id")->required();
  revoke->callback([revoke_command, token_id] {
    revoke_command->Run("token revoke", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::RevokeJoinTokenRequest request;
      request.set_token_id(*token_id);
      v1::RevokeJoinTokenResponse response;
      grpc::Status status = stub.RevokeJoinToken(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (revoke_command->connection().json) {
        PrintJson(response, out);
      } else {
        out << "Token " << response.token().token_id() << " revoked\n";
      }
      return status;
    });
  });
}

void RegisterPolicy(CLI::App& app, int& exit_code) {
  CLI::App* policy = app.add_subcommand("policy", "Renewal policies");
  policy->require_subcommand(1);
  CLI::App* list = policy->add_subcommand("list", "List policies by priority then name");
  auto list_command = std::make_shared<FleetCommand>(*list, exit_code);
  list->callback([list_command] {
    list_command->Run("policy list", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::ListPoliciesResponse response;
      grpc::Status status = stub.ListPolicies(CallContext().get(), {}, &response);
      if (!status.ok()) return status;
      if (list_command->connection().json) {
        PrintJson(response, out);
        return status;
      }
      Table table({"NAME", "PRIORITY", "HOSTS", "RENEW AT", "KEY", "CONNECTOR", "CA PRODUCT"});
      for (const v1::RenewalPolicy& shown : response.policies()) {
        std::vector<std::string> selector;
        if (!shown.hosts().hostname_pattern().empty())
          selector.push_back(shown.hosts().hostname_pattern());
        for (const auto& [key, value] : shown.hosts().labels())
          selector.push_back(key + "=" + value);
        table.Add({shown.name(), std::to_string(shown.priority()),
                   Or(absl::StrJoin(selector, ","), "all"),
                   absl::StrCat(shown.renew_when_remaining_fraction(), " remaining"),
                   Short(v1::KeySpec_Name(shown.key_spec()), "KEY_SPEC_"), Or(shown.connector()),
                   Or(shown.ca_product())});
      }
      table.Print(out);
      return status;
    });
  });

  CLI::App* set = policy->add_subcommand("set", "Create or replace a policy");
  auto set_command = std::make_shared<FleetCommand>(*set, exit_code);
  struct PolicyFlags {
    std::string name;
    std::string description;
    int priority = 0;
    double fraction = 1.0 / 3.0;
    std::string renew_before;
    std::string key_spec = "rsa_2048";
    std::string connector = "local";
    std::string ca_product;
    std::string hostname_pattern;
    std::vector<std::string> labels;
  };
  auto flags = std::make_shared<PolicyFlags>();
  set->add_option("NAME", flags->name, "Policy name (lower-case letters, digits, '-')")->required();
  set->add_option("--description", flags->description, "What it is for");
  set->add_option("--priority", flags->priority, "Higher wins when several policies match");
  set->add_option("--renew-at-fraction", flags->fraction,
                  "Renew when this fraction of the lifetime remains (default 0.333)");
  set->add_option("--renew-before", flags->renew_before,
                  "Renew at the latest this long before expiry (30d)");
  set->add_option("--key-spec", flags->key_spec, "rsa_2048 (default), rsa_3072, rsa_4096");
  set->add_option("--connector", flags->connector, "local (default) or manual");
  set->add_option("--ca-product", flags->ca_product, "CA product of the catalogue");
  set->add_option("--hosts", flags->hostname_pattern,
                  "Hosts it applies to, by name pattern (web-*)");
  set->add_option("--label", flags->labels, "Hosts it applies to, by label KEY=VALUE (repeatable)");
  set->callback([set_command, flags] {
    set_command->Run("policy set", [&](v1::AdminService::Stub& stub, std::ostream& out) {
      v1::SetPolicyRequest request;
      v1::RenewalPolicy* policy = request.mutable_policy();
      policy->set_name(flags->name);
      policy->set_description(flags->description);
      policy->set_priority(flags->priority);
      policy->set_renew_when_remaining_fraction(flags->fraction);
      if (!flags->renew_before.empty()) {
        absl::Duration before;
        if (!ParseHumanDuration(flags->renew_before, &before)) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "--renew-before is not a duration; write 30d or 720h");
        }
        SetDurationProto(before, policy->mutable_renew_before());
      }
      v1::KeySpec key_spec;
      if (!v1::KeySpec_Parse("KEY_SPEC_" + absl::AsciiStrToUpper(flags->key_spec), &key_spec)) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            absl::StrCat("--key-spec ", flags->key_spec,
                                         " is unknown; use rsa_2048, rsa_3072 or rsa_4096"));
      }
      policy->set_key_spec(key_spec);
      policy->set_connector(flags->connector);
      policy->set_ca_product(flags->ca_product);
      policy->mutable_hosts()->set_hostname_pattern(flags->hostname_pattern);
      for (const std::string& label : flags->labels) {
        std::vector<std::string> parts = absl::StrSplit(label, absl::MaxSplits('=', 1));
        if (parts.size() != 2 || parts[0].empty()) {
          return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              absl::StrCat("--label ", label, " is not KEY=VALUE"));
        }
        (*policy->mutable_hosts()->mutable_labels())[parts[0]] = parts[1];
      }
      v1::SetPolicyResponse response;
      grpc::Status status = stub.SetPolicy(CallContext().get(), request, &response);
      if (!status.ok()) return status;
      if (set_command->connection().json) {
        PrintJson(response, out);
      } else {
        out << "Policy " << response.policy().name() << " saved\n";
      }
      return status;
    });
  });
}

}  // namespace

void RegisterFleetCommands(CLI::App& app, CLI::App& cert, int& exit_code) {
  RegisterHosts(app, exit_code);
  RegisterCerts(app, exit_code);
  RegisterOrders(app, exit_code);
  RegisterRenew(app, exit_code);
  RegisterUpload(cert, exit_code);
  RegisterJobs(app, exit_code);
  RegisterToken(app, exit_code);
  RegisterPolicy(app, exit_code);
  RegisterCampaignCommands(app, exit_code);
  RegisterWebhookCommands(app, exit_code);
}

}  // namespace certfleet::cli
