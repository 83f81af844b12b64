#include "common/crypto/private_key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate.h"

namespace certfleet::crypto {
namespace {

std::string CurveOf(EVP_PKEY* key) {
  char name[64] = {0};
  size_t length = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                     &length) != 1) {
    ClearOpenSslErrors();
    return "";
  }
  return std::string(name, length);
}

KeyAlgorithm AlgorithmOf(EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return KeyAlgorithm::kRsa;
    case EVP_PKEY_EC:
      return KeyAlgorithm::kEcdsa;
    default:
      return KeyAlgorithm::kOther;
  }
}

std::string CurveDisplayName(const std::string& curve) {
  if (curve == "prime256v1" || curve == "P-256") return "P-256";
  if (curve == "secp384r1" || curve == "P-384") return "P-384";
  if (curve == "secp521r1" || curve == "P-521") return "P-521";
  return curve;
}

}  // namespace

absl::StatusOr<KeySpec> KeySpec::Parse(std::string_view text) {
  const std::string lower = absl::AsciiStrToLower(std::string(text));
  if (lower == "rsa2048") return KeySpec{KeyAlgorithm::kRsa, 2048};
  if (lower == "rsa3072") return KeySpec{KeyAlgorithm::kRsa, 3072};
  if (lower == "rsa4096") return KeySpec{KeyAlgorithm::kRsa, 4096};
  if (lower == "ecdsa-p256") return KeySpec{KeyAlgorithm::kEcdsa, 256};
  if (lower == "ecdsa-p384") return KeySpec{KeyAlgorithm::kEcdsa, 384};
  return absl::InvalidArgumentError(
      absl::StrCat("unknown key type '", std::string(text),
                   "': use rsa2048, rsa3072, rsa4096, ecdsa-p256 or ecdsa-p384"));
}

std::string KeySpec::ToString() const {
  switch (algorithm) {
    case KeyAlgorithm::kRsa:
      return absl::StrCat("rsa", bits);
    case KeyAlgorithm::kEcdsa:
      return absl::StrCat("ecdsa-p", bits);
    case KeyAlgorithm::kOther:
      break;
  }
  return absl::StrCat("other", bits);
}

PublicKey::PublicKey(std::string der, KeyAlgorithm algorithm, int bits, std::string curve)
    : der_(std::move(der)), algorithm_(algorithm), bits_(bits), curve_(std::move(curve)) {}

absl::StatusOr<PublicKey> PublicKey::FromDer(std::string_view der) {
  const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
  EvpPkeyHandle key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a DER public key (SubjectPublicKeyInfo): ", TakeOpenSslErrors()));
  }
  return FromNative(key.get());
}

PublicKey PublicKey::FromNative(EVP_PKEY* key) {
  unsigned char* buffer = nullptr;
  const int length = i2d_PUBKEY(key, &buffer);
  std::string der;
  if (length > 0) {
    der.assign(reinterpret_cast<char*>(buffer), static_cast<size_t>(length));
    OPENSSL_free(buffer);
  }
  return PublicKey(std::move(der), AlgorithmOf(key), EVP_PKEY_get_bits(key), CurveOf(key));
}

std::string PublicKey::Description() const {
  switch (algorithm_) {
    case KeyAlgorithm::kRsa:
      return absl::StrCat("RSA ", bits_);
    case KeyAlgorithm::kEcdsa:
      return absl::StrCat("ECDSA ", CurveDisplayName(curve_));
    case KeyAlgorithm::kOther:
      break;
  }
  return absl::StrCat("other key of ", bits_, " bits");
}

std::string PublicKey::Sha256Fingerprint() const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(der_.data(), der_.size(), digest, &length, EVP_sha256(), nullptr);
  return HexUpper(std::string_view(reinterpret_cast<char*>(digest), length));
}

absl::StatusOr<PrivateKey> PrivateKey::Generate(const KeySpec& spec) {
  EVP_PKEY* generated = nullptr;
  switch (spec.algorithm) {
    case KeyAlgorithm::kRsa:
      if (spec.bits != 2048 && spec.bits != 3072 && spec.bits != 4096) {
        return absl::InvalidArgumentError(
            absl::StrCat("RSA keys are 2048, 3072 or 4096 bits, not ", spec.bits));
      }
      generated = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.bits));
      break;
    case KeyAlgorithm::kEcdsa:
      if (spec.bits != 256 && spec.bits != 384) {
        return absl::InvalidArgumentError(
            absl::StrCat("ECDSA keys are on P-256 or P-384, not a ", spec.bits, "-bit curve"));
      }
      generated =
          EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.bits == 256 ? "P-256" : "P-384");
      break;
    case KeyAlgorithm::kOther:
      return absl::InvalidArgumentError("only RSA and ECDSA keys can be generated");
  }
  if (generated == nullptr) {
    return absl::InternalError(absl::StrCat("key generation failed: ", TakeOpenSslErrors()));
  }
  return PrivateKey(std::shared_ptr<EVP_PKEY>(generated, EVP_PKEY_free));
}

absl::StatusOr<PrivateKey> PrivateKey::Parse(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("the private key file is empty");
  ClearOpenSslErrors();
  if (bytes.find("-----BEGIN") != std::string_view::npos) {
    if (bytes.find("ENCRYPTED PRIVATE KEY") != std::string_view::npos ||
        bytes.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos) {
      return absl::InvalidArgumentError(
          "the private key is encrypted with a passphrase; certfleet reads unencrypted keys "
          "(decrypt it with `openssl pkey -in FILE -out KEY`, mode 0600)");
    }
    BioHandle bio = MemoryBioFor(bytes);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
    if (key == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "no PEM private key found (expected a 'PRIVATE KEY', 'RSA PRIVATE KEY' or "
          "'EC PRIVATE KEY' block): ",
          TakeOpenSslErrors()));
    }
    return PrivateKey(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
  }
  const auto* cursor = reinterpret_cast<const unsigned char*>(bytes.data());
  EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &cursor, static_cast<long>(bytes.size()));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a private key in PEM or DER: ", TakeOpenSslErrors()));
  }
  return PrivateKey(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

std::string PrivateKey::ToPem() const {
  BioHandle bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  return ReadMemoryBio(bio.get());
}

KeyAlgorithm PrivateKey::algorithm() const { return AlgorithmOf(key_.get()); }

int PrivateKey::bits() const { return EVP_PKEY_get_bits(key_.get()); }

PrivateKey PrivateKey::FromNative(EVP_PKEY* key) {
  EVP_PKEY_up_ref(key);
  return PrivateKey(std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free));
}

}  // namespace certfleet::crypto
