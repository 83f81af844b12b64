#include "agent/session/endpoint_probe.h"

#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/session/inventory_report.h"
#include "agent/session/job_conversion.h"
#include "common/crypto/chain_verifier.h"
#include "common/tls/tls_probe.h"

namespace certfleet::agent::session {

v1::ProbeResult ProbeEndpoint(const SiteEndpoint& endpoint, const std::string& expected_thumbprint,
                              const std::vector<crypto::Certificate>& trusted_roots,
                              absl::Duration timeout) {
  v1::ProbeResult result;
  result.set_address(absl::StrCat(endpoint.address, ":", endpoint.port));
  result.set_expected_thumbprint(expected_thumbprint);
  const absl::Time started = absl::Now();
  SetTimestamp(started, result.mutable_probed_at());
  tls::ProbeOptions options;
  options.host = endpoint.address;
  options.port = endpoint.port;
  options.timeout = timeout;
  options.trusted_roots = trusted_roots;
  absl::StatusOr<tls::ProbeResult> probe = tls::ProbeTls(options);
  if (probe.ok() && !probe->served_chain.empty()) {
    result.set_handshake_completed(true);
    result.set_tls_version(probe->protocol);
    result.set_cipher(probe->cipher);
    for (const crypto::Certificate& certificate : probe->served_chain) {
      *result.add_served_chain() = ToCertificateInfo(certificate);
    }
    result.set_served_thumbprint(probe->leaf().Thumbprint());
    result.set_thumbprint_matches(
        absl::EqualsIgnoreCase(probe->leaf().Thumbprint(), expected_thumbprint));
    result.set_chain_complete(probe->verification.problem !=
                              crypto::ChainProblem::kMissingIntermediate);
    result.set_chain_verifies(probe->verification.ok());
    result.set_problem(probe->verification.reason);
  } else {
    result.set_problem(probe.ok() ? "the server sent no certificate"
                                  : std::string(probe.status().message()));
  }
  const absl::Duration elapsed = absl::Now() - started;
  result.mutable_elapsed()->set_seconds(absl::ToInt64Seconds(elapsed));
  result.mutable_elapsed()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(elapsed % absl::Seconds(1))));
  return result;
}

std::vector<v1::ProbeResult> ProbeEndpoints(HostDriver& driver, const std::string& site_id,
                                            const std::string& expected_thumbprint,
                                            const std::vector<crypto::Certificate>& trusted_roots,
                                            absl::Duration timeout) {
  std::vector<v1::ProbeResult> results;
  absl::StatusOr<std::vector<SiteEndpoint>> endpoints = driver.SecureEndpoints(site_id);
  if (!endpoints.ok()) return results;
  for (const SiteEndpoint& endpoint : *endpoints) {
    results.push_back(ProbeEndpoint(endpoint, expected_thumbprint, trusted_roots, timeout));
  }
  return results;
}

std::vector<v1::ServedProbe> ProbeServedBindings(HostDriver& driver, const HostInventory& scan,
                                                 absl::Duration timeout) {
  std::vector<crypto::Certificate> roots;
  for (const StoredCertificate& stored : scan.certificates) {
    if (stored.store == CertificateStore::kRoot) roots.push_back(stored.certificate);
  }
  std::vector<v1::ServedProbe> probes;
  for (const SiteInfo& site : scan.sites) {
    if (!site.auto_start || site.bound_thumbprint.empty() || site.secure_endpoints.empty()) {
      continue;
    }
    // The driver resolves "All Unassigned" to the address the host serves.
    absl::StatusOr<std::vector<SiteEndpoint>> endpoints = driver.SecureEndpoints(site.site_id);
    if (!endpoints.ok() || endpoints->empty()) continue;
    v1::ServedProbe served;
    // IIS 6 sites have one binding, named after the site (inventory_report).
    served.set_binding_id(site.site_id);
    *served.mutable_probe() =
        ProbeEndpoint(endpoints->front(), site.bound_thumbprint, roots, timeout);
    probes.push_back(std::move(served));
  }
  return probes;
}

}  // namespace certfleet::agent::session
