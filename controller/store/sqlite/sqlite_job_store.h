// JobStore on SQLite (tables jobs, job_attempts and job_steps).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_JOB_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_JOB_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/store/job_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteJobStore final : public JobStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteJobStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<JobRecord> CreateJob(
      const NewJob& job, const std::optional<OrderTransition>& order_transition) override;
  absl::StatusOr<JobRecord> GetJob(std::string_view job_id) override;
  absl::StatusOr<Page<JobRecord>> ListJobs(const JobQuery& query) override;
  absl::StatusOr<std::optional<JobRecord>> LeaseNextJob(std::string_view host_id, absl::Time now,
                                                        absl::Time lease_expires_at) override;
  absl::StatusOr<JobRecord> ExtendLease(std::string_view job_id, int64_t attempt,
                                        absl::Time lease_expires_at) override;
  absl::StatusOr<JobRecord> ReleaseLease(std::string_view job_id, int64_t attempt, absl::Time at,
                                         std::string_view reason) override;
  absl::StatusOr<std::vector<JobRecord>> ExpireLeases(absl::Time now) override;
  absl::StatusOr<StepSubmissionResult> RecordStep(const StepSubmission& submission) override;
  absl::StatusOr<JobCompletionResult> CompleteJob(
      const JobCompletion& completion,
      const std::optional<OrderTransition>& order_transition) override;
  absl::StatusOr<JobRecord> CancelJob(std::string_view job_id, std::string_view reason,
                                      absl::Time at) override;
  absl::StatusOr<std::vector<std::string>> ListHostsWithQueuedJobs(absl::Time now) override;
  absl::StatusOr<std::vector<JobCountRecord>> CountJobsByKindAndStatus() override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_JOB_STORE_H_
