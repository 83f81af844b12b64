// CampaignStore on SQLite (tables campaigns and campaign_targets; a
// target's order is the newest order with the campaign's id for its host
// and binding).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_CAMPAIGN_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_CAMPAIGN_STORE_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/store/campaign_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteCampaignStore final : public CampaignStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteCampaignStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<CampaignRecord> CreateCampaign(
      const CampaignRecord& campaign, const std::vector<CampaignTargetRecord>& targets) override;
  absl::StatusOr<CampaignRecord> GetCampaign(std::string_view campaign_id) override;
  absl::StatusOr<Page<CampaignRecord>> ListCampaigns(const CampaignQuery& query) override;
  absl::StatusOr<CampaignRecord> TransitionCampaign(const CampaignTransition& transition) override;
  absl::StatusOr<std::vector<CampaignTargetRecord>> ListTargets(
      std::string_view campaign_id) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ListBindingsInOpenCampaigns()
      override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_CAMPAIGN_STORE_H_
