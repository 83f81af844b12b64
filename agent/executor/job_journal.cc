#include "agent/executor/job_journal.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sqlite/migration.h"
#include "common/sqlite/statement.h"
#include "common/sqlite/transaction.h"

namespace certfleet::agent {
namespace {

constexpr std::string_view kInitialSchema = R"sql(
CREATE TABLE jobs (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  kind TEXT NOT NULL,
  spec BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'rolled_back')),
  detail TEXT NOT NULL DEFAULT '',
  result_reported INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (job_id, attempt)
);
CREATE INDEX jobs_by_state ON jobs (state, created);
CREATE TABLE job_steps (
  record_id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  step_index INTEGER NOT NULL,
  name TEXT NOT NULL,
  started INTEGER NOT NULL,
  finished INTEGER,
  outcome TEXT CHECK (outcome IS NULL OR outcome IN ('succeeded', 'failed', 'skipped')),
  detail TEXT NOT NULL DEFAULT '',
  FOREIGN KEY (job_id, attempt) REFERENCES jobs (job_id, attempt) ON DELETE CASCADE
);
CREATE INDEX job_steps_by_job ON job_steps (job_id, attempt, record_id);
CREATE TABLE job_values (
  job_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  key TEXT NOT NULL,
  value BLOB NOT NULL,
  PRIMARY KEY (job_id, attempt, key),
  FOREIGN KEY (job_id, attempt) REFERENCES jobs (job_id, attempt) ON DELETE CASCADE
);
)sql";

constexpr std::array<sqlite::Migration, 1> kMigrations = {{
    {.version = 1, .description = "job journal: jobs, steps, values", .sql = kInitialSchema},
}};

absl::StatusOr<JobState> ParseJobState(std::string_view text) {
  for (JobState state :
       {JobState::kRunning, JobState::kSucceeded, JobState::kFailed, JobState::kRolledBack}) {
    if (JobStateName(state) == text) return state;
  }
  return absl::DataLossError(absl::StrCat("unknown job state in the journal: ", std::string(text)));
}

absl::StatusOr<StepOutcome> ParseStepOutcome(std::string_view text) {
  for (StepOutcome outcome :
       {StepOutcome::kSucceeded, StepOutcome::kFailed, StepOutcome::kSkipped}) {
    if (StepOutcomeName(outcome) == text) return outcome;
  }
  return absl::DataLossError(
      absl::StrCat("unknown step outcome in the journal: ", std::string(text)));
}

absl::Status JobNotFound(std::string_view job_id, int attempt) {
  return absl::NotFoundError(
      absl::StrCat("job ", std::string(job_id), " attempt ", attempt, " is not in the journal"));
}

}  // namespace

std::string_view JobStateName(JobState state) {
  switch (state) {
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kRolledBack:
      return "rolled_back";
  }
  return "unknown";
}

std::string_view StepOutcomeName(StepOutcome outcome) {
  switch (outcome) {
    case StepOutcome::kSucceeded:
      return "succeeded";
    case StepOutcome::kFailed:
      return "failed";
    case StepOutcome::kSkipped:
      return "skipped";
  }
  return "unknown";
}

absl::StatusOr<std::unique_ptr<JobJournal>> JobJournal::Open(std::string_view path) {
  absl::StatusOr<std::unique_ptr<sqlite::Database>> database = sqlite::Database::Open(path);
  if (!database.ok()) return database.status();
  absl::StatusOr<sqlite::MigrationReport> report = sqlite::ApplyMigrations(**database, kMigrations);
  if (!report.ok()) return report.status();
  return std::unique_ptr<JobJournal>(new JobJournal(std::move(*database)));
}

absl::Status JobJournal::BeginJob(std::string_view job_id, int attempt, std::string_view kind,
                                  std::string_view spec, absl::Time now) {
  if (job_id.empty() || kind.empty()) {
    return absl::InvalidArgumentError("a job needs a non-empty id and kind");
  }
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "INSERT INTO jobs (job_id, attempt, kind, spec, state, created, updated) "
      "VALUES (?, ?, ?, ?, 'running', ?, ?)");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id)
      .BindInt64(2, attempt)
      .BindText(3, kind)
      .BindBlob(4, spec)
      .BindTime(5, now)
      .BindTime(6, now);
  return statement->Run();
}

absl::StatusOr<std::vector<JobRecord>> JobJournal::QueryJobs(std::string_view where_clause) {
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(absl::StrCat(
      "SELECT job_id, attempt, kind, spec, state, detail, result_reported, created, updated "
      "FROM jobs WHERE ",
      std::string(where_clause), " ORDER BY created, job_id, attempt"));
  if (!statement.ok()) return statement.status();
  std::vector<JobRecord> jobs;
  while (true) {
    absl::StatusOr<bool> row = statement->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    absl::StatusOr<JobState> state = ParseJobState(statement->ColumnText(4));
    if (!state.ok()) return state.status();
    jobs.push_back(JobRecord{.job_id = statement->ColumnText(0),
                             .attempt = static_cast<int>(statement->ColumnInt64(1)),
                             .kind = statement->ColumnText(2),
                             .spec = statement->ColumnBlob(3),
                             .state = *state,
                             .detail = statement->ColumnText(5),
                             .result_reported = statement->ColumnBool(6),
                             .created = statement->ColumnTime(7),
                             .updated = statement->ColumnTime(8)});
  }
  return jobs;
}

absl::StatusOr<JobRecord> JobJournal::GetJob(std::string_view job_id, int attempt) {
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "SELECT kind, spec, state, detail, result_reported, created, updated "
      "FROM jobs WHERE job_id = ? AND attempt = ?");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id).BindInt64(2, attempt);
  absl::StatusOr<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return JobNotFound(job_id, attempt);
  absl::StatusOr<JobState> state = ParseJobState(statement->ColumnText(2));
  if (!state.ok()) return state.status();
  return JobRecord{.job_id = std::string(job_id),
                   .attempt = attempt,
                   .kind = statement->ColumnText(0),
                   .spec = statement->ColumnBlob(1),
                   .state = *state,
                   .detail = statement->ColumnText(3),
                   .result_reported = statement->ColumnBool(4),
                   .created = statement->ColumnTime(5),
                   .updated = statement->ColumnTime(6)};
}

absl::StatusOr<int64_t> JobJournal::StartStep(std::string_view job_id, int attempt, int index,
                                              std::string_view name, absl::Time now) {
  absl::StatusOr<JobRecord> job = GetJob(job_id, attempt);
  if (!job.ok()) return job.status();
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "INSERT INTO job_steps (job_id, attempt, step_index, name, started) VALUES (?, ?, ?, ?, ?)");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id)
      .BindInt64(2, attempt)
      .BindInt64(3, index)
      .BindText(4, name)
      .BindTime(5, now);
  if (absl::Status status = statement->Run(); !status.ok()) return status;
  return database_->LastInsertRowId();
}

absl::Status JobJournal::FinishStep(int64_t record_id, StepOutcome outcome, std::string_view detail,
                                    absl::Time now) {
  absl::StatusOr<sqlite::Statement> query =
      database_->Prepare("SELECT outcome IS NOT NULL FROM job_steps WHERE record_id = ?");
  if (!query.ok()) return query.status();
  query->BindInt64(1, record_id);
  absl::StatusOr<bool> row = query->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("no step record ", record_id));
  if (query->ColumnBool(0)) {
    return absl::FailedPreconditionError(
        absl::StrCat("step record ", record_id, " is finished already"));
  }
  query->Reset();
  absl::StatusOr<sqlite::Statement> update = database_->Prepare(
      "UPDATE job_steps SET finished = ?, outcome = ?, detail = ? WHERE record_id = ?");
  if (!update.ok()) return update.status();
  update->BindTime(1, now)
      .BindText(2, StepOutcomeName(outcome))
      .BindText(3, detail)
      .BindInt64(4, record_id);
  return update->Run();
}

absl::StatusOr<std::vector<StepRecord>> JobJournal::Steps(std::string_view job_id, int attempt) {
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "SELECT record_id, step_index, name, started, finished, outcome, detail FROM job_steps "
      "WHERE job_id = ? AND attempt = ? ORDER BY record_id");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id).BindInt64(2, attempt);
  std::vector<StepRecord> steps;
  while (true) {
    absl::StatusOr<bool> row = statement->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StepRecord step{.record_id = statement->ColumnInt64(0),
                    .job_id = std::string(job_id),
                    .attempt = attempt,
                    .name = statement->ColumnText(2),
                    .index = static_cast<int>(statement->ColumnInt64(1)),
                    .started = statement->ColumnTime(3),
                    .finished = statement->ColumnOptionalTime(4),
                    .outcome = std::nullopt,
                    .detail = statement->ColumnText(6)};
    if (std::optional<std::string> outcome = statement->ColumnOptionalText(5); outcome) {
      absl::StatusOr<StepOutcome> parsed = ParseStepOutcome(*outcome);
      if (!parsed.ok()) return parsed.status();
      step.outcome = *parsed;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

absl::StatusOr<bool> JobJournal::StepDone(std::string_view job_id, int attempt,
                                          std::string_view name) {
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "SELECT outcome FROM job_steps WHERE job_id = ? AND attempt = ? AND name = ? "
      "ORDER BY record_id DESC LIMIT 1");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id).BindInt64(2, attempt).BindText(3, name);
  absl::StatusOr<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return false;
  const std::string outcome = statement->ColumnText(0);
  return outcome == StepOutcomeName(StepOutcome::kSucceeded) ||
         outcome == StepOutcomeName(StepOutcome::kSkipped);
}

absl::Status JobJournal::SetValue(std::string_view job_id, int attempt, std::string_view key,
                                  std::string_view value) {
  absl::StatusOr<JobRecord> job = GetJob(job_id, attempt);
  if (!job.ok()) return job.status();
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "INSERT INTO job_values (job_id, attempt, key, value) VALUES (?, ?, ?, ?) "
      "ON CONFLICT (job_id, attempt, key) DO UPDATE SET value = excluded.value");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id).BindInt64(2, attempt).BindText(3, key).BindBlob(4, value);
  return statement->Run();
}

absl::StatusOr<std::optional<std::string>> JobJournal::GetValue(std::string_view job_id,
                                                                int attempt, std::string_view key) {
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "SELECT value FROM job_values WHERE job_id = ? AND attempt = ? AND key = ?");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id).BindInt64(2, attempt).BindText(3, key);
  absl::StatusOr<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(statement->ColumnBlob(0));
}

absl::Status JobJournal::FinishJob(std::string_view job_id, int attempt, JobState state,
                                   std::string_view detail, absl::Time now) {
  if (state == JobState::kRunning) {
    return absl::InvalidArgumentError("FinishJob needs a final state, not running");
  }
  absl::StatusOr<sqlite::Statement> statement = database_->Prepare(
      "UPDATE jobs SET state = ?, detail = ?, updated = ? WHERE job_id = ? AND attempt = ?");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, JobStateName(state))
      .BindText(2, detail)
      .BindTime(3, now)
      .BindText(4, job_id)
      .BindInt64(5, attempt);
  if (absl::Status status = statement->Run(); !status.ok()) return status;
  if (database_->ChangedRows() == 0) return JobNotFound(job_id, attempt);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<JobRecord>> JobJournal::UnfinishedJobs() {
  return QueryJobs("state = 'running'");
}

absl::StatusOr<std::vector<JobRecord>> JobJournal::UnreportedJobs() {
  return QueryJobs("state <> 'running' AND result_reported = 0");
}

absl::Status JobJournal::MarkResultReported(std::string_view job_id, int attempt) {
  absl::StatusOr<JobRecord> job = GetJob(job_id, attempt);
  if (!job.ok()) return job.status();
  if (job->state == JobState::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat("job ", std::string(job_id), " attempt ",
                                                      attempt, " still runs: no result to report"));
  }
  absl::StatusOr<sqlite::Statement> statement =
      database_->Prepare("UPDATE jobs SET result_reported = 1 WHERE job_id = ? AND attempt = ?");
  if (!statement.ok()) return statement.status();
  statement->BindText(1, job_id).BindInt64(2, attempt);
  return statement->Run();
}

}  // namespace certfleet::agent
