#include "controller/store/ids.h"

#include <openssl/rand.h>

#include <array>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace certfleet::controller::store {
namespace {

constexpr size_t kRandomBytes = 16;

}  // namespace

std::string_view IdPrefix(IdKind kind) {
  switch (kind) {
    case IdKind::kHost:
      return "host";
    case IdKind::kJoinToken:
      return "token";
    case IdKind::kOrder:
      return "order";
    case IdKind::kJob:
      return "job";
    case IdKind::kAuditEvent:
      return "event";
    case IdKind::kCampaign:
      return "campaign";
    case IdKind::kWebhook:
      return "webhook";
    case IdKind::kNotification:
      return "notification";
  }
  return "id";
}

std::string GenerateId(IdKind kind) {
  std::array<unsigned char, kRandomBytes> bytes;
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    // The operating system's random source failing is not something a caller
    // can handle; continuing could hand out colliding ids.
    std::abort();
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string id = absl::StrCat(std::string(IdPrefix(kind)), "-");
  for (unsigned char byte : bytes) {
    id.push_back(kDigits[byte >> 4]);
    id.push_back(kDigits[byte & 0x0f]);
  }
  return id;
}

bool LooksLikeId(IdKind kind, std::string_view id) {
  const std::string prefix = absl::StrCat(std::string(IdPrefix(kind)), "-");
  if (id.size() != prefix.size() + 2 * kRandomBytes) return false;
  if (id.substr(0, prefix.size()) != prefix) return false;
  for (char character : id.substr(prefix.size())) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(character)) ||
        absl::ascii_isupper(static_cast<unsigned char>(character))) {
      return false;
    }
  }
  return true;
}

}  // namespace certfleet::controller::store
