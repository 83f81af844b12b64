// Issues certificates: self-signed roots, intermediates and leaves signed by
// a CA key. Used by the controller's local CA and fleet CA, and by the tests'
// own PKI (tests/support/test_pki.h).
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_COMMON_CRYPTO_CERTIFICATE_BUILDER_H_
#define CERTFLEET_COMMON_CRYPTO_CERTIFICATE_BUILDER_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/distinguished_name.h"
#include "common/crypto/private_key.h"

namespace certfleet::crypto {

enum class CertificateUsage {
  kCertificateAuthority,  // CA:TRUE, keyCertSign + cRLSign.
  kTlsServer,             // CA:FALSE, serverAuth.
  kTlsClient,             // CA:FALSE, clientAuth (agent and admin identities).
  kTlsServerAndClient,    // CA:FALSE, serverAuth + clientAuth.
};

enum class SignatureDigest { kSha256, kSha384, kSha1 };

struct CertificateProfile {
  DistinguishedName subject;
  // Names for subjectAltName: "DNS:name", "IP:address" or a bare DNS name.
  std::vector<std::string> alternative_names;
  absl::Time not_before;
  absl::Time not_after;
  CertificateUsage usage = CertificateUsage::kTlsServer;
  // For CAs: basicConstraints pathLenConstraint.
  std::optional<int> path_length;
  // Empty: a random positive 128-bit serial.
  std::string serial_hex;
  // SHA-1 exists only to reproduce legacy certificates in tests and
  // migrations (IIS6.md); new certificates use SHA-256 or SHA-384.
  SignatureDigest digest = SignatureDigest::kSha256;
};

// Issues a certificate for `subject_key` signed by `issuer_key`, with
// `issuer` as its issuer; when `issuer` is nullopt the certificate is
// self-signed (subject_key and issuer_key must then be the same key pair).
// Adds subjectKeyIdentifier and, when issued by another, authorityKeyIdentifier.
// Returns InvalidArgument for an inconsistent profile (not_after before
// not_before, a path length on a leaf, a bad alternative name).
absl::StatusOr<Certificate> IssueCertificate(const CertificateProfile& profile,
                                             const PublicKey& subject_key,
                                             const std::optional<Certificate>& issuer,
                                             const PrivateKey& issuer_key);

// Issues a certificate for the key in `request`, after checking the
// request's signature (InvalidArgument when it does not verify). The profile's
// subject and alternative names are used when set; otherwise the request's.
absl::StatusOr<Certificate> IssueFromRequest(const CertificateRequest& request,
                                             CertificateProfile profile,
                                             const Certificate& issuer,
                                             const PrivateKey& issuer_key);

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_CERTIFICATE_BUILDER_H_
