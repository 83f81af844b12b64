// PKCS#12 (.pfx) export and import of a certificate with its private key and
// chain: the backup the agent keeps on its host after every deployment.
//
// IIS 6 runs on Windows Server 2003, which imports only the legacy
// PBE-SHA1-3DES encryption; newer systems should get AES-256 (PBES2 with
// PBKDF2-SHA256 and an SHA-256 MAC).
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_COMMON_CRYPTO_PKCS12_H_
#define CERTFLEET_COMMON_CRYPTO_PKCS12_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"

namespace certfleet::crypto {

enum class Pkcs12Encryption {
  kLegacySha1TripleDes,  // pbeWithSHA1And3-KeyTripleDES-CBC, SHA-1 MAC.
  kAes256,               // PBES2/PBKDF2-SHA256/AES-256-CBC, SHA-256 MAC.
};

// Parses "legacy-3des" or "aes256". Returns InvalidArgument otherwise.
absl::StatusOr<Pkcs12Encryption> ParsePkcs12Encryption(std::string_view text);
std::string Pkcs12EncryptionName(Pkcs12Encryption encryption);

struct Pkcs12Contents {
  PrivateKey key;
  Certificate certificate;
  std::vector<Certificate> chain;
  std::string friendly_name;
};

// Returns the DER bytes of a PKCS#12 holding `key`, `certificate` and
// `chain`, encrypted with `passphrase`. Returns InvalidArgument when the key
// does not belong to the certificate or the passphrase is empty.
absl::StatusOr<std::string> ExportPkcs12(const PrivateKey& key, const Certificate& certificate,
                                         const std::vector<Certificate>& chain,
                                         std::string_view passphrase, Pkcs12Encryption encryption,
                                         std::string_view friendly_name = "");

// Reads a PKCS#12. Returns PermissionDenied when the passphrase is wrong (the
// MAC does not verify) and InvalidArgument when the bytes are not PKCS#12 or
// hold no key and certificate.
absl::StatusOr<Pkcs12Contents> ImportPkcs12(std::string_view der, std::string_view passphrase);

// True when `bytes` parse as a PKCS#12 structure (without decrypting it).
bool LooksLikePkcs12(std::string_view bytes);

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_PKCS12_H_
