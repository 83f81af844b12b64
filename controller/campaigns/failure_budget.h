// When a campaign's failures pause it (certfleet.v1.FailureBudget). Failed
// and rolled-back renewals count as failures; a limit that is absent never
// triggers; either limit exceeded is enough.
//   - max_failures: exceeded when failures > max_failures, so 0 pauses at
//     the first failure.
//   - max_failure_percent: exceeded when failures are more than that share
//     of the finished renewals (done, failed or rolled back). Nothing
//     finished: not exceeded. A percentage judges small numbers harshly on
//     purpose: with 5% the first failed canary (100% of 1) pauses.
//
// Thread safety: plain values and free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_CAMPAIGNS_FAILURE_BUDGET_H_
#define CERTFLEET_CONTROLLER_CAMPAIGNS_FAILURE_BUDGET_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "certfleet/v1/campaign.pb.h"

namespace certfleet::controller::campaigns {

// certfleet.v1.FailureBudget, validated.
struct FailureBudgetSettings {
  std::optional<int> max_failures;
  // In [0, 100].
  std::optional<double> max_failure_percent;
};

// The settings of `budget`. InvalidArgument naming the field when
// max_failure_percent is outside [0, 100] or not a number.
absl::StatusOr<FailureBudgetSettings> FromFailureBudgetProto(const v1::FailureBudget& budget);

struct FailureCounts {
  // Failed plus rolled back.
  int failures = 0;
  // Done plus failed plus rolled back.
  int finished = 0;
};

// When `counts` exceed `budget`: the sentence for the campaign's
// state_reason ("3 failures exceed the budget of 2", "40% of 5 finished
// renewals failed, over the budget of 20%"); the count limit is named when
// both are exceeded. Nullopt while within the budget.
std::optional<std::string> FailureBudgetExceeded(const FailureBudgetSettings& budget,
                                                 const FailureCounts& counts);

}  // namespace certfleet::controller::campaigns

#endif  // CERTFLEET_CONTROLLER_CAMPAIGNS_FAILURE_BUDGET_H_
