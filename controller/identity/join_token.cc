#include "controller/identity/join_token.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "absl/strings/ascii.h"

namespace certfleet::controller {
namespace {

constexpr std::string_view kPrefix = "cfjoin_";
constexpr size_t kRandomBytes = 32;
constexpr size_t kEncodedLength = 43;  // 32 bytes in base64 without padding.
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::string GenerateJoinTokenSecret() {
  unsigned char random[kRandomBytes + 1] = {0};
  if (RAND_bytes(random, kRandomBytes) != 1) {
    // Without randomness no secret can be made safely; this is not an input
    // error but a broken machine.
    throw std::runtime_error("the system's random number generator failed");
  }
  std::string secret(kPrefix);
  // Base64url, 6 bits at a time, without padding.
  for (size_t bit = 0; bit < kRandomBytes * 8; bit += 6) {
    const size_t byte = bit / 8;
    const unsigned int window = (static_cast<unsigned int>(random[byte]) << 8) | random[byte + 1];
    secret.push_back(kAlphabet[(window >> (10 - bit % 8)) & 0x3F]);
  }
  return secret;
}

std::string HashJoinTokenSecret(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(secret.data(), secret.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kDigits[digest[i] >> 4]);
    hex.push_back(kDigits[digest[i] & 0x0F]);
  }
  return hex;
}

bool LooksLikeJoinTokenSecret(std::string_view text) {
  if (!text.starts_with(kPrefix) || text.size() != kPrefix.size() + kEncodedLength) return false;
  for (char character : text.substr(kPrefix.size())) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(character)) && character != '-' &&
        character != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace certfleet::controller
