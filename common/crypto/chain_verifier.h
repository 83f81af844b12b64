// Builds and verifies a certificate chain from a leaf through given
// intermediates to given trusted roots, at a given time, and says why when it
// fails. This is what tells "the server sent an incomplete chain" apart from
// "the certificate has expired" or "it was issued by someone else".
//
// Only the certificates passed in are used: never the system's trust store,
// so the answer depends on nothing but the arguments.
//
// Thread safety: a free function without shared state.

#ifndef CERTFLEET_COMMON_CRYPTO_CHAIN_VERIFIER_H_
#define CERTFLEET_COMMON_CRYPTO_CHAIN_VERIFIER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/certificate.h"

namespace certfleet::crypto {

enum class ChainProblem {
  kNone,
  // No certificate among the intermediates issued some certificate of the
  // chain, and it is not a trusted root's direct child.
  kMissingIntermediate,
  // A certificate of the chain had expired at the given time.
  kExpired,
  // A certificate of the chain was not yet valid at the given time.
  kNotYetValid,
  // The chain ends in a root that is not among the trusted roots (a
  // self-signed leaf, or another CA's hierarchy).
  kUntrustedRoot,
  // A signature does not verify, or a name does not chain.
  kWrongIssuer,
  // A certificate used as a CA is not a CA, or a path length is exceeded.
  kInvalidCa,
  // The leaf does not name the expected host.
  kHostnameMismatch,
  kOther,
};

// A short stable name for logs and JSON: "none", "missing_intermediate", ...
std::string ChainProblemName(ChainProblem problem);

struct ChainVerification {
  ChainProblem problem = ChainProblem::kNone;
  // A sentence naming the certificate concerned, e.g. "the issuer of
  // 'CN=www.example.com' ('CN=Example Intermediate CA') was not provided".
  std::string reason;
  // The chain as built, leaf first; when verification failed, as far as it
  // could be built.
  std::vector<Certificate> chain;

  bool ok() const { return problem == ChainProblem::kNone; }
};

struct ChainVerificationOptions {
  absl::Time at = absl::Now();
  // When set, the leaf must be valid for this DNS name or IP address.
  std::optional<std::string> hostname;
};

ChainVerification VerifyChain(const Certificate& leaf, const std::vector<Certificate>& intermediates,
                              const std::vector<Certificate>& trusted_roots,
                              const ChainVerificationOptions& options = {});

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_CHAIN_VERIFIER_H_
