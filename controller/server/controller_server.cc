#include "controller/server/controller_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <iostream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controller/admin/record_conversion.h"
#include "controller/identity/join_token.h"
#include "controller/store/sqlite/sqlite_store.h"

namespace certfleet::controller::server {

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const ControllerOptions& options) {
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create data dir ", options.data_dir.string(), ": ", error.message()));
  }
  std::unique_ptr<ControllerServer> controller(new ControllerServer());
  absl::StatusOr<std::unique_ptr<store::SqliteStore>> store =
      store::SqliteStore::Open({.path = (options.data_dir / "controller.db").string()});
  if (!store.ok()) return store.status();
  controller->store_ = *std::move(store);
  const absl::Time now = absl::Now();
  absl::StatusOr<FleetAuthority> authority = FleetAuthority::OpenOrCreate(
      FleetAuthorityOptions{.data_dir = options.data_dir, .server_names = options.server_names},
      now);
  if (!authority.ok()) return authority.status();
  controller->authority_.emplace(*std::move(authority));
  absl::StatusOr<std::vector<std::string>> marked =
      controller->store_->hosts().MarkOfflineSeenBefore(absl::InfiniteFuture());
  if (!marked.ok()) return marked.status();

  LocalCertificateAuthorityOptions local_ca = options.local_ca;
  local_ca.data_dir = options.data_dir;
  absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> opened =
      LocalCertificateAuthority::OpenOrCreate(local_ca, now);
  if (!opened.ok()) return opened.status();
  controller->local_ca_ = *std::move(opened);

  // The hooks reach the services through `server`, which outlives them.
  ControllerServer* server = controller.get();
  agents::AgentServiceOptions agent_options = options.agent_service;
  admin::AdminServiceOptions admin_options = options.admin_service;

  notifications::WebhookNotifierOptions notifier_options;
  notifier_options.clock = admin_options.clock;
  notifier_options.log = options.renewal.log;
  controller->notifier_ = std::make_unique<notifications::WebhookNotifier>(
      controller->store_->webhooks(), notifier_options);
  agent_options.on_hosts_silent = [server](const std::vector<std::string>& host_ids) {
    for (const std::string& host_id : host_ids) server->NotifyHostSilent(host_id);
  };
  if (options.run_renewal_engine) {
    campaigns::CampaignEngineOptions campaign_options;
    campaign_options.clock = admin_options.clock;
    campaign_options.log = options.renewal.log;
    campaign_options.state_changed = [server](const store::CampaignRecord& campaign) {
      server->NotifyCampaignChanged(campaign);
    };
    campaign_options.orders_created = [server] {
      if (server->renewal_engine_ != nullptr) server->renewal_engine_->Wake();
    };
    // What the local CA's renewals install; other connectors' chains are
    // known only once the CA answers.
    campaign_options.chain_for = [server](std::string_view connector, std::string_view) {
      std::vector<v1::CertificateInfo> chain;
      if (connector != server->local_ca_->name()) return chain;
      for (const crypto::Certificate* certificate : {&server->local_ca_->intermediate_certificate(),
                                                     &server->local_ca_->root_certificate()}) {
        chain.push_back(admin::ToCertificateInfoProto(*certificate));
        chain.back().clear_der();
      }
      return chain;
    };
    controller->campaign_engine_ =
        std::make_unique<campaigns::CampaignEngine>(*controller->store_, campaign_options);
    campaigns::CampaignEngine* campaign_engine = controller->campaign_engine_.get();
    admin_options.campaigns = campaign_engine;

    renewal::RenewalEngineOptions renewal_options = options.renewal;
    controller->expiry_warning_ = options.expiry_warning;
    renewal_options.before_pass = [server, campaign_engine, clock = admin_options.clock] {
      campaign_engine->RunOnce();
      server->WatchUnplannedExpiries(clock());
    };
    renewal_options.order_finished = [server](const store::OrderRecord& order) {
      server->NotifyOrderFinished(order);
    };
    renewal_options.deploy_not_before = [campaign_engine](const store::OrderRecord& order,
                                                          absl::Time now) {
      return campaign_engine->DeployNotBefore(order, now);
    };
    renewal_options.clock = admin_options.clock;
    renewal_options.connectors = {controller->local_ca_.get(), &controller->manual_connector_};
    renewal_options.job_queued = [server](std::string_view host_id) {
      server->agent_service_->NotifyJobQueued(host_id);
    };
    controller->renewal_engine_ =
        std::make_unique<renewal::RenewalEngine>(*controller->store_, renewal_options);
    renewal::RenewalEngine* engine = controller->renewal_engine_.get();
    auto inventory_applied = agent_options.on_inventory_applied;
    agent_options.on_inventory_applied = [engine, inventory_applied](std::string_view host_id) {
      engine->HostChanged(host_id);
      if (inventory_applied) inventory_applied(host_id);
    };
    agent_options.order_transition_for_result = [engine](const store::JobRecord& job,
                                                         const store::JobResultRecord& result) {
      return engine->TransitionForJobResult(job, result);
    };
    agent_options.on_job_completed = [engine](const store::JobRecord& job) {
      engine->JobCompleted(job);
    };
    auto wake_renewals = admin_options.wake_renewals;
    admin_options.wake_renewals = [engine, wake_renewals] {
      engine->Wake();
      if (wake_renewals) wake_renewals();
    };
  }
  admin_options.request_inventory = [server](std::string_view host_id, std::string_view reason) {
    return server->RequestInventory(host_id, reason);
  };

  controller->agent_service_ = std::make_unique<agents::AgentServiceImpl>(
      *controller->authority_, *controller->store_, agent_options);
  controller->admin_service_ = std::make_unique<admin::AdminServiceImpl>(
      *controller->authority_, *controller->store_, admin_options);

  grpc::SslServerCredentialsOptions tls(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  tls.pem_root_certs = controller->authority_->ca_certificate().ToPem();
  tls.pem_key_cert_pairs.push_back({controller->authority_->ServerKeyPem(),
                                    controller->authority_->ServerCertificateChainPem()});
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(options.max_receive_message_bytes);
  builder.AddListeningPort(options.listen_address, grpc::SslServerCredentials(tls),
                           &controller->port_);
  builder.RegisterService(controller->agent_service_.get());
  builder.RegisterService(controller->admin_service_.get());
  controller->server_ = builder.BuildAndStart();
  if (controller->server_ == nullptr || controller->port_ == 0) {
    controller->agent_service_->Shutdown();
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen_address,
                                               " (address in use, or not ADDRESS:PORT)"));
  }
  if (options.http.has_value()) {
    http::HttpServerOptions http_options = *options.http;
    http_options.api.clock = admin_options.clock;
    http_options.api.agents_connected = [server] {
      return static_cast<int64_t>(server->agent_service_->SessionCount());
    };
    if (controller->campaign_engine_ != nullptr) {
      campaigns::CampaignEngine* campaign_engine = controller->campaign_engine_.get();
      http_options.api.describe_campaign =
          [campaign_engine](const store::CampaignRecord& campaign) {
            return campaign_engine->Describe(campaign, /*with_targets=*/false);
          };
    }
    absl::StatusOr<std::unique_ptr<http::HttpServer>> http_server =
        http::HttpServer::Start(http_options, controller->store_.get());
    if (!http_server.ok()) return http_server.status();  // The destructor stops gRPC.
    controller->http_server_ = *std::move(http_server);
  }
  controller->notifier_->Start();
  if (controller->renewal_engine_ != nullptr) controller->renewal_engine_->Start();
  return controller;
}

void ControllerServer::Notify(v1::WebhookDelivery delivery) {
  if (absl::Status queued = notifier_->Notify(std::move(delivery)); !queued.ok()) {
    std::clog << "certfleet-controller: a notification could not be queued: " << queued << "\n";
  }
}

void ControllerServer::NotifyCampaignChanged(const store::CampaignRecord& campaign) {
  v1::WebhookDelivery delivery;
  delivery.set_event(v1::WEBHOOK_EVENT_CAMPAIGN_STATE_CHANGED);
  delivery.set_summary(absl::StrCat("campaign ", campaign.name, " is ",
                                    std::string(store::ToString(campaign.state)), ": ",
                                    campaign.state_reason));
  if (campaign_engine_ != nullptr) {
    absl::StatusOr<v1::Campaign> shown = campaign_engine_->Describe(campaign, false);
    if (shown.ok()) *delivery.mutable_campaign() = *std::move(shown);
  }
  Notify(std::move(delivery));
}

void ControllerServer::NotifyOrderFinished(const store::OrderRecord& order) {
  v1::WebhookDelivery delivery;
  std::string outcome = "renewed and verified";
  delivery.set_event(v1::WEBHOOK_EVENT_RENEWAL_SUCCEEDED);
  if (order.state == store::OrderState::kRolledBack) {
    delivery.set_event(v1::WEBHOOK_EVENT_RENEWAL_ROLLED_BACK);
    outcome = "renewal rolled back";
  } else if (order.state == store::OrderState::kFailed) {
    delivery.set_event(v1::WEBHOOK_EVENT_RENEWAL_FAILED);
    outcome = "renewal failed";
  }
  absl::StatusOr<store::HostRecord> host = store_->hosts().GetHost(order.host_id);
  const std::string hostname = host.ok() ? host->hostname : order.host_id;
  delivery.set_summary(
      absl::StrCat(hostname, " / site ", order.site_id, ": ", outcome,
                   order.last_failure.has_value() && order.state != store::OrderState::kDone
                       ? absl::StrCat(": ", order.last_failure->message)
                       : ""));
  *delivery.mutable_order() = admin::ToOrderProto(order, hostname);
  Notify(std::move(delivery));
}

void ControllerServer::NotifyHostSilent(const std::string& host_id) {
  absl::StatusOr<store::HostRecord> host = store_->hosts().GetHost(host_id);
  if (!host.ok()) return;
  v1::WebhookDelivery delivery;
  delivery.set_event(v1::WEBHOOK_EVENT_AGENT_SILENT);
  delivery.set_summary(
      absl::StrCat(host->hostname, ": the agent missed three heartbeats; the host is offline"));
  *delivery.mutable_host() = admin::ToHostProto(*host);
  Notify(std::move(delivery));
}

void ControllerServer::WatchUnplannedExpiries(absl::Time now) {
  if (now < next_expiry_watch_) return;
  next_expiry_watch_ = now + absl::Minutes(10);
  absl::StatusOr<std::vector<notifications::UnplannedExpiry>> found =
      notifications::FindUnplannedExpiries(*store_, now, expiry_warning_);
  if (!found.ok()) {
    std::clog << "certfleet-controller: cannot look for unplanned expiries: " << found.status()
              << "\n";
    return;
  }
  for (const notifications::UnplannedExpiry& expiry : *found) {
    // AlreadyExists: notified on an earlier look.
    absl::Status queued = notifier_->Notify(notifications::UnplannedExpiryDelivery(expiry, now));
    if (!queued.ok() && !absl::IsAlreadyExists(queued)) {
      std::clog << "certfleet-controller: a notification could not be queued: " << queued << "\n";
    }
  }
}

ControllerServer::~ControllerServer() { Shutdown(); }

void ControllerServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (http_server_ != nullptr) http_server_->Shutdown();
  if (renewal_engine_ != nullptr) renewal_engine_->Stop();
  if (agent_service_ != nullptr) agent_service_->Shutdown();
  if (notifier_ != nullptr) notifier_->Stop();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    server_->Wait();
  }
}

absl::StatusOr<std::string> ControllerServer::RequestInventory(std::string_view host_id,
                                                               std::string_view reason) {
  absl::StatusOr<store::HostRecord> host = store_->hosts().GetHost(host_id);
  if (!host.ok()) return host.status();
  v1::JobSpec spec;
  spec.mutable_inventory()->set_reason(std::string(reason));
  store::NewJob job;
  job.host_id = host->host_id;
  job.kind = store::JobKind::kInventory;
  job.spec = spec.SerializeAsString();
  job.created_at = absl::Now();
  job.created_by = std::string(reason);
  absl::StatusOr<store::JobRecord> created = store_->jobs().CreateJob(job, std::nullopt);
  if (!created.ok()) return created.status();
  agent_service_->NotifyJobQueued(host->host_id);
  return created->job_id;
}

void ControllerServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

absl::StatusOr<std::string> CreateJoinToken(store::Store& store, const JoinTokenSpec& spec,
                                            absl::Time now) {
  if (spec.time_to_live <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the token's time to live must be positive");
  }
  const std::string secret = GenerateJoinTokenSecret();
  store::NewJoinToken token;
  token.secret_sha256 = HashJoinTokenSecret(secret);
  token.description = spec.description;
  token.bound_hostname = spec.bound_hostname;
  token.created_at = now;
  token.expires_at = now + spec.time_to_live;
  token.created_by = spec.created_by;
  absl::StatusOr<store::JoinTokenRecord> created = store.join_tokens().CreateJoinToken(token);
  if (!created.ok()) return created.status();
  return secret;
}

}  // namespace certfleet::controller::server
