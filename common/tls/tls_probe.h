// The TLS probe: connects to host:port, completes a real handshake, and
// returns the chain the server sent and whether it verifies against given
// roots. The agent's verify step and the controller's "check from another
// machine" both use it.
//
// The probe accepts old protocol versions (down to TLS 1.0, which is all
// IIS 6 speaks) because its job is to observe what is served, not to judge
// the protocol; the negotiated version is reported.
//
// Thread safety: ProbeTls may be called from several threads at once; it
// blocks the calling thread for at most about `timeout`.

#ifndef CERTFLEET_COMMON_TLS_TLS_PROBE_H_
#define CERTFLEET_COMMON_TLS_TLS_PROBE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/chain_verifier.h"

namespace certfleet::tls {

struct ProbeOptions {
  // A host name or an IPv4/IPv6 address literal.
  std::string host;
  uint16_t port = 443;
  // SNI to send; none by default, as IIS 6 clients never needed it.
  std::optional<std::string> server_name;
  // For the whole probe: resolution, connect and handshake.
  absl::Duration timeout = absl::Seconds(10);
  // Roots the served chain must verify to. When empty, verification reports
  // kUntrustedRoot.
  std::vector<crypto::Certificate> trusted_roots;
  // When set, the leaf must be valid for this name (checked during
  // verification, not enforced by the handshake).
  std::optional<std::string> expected_hostname;
};

struct ProbeResult {
  // Exactly what the server sent, leaf first.
  std::vector<crypto::Certificate> served_chain;
  // "TLSv1.3", "TLSv1", ...
  std::string protocol;
  std::string cipher;
  // The served leaf verified against the served intermediates and the
  // trusted roots only: a missing intermediate is reported here as
  // kMissingIntermediate.
  crypto::ChainVerification verification;

  const crypto::Certificate& leaf() const { return served_chain.front(); }
};

// Returns the result of a completed handshake, or: Unavailable when the
// connection is refused or the handshake fails (with OpenSSL's reason),
// DeadlineExceeded after `timeout`, NotFound when the host does not resolve,
// InvalidArgument for an empty host or port 0.
absl::StatusOr<ProbeResult> ProbeTls(const ProbeOptions& options);

}  // namespace certfleet::tls

#endif  // CERTFLEET_COMMON_TLS_TLS_PROBE_H_
