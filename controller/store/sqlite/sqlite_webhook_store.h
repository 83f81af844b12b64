// WebhookStore on SQLite (tables webhooks and webhook_deliveries).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_WEBHOOK_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_WEBHOOK_STORE_H_

#include <optional>
#include <string_view>
#include <vector>

#include "controller/store/sqlite/sqlite_connection.h"
#include "controller/store/webhook_store.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteWebhookStore final : public WebhookStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteWebhookStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<WebhookRecord> SetWebhook(const WebhookRecord& webhook) override;
  absl::StatusOr<WebhookRecord> GetWebhook(std::string_view webhook_id) override;
  absl::StatusOr<std::vector<WebhookRecord>> ListWebhooks() override;
  absl::Status DeleteWebhook(std::string_view webhook_id) override;
  absl::StatusOr<int> EnqueueEvent(std::string_view event_id, std::string_view event,
                                   std::string_view body, absl::Time at) override;
  absl::StatusOr<std::vector<WebhookDeliveryRecord>> ListDueDeliveries(absl::Time now,
                                                                       int limit) override;
  absl::StatusOr<std::optional<absl::Time>> NextDeliveryDue() override;
  absl::Status RecordDeliveryAttempt(const DeliveryAttempt& attempt) override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_WEBHOOK_STORE_H_
