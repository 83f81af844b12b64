#include "controller/server/controller_server.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
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

  controller->agent_service_ = std::make_unique<agents::AgentServiceImpl>(
      *controller->authority_, *controller->store_, options.agent_service);
  controller->admin_service_ = std::make_unique<admin::AdminServiceImpl>(
      *controller->authority_, *controller->store_, options.admin_service);

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
  return controller;
}

ControllerServer::~ControllerServer() { Shutdown(); }

void ControllerServer::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  if (agent_service_ != nullptr) agent_service_->Shutdown();
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    server_->Wait();
  }
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
