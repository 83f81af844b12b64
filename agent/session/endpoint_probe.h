// TLS handshakes from the host to its own sites' secure endpoints, as the
// wire messages report them: the endpoints a deploy verified (sent with its
// result so the controller probes the same ones) and what each started
// site's binding serves when the inventory is scanned (the dashboard's
// "served" column).
//
// Thread safety: free functions; each call makes its own connections.

#ifndef CERTFLEET_AGENT_SESSION_ENDPOINT_PROBE_H_
#define CERTFLEET_AGENT_SESSION_ENDPOINT_PROBE_H_

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "certfleet/v1/agent.pb.h"
#include "certfleet/v1/common.pb.h"
#include "common/crypto/certificate.h"

namespace certfleet::agent::session {

// One handshake to `endpoint` (no SNI: IIS 6 has none), compared with
// `expected_thumbprint` and its chain verified against `trusted_roots`.
// Never fails: an endpoint that cannot be reached is a result with
// handshake_completed false and the reason in `problem`.
v1::ProbeResult ProbeEndpoint(const SiteEndpoint& endpoint, const std::string& expected_thumbprint,
                              const std::vector<crypto::Certificate>& trusted_roots,
                              absl::Duration timeout);

// ProbeEndpoint for every secure endpoint of `site_id` (as the driver
// resolves them); empty when the driver cannot list them.
std::vector<v1::ProbeResult> ProbeEndpoints(HostDriver& driver, const std::string& site_id,
                                            const std::string& expected_thumbprint,
                                            const std::vector<crypto::Certificate>& trusted_roots,
                                            absl::Duration timeout);

// For each started site of `scan` with a bound certificate and a secure
// endpoint: what its first secure endpoint serves, checked against the
// scan's ROOT store. Sites are probed one after the other, each within
// `timeout`.
std::vector<v1::ServedProbe> ProbeServedBindings(HostDriver& driver, const HostInventory& scan,
                                                 absl::Duration timeout);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_ENDPOINT_PROBE_H_
