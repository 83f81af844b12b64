// The agent's durable local record of the jobs it runs: a SQLite database in
// WAL mode (common/sqlite) holding each job (id, attempt, kind, its order as
// opaque bytes, state) and each step run for it, written BEFORE the step
// touches the host (started, no outcome) and AFTER it (finished, outcome,
// detail). After a crash the journal says which job was under way and how
// far it got; the executor then compares that with the host's real state.
// Small facts learned while running (the previous thumbprint of a site) are
// kept as named values of the job.
//
// Thread safety: a JobJournal is used by one thread at a time (the agent
// runs one job per host). Two processes may open the same file; SQLite's
// locking serializes their writes.

#ifndef CERTFLEET_AGENT_EXECUTOR_JOB_JOURNAL_H_
#define CERTFLEET_AGENT_EXECUTOR_JOB_JOURNAL_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sqlite/database.h"

namespace certfleet::agent {

enum class JobState {
  kRunning,     // Started and not finished: to be resumed after a restart.
  kSucceeded,   // Every step done and verified.
  kFailed,      // Stopped; the site's binding was not changed (or restored
                // without a verification).
  kRolledBack,  // The new certificate failed verification and the previous
                // binding is served again.
};

enum class StepOutcome { kSucceeded, kFailed, kSkipped };

// "running", "succeeded", "failed", "rolled_back".
std::string_view JobStateName(JobState state);
// "succeeded", "failed", "skipped".
std::string_view StepOutcomeName(StepOutcome outcome);

struct JobRecord {
  std::string job_id;
  int attempt = 0;
  // "prepare" or "deploy".
  std::string kind;
  // The order as the executor encoded it.
  std::string spec;
  JobState state = JobState::kRunning;
  // Why the job ended as it did, for a person.
  std::string detail;
  bool result_reported = false;
  absl::Time created;
  absl::Time updated;
};

struct StepRecord {
  // Unique in the journal; FinishStep takes it.
  int64_t record_id = 0;
  std::string job_id;
  int attempt = 0;
  std::string name;
  // The step's place in its job's sequence.
  int index = 0;
  absl::Time started;
  std::optional<absl::Time> finished;
  // Empty while the step runs (or when the process died during it).
  std::optional<StepOutcome> outcome;
  std::string detail;
};

class JobJournal {
 public:
  // Opens (creating when missing) the journal at `path`, or an in-memory one
  // for sqlite::kInMemoryPath, and migrates its schema. Errors as
  // sqlite::Database::Open and sqlite::ApplyMigrations.
  static absl::StatusOr<std::unique_ptr<JobJournal>> Open(std::string_view path);

  // Records a new running job. Returns AlreadyExists when (job_id, attempt)
  // is in the journal already, InvalidArgument for an empty id or kind.
  absl::Status BeginJob(std::string_view job_id, int attempt, std::string_view kind,
                        std::string_view spec, absl::Time now);

  // The job; NotFound when it is not in the journal.
  absl::StatusOr<JobRecord> GetJob(std::string_view job_id, int attempt);

  // Records that step `index` named `name` starts now, before it runs.
  // Returns the record id for FinishStep; NotFound for an unknown job.
  absl::StatusOr<int64_t> StartStep(std::string_view job_id, int attempt, int index,
                                    std::string_view name, absl::Time now);

  // Records the outcome of a started step. NotFound for an unknown record,
  // FailedPrecondition when it was finished already.
  absl::Status FinishStep(int64_t record_id, StepOutcome outcome, std::string_view detail,
                          absl::Time now);

  // Every step record of the job in the order they were started (a step run
  // again after a restart appears twice).
  absl::StatusOr<std::vector<StepRecord>> Steps(std::string_view job_id, int attempt);

  // Whether the last record of step `name` of the job finished with
  // kSucceeded or kSkipped.
  absl::StatusOr<bool> StepDone(std::string_view job_id, int attempt, std::string_view name);

  // Sets (or replaces) a named value of the job. NotFound for an unknown job.
  absl::Status SetValue(std::string_view job_id, int attempt, std::string_view key,
                        std::string_view value);

  // A named value of the job, or nullopt when it was never set.
  absl::StatusOr<std::optional<std::string>> GetValue(std::string_view job_id, int attempt,
                                                      std::string_view key);

  // Ends the job with `state` (not kRunning: InvalidArgument) and a reason.
  // NotFound for an unknown job.
  absl::Status FinishJob(std::string_view job_id, int attempt, JobState state,
                         std::string_view detail, absl::Time now);

  // Jobs still kRunning, oldest first: what a restarted agent must resume.
  absl::StatusOr<std::vector<JobRecord>> UnfinishedJobs();

  // Finished jobs whose result was not yet marked reported, oldest first.
  absl::StatusOr<std::vector<JobRecord>> UnreportedJobs();

  // Records that the controller has the job's result. NotFound for an
  // unknown job, FailedPrecondition while it still runs.
  absl::Status MarkResultReported(std::string_view job_id, int attempt);

 private:
  explicit JobJournal(std::unique_ptr<sqlite::Database> database)
      : database_(std::move(database)) {}

  absl::StatusOr<std::vector<JobRecord>> QueryJobs(std::string_view where_clause);

  std::unique_ptr<sqlite::Database> database_;
};

}  // namespace certfleet::agent

#endif  // CERTFLEET_AGENT_EXECUTOR_JOB_JOURNAL_H_
