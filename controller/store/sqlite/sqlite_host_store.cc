#include "controller/store/sqlite/sqlite_host_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/row_codec.h"
#include "controller/store/sqlite/shared_queries.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr char kHostColumns[] =
    "h.host_id, h.hostname, h.state, h.platform, h.capabilities, h.agent_version, "
    "h.identity_serial, h.identity_sha256, h.identity_expires_at, h.online, h.last_seen_at, "
    "h.enrolled_at, h.join_token_id, h.inventory_content_hash, h.inventory_scanned_at, "
    "h.last_inventory_at, h.inventory_failure, h.decommissioned_at, h.decommission_reason";

HostRecord HostFromRow(const Statement& row) {
  HostRecord host;
  host.host_id = row.ColumnText(0);
  host.hostname = row.ColumnText(1);
  host.state =
      row.ColumnText(2) == "decommissioned" ? HostState::kDecommissioned : HostState::kActive;
  host.platform = DecodePlatform(row.ColumnText(3));
  host.capabilities = row.ColumnBlob(4);
  host.agent_version = row.ColumnText(5);
  host.identity.certificate_serial = row.ColumnText(6);
  host.identity.certificate_sha256 = row.ColumnText(7);
  host.identity.expires_at = row.ColumnTime(8);
  host.online = row.ColumnBool(9);
  host.last_seen_at = row.ColumnOptionalTime(10);
  host.enrolled_at = row.ColumnTime(11);
  host.join_token_id = row.ColumnText(12);
  host.inventory_content_hash = row.ColumnText(13);
  host.inventory_scanned_at = row.ColumnOptionalTime(14);
  host.last_inventory_at = row.ColumnOptionalTime(15);
  host.last_inventory_failure = DecodeFailure(row.ColumnOptionalText(16));
  host.decommissioned_at = row.ColumnOptionalTime(17);
  host.decommission_reason = row.ColumnText(18);
  return host;
}

absl::StatusOr<std::map<std::string, std::string>> LoadLabels(Database& database,
                                                              std::string_view host_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement statement,
      database.Prepare("SELECT key, value FROM host_labels WHERE host_id = ? ORDER BY key"));
  statement.BindText(1, host_id);
  std::map<std::string, std::string> labels;
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, statement.Step());
    if (!row) break;
    labels[statement.ColumnText(0)] = statement.ColumnText(1);
  }
  return labels;
}

absl::Status ReplaceLabels(Database& database, std::string_view host_id,
                           const std::map<std::string, std::string>& labels) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement remove,
                                   database.Prepare("DELETE FROM host_labels WHERE host_id = ?"));
  remove.BindText(1, host_id);
  CERTFLEET_STORE_RETURN_IF_ERROR(remove.Run());
  for (const auto& [key, value] : labels) {
    if (key.empty()) return absl::InvalidArgumentError("a host label has an empty key");
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO host_labels (host_id, key, value) VALUES (?, ?, ?)"));
    insert.BindText(1, host_id).BindText(2, key).BindText(3, value);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
  }
  return absl::OkStatus();
}

// Finds a host by a condition on one bound value.
absl::StatusOr<std::optional<HostRecord>> FindHost(Database& database, std::string_view column,
                                                   std::string_view value) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement statement,
      database.Prepare(absl::StrCat("SELECT ", kHostColumns, " FROM hosts h WHERE h.",
                                    std::string(column), " = ?")));
  statement.BindText(1, value);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, statement.Step());
  if (!row) return std::optional<HostRecord>();
  HostRecord host = HostFromRow(statement);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(host.labels, LoadLabels(database, host.host_id));
  return std::optional<HostRecord>(std::move(host));
}

std::string Describe(const HostRecord& host) {
  return absl::StrCat("host ", host.hostname, " (", host.host_id, ")");
}

absl::Status RequireOneRowChanged(Database& database, std::string_view host_id) {
  if (database.ChangedRows() == 0) {
    return absl::NotFoundError(absl::StrCat("host ", std::string(host_id), " does not exist"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HostRecord> LoadHost(Database& database, std::string_view host_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<HostRecord> host,
                                   FindHost(database, "host_id", host_id));
  if (!host.has_value()) {
    return absl::NotFoundError(absl::StrCat("host ", std::string(host_id), " does not exist"));
  }
  return *std::move(host);
}

absl::StatusOr<HostRecord> LoadActiveHost(Database& database, std::string_view host_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(HostRecord host, LoadHost(database, host_id));
  if (host.state == HostState::kDecommissioned) {
    return absl::FailedPreconditionError(absl::StrCat(Describe(host), " is decommissioned"));
  }
  return host;
}

absl::StatusOr<HostRecord> SqliteHostStore::EnrollHost(const HostEnrollment& enrollment) {
  if (!LooksLikeId(IdKind::kHost, enrollment.host_id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", enrollment.host_id, "' is not a host id; make one with GenerateId(IdKind::kHost)"));
  }
  if (enrollment.hostname.empty()) {
    return absl::InvalidArgumentError("the host name to enroll is empty");
  }
  return connection_->Write([&](Database& database) -> absl::StatusOr<HostRecord> {
    // The token is judged first: a caller without a valid token learns
    // nothing about which hosts exist.
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        JoinTokenRecord token,
        ConsumeJoinTokenIn(database, enrollment.join_token_secret_sha256, enrollment.hostname,
                           enrollment.host_id, enrollment.enrolled_at));
    CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<HostRecord> same_name,
                                     FindHost(database, "hostname", enrollment.hostname));
    if (same_name.has_value() && same_name->state == HostState::kActive) {
      return absl::AlreadyExistsError(absl::StrCat("host name ", enrollment.hostname,
                                                   " is already enrolled as ", same_name->host_id,
                                                   "; decommission it before enrolling it again"));
    }
    if (same_name.has_value() && same_name->host_id != enrollment.host_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("host name ", enrollment.hostname, " belongs to decommissioned host ",
                       same_name->host_id, "; enroll it again with that host id"));
    }
    if (!same_name.has_value()) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<HostRecord> same_id,
                                       FindHost(database, "host_id", enrollment.host_id));
      if (same_id.has_value()) {
        return absl::AlreadyExistsError(absl::StrCat("host id ", enrollment.host_id,
                                                     " is already used by ", Describe(*same_id)));
      }
    }
    std::map<std::string, std::string> labels = enrollment.labels;
    for (const auto& [key, value] : token.labels) labels[key] = value;

    std::string_view sql =
        same_name.has_value()
            ? "UPDATE hosts SET hostname = ?2, state = 'active', platform = ?3, "
              "capabilities = ?4, agent_version = ?5, identity_serial = ?6, identity_sha256 = ?7, "
              "identity_expires_at = ?8, online = 0, enrolled_at = ?9, join_token_id = ?10, "
              "decommissioned_at = NULL, decommission_reason = '' WHERE host_id = ?1"
            : "INSERT INTO hosts (host_id, hostname, state, platform, capabilities, "
              "agent_version, identity_serial, identity_sha256, identity_expires_at, online, "
              "enrolled_at, join_token_id) VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, ?7, ?8, 0, "
              "?9, ?10)";
    CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement write, database.Prepare(sql));
    write.BindText(1, enrollment.host_id)
        .BindText(2, enrollment.hostname)
        .BindText(3, EncodePlatform(enrollment.platform))
        .BindBlob(4, enrollment.capabilities)
        .BindText(5, enrollment.agent_version)
        .BindText(6, NormalizeHex(enrollment.identity.certificate_serial))
        .BindText(7, NormalizeHex(enrollment.identity.certificate_sha256))
        .BindTime(8, enrollment.identity.expires_at)
        .BindTime(9, enrollment.enrolled_at)
        .BindText(10, token.token_id);
    CERTFLEET_STORE_RETURN_IF_ERROR(write.Run());
    CERTFLEET_STORE_RETURN_IF_ERROR(ReplaceLabels(database, enrollment.host_id, labels));
    return LoadHost(database, enrollment.host_id);
  });
}

absl::StatusOr<HostRecord> SqliteHostStore::GetHost(std::string_view host_id) {
  return connection_->Read([&](Database& database) { return LoadHost(database, host_id); });
}

absl::StatusOr<HostRecord> SqliteHostStore::GetHostByName(std::string_view hostname) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<HostRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<HostRecord> host,
                                     FindHost(database, "hostname", hostname));
    if (!host.has_value()) {
      return absl::NotFoundError(absl::StrCat("no host is named ", std::string(hostname)));
    }
    return *std::move(host);
  });
}

absl::StatusOr<Page<HostRecord>> SqliteHostStore::ListHosts(const HostQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(query.page));
  WhereClause where;
  if (!query.include_decommissioned) where.Add("h.state = 'active'");
  if (query.connectivity == Connectivity::kOnline) where.Add("h.online = 1");
  if (query.connectivity == Connectivity::kOffline) where.Add("h.online = 0");
  if (!query.selector.hostname_pattern.empty()) {
    where.Add("lower(h.hostname) GLOB ?", {LowerCaseGlobPattern(query.selector.hostname_pattern)});
  }
  if (!query.selector.host_ids.empty()) {
    std::vector<WhereClause::Parameter> ids(query.selector.host_ids.begin(),
                                            query.selector.host_ids.end());
    // The SQL is built before `ids` is moved into the call.
    const std::string condition = absl::StrCat("h.host_id IN (", Placeholders(ids.size()), ")");
    where.Add(condition, std::move(ids));
  }
  for (const auto& [key, value] : query.selector.labels) {
    where.Add(
        "EXISTS (SELECT 1 FROM host_labels l WHERE l.host_id = h.host_id AND l.key = ? AND "
        "l.value = ?)",
        {key, value});
  }
  WhereClause page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("hosts", query.page.page_token));
    if (!position.is_string()) return InvalidPageTokenError(query.page.page_token);
    page_where.Add("h.hostname > ?", {position.get<std::string>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<HostRecord>> {
    Page<HostRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM hosts h", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);

    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare(absl::StrCat("SELECT ", kHostColumns, " FROM hosts h", page_where.Sql(),
                                      " ORDER BY h.hostname LIMIT ?")));
    select.BindInt64(page_where.Bind(select), page_size + 1);
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      page.items.push_back(HostFromRow(select));
    }
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      page.next_page_token = EncodePageToken("hosts", page.items.back().hostname);
    }
    for (HostRecord& host : page.items) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(host.labels, LoadLabels(database, host.host_id));
    }
    return page;
  });
}

absl::Status SqliteHostStore::RecordHeartbeat(std::string_view host_id, absl::Time seen_at) {
  return connection_->Write([&](Database& database) -> absl::Status {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadActiveHost(database, host_id).status());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE hosts SET online = 1, last_seen_at = max(coalesce(last_seen_at, "
                         "?2), ?2) WHERE host_id = ?1"));
    update.BindText(1, host_id).BindTime(2, seen_at);
    return update.Run();
  });
}

absl::StatusOr<int64_t> SqliteHostStore::RecordHeartbeats(
    const std::vector<HostHeartbeat>& heartbeats) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<int64_t> {
    int64_t updated = 0;
    for (const HostHeartbeat& heartbeat : heartbeats) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(
          Statement update,
          database.Prepare("UPDATE hosts SET online = 1, last_seen_at = "
                           "max(coalesce(last_seen_at, ?2), ?2) WHERE host_id = ?1 AND state = "
                           "'active'"));
      update.BindText(1, heartbeat.host_id).BindTime(2, heartbeat.seen_at);
      CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
      updated += database.ChangedRows();
    }
    return updated;
  });
}

absl::Status SqliteHostStore::SetPresence(std::string_view host_id, Presence presence,
                                          absl::Time at) {
  return connection_->Write([&](Database& database) -> absl::Status {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare(presence == Presence::kOnline
                             ? "UPDATE hosts SET online = 1, last_seen_at = "
                               "max(coalesce(last_seen_at, ?2), ?2) WHERE host_id = ?1"
                             : "UPDATE hosts SET online = 0 WHERE host_id = ?1"));
    update.BindText(1, host_id);
    if (presence == Presence::kOnline) update.BindTime(2, at);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    return RequireOneRowChanged(database, host_id);
  });
}

absl::StatusOr<std::vector<std::string>> SqliteHostStore::MarkOfflineSeenBefore(absl::Time cutoff) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<std::vector<std::string>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update, database.Prepare("UPDATE hosts SET online = 0 WHERE online = 1 AND "
                                           "coalesce(last_seen_at, ?1) < ?2 RETURNING host_id"));
    update.BindTime(1, absl::InfinitePast()).BindTime(2, cutoff);
    std::vector<std::string> host_ids;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, update.Step());
      if (!row) break;
      host_ids.push_back(update.ColumnText(0));
    }
    std::sort(host_ids.begin(), host_ids.end());
    return host_ids;
  });
}

absl::StatusOr<HostRecord> SqliteHostStore::UpdateAgentDescription(
    std::string_view host_id, const AgentDescription& description, absl::Time seen_at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<HostRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE hosts SET agent_version = ?2, platform = ?3, capabilities = ?4, "
                         "last_seen_at = max(coalesce(last_seen_at, ?5), ?5) WHERE host_id = ?1"));
    update.BindText(1, host_id)
        .BindText(2, description.agent_version)
        .BindText(3, EncodePlatform(description.platform))
        .BindBlob(4, description.capabilities)
        .BindTime(5, seen_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    CERTFLEET_STORE_RETURN_IF_ERROR(RequireOneRowChanged(database, host_id));
    return LoadHost(database, host_id);
  });
}

absl::StatusOr<HostRecord> SqliteHostStore::UpdateIdentity(std::string_view host_id,
                                                           const AgentIdentityRecord& identity) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<HostRecord> {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadActiveHost(database, host_id).status());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE hosts SET identity_serial = ?2, identity_sha256 = ?3, "
                         "identity_expires_at = ?4 WHERE host_id = ?1"));
    update.BindText(1, host_id)
        .BindText(2, NormalizeHex(identity.certificate_serial))
        .BindText(3, NormalizeHex(identity.certificate_sha256))
        .BindTime(4, identity.expires_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    return LoadHost(database, host_id);
  });
}

absl::StatusOr<HostRecord> SqliteHostStore::SetLabels(
    std::string_view host_id, const std::map<std::string, std::string>& labels) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<HostRecord> {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadHost(database, host_id).status());
    CERTFLEET_STORE_RETURN_IF_ERROR(ReplaceLabels(database, host_id, labels));
    return LoadHost(database, host_id);
  });
}

absl::StatusOr<HostRecord> SqliteHostStore::DecommissionHost(std::string_view host_id,
                                                             std::string_view reason,
                                                             absl::Time at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<HostRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(HostRecord host, LoadHost(database, host_id));
    if (host.state == HostState::kDecommissioned) return host;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE hosts SET state = 'decommissioned', online = 0, "
                         "decommissioned_at = ?2, decommission_reason = ?3 WHERE host_id = ?1"));
    update.BindText(1, host_id).BindTime(2, at).BindText(3, reason);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());

    const std::string why = absl::StrCat("host decommissioned: ", std::string(reason));
    std::vector<std::string> open_orders;
    {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(
          Statement select,
          database.Prepare("SELECT order_id FROM orders WHERE host_id = ? AND is_open = 1 "
                           "ORDER BY order_id"));
      select.BindText(1, host_id);
      while (true) {
        CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
        if (!row) break;
        open_orders.push_back(select.ColumnText(0));
      }
    }
    for (const std::string& order_id : open_orders) {
      OrderTransition cancel;
      cancel.order_id = order_id;
      cancel.to = OrderState::kCancelled;
      cancel.at = at;
      cancel.reason = why;
      cancel.actor = "decommission";
      CERTFLEET_STORE_RETURN_IF_ERROR(TransitionOrderIn(database, cancel).status());
    }
    CERTFLEET_STORE_RETURN_IF_ERROR(CancelJobsIn(database, JobOwner::kHost, host_id, why, at));
    return LoadHost(database, host_id);
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
