// Key pairs: generation, PEM encoding, and the public half used to match a
// key, a certificate signing request and a certificate to one another.
//
// Server private keys never leave the host they were made on (DESIGN.md):
// only the agent creates or reads them; the controller only ever handles
// PublicKey values taken from CSRs and certificates.
//
// Thread safety: PrivateKey and PublicKey are immutable values; const methods
// may be called from several threads at once.

#ifndef CERTFLEET_COMMON_CRYPTO_PRIVATE_KEY_H_
#define CERTFLEET_COMMON_CRYPTO_PRIVATE_KEY_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/crypto/openssl_handles.h"

namespace certfleet::crypto {

enum class KeyAlgorithm { kRsa, kEcdsa, kOther };

// What kind of key to generate. The supported choices are RSA 2048, 3072 and
// 4096 and ECDSA on P-256 and P-384 (`bits` 256 or 384).
struct KeySpec {
  KeyAlgorithm algorithm = KeyAlgorithm::kRsa;
  int bits = 2048;

  // Parses "rsa2048", "rsa3072", "rsa4096", "ecdsa-p256", "ecdsa-p384"
  // (case-insensitive). Returns InvalidArgument naming the accepted values.
  static absl::StatusOr<KeySpec> Parse(std::string_view text);

  // The form Parse accepts, e.g. "rsa2048" or "ecdsa-p256".
  std::string ToString() const;

  friend bool operator==(const KeySpec&, const KeySpec&) = default;
};

// A public key, held as its DER SubjectPublicKeyInfo. Two PublicKey values
// are equal exactly when they are the same key, which is how a certificate is
// matched to the request and private key it answers.
class PublicKey {
 public:
  // Builds a PublicKey from DER SubjectPublicKeyInfo. Returns InvalidArgument
  // when the bytes are not a public key.
  static absl::StatusOr<PublicKey> FromDer(std::string_view der);

  // REQUIRES: `key` is a valid key; the public half is copied.
  static PublicKey FromNative(EVP_PKEY* key);

  const std::string& der() const { return der_; }
  KeyAlgorithm algorithm() const { return algorithm_; }
  int bits() const { return bits_; }

  // "RSA 2048", "ECDSA P-256", or OpenSSL's name of another algorithm.
  std::string Description() const;

  // SHA-256 of the SubjectPublicKeyInfo, 64 upper-case hex digits: a stable
  // identifier for "the key" across its CSR, certificates and renewals.
  std::string Sha256Fingerprint() const;

  friend bool operator==(const PublicKey& a, const PublicKey& b) { return a.der_ == b.der_; }

 private:
  PublicKey(std::string der, KeyAlgorithm algorithm, int bits, std::string curve);

  std::string der_;
  KeyAlgorithm algorithm_;
  int bits_;
  std::string curve_;
};

class PrivateKey {
 public:
  // Generates a fresh key. Returns InvalidArgument for an unsupported spec,
  // Internal when OpenSSL fails.
  static absl::StatusOr<PrivateKey> Generate(const KeySpec& spec);

  // Reads an unencrypted private key in PEM ("PRIVATE KEY", "RSA PRIVATE KEY"
  // or "EC PRIVATE KEY") or DER (PKCS#8 or traditional). Returns
  // InvalidArgument with a message saying what the bytes are instead.
  static absl::StatusOr<PrivateKey> Parse(std::string_view bytes);

  // Unencrypted PKCS#8 PEM. Write it only to files of mode 0600.
  std::string ToPem() const;

  PublicKey public_key() const { return PublicKey::FromNative(key_.get()); }
  KeyAlgorithm algorithm() const;
  int bits() const;

  // For code inside common/ only (signing, PKCS#12, TLS); the key stays owned
  // by this object.
  EVP_PKEY* native_handle() const { return key_.get(); }

  // Takes a reference on `key` (which the caller keeps owning).
  static PrivateKey FromNative(EVP_PKEY* key);

 private:
  explicit PrivateKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}

  std::shared_ptr<EVP_PKEY> key_;
};

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_PRIVATE_KEY_H_
