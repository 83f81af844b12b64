// Between the wire and the executor: JobSpec's PrepareJob / DeployJob become
// the executor's PrepareOrder / DeployOrder, the executor's step names
// become StepName, and errors become Failure messages.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_AGENT_SESSION_JOB_CONVERSION_H_
#define CERTFLEET_AGENT_SESSION_JOB_CONVERSION_H_

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "agent/executor/job_journal.h"
#include "agent/executor/renewal_executor.h"
#include "certfleet/v1/jobs.pb.h"

namespace certfleet::agent::session {

// The StepName of an executor step ("replace_binding" ->
// STEP_NAME_REPLACE_BINDING; "read_binding" is CHECK_PRECONDITIONS, the
// rollback steps are ROLLBACK, RESTART and VERIFY).
certfleet::v1::StepName ToStepName(std::string_view executor_step);

// SUCCEEDED, FAILED or SKIPPED.
certfleet::v1::StepOutcome ToStepOutcomeProto(StepOutcome outcome);

// "prepare", "deploy", "inventory" -> JOB_KIND_*.
certfleet::v1::JobKind ToJobKind(std::string_view kind);

// The executor's order for a prepare job. Returns InvalidArgument naming the
// field for a missing site or temporary site name, a key spec IIS cannot
// make, or a subjectAltName that is not a DNS name.
absl::StatusOr<PrepareOrder> ToPrepareOrder(std::string_view job_id, int attempt,
                                            const certfleet::v1::PrepareJob& job);

// The executor's order for a deploy job; `temporary_site_name` is the name
// of the site whose id the job names (the executor finds it by name).
// Returns InvalidArgument naming the field for an unreadable certificate or
// chain, or when there is no root to verify against.
absl::StatusOr<DeployOrder> ToDeployOrder(std::string_view job_id, int attempt,
                                          const certfleet::v1::DeployJob& job,
                                          std::string temporary_site_name,
                                          std::optional<BackupOptions> backup);

// A Failure for a status: its code mapped to a FailureCode, its message,
// retryable unless the input itself is wrong.
certfleet::v1::Failure FailureFromStatus(const absl::Status& status);

// A Failure with `code` and `message`.
certfleet::v1::Failure MakeFailure(certfleet::v1::FailureCode code, std::string message,
                                   bool retryable);

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp);
absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_JOB_CONVERSION_H_
