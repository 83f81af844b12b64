// Identifiers the store hands out: a kind prefix and 32 lower-case hex digits
// of a random 128-bit value ("order-9f86d081884c7d659a2feaa0c55ad015").
// See records.h for why ids are random strings rather than sequences.
//
// Thread safety: GenerateId may be called from any thread.

#ifndef CERTFLEET_CONTROLLER_STORE_IDS_H_
#define CERTFLEET_CONTROLLER_STORE_IDS_H_

#include <string>
#include <string_view>

namespace certfleet::controller::store {

enum class IdKind {
  kHost,
  kJoinToken,
  kOrder,
  kJob,
  kAuditEvent,
  kCampaign,
  kWebhook,
  kNotification
};

// The prefix of `kind`'s ids, without the dash: "host", "token", "order",
// "job", "event", "campaign", "webhook", "notification".
std::string_view IdPrefix(IdKind kind);

// A new random id of `kind`, from the operating system's random source.
std::string GenerateId(IdKind kind);

// True when `id` has the shape GenerateId gives `kind` (for a clear error
// before a lookup).
bool LooksLikeId(IdKind kind, std::string_view id);

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_IDS_H_
