#include "controller/store/sqlite/sqlite_order_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/row_codec.h"
#include "controller/store/sqlite/shared_queries.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr char kOrderColumns[] =
    "order_id, host_id, site_id, binding_id, state, is_open, triggered_by, campaign_id, "
    "policy_name, connector, ca_product, subject, subject_alternative_names, key_spec, "
    "signature_hash, previous_thumbprint, temporary_site_id, csr_pem, public_key_sha256, "
    "certificate_pem, chain_pem, issued_thumbprint, attempts, failed_attempts, next_attempt_at, "
    "deploy_not_before, last_failure, external_probe, created_at, updated_at, created_by";

OrderRecord OrderFromRow(const Statement& row) {
  OrderRecord order;
  order.order_id = row.ColumnText(0);
  order.host_id = row.ColumnText(1);
  order.site_id = row.ColumnText(2);
  order.binding_id = row.ColumnText(3);
  order.state = ParseOrderState(row.ColumnText(4)).value_or(OrderState::kFailed);
  order.open = row.ColumnBool(5);
  order.trigger = ParseOrderTrigger(row.ColumnText(6)).value_or(OrderTrigger::kSchedule);
  order.campaign_id = row.ColumnText(7);
  order.policy_name = row.ColumnText(8);
  order.connector = row.ColumnText(9);
  order.ca_product = row.ColumnText(10);
  order.subject = DecodeDistinguishedName(row.ColumnText(11));
  order.subject_alternative_names = DecodeStringList(row.ColumnText(12));
  order.key_spec = row.ColumnText(13);
  order.signature_hash = row.ColumnText(14);
  order.previous_thumbprint = row.ColumnText(15);
  order.temporary_site_id = row.ColumnText(16);
  order.csr_pem = row.ColumnText(17);
  order.public_key_sha256 = row.ColumnText(18);
  order.certificate_pem = row.ColumnText(19);
  order.chain_pem = row.ColumnText(20);
  order.issued_thumbprint = row.ColumnText(21);
  order.attempts = static_cast<int>(row.ColumnInt64(22));
  order.failed_attempts = static_cast<int>(row.ColumnInt64(23));
  order.next_attempt_at = row.ColumnOptionalTime(24);
  order.deploy_not_before = row.ColumnOptionalTime(25);
  order.last_failure = DecodeFailure(row.ColumnOptionalText(26));
  order.external_probe = row.ColumnBlob(27);
  order.created_at = row.ColumnTime(28);
  order.updated_at = row.ColumnTime(29);
  order.created_by = row.ColumnText(30);
  return order;
}

absl::Status LoadHistory(Database& database, OrderRecord& order) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select,
      database.Prepare("SELECT from_state, to_state, changed_at, reason, actor FROM order_history "
                       "WHERE order_id = ? ORDER BY change_id"));
  select.BindText(1, order.order_id);
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    OrderStateChange change;
    if (!select.ColumnIsNull(0)) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(change.from, ParseOrderState(select.ColumnText(0)));
    }
    CERTFLEET_STORE_ASSIGN_OR_RETURN(change.to, ParseOrderState(select.ColumnText(1)));
    change.changed_at = select.ColumnTime(2);
    change.reason = select.ColumnText(3);
    change.actor = select.ColumnText(4);
    order.history.push_back(std::move(change));
  }
  return absl::OkStatus();
}

absl::Status AppendHistory(Database& database, std::string_view order_id,
                           std::optional<OrderState> from, OrderState to, absl::Time at,
                           std::string_view reason, std::string_view actor) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement insert,
      database.Prepare("INSERT INTO order_history (order_id, changed_at, from_state, to_state, "
                       "reason, actor) VALUES (?, ?, ?, ?, ?, ?)"));
  insert.BindText(1, order_id).BindTime(2, at);
  if (from.has_value()) {
    insert.BindText(3, std::string(ToString(*from)));
  } else {
    insert.BindNull(3);
  }
  insert.BindText(4, std::string(ToString(to))).BindText(5, reason).BindText(6, actor);
  return insert.Run();
}

absl::StatusOr<std::vector<OrderRecord>> SelectOrders(Database& database, std::string_view sql,
                                                      const WhereClause& where,
                                                      std::optional<int64_t> limit) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement select, database.Prepare(sql));
  int next = where.Bind(select);
  if (limit.has_value()) select.BindInt64(next, *limit);
  std::vector<OrderRecord> orders;
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    orders.push_back(OrderFromRow(select));
  }
  return orders;
}

absl::StatusOr<std::optional<OrderRecord>> FindOpenOrderIn(Database& database,
                                                           std::string_view host_id,
                                                           std::string_view binding_id) {
  WhereClause where;
  where.Add("host_id = ? AND binding_id = ? AND is_open = 1",
            {std::string(host_id), std::string(binding_id)});
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      std::vector<OrderRecord> orders,
      SelectOrders(database, absl::StrCat("SELECT ", kOrderColumns, " FROM orders", where.Sql()),
                   where, std::nullopt));
  if (orders.empty()) return std::optional<OrderRecord>();
  return std::optional<OrderRecord>(std::move(orders.front()));
}

absl::Status AlreadyOpenError(const OrderRecord& open) {
  return absl::AlreadyExistsError(absl::StrCat(
      "binding ", open.binding_id, " of host ", open.host_id, " already has open order ",
      open.order_id, " (state ", std::string(ToString(open.state)), ")"));
}

}  // namespace

absl::StatusOr<OrderRecord> LoadOrder(Database& database, std::string_view order_id,
                                      History history) {
  WhereClause where;
  where.Add("order_id = ?", {std::string(order_id)});
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      std::vector<OrderRecord> orders,
      SelectOrders(database, absl::StrCat("SELECT ", kOrderColumns, " FROM orders", where.Sql()),
                   where, std::nullopt));
  if (orders.empty()) {
    return absl::NotFoundError(absl::StrCat("order ", std::string(order_id), " does not exist"));
  }
  OrderRecord order = std::move(orders.front());
  if (history == History::kInclude) CERTFLEET_STORE_RETURN_IF_ERROR(LoadHistory(database, order));
  return order;
}

absl::StatusOr<std::vector<OrderRecord>> LoadCampaignOrders(Database& database,
                                                            std::string_view campaign_id) {
  WhereClause where;
  where.Add("campaign_id = ?", {std::string(campaign_id)});
  return SelectOrders(database,
                      absl::StrCat("SELECT ", kOrderColumns, " FROM orders", where.Sql(),
                                   " ORDER BY created_at, order_id"),
                      where, std::nullopt);
}

absl::StatusOr<OrderRecord> TransitionOrderIn(Database& database,
                                              const OrderTransition& transition) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(OrderRecord order,
                                   LoadOrder(database, transition.order_id, History::kOmit));
  const OrderState from = order.state;
  if (transition.expected_state.has_value() && *transition.expected_state != from) {
    return absl::FailedPreconditionError(absl::StrCat(
        "order ", order.order_id, " is in state ", std::string(ToString(from)), ", not ",
        std::string(ToString(*transition.expected_state)), "; it was changed meanwhile"));
  }
  if (!IsAllowedOrderTransition(from, transition.to)) {
    return absl::FailedPreconditionError(
        absl::StrCat("order ", order.order_id, " cannot move from ", std::string(ToString(from)),
                     " to ", std::string(ToString(transition.to))));
  }
  const OrderState to = transition.to;
  std::optional<absl::Time> next_attempt_at;
  if (to == OrderState::kDue) next_attempt_at = transition.next_attempt_at.value_or(transition.at);
  if (to == OrderState::kFailed) next_attempt_at = transition.next_attempt_at;
  bool open = !IsFinalOrderState(to);
  if (to == OrderState::kFailed && !next_attempt_at.has_value()) open = false;

  if (open && !order.open) {
    // Reopening a closed failed order: the binding may have a newer one.
    CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<OrderRecord> other,
                                     FindOpenOrderIn(database, order.host_id, order.binding_id));
    if (other.has_value()) return AlreadyOpenError(*other);
  }

  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement update,
      database.Prepare(
          "UPDATE orders SET state = ?3, is_open = ?4, next_attempt_at = ?5, updated_at = ?6, "
          "attempts = attempts + ?7, failed_attempts = failed_attempts + ?8, "
          "temporary_site_id = coalesce(?9, temporary_site_id), csr_pem = coalesce(?10, csr_pem), "
          "public_key_sha256 = coalesce(?11, public_key_sha256), "
          "certificate_pem = coalesce(?12, certificate_pem), chain_pem = coalesce(?13, chain_pem), "
          "issued_thumbprint = coalesce(?14, issued_thumbprint), "
          "external_probe = coalesce(?15, external_probe), "
          "last_failure = coalesce(?16, last_failure), "
          "deploy_not_before = coalesce(?17, deploy_not_before) "
          "WHERE order_id = ?1 AND state = ?2"));
  auto upper = [](const std::optional<std::string>& hex) -> std::optional<std::string> {
    if (!hex.has_value()) return std::nullopt;
    return NormalizeHex(*hex);
  };
  update.BindText(1, order.order_id)
      .BindText(2, std::string(ToString(from)))
      .BindText(3, std::string(ToString(to)))
      .BindBool(4, open)
      .BindOptionalTime(5, next_attempt_at)
      .BindTime(6, transition.at)
      .BindInt64(7, from == OrderState::kDue && to == OrderState::kCsrRequested ? 1 : 0)
      .BindInt64(8, to == OrderState::kFailed ? 1 : 0)
      .BindOptionalText(9, transition.temporary_site_id)
      .BindOptionalText(10, transition.csr_pem)
      .BindOptionalText(11, upper(transition.public_key_sha256))
      .BindOptionalText(12, transition.certificate_pem)
      .BindOptionalText(13, transition.chain_pem)
      .BindOptionalText(14, upper(transition.issued_thumbprint))
      .BindOptionalTime(17, transition.deploy_not_before);
  if (transition.external_probe.has_value()) {
    update.BindBlob(15, *transition.external_probe);
  } else {
    update.BindNull(15);
  }
  update.BindOptionalText(16, EncodeFailure(transition.failure));
  absl::Status updated = update.Run();
  if (absl::IsAlreadyExists(updated)) {
    return absl::AlreadyExistsError(absl::StrCat("binding ", order.binding_id, " of host ",
                                                 order.host_id, " already has another open order"));
  }
  CERTFLEET_STORE_RETURN_IF_ERROR(updated);
  if (database.ChangedRows() != 1) {
    return absl::FailedPreconditionError(absl::StrCat("order ", order.order_id,
                                                      " changed while it was being moved to ",
                                                      std::string(ToString(to))));
  }
  CERTFLEET_STORE_RETURN_IF_ERROR(AppendHistory(database, order.order_id, from, to, transition.at,
                                                transition.reason, transition.actor));
  if (!open) {
    CERTFLEET_STORE_RETURN_IF_ERROR(CancelJobsIn(
        database, JobOwner::kOrder, order.order_id,
        absl::StrCat("order ", std::string(ToString(to)), ": ", transition.reason), transition.at));
  }
  return LoadOrder(database, order.order_id, History::kInclude);
}

absl::StatusOr<OrderRecord> SqliteOrderStore::CreateOrder(const NewOrder& order) {
  if (order.host_id.empty() || order.site_id.empty() || order.binding_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("an order needs a host, a site and a binding; got host '", order.host_id,
                     "', site '", order.site_id, "', binding '", order.binding_id, "'"));
  }
  const std::string order_id = GenerateId(IdKind::kOrder);
  return connection_->Write([&](Database& database) -> absl::StatusOr<OrderRecord> {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadActiveHost(database, order.host_id).status());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<OrderRecord> open,
                                     FindOpenOrderIn(database, order.host_id, order.binding_id));
    if (open.has_value()) return AlreadyOpenError(*open);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare(
            "INSERT INTO orders (order_id, host_id, site_id, binding_id, state, is_open, "
            "triggered_by, campaign_id, policy_name, connector, ca_product, subject, "
            "subject_alternative_names, key_spec, signature_hash, previous_thumbprint, "
            "next_attempt_at, deploy_not_before, created_at, updated_at, created_by) VALUES "
            "(?1, ?2, ?3, ?4, 'due', 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
            "?17, ?17, ?18)"));
    insert.BindText(1, order_id)
        .BindText(2, order.host_id)
        .BindText(3, order.site_id)
        .BindText(4, order.binding_id)
        .BindText(5, std::string(ToString(order.trigger)))
        .BindText(6, order.campaign_id)
        .BindText(7, order.policy_name)
        .BindText(8, order.connector)
        .BindText(9, order.ca_product)
        .BindText(10, EncodeDistinguishedName(order.subject))
        .BindText(11, EncodeStringList(order.subject_alternative_names))
        .BindText(12, order.key_spec)
        .BindText(13, order.signature_hash)
        .BindText(14, NormalizeHex(order.previous_thumbprint))
        .BindTime(15, order.next_attempt_at.value_or(order.created_at))
        .BindOptionalTime(16, order.deploy_not_before)
        .BindTime(17, order.created_at)
        .BindText(18, order.created_by);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
    CERTFLEET_STORE_RETURN_IF_ERROR(AppendHistory(
        database, order_id, std::nullopt, OrderState::kDue, order.created_at,
        order.reason.empty() ? std::string("order created") : order.reason, order.created_by));
    return LoadOrder(database, order_id, History::kInclude);
  });
}

absl::StatusOr<OrderRecord> SqliteOrderStore::GetOrder(std::string_view order_id) {
  return connection_->Read(
      [&](Database& database) { return LoadOrder(database, order_id, History::kInclude); });
}

absl::StatusOr<OrderRecord> SqliteOrderStore::TransitionOrder(const OrderTransition& transition) {
  return connection_->Write(
      [&](Database& database) { return TransitionOrderIn(database, transition); });
}

absl::StatusOr<Page<OrderRecord>> SqliteOrderStore::ListOrders(const OrderQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(query.page));
  WhereClause where;
  if (!query.states.empty()) {
    std::vector<WhereClause::Parameter> states;
    for (OrderState state : query.states) states.push_back(std::string(ToString(state)));
    const std::string condition = absl::StrCat("state IN (", Placeholders(states.size()), ")");
    where.Add(condition, std::move(states));
  }
  if (query.open_only) where.Add("is_open = 1");
  if (!query.host_id.empty()) where.Add("host_id = ?", {query.host_id});
  if (!query.site_id.empty()) where.Add("site_id = ?", {query.site_id});
  if (!query.binding_id.empty()) where.Add("binding_id = ?", {query.binding_id});
  if (!query.campaign_id.empty()) where.Add("campaign_id = ?", {query.campaign_id});
  // Each sort key has its own token listing name, so a token from one order
  // is refused by the other instead of skipping rows silently.
  const bool by_update = query.sort_key == OrderSortKey::kUpdatedAt;
  const std::string_view listing = by_update ? "orders_by_update" : "orders";
  const std::string_view time_column = by_update ? "updated_at" : "created_at";
  WhereClause page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken(listing, query.page.page_token));
    if (!position.is_array() || position.size() != 2 || !position[0].is_number_integer() ||
        !position[1].is_string()) {
      return InvalidPageTokenError(query.page.page_token);
    }
    page_where.Add(absl::StrCat("(", std::string(time_column), ", order_id) < (?, ?)"),
                   {position[0].get<int64_t>(), position[1].get<std::string>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<OrderRecord>> {
    Page<OrderRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM orders", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        page.items,
        SelectOrders(database,
                     absl::StrCat("SELECT ", kOrderColumns, " FROM orders", page_where.Sql(),
                                  " ORDER BY ", std::string(time_column),
                                  " DESC, order_id DESC "
                                  "LIMIT ?"),
                     page_where, page_size + 1));
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      const OrderRecord& last = page.items.back();
      page.next_page_token = EncodePageToken(
          listing, nlohmann::json::array(
                       {sqlite::TimeToStorage(by_update ? last.updated_at : last.created_at),
                        last.order_id}));
    }
    return page;
  });
}

absl::StatusOr<std::optional<OrderRecord>> SqliteOrderStore::FindOpenOrder(
    std::string_view host_id, std::string_view binding_id) {
  return connection_->Read(
      [&](Database& database) { return FindOpenOrderIn(database, host_id, binding_id); });
}

absl::StatusOr<std::vector<OrderRecord>> SqliteOrderStore::ListOrdersReadyAt(absl::Time now,
                                                                             int limit) {
  WhereClause where;
  where.Add("next_attempt_at IS NOT NULL AND next_attempt_at <= ?", {sqlite::TimeToStorage(now)});
  return connection_->Read([&](Database& database) {
    return SelectOrders(database,
                        absl::StrCat("SELECT ", kOrderColumns, " FROM orders", where.Sql(),
                                     " ORDER BY next_attempt_at, order_id LIMIT ?"),
                        where, limit);
  });
}

absl::StatusOr<std::vector<std::string>> SqliteOrderStore::ListHostsWithOpenOrders() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<std::string>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare("SELECT DISTINCT host_id FROM orders WHERE is_open = 1 ORDER BY host_id"));
    std::vector<std::string> host_ids;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      host_ids.push_back(select.ColumnText(0));
    }
    return host_ids;
  });
}

absl::StatusOr<int64_t> SqliteOrderStore::CountOpenOrders() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<int64_t> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count, database.Prepare("SELECT count(*) FROM orders WHERE is_open = 1"));
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    return count.ColumnInt64(0);
  });
}

absl::StatusOr<std::map<OrderState, int64_t>> SqliteOrderStore::CountOrdersByState() {
  return connection_->Read(
      [&](Database& database) -> absl::StatusOr<std::map<OrderState, int64_t>> {
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            Statement select,
            database.Prepare("SELECT state, count(*) FROM orders GROUP BY state"));
        std::map<OrderState, int64_t> counts;
        while (true) {
          CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          CERTFLEET_STORE_ASSIGN_OR_RETURN(OrderState state, ParseOrderState(select.ColumnText(0)));
          counts[state] = select.ColumnInt64(1);
        }
        return counts;
      });
}

absl::StatusOr<DurationHistogram> SqliteOrderStore::HistogramOfDoneOrderDurations(
    const std::vector<absl::Duration>& upper_bounds) {
  for (size_t index = 1; index < upper_bounds.size(); ++index) {
    if (upper_bounds[index] <= upper_bounds[index - 1]) {
      return absl::InvalidArgumentError(
          "histogram bucket bounds must be in strictly ascending order");
    }
  }
  // One pass over the done orders (orders_by_state), one sum per bucket.
  std::string sql = "SELECT count(*), coalesce(sum(updated_at - created_at), 0)";
  for (size_t index = 0; index < upper_bounds.size(); ++index) {
    absl::StrAppend(&sql, ", coalesce(sum(updated_at - created_at <= ?), 0)");
  }
  absl::StrAppend(&sql, " FROM orders WHERE state = 'done'");
  return connection_->Read([&](Database& database) -> absl::StatusOr<DurationHistogram> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement select, database.Prepare(sql));
    for (size_t index = 0; index < upper_bounds.size(); ++index) {
      select.BindInt64(static_cast<int>(index) + 1, absl::ToInt64Microseconds(upper_bounds[index]));
    }
    CERTFLEET_STORE_RETURN_IF_ERROR(select.Step().status());
    DurationHistogram histogram;
    histogram.upper_bounds = upper_bounds;
    histogram.count = select.ColumnInt64(0);
    histogram.sum = absl::Microseconds(select.ColumnInt64(1));
    for (size_t index = 0; index < upper_bounds.size(); ++index) {
      histogram.cumulative_counts.push_back(select.ColumnInt64(static_cast<int>(index) + 2));
    }
    return histogram;
  });
}

absl::StatusOr<std::vector<OrderRecord>> SqliteOrderStore::FindOrdersByPublicKey(
    std::string_view public_key_sha256) {
  WhereClause where;
  where.Add("public_key_sha256 = ? AND public_key_sha256 <> ''", {NormalizeHex(public_key_sha256)});
  return connection_->Read([&](Database& database) {
    return SelectOrders(database,
                        absl::StrCat("SELECT ", kOrderColumns, " FROM orders", where.Sql(),
                                     " ORDER BY created_at DESC, order_id DESC"),
                        where, std::nullopt);
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
