// Who is calling the admin API: the client certificate gRPC verified during
// the TLS handshake must be an admin identity of the fleet CA
// (FleetAuthority::Identify, role kAdmin). Agent identities are refused so
// that a compromised web server cannot drive the fleet.
//
// Thread safety: free function; the FleetAuthority must be thread-safe (it
// is).

#ifndef CERTFLEET_CONTROLLER_ADMIN_ADMIN_IDENTITY_H_
#define CERTFLEET_CONTROLLER_ADMIN_ADMIN_IDENTITY_H_

#include <grpcpp/security/auth_context.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/identity/fleet_authority.h"

namespace certfleet::controller::admin {

// An authenticated operator.
struct AdminPeer {
  // The admin certificate's common name; what the audit log records.
  std::string name;
  FleetIdentity identity;
};

// Authenticates the caller as an admin. Errors: Unauthenticated when there
// is no client certificate or it is not valid at `now` for the fleet CA;
// PermissionDenied "agent identities cannot use the admin API" for an agent
// certificate.
absl::StatusOr<AdminPeer> AuthenticateAdmin(const grpc::AuthContext* auth_context,
                                            const FleetAuthority& authority, absl::Time now);

}  // namespace certfleet::controller::admin

#endif  // CERTFLEET_CONTROLLER_ADMIN_ADMIN_IDENTITY_H_
