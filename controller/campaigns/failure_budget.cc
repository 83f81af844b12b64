#include "controller/campaigns/failure_budget.h"

#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace certfleet::controller::campaigns {
namespace {

// 40 -> "40%", 12.5 -> "12.5%", 33.3333 -> "33.3%".
std::string PercentText(double percent) {
  std::string text = absl::StrFormat("%.1f", percent);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0) text.resize(text.size() - 2);
  return absl::StrCat(text, "%");
}

}  // namespace

absl::StatusOr<FailureBudgetSettings> FromFailureBudgetProto(const v1::FailureBudget& budget) {
  FailureBudgetSettings settings;
  if (budget.has_max_failures()) {
    settings.max_failures = static_cast<int>(std::min<uint32_t>(budget.max_failures(), INT32_MAX));
  }
  if (budget.has_max_failure_percent()) {
    const double percent = budget.max_failure_percent();
    if (!(percent >= 0.0 && percent <= 100.0)) {
      return absl::InvalidArgumentError(absl::StrCat("failure_budget.max_failure_percent is ",
                                                     percent, "; it must be between 0 and 100"));
    }
    settings.max_failure_percent = percent;
  }
  return settings;
}

std::optional<std::string> FailureBudgetExceeded(const FailureBudgetSettings& budget,
                                                 const FailureCounts& counts) {
  if (budget.max_failures.has_value() && counts.failures > *budget.max_failures) {
    return absl::StrCat(counts.failures,
                        counts.failures == 1 ? " failure exceeds" : " failures exceed",
                        " the budget of ", *budget.max_failures);
  }
  if (budget.max_failure_percent.has_value() && counts.finished > 0 &&
      counts.failures * 100.0 > *budget.max_failure_percent * counts.finished) {
    const double failed_percent = counts.failures * 100.0 / counts.finished;
    return absl::StrCat(PercentText(failed_percent), " of ", counts.finished, " finished ",
                        counts.finished == 1 ? "renewal" : "renewals",
                        " failed, over the budget of ", PercentText(*budget.max_failure_percent));
  }
  return std::nullopt;
}

}  // namespace certfleet::controller::campaigns
