#include "controller/admin/admin_identity.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "controller/agents/peer_identity.h"

namespace certfleet::controller::admin {

absl::StatusOr<AdminPeer> AuthenticateAdmin(const grpc::AuthContext* auth_context,
                                            const FleetAuthority& authority, absl::Time now) {
  absl::StatusOr<crypto::Certificate> certificate = agents::PeerCertificate(auth_context);
  if (!certificate.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("no admin client certificate: the admin API needs the credential in the "
                     "controller's data dir (admin/admin.crt, admin/admin.key); ",
                     certificate.status().message()));
  }
  absl::StatusOr<FleetIdentity> identity = authority.Identify(*certificate, now);
  if (!identity.ok()) return identity.status();
  if (identity->role != FleetRole::kAdmin) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agent identities cannot use the admin API (certificate of \"", identity->name, "\")"));
  }
  std::string name = identity->name;
  return AdminPeer{.name = std::move(name), .identity = *std::move(identity)};
}

}  // namespace certfleet::controller::admin
