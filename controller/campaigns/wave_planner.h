// How a renewal campaign's selected bindings are split into waves
// (certfleet.v1.WavePlan), and the fingerprint of the resulting plan.
//
// Rules:
//   - Waves hold whole hosts: every binding of a host is in the same wave.
//   - Hosts are ordered by hostname (case-insensitively), then host id, and
//     a host's bindings by site id, then binding id, so that the same fleet
//     always gives the same plan.
//   - Wave 0 (the canary) takes canary_hosts hosts (0 means 1). Each
//     following wave brings the number of hosts started so far up to
//     ceil(N * percentage / 100) of all N hosts, but takes at least one
//     host; a final wave takes whatever is left. No wave is empty: once the
//     hosts run out, no further waves are made.
//   - The fingerprint is the SHA-256 (64 upper-case hex digits) of a
//     canonical serialization of every wave's index and, in order, each
//     target's host id, binding id and current thumbprint. It changes when
//     any of those change (a binding added or gone, a certificate renewed in
//     the meantime, a host moving to another wave) and not otherwise.
//
// Thread safety: plain values and free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_CAMPAIGNS_WAVE_PLANNER_H_
#define CERTFLEET_CONTROLLER_CAMPAIGNS_WAVE_PLANNER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/campaign.pb.h"
#include "controller/store/campaign_store.h"

namespace certfleet::controller::campaigns {

// certfleet.v1.WavePlan, validated.
struct WavePlanSettings {
  // At least 1.
  int canary_hosts = 1;
  // Strictly increasing, each in [1, 100].
  std::vector<int> cumulative_percentages;
  absl::Duration soak_time = absl::ZeroDuration();
};

// The settings of `plan`. InvalidArgument naming the field when a
// percentage is 0 or above 100, the percentages do not increase, or the
// soak time is negative.
absl::StatusOr<WavePlanSettings> FromWavePlanProto(const v1::WavePlan& plan);

// One binding to renew, as selected.
struct PlannedTarget {
  std::string host_id = {};
  std::string hostname = {};
  std::string site_id = {};
  std::string site_name = {};
  std::string binding_id = {};
  // The thumbprint the binding serves now.
  std::string current_thumbprint = {};

  friend bool operator==(const PlannedTarget&, const PlannedTarget&) = default;
};

struct Wave {
  // 0 for the canary.
  int index = 0;
  int host_count = 0;
  // Grouped by host, in plan order.
  std::vector<PlannedTarget> targets = {};
};

// Splits `targets` (in any order, each binding once) into waves by
// `settings` as described above. No targets: no waves.
std::vector<Wave> PlanWaves(std::vector<PlannedTarget> targets, const WavePlanSettings& settings);

// The plan's fingerprint, as described above.
std::string PlanFingerprint(const std::vector<Wave>& waves);

// The plan's targets as CampaignStore::CreateCampaign takes them, wave by
// wave in plan order (planned_thumbprint is the current thumbprint).
std::vector<store::CampaignTargetRecord> ToCampaignTargets(const std::vector<Wave>& waves);

}  // namespace certfleet::controller::campaigns

#endif  // CERTFLEET_CONTROLLER_CAMPAIGNS_WAVE_PLANNER_H_
