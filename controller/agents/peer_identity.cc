#include "controller/agents/peer_identity.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"

namespace certfleet::controller::agents {

absl::StatusOr<crypto::Certificate> PeerCertificate(const grpc::AuthContext* auth_context) {
  if (auth_context == nullptr) {
    return absl::UnauthenticatedError("no client certificate: the connection has no TLS context");
  }
  std::vector<grpc::string_ref> values = auth_context->FindPropertyValues("x509_pem_cert");
  if (values.empty() || values.front().empty()) {
    return absl::UnauthenticatedError(
        "no client certificate: this call needs the certificate Enroll issued");
  }
  std::string pem(values.front().data(), values.front().size());
  absl::StatusOr<crypto::Certificate> certificate = crypto::ReadSingleCertificate(pem);
  if (!certificate.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate unreadable: ", certificate.status().message()));
  }
  return certificate;
}

absl::StatusOr<AgentPeer> AuthenticateAgent(const grpc::AuthContext* auth_context,
                                            const FleetAuthority& authority,
                                            store::HostStore& hosts, absl::Time now) {
  absl::StatusOr<crypto::Certificate> certificate = PeerCertificate(auth_context);
  if (!certificate.ok()) return certificate.status();
  absl::StatusOr<FleetIdentity> identity = authority.Identify(*certificate, now);
  if (!identity.ok()) return identity.status();
  if (identity->role != FleetRole::kAgent) {
    return absl::PermissionDeniedError(
        absl::StrCat("certificate of \"", identity->name, "\" is not an agent identity"));
  }
  absl::StatusOr<store::HostRecord> host = hosts.GetHost(identity->host_id);
  if (absl::IsNotFound(host.status())) {
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate names unknown host ", identity->host_id));
  }
  if (!host.ok()) return host.status();
  if (host->state == store::HostState::kDecommissioned) {
    return absl::PermissionDeniedError(
        absl::StrCat("host ", host->hostname, " (", host->host_id, ") is decommissioned"));
  }
  if (!host->identity.certificate_sha256.empty() &&
      !absl::EqualsIgnoreCase(host->identity.certificate_sha256, identity->certificate_sha256)) {
    return absl::UnauthenticatedError(absl::StrCat(
        "client certificate ", identity->certificate_sha256, " of host ", host->hostname,
        " is superseded by a newer identity; enroll again or use the renewed certificate"));
  }
  return AgentPeer{
      .host_id = host->host_id, .hostname = host->hostname, .identity = *std::move(identity)};
}

}  // namespace certfleet::controller::agents
