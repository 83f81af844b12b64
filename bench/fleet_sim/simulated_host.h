// The IIS 6 host one simulated agent pretends to manage: its sites (each
// with an SSL binding), the certificates in its MY, CA, ROOT and REQUEST
// stores, and its pending requests, held in memory in the driver's own
// shapes (agent/core/host_driver.h) so that the inventory report is built by
// the real agent's code (agent/session/inventory_report.h: same message,
// same content hash).
//
// The mutating methods follow the IIS 6 driver's contract (idempotent,
// refusing what IIS would refuse) closely enough for the controller to see
// the same effects: a prepare leaves a temporary site with a pending
// request, a deploy accepts the certificate, binds it and deletes the
// temporary site. Nothing is served over TLS.
//
// The state is saved as JSON (STATE_DIR/agents/HOST/host.json) at creation
// and after each change of a binding, so that a second run starts from the
// certificates the last run deployed.
//
// Thread safety: not thread-safe; the owning agent serializes access.

#ifndef CERTFLEET_BENCH_FLEET_SIM_SIMULATED_HOST_H_
#define CERTFLEET_BENCH_FLEET_SIM_SIMULATED_HOST_H_

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "bench/fleet_sim/simulator_pki.h"
#include "certfleet/v1/agent.pb.h"

namespace certfleet::bench {

class SimulatedHost {
 public:
  // A new host `hostname` (the `index`-th of the fleet) with `sites` sites,
  // each bound to a certificate of the simulator CA expiring between 5 and
  // 400 days from now (spread by index and site, so that some are inside any
  // renewal window), saved to `state_file`.
  static absl::StatusOr<SimulatedHost> Create(const std::string& hostname, int index, int sites,
                                              const SimulatorPki& pki,
                                              std::filesystem::path state_file);

  // The host saved in `state_file`; NotFound when there is none,
  // FailedPrecondition naming the file when it is damaged.
  static absl::StatusOr<SimulatedHost> Load(std::filesystem::path state_file);

  // What the real agent reports for this host (content hash included).
  v1::HostInventory Inventory(absl::Time scanned_at) const;

  // The platform of every simulated host: IIS 6 on Windows Server 2003.
  static v1::Platform Platform();
  // The capabilities of IIS 6 (RSA keys only, no SNI, TLS 1.0).
  static v1::HostCapabilities Capabilities();

  // The driver's operations (host_driver.h has their contracts).
  absl::StatusOr<std::string> CreateTemporarySite(std::string_view name);
  absl::Status DeleteSite(std::string_view site_id);
  // Makes the CSR with `key` (from the simulator's key pool).
  absl::StatusOr<crypto::CertificateRequest> CreatePendingRequest(
      std::string_view site_id, const crypto::DistinguishedName& subject,
      const std::vector<std::string>& dns_names, const crypto::PrivateKey& key);
  absl::Status AcceptCertificate(std::string_view site_id, const crypto::Certificate& certificate);
  absl::Status InstallChain(const std::vector<crypto::Certificate>& chain);
  absl::StatusOr<std::string> ReadBinding(std::string_view site_id) const;
  absl::Status ReplaceBinding(std::string_view site_id, std::string_view thumbprint);
  // The id of the site named `name`; NotFound when none.
  absl::StatusOr<std::string> FindSiteByName(std::string_view name) const;
  // The name of site `site_id`; empty when none.
  std::string SiteName(std::string_view site_id) const;
  // Whether the personal store holds `thumbprint` with its key.
  bool HasPersonalCertificate(std::string_view thumbprint) const;

  // Writes the state file; returns the I/O error naming it.
  absl::Status Save() const;

 private:
  explicit SimulatedHost(std::filesystem::path state_file) : state_file_(std::move(state_file)) {}

  agent::SiteInfo* FindSite(std::string_view site_id);
  const agent::SiteInfo* FindSite(std::string_view site_id) const;

  std::filesystem::path state_file_;
  agent::HostInventory state_;
};

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_SIMULATED_HOST_H_
