// The pure part of a campaign's state machine: given where every target's
// order is, the campaign's state, its wave settings, failure budget and
// in-flight cap, and the time, decide what happens next (which targets to
// start, whether to pause, complete, cancel or settle an abort) and count
// the progress of each wave and of the whole campaign. The engine reads the
// targets from the store, calls DecideCampaignStep, and applies the
// decision; nothing here reads a clock or the store.
//
// Rules (docs/campaigns.md, "How waves, budgets and windows work"):
//   - A target is pending until it has an order, in flight while its order
//     is open (a failed order with a retry planned is still in flight), and
//     then done, failed, rolled back or cancelled as its order ended.
//   - Waves run in order. A wave is finished when none of its targets is
//     pending or in flight; it finished healthy when, at that point, the
//     failure budget is not exceeded. The next wave starts only once the
//     previous one finished healthy and soak_time has passed since its last
//     target finished (the last wave needs no soak).
//   - RUNNING: the current wave's pending targets start in plan order, as
//     many as max_in_flight allows (counting every in-flight target of the
//     campaign; 0 means no campaign cap, the controller's global cap still
//     applies). When the budget is exceeded (failure_budget.h) the campaign
//     pauses instead and nothing starts; after an operator resumed it, the
//     failures that had finished by then are accepted and only a further
//     failure pauses it again. When every wave finished healthy the
//     campaign is completed.
//   - Wave states for display: PENDING (not reached), RUNNING, SOAKING,
//     SUCCEEDED, FAILED (finished with failures while the budget is
//     exceeded; it stays FAILED after a resume lets the campaign go on),
//     CANCELLED (stopped or never started by an abort).
//   - PAUSED, DRAFT, COMPLETED, ABORTED: nothing starts; progress only.
//   - ABORTING: nothing starts; pending targets are never started (counted
//     as cancelled); open orders that have not reached deploying are
//     cancelled; deploying and verifying orders finish or roll back on the
//     host, so every host ends on its verified new certificate or its old
//     one. Once nothing is in flight the campaign is aborted.
//
// Thread safety: plain values and free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_CAMPAIGNS_WAVE_PROGRESS_H_
#define CERTFLEET_CONTROLLER_CAMPAIGNS_WAVE_PROGRESS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "certfleet/v1/campaign.pb.h"
#include "controller/campaigns/failure_budget.h"
#include "controller/store/campaign_store.h"
#include "controller/store/records.h"

namespace certfleet::controller::campaigns {

enum class TargetProgress { kPending, kInFlight, kDone, kFailed, kRolledBack, kCancelled };

// One target's order, as far as the state machine needs it.
struct TargetStatus {
  // Which binding; not used by the decision, kept so that a TargetReference
  // leads back to the target.
  std::string host_id = {};
  std::string binding_id = {};
  // Unset while the target has no order (not started).
  std::optional<store::OrderState> order_state;
  // OrderRecord::open.
  bool order_open = false;
  // OrderRecord::created_at: when the target started.
  absl::Time order_created_at = absl::UnixEpoch();
  // OrderRecord::updated_at: for a closed order, when it finished.
  absl::Time order_updated_at = absl::UnixEpoch();
};

// Where a target is, from its order (see the rules above).
TargetProgress ProgressOf(const TargetStatus& target);

// The status of a target as CampaignStore::ListTargets returns it.
TargetStatus StatusOf(const store::CampaignTargetRecord& target);

// ListTargets' targets grouped into waves by wave_index (keeping their order
// within a wave), for CampaignSituation::waves. A wave index without targets
// gives an empty wave, so that indexes stay those of the plan.
std::vector<std::vector<TargetStatus>> TargetsByWave(
    const std::vector<store::CampaignTargetRecord>& targets);

// Counts of renewals by progress (certfleet.v1.CampaignProgress).
struct ProgressCounts {
  int total = 0;
  int pending = 0;
  int in_flight = 0;
  int done = 0;
  int failed = 0;
  int rolled_back = 0;
  int cancelled = 0;

  void Add(TargetProgress progress);
  // Failed plus rolled back: what the failure budget counts.
  int failures() const { return failed + rolled_back; }
  // Done, failed or rolled back.
  int finished() const { return done + failed + rolled_back; }

  friend bool operator==(const ProgressCounts&, const ProgressCounts&) = default;
};

v1::CampaignProgress ToCampaignProgressProto(const ProgressCounts& counts);

// Everything the decision depends on.
struct CampaignSituation {
  store::CampaignState state = store::CampaignState::kDraft;
  // The campaign's waves in order, each with its targets in plan order.
  std::vector<std::vector<TargetStatus>> waves;
  absl::Duration soak_time = absl::ZeroDuration();
  FailureBudgetSettings failure_budget;
  // Most targets of this campaign in flight at once; 0: no campaign cap.
  int max_in_flight = 0;
  // When an operator last resumed the campaign; unset when never resumed.
  // Failures whose orders had finished by then were seen by that operator
  // and do not pause the campaign again.
  std::optional<absl::Time> resumed_at;
  absl::Time now = absl::UnixEpoch();
};

// A target by position: situation.waves[wave][target].
struct TargetReference {
  int wave = 0;
  int target = 0;

  friend bool operator==(const TargetReference&, const TargetReference&) = default;
};

// Where one wave is.
struct WaveOutlook {
  v1::WaveState state = v1::WAVE_STATE_PENDING;
  ProgressCounts progress;
  // When its first target started; unset before.
  std::optional<absl::Time> started_at;
  // When its last target finished; unset until every target finished.
  std::optional<absl::Time> finished_at;
};

// What should happen next.
struct CampaignStep {
  // One per wave, in order.
  std::vector<WaveOutlook> waves;
  // Over all waves.
  ProgressCounts progress;
  // The wave being worked on (running or soaking); unset when none is (a
  // draft, or every wave finished).
  std::optional<int> current_wave;
  // Targets to start now (create their orders), in plan order.
  std::vector<TargetReference> start;
  // ABORTING: pending targets that must never be started.
  std::vector<TargetReference> never_start;
  // ABORTING: targets whose open order has not reached deploying and must
  // be cancelled.
  std::vector<TargetReference> cancel;
  // The state the campaign should move to, when it should change (for a
  // CampaignTransition with pause_reason and state_reason).
  std::optional<store::CampaignState> new_state;
  // kFailureBudget with new_state == kPaused; kNone otherwise.
  store::CampaignPauseReason pause_reason = store::CampaignPauseReason::kNone;
  // The change in words, for the campaign's state_reason ("3 failures
  // exceed the budget of 2"); set with new_state.
  std::string state_reason;
  // When to decide again even if no order changes (a soak ending).
  std::optional<absl::Time> decide_again_at;
};

// The next step for `situation` (rules above).
CampaignStep DecideCampaignStep(const CampaignSituation& situation);

}  // namespace certfleet::controller::campaigns

#endif  // CERTFLEET_CONTROLLER_CAMPAIGNS_WAVE_PROGRESS_H_
