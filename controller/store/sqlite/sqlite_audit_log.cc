#include "controller/store/sqlite/sqlite_audit_log.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/row_codec.h"

namespace certfleet::controller::store::sqlite_backend {

using sqlite::Database;
using sqlite::Statement;

absl::StatusOr<AuditEventRecord> SqliteAuditLog::AppendAuditEvent(const AuditEventRecord& event) {
  if (event.actor.empty() || event.action.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("an audit event needs an actor and an action; got actor '", event.actor,
                     "', action '", event.action, "'"));
  }
  AuditEventRecord stored = event;
  stored.event_id = GenerateId(IdKind::kAuditEvent);
  return connection_->Write([&](Database& database) -> absl::StatusOr<AuditEventRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO audit_events (event_id, occurred_at, actor, action, target, "
                         "succeeded, detail) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    insert.BindText(1, stored.event_id)
        .BindTime(2, stored.occurred_at)
        .BindText(3, stored.actor)
        .BindText(4, stored.action)
        .BindText(5, stored.target)
        .BindBool(6, stored.succeeded)
        .BindText(7, stored.detail);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
    return stored;
  });
}

absl::StatusOr<Page<AuditEventRecord>> SqliteAuditLog::ListAuditEvents(const AuditQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(query.page));
  WhereClause where;
  if (!query.actor.empty()) where.Add("actor = ?", {query.actor});
  if (query.since.has_value()) where.Add("occurred_at >= ?", {sqlite::TimeToStorage(*query.since)});
  WhereClause page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("audit_events", query.page.page_token));
    if (!position.is_array() || position.size() != 2 || !position[0].is_number_integer() ||
        !position[1].is_number_integer()) {
      return InvalidPageTokenError(query.page.page_token);
    }
    page_where.Add("(occurred_at, sequence) < (?, ?)",
                   {position[0].get<int64_t>(), position[1].get<int64_t>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<AuditEventRecord>> {
    Page<AuditEventRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM audit_events", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare(absl::StrCat(
            "SELECT sequence, event_id, occurred_at, actor, action, target, succeeded, detail "
            "FROM audit_events",
            page_where.Sql(), " ORDER BY occurred_at DESC, sequence DESC LIMIT ?")));
    select.BindInt64(page_where.Bind(select), page_size + 1);
    std::vector<int64_t> sequences;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      sequences.push_back(select.ColumnInt64(0));
      AuditEventRecord event;
      event.event_id = select.ColumnText(1);
      event.occurred_at = select.ColumnTime(2);
      event.actor = select.ColumnText(3);
      event.action = select.ColumnText(4);
      event.target = select.ColumnText(5);
      event.succeeded = select.ColumnBool(6);
      event.detail = select.ColumnText(7);
      page.items.push_back(std::move(event));
    }
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      const size_t last = page.items.size() - 1;
      page.next_page_token = EncodePageToken(
          "audit_events",
          nlohmann::json::array(
              {sqlite::TimeToStorage(page.items[last].occurred_at), sequences[last]}));
    }
    return page;
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
