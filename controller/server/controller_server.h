// The certfleet controller as an object: opens the store, the fleet CA and
// the local issuing CA in a data dir, serves AgentService and AdminService
// over TLS, and runs the renewal engine with its hooks wired (inventory
// reports and admin actions wake it; job results move orders; queued jobs
// are offered to connected agents at once). certfleet-controller's
// main and the integration tests both run it through this class.
//
// TLS: the server presents the fleet authority's server certificate and
// asks for a client certificate without requiring one
// (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY): a certificate that is
// presented must chain to the fleet CA, and Enroll works without one; every
// other RPC requires it through AuthenticateAgent.
//
// Thread safety: Start, Shutdown and the destructor are called from one
// thread; the accessors may be used from any thread while it runs.

#ifndef CERTFLEET_CONTROLLER_SERVER_CONTROLLER_SERVER_H_
#define CERTFLEET_CONTROLLER_SERVER_CONTROLLER_SERVER_H_

#include <grpcpp/server.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/admin/admin_service.h"
#include "controller/agents/agent_service.h"
#include "controller/campaigns/campaign_engine.h"
#include "controller/http/http_server.h"
#include "controller/identity/fleet_authority.h"
#include "controller/issuance/local_certificate_authority.h"
#include "controller/issuance/manual_connector.h"
#include "controller/notifications/unplanned_expiry.h"
#include "controller/notifications/webhook_notifier.h"
#include "controller/renewal/renewal_engine.h"
#include "controller/store/store.h"

namespace certfleet::controller::server {

struct ControllerOptions {
  // Holds controller.db and the fleet CA's folders; created when missing.
  std::filesystem::path data_dir;
  // "ADDRESS:PORT"; port 0 picks a free port (see ControllerServer::port).
  std::string listen_address = "127.0.0.1:0";
  // Extra names for the server certificate (FleetAuthorityOptions).
  std::vector<std::string> server_names;
  // Largest request the server accepts (gRPC's default is 4 MiB); an
  // inventory report with every certificate's DER of a large host needs
  // more. Larger messages fail with RESOURCE_EXHAUSTED.
  int max_receive_message_bytes = 16 * 1024 * 1024;
  agents::AgentServiceOptions agent_service;
  // AdminService settings; Start fills its hooks (wake_renewals,
  // request_inventory).
  admin::AdminServiceOptions admin_service;
  // The local issuing CA ("local" connector); Start sets its data_dir.
  LocalCertificateAuthorityOptions local_ca;
  // Renewal engine settings; Start fills connectors, job_queued and clock
  // (from admin_service.clock).
  renewal::RenewalEngineOptions renewal;
  // False: no engine runs (tests of the services alone drive the store
  // themselves); orders then wait.
  bool run_renewal_engine = true;
  // The certificate_unplanned_expiry warning window: a bound certificate this
  // close to its notAfter with no renewal planned is notified (looked for
  // every 10 minutes by the renewal engine's thread, when it runs).
  absl::Duration expiry_warning = notifications::kDefaultExpiryWarning;
  // The HTTP dashboard, JSON API and /metrics (controller/http/); unset: no
  // HTTP listener. Start fills api.agents_connected from the session
  // registry, api.clock from admin_service.clock and
  // api.describe_campaign from the campaign engine (when it runs).
  std::optional<http::HttpServerOptions> http;
};

class ControllerServer {
 public:
  // Opens (or creates) the store and the fleet authority, marks every host
  // offline (no agent is connected yet) and starts serving. Errors: those
  // of SqliteStore::Open and FleetAuthority::OpenOrCreate; Unavailable when
  // the address cannot be bound; those of HttpServer::Start (a non-loopback
  // HTTP address without a token is FailedPrecondition).
  static absl::StatusOr<std::unique_ptr<ControllerServer>> Start(const ControllerOptions& options);

  // Calls Shutdown.
  ~ControllerServer();

  ControllerServer(const ControllerServer&) = delete;
  ControllerServer& operator=(const ControllerServer&) = delete;

  // The bound port.
  int port() const { return port_; }

  const FleetAuthority& authority() const { return *authority_; }
  store::Store& store() { return *store_; }
  agents::AgentServiceImpl& agent_service() { return *agent_service_; }
  const LocalCertificateAuthority& local_ca() const { return *local_ca_; }
  // Null when options.run_renewal_engine was false.
  renewal::RenewalEngine* renewal_engine() { return renewal_engine_.get(); }
  // Null when options.run_renewal_engine was false.
  campaigns::CampaignEngine* campaign_engine() { return campaign_engine_.get(); }
  notifications::WebhookNotifier& notifier() { return *notifier_; }
  // Null when options.http was unset.
  http::HttpServer* http_server() { return http_server_.get(); }

  // Sends GoAway to every session, stops accepting calls and waits up to
  // `grace` for calls in flight. Idempotent.
  void Shutdown(absl::Duration grace = absl::Seconds(5));

  // Queues an inventory job for `host_id` (shown in the job log) and offers
  // it to the host's agent at once; returns the job id. NotFound for an
  // unknown host.
  absl::StatusOr<std::string> RequestInventory(std::string_view host_id, std::string_view reason);

  // Blocks until the server has shut down.
  void Wait();

 private:
  ControllerServer() = default;

  // Webhook events (notifications/webhook_notifier.h); a store error is
  // logged, never fails the action that caused the event.
  void Notify(v1::WebhookDelivery delivery);
  void NotifyCampaignChanged(const store::CampaignRecord& campaign);
  void NotifyOrderFinished(const store::OrderRecord& order);
  void NotifyHostSilent(const std::string& host_id);
  // At most every 10 minutes (by `now`): notifies each unplanned expiry
  // (notifications/unplanned_expiry.h) not notified before. Called on the
  // renewal engine's thread only.
  void WatchUnplannedExpiries(absl::Time now);

  std::unique_ptr<store::Store> store_;
  std::optional<FleetAuthority> authority_;
  std::unique_ptr<LocalCertificateAuthority> local_ca_;
  ManualConnector manual_connector_;
  // Before the engines and services that notify through it.
  std::unique_ptr<notifications::WebhookNotifier> notifier_;
  // Before renewal_engine_, whose thread calls it: destroyed after it.
  std::unique_ptr<campaigns::CampaignEngine> campaign_engine_;
  std::unique_ptr<renewal::RenewalEngine> renewal_engine_;
  std::unique_ptr<agents::AgentServiceImpl> agent_service_;
  std::unique_ptr<admin::AdminServiceImpl> admin_service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<http::HttpServer> http_server_;
  int port_ = 0;
  bool shut_down_ = false;
  absl::Duration expiry_warning_ = notifications::kDefaultExpiryWarning;
  // Owned by the renewal engine's thread (WatchUnplannedExpiries).
  absl::Time next_expiry_watch_ = absl::InfinitePast();
};

// What a new join token allows.
struct JoinTokenSpec {
  absl::Duration time_to_live = absl::Hours(1);
  // Empty: any host name.
  std::string bound_hostname;
  std::string description;
  std::string created_by = "certfleet-controller token create";
};

// Creates a join token in `store` valid from `now` for spec.time_to_live and
// returns its secret (shown once; only its hash is stored). InvalidArgument
// for a non-positive time to live.
absl::StatusOr<std::string> CreateJoinToken(store::Store& store, const JoinTokenSpec& spec,
                                            absl::Time now);

}  // namespace certfleet::controller::server

#endif  // CERTFLEET_CONTROLLER_SERVER_CONTROLLER_SERVER_H_
