// Webhooks and their delivery queue. An event is stored once per webhook
// that wants it, in the same transaction that lists the webhooks, and stays
// queued until the receiver answers 2xx or the delivery is given up; so a
// controller restart loses no notification and sends none twice unless a
// receiver's answer was lost (receivers drop duplicates by event id).
//
// Thread safety: implementations are thread-safe (see store.h).

#ifndef CERTFLEET_CONTROLLER_STORE_WEBHOOK_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_WEBHOOK_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certfleet::controller::store {

struct WebhookRecord {
  // "webhook-..." (IdKind::kWebhook).
  std::string webhook_id;
  std::string name;
  // http or https URL.
  std::string url;
  // Event names as the wire spells them without prefix ("renewal_failed");
  // empty: every event.
  std::vector<std::string> events;
  bool enabled = true;
  // HMAC key for the signature header; empty: unsigned.
  std::string secret;
  std::optional<absl::Time> last_delivery_at;
  std::string last_delivery_result;
  int consecutive_failures = 0;
  absl::Time updated_at = absl::UnixEpoch();
};

enum class DeliveryState { kPending, kDelivered, kAbandoned };

struct WebhookDeliveryRecord {
  int64_t delivery_id = 0;
  std::string webhook_id;
  // Unique per event, the same for every webhook and retry.
  std::string event_id;
  std::string event;
  // The JSON body to POST.
  std::string body;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time next_attempt_at = absl::UnixEpoch();
  int attempts = 0;
  DeliveryState state = DeliveryState::kPending;
  std::string last_result;
};

// What one POST came to.
struct DeliveryAttempt {
  int64_t delivery_id = 0;
  absl::Time at = absl::UnixEpoch();
  bool delivered = false;
  // "200", "connection refused", ...
  std::string result;
  // When not delivered: when to try again; unset gives the delivery up.
  std::optional<absl::Time> next_attempt_at;
};

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // Creates (empty id: a new id is assigned) or replaces a webhook. An
  // empty secret keeps the stored one. InvalidArgument for an empty name or
  // a URL that is not http:// or https://; NotFound for an unknown id.
  virtual absl::StatusOr<WebhookRecord> SetWebhook(const WebhookRecord& webhook) = 0;

  // By name. NotFound for an unknown id.
  virtual absl::StatusOr<WebhookRecord> GetWebhook(std::string_view webhook_id) = 0;
  virtual absl::StatusOr<std::vector<WebhookRecord>> ListWebhooks() = 0;

  // Deletes the webhook and its queued deliveries. NotFound for an unknown
  // id.
  virtual absl::Status DeleteWebhook(std::string_view webhook_id) = 0;

  // Queues `body` for every enabled webhook that wants `event`, due at
  // `at`. Returns how many deliveries were queued (0 when no webhook wants
  // it). AlreadyExists when `event_id` was queued before. Finished
  // deliveries older than 30 days are dropped on the way.
  virtual absl::StatusOr<int> EnqueueEvent(std::string_view event_id, std::string_view event,
                                           std::string_view body, absl::Time at) = 0;

  // Pending deliveries due at `now`, oldest first, at most `limit`.
  virtual absl::StatusOr<std::vector<WebhookDeliveryRecord>> ListDueDeliveries(absl::Time now,
                                                                               int limit) = 0;

  // When the next pending delivery is due; unset when none is pending.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDeliveryDue() = 0;

  // Records an attempt on the delivery and on its webhook (last result,
  // failures in a row). NotFound for an unknown or no longer pending
  // delivery.
  virtual absl::Status RecordDeliveryAttempt(const DeliveryAttempt& attempt) = 0;
};

std::string_view ToString(DeliveryState state);

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_WEBHOOK_STORE_H_
