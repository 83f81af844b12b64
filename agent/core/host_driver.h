// The platform side of a host, behind one interface. The agent's executor
// knows renewal steps, not platforms: every host-specific action goes through
// a HostDriver, so that later drivers (nginx, Apache, IIS 7+, a gateway that
// manages a real Windows Server 2003 host from elsewhere) slot in without the
// executor changing. The verify step is not here: it is the same TLS probe
// (common/tls/tls_probe.h) for every driver, aimed at SecureEndpoints().
//
// Every mutating method is idempotent with respect to the host's real state
// (level-triggered): calling it again after a crash in the middle does the
// rest of the work or nothing, never a second certificate or binding change.
// Every method that refuses its input leaves the host exactly as it was.
//
// Thread safety: a driver is used by one job at a time (the agent runs one
// job per host); methods need not be thread-safe.

#ifndef CERTFLEET_AGENT_CORE_HOST_DRIVER_H_
#define CERTFLEET_AGENT_CORE_HOST_DRIVER_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/distinguished_name.h"
#include "common/crypto/pkcs12.h"
#include "common/crypto/private_key.h"

namespace certfleet::agent {

// The certificate stores of a host, named as CryptoAPI names them.
enum class CertificateStore {
  kPersonal,      // "MY": server certificates with their private keys.
  kIntermediate,  // "CA": intermediate CA certificates.
  kRoot,          // "ROOT": trusted roots.
  kRequest,       // "REQUEST": pending requests holding their new keys.
};

// "MY", "CA", "ROOT", "REQUEST".
std::string_view StoreName(CertificateStore store);

// One address a site listens on. An empty `address` means all unassigned
// addresses (IIS writes ":443:").
struct SiteEndpoint {
  std::string address;
  uint16_t port = 0;
  std::string host_header;

  friend bool operator==(const SiteEndpoint&, const SiteEndpoint&) = default;
};

struct SiteInfo {
  // The host-local id: IIS's numeric site id ("1", "1962875481").
  std::string site_id;
  // What people call it (IIS ServerComment).
  std::string name;
  bool auto_start = false;
  std::string content_path;
  std::vector<SiteEndpoint> plain_endpoints;
  std::vector<SiteEndpoint> secure_endpoints;
  // Upper-case SHA-1 thumbprint of the bound certificate; empty when none.
  std::string bound_thumbprint;
  // Whether the site has a pending request (REQUEST store placeholder).
  bool has_pending_request = false;
};

struct StoredCertificate {
  CertificateStore store = CertificateStore::kPersonal;
  crypto::Certificate certificate;
  // True when the host holds the matching private key (MY and REQUEST).
  bool has_private_key = false;
};

struct PendingRequestInfo {
  std::string site_id;
  crypto::CertificateRequest request;
};

struct HostInventory {
  std::vector<SiteInfo> sites;
  std::vector<StoredCertificate> certificates;
  std::vector<PendingRequestInfo> pending_requests;
};

struct BackupOptions {
  std::filesystem::path folder;
  std::string passphrase;
  crypto::Pkcs12Encryption encryption = crypto::Pkcs12Encryption::kLegacySha1TripleDes;
  // How many backups of the same site to keep; older ones are removed.
  int keep_last = 5;
};

class HostDriver {
 public:
  virtual ~HostDriver() = default;

  // A short name of the platform, e.g. "iis6".
  virtual std::string Platform() const = 0;

  // Reads sites, bindings, stores and pending requests. Returns
  // FailedPrecondition (naming the file and the problem) when the host's
  // configuration cannot be read.
  virtual absl::StatusOr<HostInventory> ScanInventory() = 0;

  // Creates a stopped site named `name` with no secure binding and returns
  // its id (a platform that requires a binding, like IIS 6, may give it an
  // inert plain one). When a site with that name exists already (a retry),
  // returns its id.
  virtual absl::StatusOr<std::string> CreateTemporarySite(std::string_view name) = 0;

  // Deletes a site's configuration. Keys and certificates stay in the stores.
  // Deleting a site that does not exist is OK (a retry).
  virtual absl::Status DeleteSite(std::string_view site_id) = 0;

  // Generates a key on the host and makes it the site's pending request;
  // returns the CSR. When the site already has a pending request for the same
  // subject, names and key spec (a retry), returns that CSR instead of making
  // a new key. Returns InvalidArgument for a key spec the platform cannot use
  // (IIS 6: RSA only), NotFound for an unknown site.
  virtual absl::StatusOr<crypto::CertificateRequest> CreatePendingRequest(
      std::string_view site_id, const crypto::DistinguishedName& subject,
      const std::vector<std::string>& dns_names, const crypto::KeySpec& key_spec) = 0;

  // Removes a site's pending request (the stale request that makes IIS show
  // "certificate pending" instead of "replace"). OK when there is none.
  virtual absl::Status ClearPendingRequest(std::string_view site_id) = 0;

  // "Process the pending request": puts `certificate` with the pending
  // request's key into the personal store, and the chain into the
  // intermediate and root stores, then removes the placeholder. When the
  // certificate is already in the personal store with its key, OK (a retry).
  // When it answers no pending request of the site, returns
  // FailedPrecondition whose message diagnoses the file (IIS6.md, "Failure
  // causes"): an intermediate or root, another issuer's certificate, an older
  // certificate of this host, or the answer to another site's request.
  virtual absl::Status AcceptCertificate(std::string_view site_id,
                                         const crypto::Certificate& certificate,
                                         const std::vector<crypto::Certificate>& chain) = 0;

  // Installs intermediates into the intermediate store and self-signed roots
  // into the root store; certificates already present are left alone.
  virtual absl::Status InstallChain(const std::vector<crypto::Certificate>& chain) = 0;

  // The thumbprint bound to a site's secure binding; empty when none.
  virtual absl::StatusOr<std::string> ReadBinding(std::string_view site_id) = 0;

  // "Replace the current certificate": binds `thumbprint` (which must be in
  // the personal store with its key: FailedPrecondition otherwise) to the
  // site, clearing a stale pending request on the site first. Refuses with
  // FailedPrecondition a binding that would put two certificates on one
  // IP:port (no SNI on IIS 6).
  virtual absl::Status ReplaceBinding(std::string_view site_id, std::string_view thumbprint) = 0;

  // Makes the web server serve its current configuration (IIS 6:
  // `iisreset /restart`; the emulated host: tell the emulator to reload).
  virtual absl::Status Restart() = 0;

  // Where a TLS client can reach the site's secure bindings from this host,
  // as host:port pairs usable by the probe.
  virtual absl::StatusOr<std::vector<SiteEndpoint>> SecureEndpoints(std::string_view site_id) = 0;

  // Exports the certificate `thumbprint` with its key and chain as PKCS#12
  // into options.folder (mode 0600), keeping the last options.keep_last per
  // site. Returns the path written.
  virtual absl::StatusOr<std::filesystem::path> Backup(std::string_view site_id,
                                                       std::string_view thumbprint,
                                                       const BackupOptions& options) = 0;
};

}  // namespace certfleet::agent

#endif  // CERTFLEET_AGENT_CORE_HOST_DRIVER_H_
