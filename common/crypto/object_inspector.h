// Says what a file is: a server certificate, an intermediate or a root, a
// bundle, a CSR, a private key or a PKCS#12 archive, in which encoding. This
// is what `certfleetctl cert inspect` prints and what the wrong-file
// diagnoses (IIS6.md, "Failure causes") start from.
//
// A private key is described by its public half only; the inspector never
// returns private key material.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_COMMON_CRYPTO_OBJECT_INSPECTOR_H_
#define CERTFLEET_COMMON_CRYPTO_OBJECT_INSPECTOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"

namespace certfleet::crypto {

// The role a single certificate plays in a chain.
enum class CertificateRole {
  kServer,        // End entity usable by a TLS server (serverAuth or no EKU).
  kOtherLeaf,     // End entity for something else (client, e-mail, code).
  kIntermediate,  // CA:TRUE, not self-signed.
  kRoot,          // CA:TRUE (or v1), self-signed.
};

CertificateRole RoleOf(const Certificate& certificate);

// "server certificate", "intermediate CA certificate", ...
std::string RoleName(CertificateRole role);

enum class ObjectKind {
  kCertificate,         // Exactly one certificate; see its role.
  kCertificateBundle,   // Several certificates, or any PKCS#7 bundle.
  kCertificateRequest,  // PKCS#10 CSR.
  kPrivateKey,          // A private key (possibly encrypted).
  kPkcs12,              // A PKCS#12 / PFX archive.
};

struct InspectedObject {
  ObjectKind kind = ObjectKind::kCertificate;
  // "PEM", "DER", "PKCS#7 (PEM)", "PKCS#7 (DER)", "PKCS#12 (DER)".
  std::string format;
  // A one-line description: "server certificate", "PKCS#7 bundle of 3
  // certificates", "certificate signing request (CSR)", "private key (RSA
  // 2048)", "encrypted private key", "PKCS#12 archive (encrypted)".
  std::string description;
  // For certificates and bundles, in file order.
  std::vector<Certificate> certificates;
  std::optional<CertificateRequest> request;
  // The public half of a private key when it is readable (unencrypted).
  std::optional<PublicKey> key;
  // An encrypted private key or PKCS#12: its content needs a passphrase.
  bool encrypted = false;
};

// Identifies `bytes`. Returns InvalidArgument with the reason when the input
// is empty, over kMaxInputBytes, damaged, or nothing certfleet knows.
absl::StatusOr<InspectedObject> InspectObject(std::string_view bytes);

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_OBJECT_INSPECTOR_H_
