// Who is calling: turns the client certificate gRPC verified during the TLS
// handshake into a fleet identity, and checks it against the store so that
// only the current identity of an active, enrolled host is accepted.
//
// Thread safety: free functions; the FleetAuthority and HostStore they are
// given must be thread-safe (they are).

#ifndef CERTFLEET_CONTROLLER_AGENTS_PEER_IDENTITY_H_
#define CERTFLEET_CONTROLLER_AGENTS_PEER_IDENTITY_H_

#include <grpcpp/security/auth_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "controller/identity/fleet_authority.h"
#include "controller/store/host_store.h"

namespace certfleet::controller::agents {

// An authenticated agent.
struct AgentPeer {
  std::string host_id;
  std::string hostname;
  FleetIdentity identity;
};

// The client certificate of the connection, from the auth context property
// "x509_pem_cert". Unauthenticated "no client certificate" when the peer
// presented none (or `auth_context` is null); Unauthenticated when the PEM
// does not parse.
absl::StatusOr<crypto::Certificate> PeerCertificate(const grpc::AuthContext* auth_context);

// Authenticates the caller as an agent: its certificate must be issued by
// the fleet CA and valid at `now` (FleetAuthority::Identify), carry the agent
// role, name a host the store knows (Unauthenticated otherwise), which is not
// decommissioned (PermissionDenied), and be the host's current identity
// (same SHA-256 as the store's record; Unauthenticated "superseded"
// otherwise). An admin certificate is PermissionDenied.
absl::StatusOr<AgentPeer> AuthenticateAgent(const grpc::AuthContext* auth_context,
                                            const FleetAuthority& authority,
                                            store::HostStore& hosts, absl::Time now);

}  // namespace certfleet::controller::agents

#endif  // CERTFLEET_CONTROLLER_AGENTS_PEER_IDENTITY_H_
