#include "controller/store/sqlite/sqlite_webhook_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/row_codec.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr absl::Duration kFinishedDeliveriesKeptFor = absl::Hours(24 * 30);

constexpr char kWebhookColumns[] =
    "webhook_id, name, url, events, enabled, secret, last_delivery_at, last_delivery_result, "
    "consecutive_failures, updated_at";

constexpr char kDeliveryColumns[] =
    "delivery_id, webhook_id, event_id, event, body, created_at, next_attempt_at, attempts, "
    "state, last_result";

WebhookRecord WebhookFromRow(const Statement& row) {
  WebhookRecord webhook;
  webhook.webhook_id = row.ColumnText(0);
  webhook.name = row.ColumnText(1);
  webhook.url = row.ColumnText(2);
  webhook.events = DecodeStringList(row.ColumnText(3));
  webhook.enabled = row.ColumnBool(4);
  webhook.secret = row.ColumnText(5);
  webhook.last_delivery_at = row.ColumnOptionalTime(6);
  webhook.last_delivery_result = row.ColumnText(7);
  webhook.consecutive_failures = static_cast<int>(row.ColumnInt64(8));
  webhook.updated_at = row.ColumnTime(9);
  return webhook;
}

DeliveryState ParseDeliveryState(std::string_view name) {
  if (name == "delivered") return DeliveryState::kDelivered;
  if (name == "abandoned") return DeliveryState::kAbandoned;
  return DeliveryState::kPending;
}

WebhookDeliveryRecord DeliveryFromRow(const Statement& row) {
  WebhookDeliveryRecord delivery;
  delivery.delivery_id = row.ColumnInt64(0);
  delivery.webhook_id = row.ColumnText(1);
  delivery.event_id = row.ColumnText(2);
  delivery.event = row.ColumnText(3);
  delivery.body = row.ColumnText(4);
  delivery.created_at = row.ColumnTime(5);
  delivery.next_attempt_at = row.ColumnTime(6);
  delivery.attempts = static_cast<int>(row.ColumnInt64(7));
  delivery.state = ParseDeliveryState(row.ColumnText(8));
  delivery.last_result = row.ColumnText(9);
  return delivery;
}

absl::StatusOr<WebhookRecord> LoadWebhook(Database& database, std::string_view webhook_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select, database.Prepare(absl::StrCat("SELECT ", kWebhookColumns,
                                                      " FROM webhooks WHERE webhook_id = ?")));
  select.BindText(1, webhook_id);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("webhook ", std::string(webhook_id), " does not exist"));
  }
  return WebhookFromRow(select);
}

absl::Status ValidateWebhook(const WebhookRecord& webhook) {
  if (webhook.name.empty()) {
    return absl::InvalidArgumentError("a webhook needs a name, for example ops-chat");
  }
  if (!absl::StartsWith(webhook.url, "http://") && !absl::StartsWith(webhook.url, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "webhook ", webhook.name, ": the URL \"", webhook.url,
        "\" must start with http:// or https://, for example https://chat.example.com/hooks/ops"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WebhookRecord> SqliteWebhookStore::SetWebhook(const WebhookRecord& webhook) {
  CERTFLEET_STORE_RETURN_IF_ERROR(ValidateWebhook(webhook));
  return connection_->Write([&](Database& database) -> absl::StatusOr<WebhookRecord> {
    std::string webhook_id = webhook.webhook_id;
    if (webhook_id.empty()) {
      webhook_id = GenerateId(IdKind::kWebhook);
      CERTFLEET_STORE_ASSIGN_OR_RETURN(
          Statement insert,
          database.Prepare("INSERT INTO webhooks (webhook_id, name, url, events, enabled, secret, "
                           "last_delivery_result, consecutive_failures, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, ?, '', 0, ?)"));
      insert.BindText(1, webhook_id)
          .BindText(2, webhook.name)
          .BindText(3, webhook.url)
          .BindText(4, EncodeStringList(webhook.events))
          .BindBool(5, webhook.enabled)
          .BindText(6, webhook.secret)
          .BindTime(7, webhook.updated_at);
      CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
    } else {
      CERTFLEET_STORE_RETURN_IF_ERROR(LoadWebhook(database, webhook_id).status());
      CERTFLEET_STORE_ASSIGN_OR_RETURN(
          Statement update,
          database.Prepare("UPDATE webhooks SET name = ?2, url = ?3, events = ?4, enabled = ?5, "
                           "secret = CASE WHEN ?6 = '' THEN secret ELSE ?6 END, updated_at = ?7 "
                           "WHERE webhook_id = ?1"));
      update.BindText(1, webhook_id)
          .BindText(2, webhook.name)
          .BindText(3, webhook.url)
          .BindText(4, EncodeStringList(webhook.events))
          .BindBool(5, webhook.enabled)
          .BindText(6, webhook.secret)
          .BindTime(7, webhook.updated_at);
      CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    }
    return LoadWebhook(database, webhook_id);
  });
}

absl::StatusOr<WebhookRecord> SqliteWebhookStore::GetWebhook(std::string_view webhook_id) {
  return connection_->Read([&](Database& database) { return LoadWebhook(database, webhook_id); });
}

absl::StatusOr<std::vector<WebhookRecord>> SqliteWebhookStore::ListWebhooks() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<WebhookRecord>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare(
            absl::StrCat("SELECT ", kWebhookColumns, " FROM webhooks ORDER BY name, webhook_id")));
    std::vector<WebhookRecord> webhooks;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      webhooks.push_back(WebhookFromRow(select));
    }
    return webhooks;
  });
}

absl::Status SqliteWebhookStore::DeleteWebhook(std::string_view webhook_id) {
  return connection_->Write([&](Database& database) -> absl::Status {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadWebhook(database, webhook_id).status());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement remove,
                                     database.Prepare("DELETE FROM webhooks WHERE webhook_id = ?"));
    remove.BindText(1, webhook_id);
    return remove.Run();
  });
}

absl::StatusOr<int> SqliteWebhookStore::EnqueueEvent(std::string_view event_id,
                                                     std::string_view event, std::string_view body,
                                                     absl::Time at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<int> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement seen, database.Prepare("SELECT 1 FROM webhook_deliveries WHERE event_id = ?"));
    seen.BindText(1, event_id);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool exists, seen.Step());
    if (exists) {
      return absl::AlreadyExistsError(
          absl::StrCat("event ", std::string(event_id), " was queued before"));
    }
    // Finished deliveries are kept for a while for `webhook` listings, then
    // dropped so the queue does not grow without bound.
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement prune, database.Prepare("DELETE FROM webhook_deliveries WHERE state <> 'pending' "
                                          "AND created_at < ?"));
    prune.BindTime(1, at - kFinishedDeliveriesKeptFor);
    CERTFLEET_STORE_RETURN_IF_ERROR(prune.Run());

    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare("SELECT webhook_id, events FROM webhooks WHERE enabled = 1"));
    std::vector<std::string> wanting;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      const std::vector<std::string> events = DecodeStringList(select.ColumnText(1));
      if (events.empty() || std::find(events.begin(), events.end(), event) != events.end()) {
        wanting.push_back(select.ColumnText(0));
      }
    }
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO webhook_deliveries (webhook_id, event_id, event, body, "
                         "created_at, next_attempt_at, attempts, state, last_result) "
                         "VALUES (?, ?, ?, ?, ?, ?, 0, 'pending', '')"));
    for (const std::string& webhook_id : wanting) {
      insert.Reset();
      insert.BindText(1, webhook_id)
          .BindText(2, event_id)
          .BindText(3, event)
          .BindText(4, body)
          .BindTime(5, at)
          .BindTime(6, at);
      CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
    }
    return static_cast<int>(wanting.size());
  });
}

absl::StatusOr<std::vector<WebhookDeliveryRecord>> SqliteWebhookStore::ListDueDeliveries(
    absl::Time now, int limit) {
  return connection_->Read(
      [&](Database& database) -> absl::StatusOr<std::vector<WebhookDeliveryRecord>> {
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            Statement select,
            database.Prepare(absl::StrCat(
                "SELECT ", kDeliveryColumns,
                " FROM webhook_deliveries WHERE state = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, delivery_id LIMIT ?")));
        select.BindTime(1, now).BindInt64(2, limit);
        std::vector<WebhookDeliveryRecord> deliveries;
        while (true) {
          CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          deliveries.push_back(DeliveryFromRow(select));
        }
        return deliveries;
      });
}

absl::StatusOr<std::optional<absl::Time>> SqliteWebhookStore::NextDeliveryDue() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::optional<absl::Time>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare("SELECT min(next_attempt_at) FROM webhook_deliveries "
                                           "WHERE state = 'pending'"));
    CERTFLEET_STORE_RETURN_IF_ERROR(select.Step().status());
    return select.ColumnOptionalTime(0);
  });
}

absl::Status SqliteWebhookStore::RecordDeliveryAttempt(const DeliveryAttempt& attempt) {
  return connection_->Write([&](Database& database) -> absl::Status {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare("SELECT webhook_id FROM webhook_deliveries "
                                           "WHERE delivery_id = ? AND state = 'pending'"));
    select.BindInt64(1, attempt.delivery_id);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool found, select.Step());
    if (!found) {
      return absl::NotFoundError(absl::StrCat("delivery ", attempt.delivery_id, " is not pending"));
    }
    const std::string webhook_id = select.ColumnText(0);
    const DeliveryState state = attempt.delivered                     ? DeliveryState::kDelivered
                                : attempt.next_attempt_at.has_value() ? DeliveryState::kPending
                                                                      : DeliveryState::kAbandoned;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE webhook_deliveries SET attempts = attempts + 1, state = ?2, "
                         "last_result = ?3, next_attempt_at = coalesce(?4, next_attempt_at) "
                         "WHERE delivery_id = ?1"));
    update.BindInt64(1, attempt.delivery_id)
        .BindText(2, std::string(ToString(state)))
        .BindText(3, attempt.result)
        .BindOptionalTime(4, attempt.next_attempt_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement webhook,
        database.Prepare("UPDATE webhooks SET last_delivery_at = ?2, last_delivery_result = ?3, "
                         "consecutive_failures = CASE WHEN ?4 THEN 0 "
                         "ELSE consecutive_failures + 1 END WHERE webhook_id = ?1"));
    webhook.BindText(1, webhook_id)
        .BindTime(2, attempt.at)
        .BindText(3, attempt.result)
        .BindBool(4, attempt.delivered);
    return webhook.Run();
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
