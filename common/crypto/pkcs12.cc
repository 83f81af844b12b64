#include "common/crypto/pkcs12.h"

#include <openssl/err.h>
#include <openssl/pkcs12.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"

namespace certfleet::crypto {
namespace {

constexpr char kLegacyName[] = "legacy-3des";
constexpr char kAes256Name[] = "aes256";

struct Algorithms {
  int key_nid;
  int certificates_nid;
  const EVP_MD* mac_digest;
};

Algorithms AlgorithmsFor(Pkcs12Encryption encryption) {
  switch (encryption) {
    case Pkcs12Encryption::kLegacySha1TripleDes:
      return {NID_pbe_WithSHA1And3_Key_TripleDES_CBC, NID_pbe_WithSHA1And3_Key_TripleDES_CBC,
              EVP_sha1()};
    case Pkcs12Encryption::kAes256:
      // A plain cipher NID makes OpenSSL use PBES2 with PBKDF2; OpenSSL 3
      // takes HMAC-SHA256 as the PBKDF2 PRF by default.
      return {NID_aes_256_cbc, NID_aes_256_cbc, EVP_sha256()};
  }
  return {NID_aes_256_cbc, NID_aes_256_cbc, EVP_sha256()};
}

X509StackHandle StackOf(const std::vector<Certificate>& certificates) {
  X509StackHandle stack(sk_X509_new_null());
  for (const Certificate& certificate : certificates) {
    X509_up_ref(certificate.native_handle());
    sk_X509_push(stack.get(), certificate.native_handle());
  }
  return stack;
}

// PKCS12_parse leaves the bag attributes (friendly name, local key id) on the
// certificates it returns. They are not part of the certificate, so they are
// read where needed and then dropped, leaving plain certificates.
Certificate WithoutBagAttributes(X509* certificate) {
  X509_alias_set1(certificate, nullptr, -1);
  X509_keyid_set1(certificate, nullptr, -1);
  return Certificate::FromNative(certificate);
}

std::string FriendlyNameOf(X509* certificate) {
  int length = 0;
  const unsigned char* alias = X509_alias_get0(certificate, &length);
  if (alias == nullptr || length <= 0) return "";
  return std::string(reinterpret_cast<const char*>(alias), static_cast<size_t>(length));
}

absl::StatusOr<Pkcs12Handle> ParseDer(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("the PKCS#12 input is empty");
  if (der.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the PKCS#12 input is ", der.size(), " bytes, more than the limit of ", kMaxInputBytes));
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  const auto* end = cursor + der.size();
  Pkcs12Handle pkcs12(d2i_PKCS12(nullptr, &cursor, static_cast<long>(der.size())));
  if (pkcs12 == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a DER PKCS#12 (.pfx/.p12) file: ", TakeOpenSslErrors()));
  }
  if (cursor != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("a PKCS#12 structure was followed by ", end - cursor, " unexpected bytes"));
  }
  return pkcs12;
}

}  // namespace

absl::StatusOr<Pkcs12Encryption> ParsePkcs12Encryption(std::string_view text) {
  std::string lowered(text);
  absl::AsciiStrToLower(&lowered);
  if (lowered == kLegacyName) return Pkcs12Encryption::kLegacySha1TripleDes;
  if (lowered == kAes256Name) return Pkcs12Encryption::kAes256;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown PKCS#12 encryption '", std::string(text), "': use '", kLegacyName,
                   "' (Windows Server 2003 and IIS 6) or '", kAes256Name, "'"));
}

std::string Pkcs12EncryptionName(Pkcs12Encryption encryption) {
  switch (encryption) {
    case Pkcs12Encryption::kLegacySha1TripleDes:
      return kLegacyName;
    case Pkcs12Encryption::kAes256:
      return kAes256Name;
  }
  return kAes256Name;
}

absl::StatusOr<std::string> ExportPkcs12(const PrivateKey& key, const Certificate& certificate,
                                         const std::vector<Certificate>& chain,
                                         std::string_view passphrase, Pkcs12Encryption encryption,
                                         std::string_view friendly_name) {
  if (passphrase.empty()) {
    // A backup holds a server's private key: it is never written in the clear.
    return absl::InvalidArgumentError("a PKCS#12 export needs a non-empty passphrase");
  }
  if (!(key.public_key() == certificate.public_key())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the private key does not belong to the certificate '", certificate.SubjectText(),
        "' (the certificate's key is ", certificate.public_key().Sha256Fingerprint(),
        ", the private key's is ", key.public_key().Sha256Fingerprint(), ")"));
  }

  const Algorithms algorithms = AlgorithmsFor(encryption);
  const std::string passphrase_text(passphrase);
  const std::string name(friendly_name);
  X509StackHandle chain_stack = StackOf(chain);
  ClearOpenSslErrors();
  // A mac_iter of -1 leaves the MAC out here so that PKCS12_set_mac can add it
  // with the digest the encryption calls for (PKCS12_create would use SHA-1).
  Pkcs12Handle pkcs12(PKCS12_create(passphrase_text.c_str(), name.empty() ? nullptr : name.c_str(),
                                    key.native_handle(), certificate.native_handle(),
                                    chain_stack.get(), algorithms.key_nid,
                                    algorithms.certificates_nid, PKCS12_DEFAULT_ITER, -1, 0));
  if (pkcs12 == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot build the PKCS#12 structure: ", TakeOpenSslErrors()));
  }
  if (PKCS12_set_mac(pkcs12.get(), passphrase_text.c_str(), static_cast<int>(passphrase.size()),
                     nullptr, 0, PKCS12_DEFAULT_ITER, algorithms.mac_digest) != 1) {
    return absl::InternalError(absl::StrCat("cannot add the PKCS#12 MAC: ", TakeOpenSslErrors()));
  }

  unsigned char* buffer = nullptr;
  const int length = i2d_PKCS12(pkcs12.get(), &buffer);
  if (length <= 0) {
    return absl::InternalError(absl::StrCat("cannot encode the PKCS#12: ", TakeOpenSslErrors()));
  }
  std::string der(reinterpret_cast<char*>(buffer), static_cast<size_t>(length));
  OPENSSL_free(buffer);
  return der;
}

absl::StatusOr<Pkcs12Contents> ImportPkcs12(std::string_view der, std::string_view passphrase) {
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("a passphrase is needed to open a PKCS#12 file");
  }
  absl::StatusOr<Pkcs12Handle> pkcs12 = ParseDer(der);
  if (!pkcs12.ok()) return pkcs12.status();

  const std::string passphrase_text(passphrase);
  ClearOpenSslErrors();
  // The MAC is checked first: it tells a wrong passphrase apart from damaged
  // content, which PKCS12_parse alone reports the same way.
  if (PKCS12_mac_present(pkcs12->get()) == 1 &&
      PKCS12_verify_mac(pkcs12->get(), passphrase_text.c_str(),
                        static_cast<int>(passphrase.size())) != 1) {
    ClearOpenSslErrors();
    return absl::PermissionDeniedError("wrong passphrase for the PKCS#12 file");
  }

  EVP_PKEY* parsed_key = nullptr;
  X509* parsed_certificate = nullptr;
  STACK_OF(X509)* parsed_chain = nullptr;
  const int parsed = PKCS12_parse(pkcs12->get(), passphrase_text.c_str(), &parsed_key,
                                  &parsed_certificate, &parsed_chain);
  EvpPkeyHandle key_handle(parsed_key);
  X509Handle certificate_handle(parsed_certificate);
  X509StackHandle chain_handle(parsed_chain);
  if (parsed != 1) {
    // Without a MAC, a wrong passphrase only shows when decryption fails.
    const std::string detail = TakeOpenSslErrors();
    if (PKCS12_mac_present(pkcs12->get()) != 1) {
      return absl::PermissionDeniedError(absl::StrCat(
          "wrong passphrase for the PKCS#12 file (it has no MAC, and decryption failed: ", detail,
          ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat("the PKCS#12 file cannot be read: ", detail));
  }
  if (key_handle == nullptr) {
    return absl::InvalidArgumentError("the PKCS#12 file holds no private key");
  }
  if (certificate_handle == nullptr) {
    // PKCS12_parse picks as "the" certificate the one matching the key; any
    // others end up in the chain.
    return absl::InvalidArgumentError(
        chain_handle != nullptr && sk_X509_num(chain_handle.get()) > 0
            ? "the PKCS#12 file holds no certificate matching its private key"
            : "the PKCS#12 file holds no certificate");
  }

  PrivateKey key = PrivateKey::FromNative(key_handle.get());
  const std::string friendly_name = FriendlyNameOf(certificate_handle.get());
  Certificate certificate = WithoutBagAttributes(certificate_handle.get());
  if (!(key.public_key() == certificate.public_key())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the private key in the PKCS#12 file does not belong to its certificate '",
                     certificate.SubjectText(), "'"));
  }
  std::vector<Certificate> chain;
  if (chain_handle != nullptr) {
    for (int i = 0; i < sk_X509_num(chain_handle.get()); ++i) {
      chain.push_back(WithoutBagAttributes(sk_X509_value(chain_handle.get(), i)));
    }
  }
  return Pkcs12Contents{
      .key = std::move(key),
      .certificate = std::move(certificate),
      .chain = std::move(chain),
      .friendly_name = friendly_name,
  };
}

bool LooksLikePkcs12(std::string_view bytes) {
  if (bytes.empty() || bytes.size() > kMaxInputBytes) return false;
  const bool looks = ParseDer(bytes).ok();
  ClearOpenSslErrors();
  return looks;
}

}  // namespace certfleet::crypto
