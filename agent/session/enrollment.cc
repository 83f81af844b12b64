#include "agent/session/enrollment.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <chrono>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "certfleet/v1/agent.grpc.pb.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/chain_verifier.h"
#include "common/tls/tls_probe.h"

namespace certfleet::agent::session {
namespace {

namespace v1 = certfleet::v1;

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

std::chrono::system_clock::time_point Deadline(absl::Duration timeout) {
  return absl::ToChronoTime(absl::Now() + timeout);
}

// A new ECDSA P-256 key and a CSR for it; the controller sets the subject.
absl::StatusOr<std::pair<crypto::PrivateKey, crypto::CertificateRequest>> NewKeyAndRequest(
    const std::string& hostname) {
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  if (!key.ok()) return key.status();
  crypto::DistinguishedName subject;
  subject.common_name = hostname;
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Create(*key, subject, {});
  if (!request.ok()) return request.status();
  return std::make_pair(*key, *request);
}

absl::StatusOr<std::vector<crypto::Certificate>> ReadChain(
    const google::protobuf::RepeatedPtrField<std::string>& pems) {
  std::vector<crypto::Certificate> chain;
  for (const std::string& pem : pems) {
    absl::StatusOr<crypto::Certificate> certificate = crypto::ReadSingleCertificate(pem);
    if (!certificate.ok()) {
      return absl::InternalError(absl::StrCat("the controller sent an unreadable chain: ",
                                              certificate.status().message()));
    }
    chain.push_back(*certificate);
  }
  if (chain.empty()) return absl::InternalError("the controller sent no chain");
  return chain;
}

}  // namespace

absl::StatusOr<std::pair<std::string, uint16_t>> SplitAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(std::string(address.substr(colon + 1)), &port) || port < 1 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", std::string(address), "\" is not HOST:PORT"));
  }
  std::string host(address.substr(0, colon));
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

absl::Status FromGrpcStatus(const grpc::Status& status, std::string_view what) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      absl::StrCat(std::string(what), ": ", status.error_message()));
}

absl::StatusOr<crypto::Certificate> FetchPinnedControllerCa(const AgentConfig& config) {
  absl::StatusOr<std::pair<std::string, uint16_t>> address =
      SplitAddress(config.controller_address);
  if (!address.ok()) return address.status();
  tls::ProbeOptions options;
  options.host = address->first;
  options.port = address->second;
  options.timeout = config.rpc_timeout;
  absl::StatusOr<tls::ProbeResult> probe = tls::ProbeTls(options);
  if (!probe.ok()) {
    return absl::Status(probe.status().code(),
                        absl::StrCat("cannot reach the controller at ", config.controller_address,
                                     ": ", probe.status().message()));
  }
  if (probe->served_chain.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the controller at ", config.controller_address, " served no certificate"));
  }
  const crypto::Certificate* pinned = nullptr;
  for (const crypto::Certificate& certificate : probe->served_chain) {
    if (certificate.Sha256Fingerprint() == config.controller_ca_sha256) pinned = &certificate;
  }
  if (pinned == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        "controller CA fingerprint ", probe->served_chain.back().Sha256Fingerprint(),
        " does not match the pinned ", config.controller_ca_sha256, " (", config.controller_address,
        " serves a chain ending in '", probe->served_chain.back().SubjectText(),
        "'); the join token was not sent. Check controller.ca_sha256 against what "
        "certfleet-controller prints at start"));
  }
  std::vector<crypto::Certificate> intermediates(probe->served_chain.begin() + 1,
                                                 probe->served_chain.end());
  const crypto::ChainVerification verification =
      crypto::VerifyChain(probe->served_chain.front(), intermediates, {*pinned});
  if (!verification.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("controller CA fingerprint ", config.controller_ca_sha256, " is served by ",
                     config.controller_address,
                     " but its server certificate does not "
                     "verify to it: ",
                     verification.reason, "; the join token was not sent"));
  }
  return *pinned;
}

std::shared_ptr<grpc::Channel> MakeControllerChannel(const AgentConfig& config,
                                                     const crypto::Certificate& fleet_ca,
                                                     const AgentIdentity* identity) {
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = fleet_ca.ToPem();
  if (identity != nullptr) {
    tls.pem_private_key = identity->key.ToPem();
    std::vector<crypto::Certificate> presented = {identity->certificate};
    // The fleet CA itself is the trust anchor; only intermediates travel.
    presented.insert(presented.end(), identity->chain.begin(), identity->chain.end() - 1);
    tls.pem_cert_chain = crypto::ToPemBundle(presented);
  }
  grpc::ChannelArguments arguments;
  if (!config.controller_server_name.empty()) {
    arguments.SetSslTargetNameOverride(config.controller_server_name);
  }
  // A fresh connection per channel: a reconnect never reuses a broken one.
  arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel(config.controller_address, grpc::SslCredentials(tls), arguments);
}

absl::StatusOr<AgentIdentity> EnrollAgent(const AgentConfig& config, std::string_view join_token,
                                          const v1::Platform& platform,
                                          const v1::HostCapabilities& capabilities) {
  absl::StatusOr<crypto::Certificate> fleet_ca = FetchPinnedControllerCa(config);
  if (!fleet_ca.ok()) return fleet_ca.status();
  const std::string hostname = EffectiveHostname(config);
  absl::StatusOr<std::pair<crypto::PrivateKey, crypto::CertificateRequest>> key_and_request =
      NewKeyAndRequest(hostname);
  if (!key_and_request.ok()) return key_and_request.status();

  v1::EnrollRequest request;
  request.set_join_token(std::string(join_token));
  request.set_csr_pem(key_and_request->second.ToPem());
  request.set_hostname(hostname);
  request.set_agent_version(kAgentVersion);
  *request.mutable_platform() = platform;
  *request.mutable_capabilities() = capabilities;
  request.mutable_labels()->insert(config.labels.begin(), config.labels.end());
  v1::EnrollResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(config.rpc_timeout));
  std::unique_ptr<v1::AgentService::Stub> stub =
      v1::AgentService::NewStub(MakeControllerChannel(config, *fleet_ca, nullptr));
  grpc::Status status = stub->Enroll(&context, request, &response);
  if (!status.ok()) {
    return FromGrpcStatus(status, absl::StrCat("enrolling ", hostname, " with the controller at ",
                                               config.controller_address));
  }
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(response.client_certificate_pem());
  if (!certificate.ok()) {
    return absl::InternalError(absl::StrCat("the controller sent an unreadable certificate: ",
                                            certificate.status().message()));
  }
  absl::StatusOr<std::vector<crypto::Certificate>> chain = ReadChain(response.chain_pems());
  if (!chain.ok()) return chain.status();
  if (!(chain->back() == *fleet_ca)) {
    return absl::InternalError(
        "the controller's answer names another fleet CA than the one it serves");
  }
  AgentIdentity identity{.host_id = response.host_id(),
                         .key = key_and_request->first,
                         .certificate = *certificate,
                         .chain = *chain,
                         .renew_at = response.has_renew_at() ? FromTimestamp(response.renew_at())
                                                             : absl::InfiniteFuture()};
  if (absl::Status saved = SaveIdentity(config.state_dir, identity); !saved.ok()) return saved;
  return identity;
}

absl::StatusOr<AgentIdentity> LoadOrEnroll(const AgentConfig& config, const v1::Platform& platform,
                                           const v1::HostCapabilities& capabilities,
                                           const EventLog& log) {
  absl::StatusOr<std::optional<AgentIdentity>> stored = LoadIdentity(config.state_dir);
  if (!stored.ok()) return stored.status();
  if (stored->has_value()) {
    AgentIdentity& identity = **stored;
    if (identity.fleet_ca().Sha256Fingerprint() != config.controller_ca_sha256) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the identity in ", IdentityFile(config.state_dir).string(),
          " was issued under fleet CA ", identity.fleet_ca().Sha256Fingerprint(),
          " but controller.ca_sha256 pins ", config.controller_ca_sha256,
          "; fix the pin, or move the identity away and enroll again with a new join token"));
    }
    return identity;
  }
  absl::StatusOr<std::string> token = ResolveJoinToken(config);
  if (!token.ok()) return token.status();
  if (log) {
    log(absl::StrCat("enrolling as ", EffectiveHostname(config), " with the controller at ",
                     config.controller_address));
  }
  absl::StatusOr<AgentIdentity> identity = EnrollAgent(config, *token, platform, capabilities);
  if (identity.ok() && log) {
    log(absl::StrCat("enrolled as host ", identity->host_id, "; identity written to ",
                     IdentityFile(config.state_dir).string()));
  }
  return identity;
}

absl::StatusOr<AgentIdentity> RenewAgentIdentity(const AgentConfig& config,
                                                 const AgentIdentity& current,
                                                 const std::shared_ptr<grpc::Channel>& channel) {
  absl::StatusOr<std::pair<crypto::PrivateKey, crypto::CertificateRequest>> key_and_request =
      NewKeyAndRequest(EffectiveHostname(config));
  if (!key_and_request.ok()) return key_and_request.status();
  v1::RenewIdentityRequest request;
  request.set_csr_pem(key_and_request->second.ToPem());
  v1::RenewIdentityResponse response;
  grpc::ClientContext context;
  context.set_deadline(Deadline(config.rpc_timeout));
  grpc::Status status =
      v1::AgentService::NewStub(channel)->RenewIdentity(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, "renewing the agent identity");
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(response.client_certificate_pem());
  if (!certificate.ok()) {
    return absl::InternalError(absl::StrCat("the controller sent an unreadable certificate: ",
                                            certificate.status().message()));
  }
  absl::StatusOr<std::vector<crypto::Certificate>> chain = ReadChain(response.chain_pems());
  if (!chain.ok()) return chain.status();
  AgentIdentity renewed{.host_id = current.host_id,
                        .key = key_and_request->first,
                        .certificate = *certificate,
                        .chain = *chain,
                        .renew_at = response.has_renew_at() ? FromTimestamp(response.renew_at())
                                                            : absl::InfiniteFuture()};
  if (absl::Status saved = SaveIdentity(config.state_dir, renewed); !saved.ok()) return saved;
  return renewed;
}

}  // namespace certfleet::agent::session
