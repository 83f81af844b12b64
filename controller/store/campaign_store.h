// Renewal campaigns as the store keeps them: the campaign (its spec as the
// operator wrote it, its state) and its targets (which binding renews in
// which wave). A target's renewal is an ordinary order tagged with the
// campaign id; the store finds it by campaign, host and binding, so that
// starting a target is one order insert and nothing can be half-written.
//
// States: draft -> running <-> paused; running/paused -> aborting ->
// aborted; running -> completed. Completed and aborted are final.
//
// Thread safety: implementations are thread-safe (see store.h).

#ifndef CERTFLEET_CONTROLLER_STORE_CAMPAIGN_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_CAMPAIGN_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

enum class CampaignState { kDraft, kRunning, kPaused, kCompleted, kAborting, kAborted };

enum class CampaignPauseReason { kNone, kOperator, kFailureBudget };

struct CampaignRecord {
  std::string campaign_id;
  std::string name;
  std::string description;
  // Serialized certfleet.v1.CampaignSpec (selector, policy, waves, budget,
  // windows); the store never looks into it.
  std::string spec;
  CampaignState state = CampaignState::kDraft;
  CampaignPauseReason pause_reason = CampaignPauseReason::kNone;
  // The last state change in words.
  std::string state_reason;
  std::string plan_fingerprint;
  absl::Time created_at = absl::UnixEpoch();
  std::optional<absl::Time> started_at;
  std::optional<absl::Time> finished_at;
  absl::Time updated_at = absl::UnixEpoch();
  std::string created_by;
};

// One binding to renew in one wave.
struct CampaignTargetRecord {
  int wave_index = 0;
  std::string host_id;
  std::string binding_id;
  std::string site_id;
  // The binding's certificate when the campaign was planned.
  std::string planned_thumbprint;

  // Filled by the store on reads: names for display, and the campaign's
  // latest order for this binding (none until the target is started).
  std::string hostname;
  std::string site_name;
  std::optional<OrderRecord> order;
};

struct CampaignQuery {
  // Empty: every state.
  std::vector<CampaignState> states;
  PageRequest page;
};

// A state change, compare-and-set on the current state.
struct CampaignTransition {
  std::string campaign_id;
  // The campaign must be in one of these states.
  std::vector<CampaignState> expected_states;
  CampaignState to = CampaignState::kRunning;
  // Recorded when `to` is kPaused; kNone otherwise.
  CampaignPauseReason pause_reason = CampaignPauseReason::kNone;
  std::string reason;
  absl::Time at = absl::UnixEpoch();
};

class CampaignStore {
 public:
  virtual ~CampaignStore() = default;

  // Stores a new campaign (state draft) with its targets in one
  // transaction. InvalidArgument for an empty name, no targets, a target
  // listed twice or a negative wave; NotFound naming a host or binding
  // that does not exist; AlreadyExists for a campaign id in use.
  virtual absl::StatusOr<CampaignRecord> CreateCampaign(
      const CampaignRecord& campaign, const std::vector<CampaignTargetRecord>& targets) = 0;

  // NotFound for an unknown id.
  virtual absl::StatusOr<CampaignRecord> GetCampaign(std::string_view campaign_id) = 0;

  // Newest first. InvalidArgument for a bad page token.
  virtual absl::StatusOr<Page<CampaignRecord>> ListCampaigns(const CampaignQuery& query) = 0;

  // Applies `transition`: sets started_at when first entering running and
  // finished_at when entering completed or aborted. FailedPrecondition
  // naming the current state when it is not one of expected_states or the
  // change is not allowed; NotFound for an unknown id.
  virtual absl::StatusOr<CampaignRecord> TransitionCampaign(
      const CampaignTransition& transition) = 0;

  // The campaign's targets by wave, then hostname, then binding, each with
  // its latest order. NotFound for an unknown campaign.
  virtual absl::StatusOr<std::vector<CampaignTargetRecord>> ListTargets(
      std::string_view campaign_id) = 0;

  // Bindings that belong to a campaign that is not completed or aborted, as
  // "host_id/binding_id" keys mapped to the campaign id (a binding is in at
  // most one such campaign; planning another one excludes it).
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
  ListBindingsInOpenCampaigns() = 0;
};

std::string_view ToString(CampaignState state);
std::string_view ToString(CampaignPauseReason reason);
absl::StatusOr<CampaignState> ParseCampaignState(std::string_view name);
absl::StatusOr<CampaignPauseReason> ParseCampaignPauseReason(std::string_view name);

// Whether a campaign may go from `from` to `to`.
bool IsAllowedCampaignTransition(CampaignState from, CampaignState to);

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_CAMPAIGN_STORE_H_
