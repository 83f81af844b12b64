// Problems with a certificate chain that do not stop issuance but that an
// operator must see: an expired root (the AddTrust External CA Root case of
// IIS6.md), a missing intermediate, a weak signature. Produced by the CA
// product catalogue and by chain completion; the service layer maps them 1:1
// onto certfleet.v1.ChainWarning.
//
// Thread safety: plain values.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_CHAIN_WARNING_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_CHAIN_WARNING_H_

#include <string>

namespace certfleet::controller {

// Same meanings as certfleet.v1.ChainWarningKind.
enum class ChainWarningKind {
  // The root has expired, or expires before the leaf.
  kRootExpired,
  // An intermediate has expired, or expires before the leaf.
  kIntermediateExpired,
  // No intermediate or root could be found for part of the chain.
  kIncomplete,
  // A certificate of the chain (other than the root) is signed with SHA-1 or
  // weaker.
  kWeakSignature,
};

struct ChainWarning {
  ChainWarningKind kind = ChainWarningKind::kIncomplete;
  // A sentence naming the certificate concerned, e.g. "the chain ends in
  // 'CN=AddTrust External CA Root,...', which expired on 2020-05-30".
  std::string message = {};
  // Thumbprint of the certificate concerned; empty when the certificate is
  // not at hand (a missing intermediate, a catalogue fact).
  std::string thumbprint = {};

  friend bool operator==(const ChainWarning&, const ChainWarning&) = default;
};

// A short stable name for logs and JSON: "root_expired", "incomplete", ...
inline std::string ChainWarningKindName(ChainWarningKind kind) {
  switch (kind) {
    case ChainWarningKind::kRootExpired:
      return "root_expired";
    case ChainWarningKind::kIntermediateExpired:
      return "intermediate_expired";
    case ChainWarningKind::kIncomplete:
      return "incomplete";
    case ChainWarningKind::kWeakSignature:
      return "weak_signature";
  }
  return "incomplete";
}

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_CHAIN_WARNING_H_
