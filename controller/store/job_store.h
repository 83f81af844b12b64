// Jobs sent to agents, leased with an attempt number that is the fencing
// token: every report names the attempt, and a report from an attempt that
// is no longer current is refused. Results are idempotent: the same report
// again changes nothing.
//
// A job is queued until leased; leasing makes a new attempt (attempt + 1)
// running until its lease expires, the agent completes it, or it is
// released. An expired lease puts the job back in the queue with the same
// attempt number; the next lease increments it.
//
// Methods that take an optional OrderTransition apply it in the same
// transaction, so a job and its order never disagree after a crash; pass
// std::nullopt when there is none.
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_JOB_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_JOB_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Queues a job and, when given, applies `order_transition` (for example
  // due -> csr_requested with the prepare job). Errors: NotFound for an
  // unknown host or order; FailedPrecondition for a decommissioned host, a
  // job whose order belongs to another host, or a refused transition (see
  // OrderStore::TransitionOrder); nothing is stored then.
  virtual absl::StatusOr<JobRecord> CreateJob(
      const NewJob& job, const std::optional<OrderTransition>& order_transition) = 0;

  // The job with every attempt and step. NotFound otherwise.
  virtual absl::StatusOr<JobRecord> GetJob(std::string_view job_id) = 0;

  // Jobs matching `query`, newest first, without attempts. InvalidArgument
  // for a bad page token.
  virtual absl::StatusOr<Page<JobRecord>> ListJobs(const JobQuery& query) = 0;

  // Leases the host's oldest queued job whose not_before has passed: a new
  // attempt (attempt + 1) granted at `now` until `lease_expires_at`. Returns
  // an empty optional when nothing is queued. The store does not limit
  // running jobs per host; the dispatcher does.
  virtual absl::StatusOr<std::optional<JobRecord>> LeaseNextJob(std::string_view host_id,
                                                                absl::Time now,
                                                                absl::Time lease_expires_at) = 0;

  // Moves the current attempt's lease end to `lease_expires_at` (never
  // earlier). NotFound for an unknown job; FailedPrecondition "stale attempt
  // N, current is M", or when the attempt is not running.
  virtual absl::StatusOr<JobRecord> ExtendLease(std::string_view job_id, int64_t attempt,
                                                absl::Time lease_expires_at) = 0;

  // Gives the job back to the queue without a result (the agent refused the
  // assignment, e.g. busy); the attempt ends with `reason`. Errors as
  // ExtendLease.
  virtual absl::StatusOr<JobRecord> ReleaseLease(std::string_view job_id, int64_t attempt,
                                                 absl::Time at, std::string_view reason) = 0;

  // Puts every running job whose lease ended at or before `now` back in the
  // queue (attempt unchanged; its attempt ends with "lease expired") and
  // returns them. Indexed, so cheap to call every few seconds.
  virtual absl::StatusOr<std::vector<JobRecord>> ExpireLeases(absl::Time now) = 0;

  // Stores a step report of the current attempt and extends the lease.
  // A repeat of a stored report is a no-op (newly_recorded false); a later
  // report for the same step index replaces it, but a RUNNING report never
  // replaces a finished one. Errors: NotFound for an unknown job;
  // FailedPrecondition "stale attempt N, current is M", or when the attempt
  // is no longer leased (expired, released, or the job finished).
  virtual absl::StatusOr<StepSubmissionResult> RecordStep(const StepSubmission& submission) = 0;

  // Records the result of the current attempt, finishes the job (status from
  // the outcome, lease cleared) and applies `order_transition` when given.
  // Repeating the identical completion changes nothing, applies no
  // transition and returns newly_recorded false. Errors: NotFound for an
  // unknown job; FailedPrecondition "stale attempt N, current is M", when the
  // attempt is not leased, or when this attempt already completed with a
  // different result; a refused transition (nothing is stored then).
  virtual absl::StatusOr<JobCompletionResult> CompleteJob(
      const JobCompletion& completion, const std::optional<OrderTransition>& order_transition) = 0;

  // Cancels a job: a queued job becomes cancelled at once; a running one
  // gets a cancellation request (the agent winds down and completes it as
  // cancelled). A finished job is returned unchanged. NotFound otherwise.
  virtual absl::StatusOr<JobRecord> CancelJob(std::string_view job_id, std::string_view reason,
                                              absl::Time at) = 0;

  // Number of jobs by kind and status, sorted by the kind's then the status's name;
  // combinations without jobs are absent.
  virtual absl::StatusOr<std::vector<JobCountRecord>> CountJobsByKindAndStatus() = 0;

  // Ids of hosts with a queued job leasable at `now`, sorted (to offer work
  // to connected agents after a restart).
  virtual absl::StatusOr<std::vector<std::string>> ListHostsWithQueuedJobs(absl::Time now) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_JOB_STORE_H_
