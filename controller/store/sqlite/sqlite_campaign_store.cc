#include "controller/store/sqlite/sqlite_campaign_store.h"

#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/store/sqlite/row_codec.h"
#include "controller/store/sqlite/shared_queries.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr char kCampaignColumns[] =
    "campaign_id, name, description, spec, state, pause_reason, state_reason, "
    "plan_fingerprint, created_at, started_at, finished_at, updated_at, created_by";

CampaignRecord CampaignFromRow(const Statement& row) {
  CampaignRecord campaign;
  campaign.campaign_id = row.ColumnText(0);
  campaign.name = row.ColumnText(1);
  campaign.description = row.ColumnText(2);
  campaign.spec = row.ColumnBlob(3);
  campaign.state = ParseCampaignState(row.ColumnText(4)).value_or(CampaignState::kAborted);
  campaign.pause_reason =
      ParseCampaignPauseReason(row.ColumnText(5)).value_or(CampaignPauseReason::kNone);
  campaign.state_reason = row.ColumnText(6);
  campaign.plan_fingerprint = row.ColumnText(7);
  campaign.created_at = row.ColumnTime(8);
  campaign.started_at = row.ColumnOptionalTime(9);
  campaign.finished_at = row.ColumnOptionalTime(10);
  campaign.updated_at = row.ColumnTime(11);
  campaign.created_by = row.ColumnText(12);
  return campaign;
}

absl::StatusOr<CampaignRecord> LoadCampaign(Database& database, std::string_view campaign_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select, database.Prepare(absl::StrCat("SELECT ", kCampaignColumns,
                                                      " FROM campaigns WHERE campaign_id = ?")));
  select.BindText(1, campaign_id);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) {
    return absl::NotFoundError(
        absl::StrCat("campaign ", std::string(campaign_id), " does not exist"));
  }
  return CampaignFromRow(select);
}

absl::Status ValidateNewCampaign(const CampaignRecord& campaign,
                                 const std::vector<CampaignTargetRecord>& targets) {
  if (campaign.campaign_id.empty()) return absl::InvalidArgumentError("a campaign needs an id");
  if (campaign.name.empty()) {
    return absl::InvalidArgumentError("a campaign needs a name, for example sha256-migration");
  }
  if (targets.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("campaign ", campaign.name, " selects no binding; there is nothing to renew"));
  }
  std::set<std::pair<std::string, std::string>> seen;
  for (const CampaignTargetRecord& target : targets) {
    if (target.wave_index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("binding ", target.binding_id, " of host ",
                                                     target.host_id, " has a negative wave"));
    }
    if (!seen.emplace(target.host_id, target.binding_id).second) {
      return absl::InvalidArgumentError(absl::StrCat("binding ", target.binding_id, " of host ",
                                                     target.host_id, " is listed twice"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<CampaignRecord> SqliteCampaignStore::CreateCampaign(
    const CampaignRecord& campaign, const std::vector<CampaignTargetRecord>& targets) {
  CERTFLEET_STORE_RETURN_IF_ERROR(ValidateNewCampaign(campaign, targets));
  return connection_->Write([&](Database& database) -> absl::StatusOr<CampaignRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare(absl::StrCat("INSERT INTO campaigns (", kCampaignColumns,
                                      ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)")));
    insert.BindText(1, campaign.campaign_id)
        .BindText(2, campaign.name)
        .BindText(3, campaign.description)
        .BindBlob(4, campaign.spec)
        .BindText(5, std::string(ToString(CampaignState::kDraft)))
        .BindText(6, "")
        .BindText(7, campaign.state_reason)
        .BindText(8, campaign.plan_fingerprint)
        .BindTime(9, campaign.created_at)
        .BindTime(10, campaign.created_at)
        .BindText(11, campaign.created_by);
    absl::Status inserted = insert.Run();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError(
          absl::StrCat("campaign ", campaign.campaign_id, " already exists"));
    }
    CERTFLEET_STORE_RETURN_IF_ERROR(inserted);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement binding_exists,
        database.Prepare("SELECT site_id FROM bindings WHERE host_id = ? AND binding_id = ?"));
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert_target,
        database.Prepare("INSERT INTO campaign_targets (campaign_id, wave_index, host_id, "
                         "binding_id, site_id, planned_thumbprint) VALUES (?, ?, ?, ?, ?, ?)"));
    for (const CampaignTargetRecord& target : targets) {
      binding_exists.Reset();
      binding_exists.BindText(1, target.host_id).BindText(2, target.binding_id);
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool found, binding_exists.Step());
      if (!found) {
        return absl::NotFoundError(absl::StrCat("host ", target.host_id, " has no binding ",
                                                target.binding_id,
                                                " (was it removed since the plan?)"));
      }
      insert_target.Reset();
      insert_target.BindText(1, campaign.campaign_id)
          .BindInt64(2, target.wave_index)
          .BindText(3, target.host_id)
          .BindText(4, target.binding_id)
          .BindText(5, target.site_id.empty() ? binding_exists.ColumnText(0) : target.site_id)
          .BindText(6, NormalizeHex(target.planned_thumbprint));
      CERTFLEET_STORE_RETURN_IF_ERROR(insert_target.Run());
    }
    return LoadCampaign(database, campaign.campaign_id);
  });
}

absl::StatusOr<CampaignRecord> SqliteCampaignStore::GetCampaign(std::string_view campaign_id) {
  return connection_->Read([&](Database& database) { return LoadCampaign(database, campaign_id); });
}

absl::StatusOr<Page<CampaignRecord>> SqliteCampaignStore::ListCampaigns(
    const CampaignQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(query.page));
  WhereClause where;
  if (!query.states.empty()) {
    std::vector<WhereClause::Parameter> states;
    for (CampaignState state : query.states) states.push_back(std::string(ToString(state)));
    const std::string condition = absl::StrCat("state IN (", Placeholders(states.size()), ")");
    where.Add(condition, std::move(states));
  }
  WhereClause page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("campaigns", query.page.page_token));
    if (!position.is_array() || position.size() != 2 || !position[0].is_number_integer() ||
        !position[1].is_string()) {
      return InvalidPageTokenError(query.page.page_token);
    }
    page_where.Add("(created_at, campaign_id) < (?, ?)",
                   {position[0].get<int64_t>(), position[1].get<std::string>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<CampaignRecord>> {
    Page<CampaignRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM campaigns", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare(absl::StrCat(
                              "SELECT ", kCampaignColumns, " FROM campaigns", page_where.Sql(),
                              " ORDER BY created_at DESC, campaign_id DESC LIMIT ?")));
    const int next = page_where.Bind(select);
    select.BindInt64(next, page_size + 1);
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      page.items.push_back(CampaignFromRow(select));
    }
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      const CampaignRecord& last = page.items.back();
      page.next_page_token = EncodePageToken(
          "campaigns",
          nlohmann::json::array({sqlite::TimeToStorage(last.created_at), last.campaign_id}));
    }
    return page;
  });
}

absl::StatusOr<CampaignRecord> SqliteCampaignStore::TransitionCampaign(
    const CampaignTransition& transition) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<CampaignRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(CampaignRecord campaign,
                                     LoadCampaign(database, transition.campaign_id));
    const bool expected =
        transition.expected_states.empty() ||
        std::find(transition.expected_states.begin(), transition.expected_states.end(),
                  campaign.state) != transition.expected_states.end();
    if (!expected || !IsAllowedCampaignTransition(campaign.state, transition.to)) {
      return absl::FailedPreconditionError(
          absl::StrCat("campaign ", campaign.name, " (", campaign.campaign_id, ") is ",
                       std::string(ToString(campaign.state)), "; it cannot become ",
                       std::string(ToString(transition.to))));
    }
    const bool final_state =
        transition.to == CampaignState::kCompleted || transition.to == CampaignState::kAborted;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE campaigns SET state = ?2, pause_reason = ?3, state_reason = ?4, "
                         "updated_at = ?5, started_at = coalesce(started_at, ?6), "
                         "finished_at = coalesce(finished_at, ?7) "
                         "WHERE campaign_id = ?1 AND state = ?8"));
    update.BindText(1, campaign.campaign_id)
        .BindText(2, std::string(ToString(transition.to)))
        .BindText(3, std::string(ToString(transition.to == CampaignState::kPaused
                                              ? transition.pause_reason
                                              : CampaignPauseReason::kNone)))
        .BindText(4, transition.reason)
        .BindTime(5, transition.at)
        .BindOptionalTime(6, transition.to == CampaignState::kRunning
                                 ? std::optional<absl::Time>(transition.at)
                                 : std::nullopt)
        .BindOptionalTime(7, final_state ? std::optional<absl::Time>(transition.at) : std::nullopt)
        .BindText(8, std::string(ToString(campaign.state)));
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    if (database.ChangedRows() != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("campaign ", campaign.campaign_id, " changed meanwhile"));
    }
    return LoadCampaign(database, campaign.campaign_id);
  });
}

absl::StatusOr<std::vector<CampaignTargetRecord>> SqliteCampaignStore::ListTargets(
    std::string_view campaign_id) {
  return connection_->Read(
      [&](Database& database) -> absl::StatusOr<std::vector<CampaignTargetRecord>> {
        CERTFLEET_STORE_RETURN_IF_ERROR(LoadCampaign(database, campaign_id).status());
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            Statement select,
            database.Prepare(
                "SELECT t.wave_index, t.host_id, t.binding_id, t.site_id, t.planned_thumbprint, "
                "coalesce(h.hostname, ''), coalesce(s.name, '') FROM campaign_targets t "
                "LEFT JOIN hosts h ON h.host_id = t.host_id "
                "LEFT JOIN sites s ON s.host_id = t.host_id AND s.site_id = t.site_id "
                "WHERE t.campaign_id = ? "
                "ORDER BY t.wave_index, h.hostname COLLATE NOCASE, t.host_id, t.binding_id"));
        select.BindText(1, campaign_id);
        std::vector<CampaignTargetRecord> targets;
        while (true) {
          CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          CampaignTargetRecord target;
          target.wave_index = static_cast<int>(select.ColumnInt64(0));
          target.host_id = select.ColumnText(1);
          target.binding_id = select.ColumnText(2);
          target.site_id = select.ColumnText(3);
          target.planned_thumbprint = select.ColumnText(4);
          target.hostname = select.ColumnText(5);
          target.site_name = select.ColumnText(6);
          targets.push_back(std::move(target));
        }
        CERTFLEET_STORE_ASSIGN_OR_RETURN(std::vector<OrderRecord> orders,
                                         LoadCampaignOrders(database, campaign_id));
        // Oldest first: the newest order of each binding wins.
        std::map<std::pair<std::string, std::string>, OrderRecord> newest;
        for (OrderRecord& order : orders) {
          newest[{order.host_id, order.binding_id}] = std::move(order);
        }
        for (CampaignTargetRecord& target : targets) {
          auto found = newest.find({target.host_id, target.binding_id});
          if (found != newest.end()) target.order = found->second;
        }
        return targets;
      });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SqliteCampaignStore::ListBindingsInOpenCampaigns() {
  return connection_->Read(
      [&](Database& database) -> absl::StatusOr<std::vector<std::pair<std::string, std::string>>> {
        CERTFLEET_STORE_ASSIGN_OR_RETURN(
            Statement select,
            database.Prepare("SELECT t.host_id || '/' || t.binding_id, t.campaign_id "
                             "FROM campaign_targets t JOIN campaigns c USING (campaign_id) "
                             "WHERE c.state NOT IN ('completed', 'aborted') "
                             "ORDER BY t.host_id, t.binding_id"));
        std::vector<std::pair<std::string, std::string>> bindings;
        while (true) {
          CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
          if (!row) break;
          bindings.emplace_back(select.ColumnText(0), select.ColumnText(1));
        }
        return bindings;
      });
}

}  // namespace certfleet::controller::store::sqlite_backend
