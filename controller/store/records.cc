#include "controller/store/records.h"

#include <array>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace certfleet::controller::store {
namespace {

template <typename Enum, size_t kCount>
using NameTable = std::array<std::pair<Enum, std::string_view>, kCount>;

constexpr NameTable<HostState, 2> kHostStateNames{{
    {HostState::kActive, "active"},
    {HostState::kDecommissioned, "decommissioned"},
}};

constexpr NameTable<JoinTokenState, 4> kJoinTokenStateNames{{
    {JoinTokenState::kActive, "active"},
    {JoinTokenState::kUsed, "used"},
    {JoinTokenState::kExpired, "expired"},
    {JoinTokenState::kRevoked, "revoked"},
}};

constexpr NameTable<CertificateStoreName, 4> kCertificateStoreNames{{
    {CertificateStoreName::kMy, "MY"},
    {CertificateStoreName::kCa, "CA"},
    {CertificateStoreName::kRoot, "ROOT"},
    {CertificateStoreName::kRequest, "REQUEST"},
}};

constexpr NameTable<OrderState, 10> kOrderStateNames{{
    {OrderState::kDue, "due"},
    {OrderState::kCsrRequested, "csr_requested"},
    {OrderState::kAwaitingIssuance, "awaiting_issuance"},
    {OrderState::kIssued, "issued"},
    {OrderState::kDeploying, "deploying"},
    {OrderState::kVerifying, "verifying"},
    {OrderState::kDone, "done"},
    {OrderState::kFailed, "failed"},
    {OrderState::kRolledBack, "rolled_back"},
    {OrderState::kCancelled, "cancelled"},
}};

constexpr NameTable<OrderTrigger, 4> kOrderTriggerNames{{
    {OrderTrigger::kSchedule, "schedule"},
    {OrderTrigger::kOperator, "operator"},
    {OrderTrigger::kCampaign, "campaign"},
    {OrderTrigger::kRetry, "retry"},
}};

constexpr NameTable<JobKind, 6> kJobKindNames{{
    {JobKind::kInventory, "inventory"},
    {JobKind::kPrepare, "prepare"},
    {JobKind::kDeploy, "deploy"},
    {JobKind::kRollback, "rollback"},
    {JobKind::kProbe, "probe"},
    {JobKind::kCleanup, "cleanup"},
}};

constexpr NameTable<JobStatus, 6> kJobStatusNames{{
    {JobStatus::kQueued, "queued"},
    {JobStatus::kRunning, "running"},
    {JobStatus::kSucceeded, "succeeded"},
    {JobStatus::kFailed, "failed"},
    {JobStatus::kRolledBack, "rolled_back"},
    {JobStatus::kCancelled, "cancelled"},
}};

constexpr NameTable<JobOutcome, 4> kJobOutcomeNames{{
    {JobOutcome::kSucceeded, "succeeded"},
    {JobOutcome::kFailed, "failed"},
    {JobOutcome::kRolledBack, "rolled_back"},
    {JobOutcome::kCancelled, "cancelled"},
}};

constexpr NameTable<StepOutcome, 5> kStepOutcomeNames{{
    {StepOutcome::kRunning, "running"},
    {StepOutcome::kSucceeded, "succeeded"},
    {StepOutcome::kFailed, "failed"},
    {StepOutcome::kSkipped, "skipped"},
    {StepOutcome::kAlreadyDone, "already_done"},
}};

constexpr NameTable<InventoryDisposition, 4> kInventoryDispositionNames{{
    {InventoryDisposition::kApplied, "applied"},
    {InventoryDisposition::kUnchanged, "unchanged"},
    {InventoryDisposition::kStale, "stale"},
    {InventoryDisposition::kScanFailureRecorded, "scan_failure_recorded"},
}};

constexpr NameTable<ServedStatus, 4> kServedStatusNames{{
    {ServedStatus::kMatches, "matches"},
    {ServedStatus::kMismatch, "mismatch"},
    {ServedStatus::kIncompleteChain, "incomplete_chain"},
    {ServedStatus::kUnreachable, "unreachable"},
}};

template <typename Enum, size_t kCount>
std::string_view NameOf(const NameTable<Enum, kCount>& table, Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "unknown";
}

template <typename Enum, size_t kCount>
absl::StatusOr<Enum> Parse(const NameTable<Enum, kCount>& table, std::string_view name,
                           std::string_view what) {
  for (const auto& [value, candidate] : table) {
    if (candidate == name) return value;
  }
  std::string known;
  for (const auto& [value, candidate] : table) {
    absl::StrAppend(&known, known.empty() ? "" : ", ", std::string(candidate));
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown ", std::string(what), " '",
                                                 std::string(name), "'; expected one of ", known));
}

}  // namespace

JoinTokenState JoinTokenRecord::StateAt(absl::Time now) const {
  if (used_at.has_value()) return JoinTokenState::kUsed;
  if (revoked_at.has_value()) return JoinTokenState::kRevoked;
  if (expires_at <= now) return JoinTokenState::kExpired;
  return JoinTokenState::kActive;
}

std::string_view ToString(HostState state) { return NameOf(kHostStateNames, state); }
std::string_view ToString(JoinTokenState state) { return NameOf(kJoinTokenStateNames, state); }
std::string_view ToString(CertificateStoreName store) {
  return NameOf(kCertificateStoreNames, store);
}
std::string_view ToString(OrderState state) { return NameOf(kOrderStateNames, state); }
std::string_view ToString(OrderTrigger trigger) { return NameOf(kOrderTriggerNames, trigger); }
std::string_view ToString(JobKind kind) { return NameOf(kJobKindNames, kind); }
std::string_view ToString(JobStatus status) { return NameOf(kJobStatusNames, status); }
std::string_view ToString(JobOutcome outcome) { return NameOf(kJobOutcomeNames, outcome); }
std::string_view ToString(StepOutcome outcome) { return NameOf(kStepOutcomeNames, outcome); }
std::string_view ToString(InventoryDisposition disposition) {
  return NameOf(kInventoryDispositionNames, disposition);
}

std::string_view ToString(ServedStatus status) { return NameOf(kServedStatusNames, status); }

absl::StatusOr<HostState> ParseHostState(std::string_view name) {
  return Parse(kHostStateNames, name, "host state");
}
absl::StatusOr<CertificateStoreName> ParseCertificateStoreName(std::string_view name) {
  return Parse(kCertificateStoreNames, name, "certificate store");
}
absl::StatusOr<OrderState> ParseOrderState(std::string_view name) {
  return Parse(kOrderStateNames, name, "order state");
}
absl::StatusOr<OrderTrigger> ParseOrderTrigger(std::string_view name) {
  return Parse(kOrderTriggerNames, name, "order trigger");
}
absl::StatusOr<JobKind> ParseJobKind(std::string_view name) {
  return Parse(kJobKindNames, name, "job kind");
}
absl::StatusOr<JobStatus> ParseJobStatus(std::string_view name) {
  return Parse(kJobStatusNames, name, "job status");
}
absl::StatusOr<JobOutcome> ParseJobOutcome(std::string_view name) {
  return Parse(kJobOutcomeNames, name, "job outcome");
}
absl::StatusOr<StepOutcome> ParseStepOutcome(std::string_view name) {
  return Parse(kStepOutcomeNames, name, "step outcome");
}

absl::StatusOr<ServedStatus> ParseServedStatus(std::string_view name) {
  return Parse(kServedStatusNames, name, "served status");
}

bool IsFinalOrderState(OrderState state) {
  return state == OrderState::kDone || state == OrderState::kRolledBack ||
         state == OrderState::kCancelled;
}

bool IsAllowedOrderTransition(OrderState from, OrderState to) {
  if (IsFinalOrderState(from) || from == to) return false;
  if (to == OrderState::kCancelled) return true;
  if (to == OrderState::kFailed) return from != OrderState::kFailed;
  switch (from) {
    case OrderState::kDue:
      return to == OrderState::kCsrRequested;
    case OrderState::kCsrRequested:
      return to == OrderState::kAwaitingIssuance;
    case OrderState::kAwaitingIssuance:
      return to == OrderState::kIssued;
    case OrderState::kIssued:
      return to == OrderState::kDeploying;
    case OrderState::kDeploying:
      return to == OrderState::kVerifying || to == OrderState::kRolledBack;
    case OrderState::kVerifying:
      return to == OrderState::kDone || to == OrderState::kRolledBack;
    case OrderState::kFailed:
      return to == OrderState::kDue;
    default:
      return false;
  }
}

JobStatus JobStatusForOutcome(JobOutcome outcome) {
  switch (outcome) {
    case JobOutcome::kSucceeded:
      return JobStatus::kSucceeded;
    case JobOutcome::kFailed:
      return JobStatus::kFailed;
    case JobOutcome::kRolledBack:
      return JobStatus::kRolledBack;
    case JobOutcome::kCancelled:
      return JobStatus::kCancelled;
  }
  return JobStatus::kFailed;
}

}  // namespace certfleet::controller::store
