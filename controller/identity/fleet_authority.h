// The controller's own small CA for fleet identities: the controller's
// server certificate, the agents' short-lived client certificates and the
// operators' admin credential. It is separate from every CA that issues web
// server certificates (controller/issuance/).
//
// On first start it creates, in the data dir:
//   fleet-ca/ca.crt, fleet-ca/ca.key        ECDSA P-256, 10 years
//   server/server.crt, server/server.key    the controller's TLS server identity
//   admin/ca.crt, admin/admin.crt, admin/admin.key   what certfleetctl presents
// Keys are mode 0600 in folders of mode 0700, written atomically. Agents pin
// the SHA-256 fingerprint of ca.crt (CaFingerprint) when they first join.
//
// Roles are carried in the certificate: the subject's OU is
// "certfleet-agent" or "certfleet-admin", and an agent certificate names its
// host in a URI subject alternative name "certfleet:host:<host id>". An agent
// certificate can therefore never pass as an admin one.
//
// Thread safety: immutable after OpenOrCreate; const methods may be called
// from several threads at once.

#ifndef CERTFLEET_CONTROLLER_IDENTITY_FLEET_AUTHORITY_H_
#define CERTFLEET_CONTROLLER_IDENTITY_FLEET_AUTHORITY_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"

namespace certfleet::controller {

enum class FleetRole { kAgent, kAdmin };

// Who a verified peer certificate belongs to.
struct FleetIdentity {
  FleetRole role = FleetRole::kAgent;
  // For agents: the host id the certificate was issued to.
  std::string host_id;
  // The certificate's common name (host name or admin name).
  std::string name;
  std::string certificate_sha256;
  absl::Time not_after;
};

struct FleetAuthorityOptions {
  std::filesystem::path data_dir;
  // DNS names and IP addresses the controller is reached by, besides
  // localhost, 127.0.0.1 and ::1 which are always included.
  std::vector<std::string> server_names;
  // Lifetime of agent client certificates. Agents renew theirs when a third
  // of it remains.
  absl::Duration agent_certificate_lifetime = absl::Hours(24 * 7);
};

class FleetAuthority {
 public:
  // Loads the fleet CA, server and admin credentials from the data dir, or
  // creates whatever is missing. Reissues the server certificate when a third
  // or less of its lifetime remains at `now` or its names changed. Returns
  // FailedPrecondition when existing files do not belong together (a server
  // certificate not issued by the CA, a key that does not match), naming the
  // file; nothing is overwritten then.
  static absl::StatusOr<FleetAuthority> OpenOrCreate(const FleetAuthorityOptions& options,
                                                     absl::Time now);

  const crypto::Certificate& ca_certificate() const { return ca_certificate_; }

  // SHA-256 of the CA certificate, 64 upper-case hex digits: what agents pin.
  std::string CaFingerprint() const { return ca_certificate_.Sha256Fingerprint(); }

  // PEM of the server certificate (with the CA after it) and of its key, for
  // gRPC's server credentials.
  std::string ServerCertificateChainPem() const;
  std::string ServerKeyPem() const { return server_key_.ToPem(); }

  // Issues an agent client certificate for the key in `request` (whose
  // signature must verify: InvalidArgument otherwise), bound to `host_id`,
  // valid from `now` for the configured lifetime. The request's subject is
  // ignored: names come from the controller's records.
  absl::StatusOr<crypto::Certificate> IssueAgentCertificate(const crypto::CertificateRequest& request,
                                                            std::string_view host_id,
                                                            std::string_view host_name,
                                                            absl::Time now) const;

  // Issues an admin client certificate for `key` named `name`, valid for a
  // year from `now`.
  absl::StatusOr<crypto::Certificate> IssueAdminCertificate(const crypto::PublicKey& key,
                                                            std::string_view name,
                                                            absl::Time now) const;

  // Checks that `peer` was issued by the fleet CA and is valid at `now`, and
  // says whom it identifies. Returns Unauthenticated with the reason
  // otherwise (another CA, expired, no role).
  absl::StatusOr<FleetIdentity> Identify(const crypto::Certificate& peer, absl::Time now) const;

  const FleetAuthorityOptions& options() const { return options_; }

 private:
  FleetAuthority(FleetAuthorityOptions options, crypto::Certificate ca_certificate,
                 crypto::PrivateKey ca_key, crypto::Certificate server_certificate,
                 crypto::PrivateKey server_key);

  FleetAuthorityOptions options_;
  crypto::Certificate ca_certificate_;
  crypto::PrivateKey ca_key_;
  crypto::Certificate server_certificate_;
  crypto::PrivateKey server_key_;
};

// The URI subject alternative name that binds an agent certificate to its
// host: "certfleet:host:<host id>".
std::string AgentHostUri(std::string_view host_id);

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_IDENTITY_FLEET_AUTHORITY_H_
