#include "controller/store/campaign_store.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"

namespace certfleet::controller::store {
namespace {

constexpr std::array<std::pair<CampaignState, std::string_view>, 6> kCampaignStateNames{{
    {CampaignState::kDraft, "draft"},
    {CampaignState::kRunning, "running"},
    {CampaignState::kPaused, "paused"},
    {CampaignState::kCompleted, "completed"},
    {CampaignState::kAborting, "aborting"},
    {CampaignState::kAborted, "aborted"},
}};

constexpr std::array<std::pair<CampaignPauseReason, std::string_view>, 3> kPauseReasonNames{{
    {CampaignPauseReason::kNone, ""},
    {CampaignPauseReason::kOperator, "operator"},
    {CampaignPauseReason::kFailureBudget, "failure_budget"},
}};

template <typename Enum, size_t N>
std::string_view NameIn(const std::array<std::pair<Enum, std::string_view>, N>& names, Enum value) {
  for (const auto& [candidate, name] : names) {
    if (candidate == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
absl::StatusOr<Enum> ValueIn(const std::array<std::pair<Enum, std::string_view>, N>& names,
                             std::string_view name, std::string_view what) {
  for (const auto& [value, candidate] : names) {
    if (candidate == name) return value;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", std::string(name), "\" is not a ", std::string(what)));
}

}  // namespace

std::string_view ToString(CampaignState state) { return NameIn(kCampaignStateNames, state); }

std::string_view ToString(CampaignPauseReason reason) { return NameIn(kPauseReasonNames, reason); }

absl::StatusOr<CampaignState> ParseCampaignState(std::string_view name) {
  return ValueIn(kCampaignStateNames, name, "campaign state");
}

absl::StatusOr<CampaignPauseReason> ParseCampaignPauseReason(std::string_view name) {
  return ValueIn(kPauseReasonNames, name, "campaign pause reason");
}

bool IsAllowedCampaignTransition(CampaignState from, CampaignState to) {
  switch (from) {
    case CampaignState::kDraft:
      return to == CampaignState::kRunning || to == CampaignState::kAborted;
    case CampaignState::kRunning:
      return to == CampaignState::kPaused || to == CampaignState::kCompleted ||
             to == CampaignState::kAborting;
    case CampaignState::kPaused:
      return to == CampaignState::kRunning || to == CampaignState::kAborting;
    case CampaignState::kAborting:
      return to == CampaignState::kAborted;
    case CampaignState::kCompleted:
    case CampaignState::kAborted:
      return false;
  }
  return false;
}

}  // namespace certfleet::controller::store
