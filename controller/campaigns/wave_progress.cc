#include "controller/campaigns/wave_progress.h"

#include <algorithm>
#include <climits>

#include "absl/strings/str_cat.h"

namespace certfleet::controller::campaigns {
namespace {

bool IsCancellableDuringAbort(store::OrderState state) {
  switch (state) {
    case store::OrderState::kDue:
    case store::OrderState::kCsrRequested:
    case store::OrderState::kAwaitingIssuance:
    case store::OrderState::kIssued:
    case store::OrderState::kFailed:
      return true;
    default:
      return false;
  }
}

std::string Summary(const ProgressCounts& counts) {
  return absl::StrCat(counts.done, " done, ", counts.failed, " failed, ", counts.rolled_back,
                      " rolled back, ", counts.cancelled, " cancelled");
}

}  // namespace

TargetProgress ProgressOf(const TargetStatus& target) {
  if (!target.order_state.has_value()) return TargetProgress::kPending;
  if (target.order_open) return TargetProgress::kInFlight;
  switch (*target.order_state) {
    case store::OrderState::kDone:
      return TargetProgress::kDone;
    case store::OrderState::kFailed:
      return TargetProgress::kFailed;
    case store::OrderState::kRolledBack:
      return TargetProgress::kRolledBack;
    case store::OrderState::kCancelled:
      return TargetProgress::kCancelled;
    default:
      // A closed order in a working state breaks the store's invariant;
      // treating it as in flight keeps the wave from moving on.
      return TargetProgress::kInFlight;
  }
}

void ProgressCounts::Add(TargetProgress progress) {
  ++total;
  switch (progress) {
    case TargetProgress::kPending:
      ++pending;
      break;
    case TargetProgress::kInFlight:
      ++in_flight;
      break;
    case TargetProgress::kDone:
      ++done;
      break;
    case TargetProgress::kFailed:
      ++failed;
      break;
    case TargetProgress::kRolledBack:
      ++rolled_back;
      break;
    case TargetProgress::kCancelled:
      ++cancelled;
      break;
  }
}

TargetStatus StatusOf(const store::CampaignTargetRecord& target) {
  TargetStatus status;
  status.host_id = target.host_id;
  status.binding_id = target.binding_id;
  if (target.order.has_value()) {
    status.order_state = target.order->state;
    status.order_open = target.order->open;
    status.order_created_at = target.order->created_at;
    status.order_updated_at = target.order->updated_at;
  }
  return status;
}

std::vector<std::vector<TargetStatus>> TargetsByWave(
    const std::vector<store::CampaignTargetRecord>& targets) {
  std::vector<std::vector<TargetStatus>> waves;
  for (const store::CampaignTargetRecord& target : targets) {
    if (target.wave_index < 0) continue;  // The store refuses these.
    if (static_cast<size_t>(target.wave_index) >= waves.size()) {
      waves.resize(static_cast<size_t>(target.wave_index) + 1);
    }
    waves[static_cast<size_t>(target.wave_index)].push_back(StatusOf(target));
  }
  return waves;
}

v1::CampaignProgress ToCampaignProgressProto(const ProgressCounts& counts) {
  v1::CampaignProgress proto;
  proto.set_total(static_cast<uint32_t>(counts.total));
  proto.set_pending(static_cast<uint32_t>(counts.pending));
  proto.set_in_flight(static_cast<uint32_t>(counts.in_flight));
  proto.set_done(static_cast<uint32_t>(counts.done));
  proto.set_failed(static_cast<uint32_t>(counts.failed));
  proto.set_rolled_back(static_cast<uint32_t>(counts.rolled_back));
  proto.set_cancelled(static_cast<uint32_t>(counts.cancelled));
  return proto;
}

CampaignStep DecideCampaignStep(const CampaignSituation& situation) {
  CampaignStep step;
  const bool aborting = situation.state == store::CampaignState::kAborting ||
                        situation.state == store::CampaignState::kAborted;

  // Progress of every target, wave and the whole campaign. During an abort
  // a target that never started never will: it counts as cancelled.
  int accepted_failures = 0;
  for (const std::vector<TargetStatus>& targets : situation.waves) {
    WaveOutlook outlook;
    std::optional<absl::Time> last_finish;
    for (const TargetStatus& target : targets) {
      TargetProgress progress = ProgressOf(target);
      if (aborting && progress == TargetProgress::kPending) progress = TargetProgress::kCancelled;
      if ((progress == TargetProgress::kFailed || progress == TargetProgress::kRolledBack) &&
          situation.resumed_at.has_value() && target.order_updated_at <= *situation.resumed_at) {
        ++accepted_failures;
      }
      outlook.progress.Add(progress);
      step.progress.Add(progress);
      if (!target.order_state.has_value()) continue;
      if (!outlook.started_at.has_value() || target.order_created_at < *outlook.started_at) {
        outlook.started_at = target.order_created_at;
      }
      if (!last_finish.has_value() || target.order_updated_at > *last_finish) {
        last_finish = target.order_updated_at;
      }
    }
    if (outlook.progress.pending == 0 && outlook.progress.in_flight == 0) {
      outlook.finished_at = last_finish;
    }
    step.waves.push_back(outlook);
  }

  const std::optional<std::string> budget_exceeded = FailureBudgetExceeded(
      situation.failure_budget,
      FailureCounts{.failures = step.progress.failures(), .finished = step.progress.finished()});
  const bool pause_for_budget =
      budget_exceeded.has_value() && step.progress.failures() > accepted_failures;

  // Wave states, and the wave being worked on: the first that has not
  // finished healthy and soaked.
  bool gate_open = situation.state != store::CampaignState::kDraft && !aborting;
  const int wave_count = static_cast<int>(step.waves.size());
  for (int index = 0; index < wave_count; ++index) {
    WaveOutlook& wave = step.waves[index];
    const ProgressCounts& counts = wave.progress;
    const bool finished = counts.pending == 0 && counts.in_flight == 0;
    if (aborting) {
      if (counts.in_flight > 0) {
        wave.state = v1::WAVE_STATE_RUNNING;
      } else if (counts.cancelled > 0) {
        wave.state = v1::WAVE_STATE_CANCELLED;
      } else {
        wave.state = counts.failures() > 0 && budget_exceeded.has_value()
                         ? v1::WAVE_STATE_FAILED
                         : v1::WAVE_STATE_SUCCEEDED;
      }
      continue;
    }
    if (!finished) {
      wave.state = counts.pending == counts.total ? v1::WAVE_STATE_PENDING : v1::WAVE_STATE_RUNNING;
      if (gate_open) step.current_wave = index;
      gate_open = false;
      continue;
    }
    if (counts.failures() > 0 && budget_exceeded.has_value()) {
      wave.state = v1::WAVE_STATE_FAILED;
      if (gate_open && pause_for_budget) {
        step.current_wave = index;
        gate_open = false;
      }
      continue;
    }
    const bool last = index + 1 == wave_count;
    const absl::Time soaked_at =
        wave.finished_at.value_or(absl::InfinitePast()) + situation.soak_time;
    if (!last && situation.now < soaked_at) {
      wave.state = v1::WAVE_STATE_SOAKING;
      if (gate_open) {
        step.current_wave = index;
        step.decide_again_at = soaked_at;
      }
      gate_open = false;
      continue;
    }
    wave.state = v1::WAVE_STATE_SUCCEEDED;
  }

  switch (situation.state) {
    case store::CampaignState::kRunning: {
      if (pause_for_budget) {
        step.new_state = store::CampaignState::kPaused;
        step.pause_reason = store::CampaignPauseReason::kFailureBudget;
        step.state_reason = *budget_exceeded;
        step.decide_again_at.reset();
        break;
      }
      if (gate_open) {
        step.new_state = store::CampaignState::kCompleted;
        step.state_reason = absl::StrCat("all ", wave_count, wave_count == 1 ? " wave" : " waves",
                                         " finished: ", Summary(step.progress));
        break;
      }
      if (!step.current_wave.has_value()) break;
      const int current = *step.current_wave;
      if (step.waves[current].state != v1::WAVE_STATE_PENDING &&
          step.waves[current].state != v1::WAVE_STATE_RUNNING) {
        break;  // Soaking.
      }
      int slots = situation.max_in_flight > 0
                      ? std::max(0, situation.max_in_flight - step.progress.in_flight)
                      : INT_MAX;
      const std::vector<TargetStatus>& targets = situation.waves[current];
      for (int index = 0; index < static_cast<int>(targets.size()) && slots > 0; ++index) {
        if (ProgressOf(targets[index]) != TargetProgress::kPending) continue;
        step.start.push_back(TargetReference{.wave = current, .target = index});
        --slots;
      }
      if (!step.start.empty()) step.waves[current].state = v1::WAVE_STATE_RUNNING;
      break;
    }
    case store::CampaignState::kAborting: {
      for (int wave = 0; wave < wave_count; ++wave) {
        const std::vector<TargetStatus>& targets = situation.waves[wave];
        for (int index = 0; index < static_cast<int>(targets.size()); ++index) {
          const TargetStatus& target = targets[index];
          const TargetReference reference{.wave = wave, .target = index};
          if (!target.order_state.has_value()) {
            step.never_start.push_back(reference);
          } else if (target.order_open && IsCancellableDuringAbort(*target.order_state)) {
            step.cancel.push_back(reference);
          }
        }
      }
      if (step.progress.in_flight == 0) {
        step.new_state = store::CampaignState::kAborted;
        step.state_reason =
            absl::StrCat("aborted with nothing in flight: ", Summary(step.progress));
      }
      break;
    }
    default:
      // Draft, paused, completed, aborted: nothing starts, nothing changes.
      step.decide_again_at.reset();
      break;
  }
  return step;
}

}  // namespace certfleet::controller::campaigns
