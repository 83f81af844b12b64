#include "controller/store/sqlite/sqlite_job_store.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/row_codec.h"
#include "controller/store/sqlite/shared_queries.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

// The job and the result of its current attempt.
constexpr char kJobColumns[] =
    "j.job_id, j.host_id, j.order_id, j.kind, j.status, j.spec, j.created_at, j.created_by, "
    "j.not_before, j.attempt, j.lease_granted_at, j.lease_expires_at, j.cancel_requested_at, "
    "j.cancel_reason, j.finished_at, a.result_outcome, a.result_failure, a.result_finished_at, "
    "a.result_detail";
constexpr char kJobFrom[] =
    " FROM jobs j LEFT JOIN job_attempts a ON a.job_id = j.job_id AND a.attempt = j.attempt";

bool IsFinished(JobStatus status) {
  return status != JobStatus::kQueued && status != JobStatus::kRunning;
}

// The result columns from `first` on (outcome, failure, finished_at,
// detail), or an empty optional when the attempt has no result.
absl::StatusOr<std::optional<JobResultRecord>> ResultFromRow(const Statement& row, int first) {
  if (row.ColumnIsNull(first)) return std::optional<JobResultRecord>();
  JobResultRecord result;
  CERTFLEET_STORE_ASSIGN_OR_RETURN(result.outcome, ParseJobOutcome(row.ColumnText(first)));
  result.failure = DecodeFailure(row.ColumnOptionalText(first + 1));
  result.finished_at = row.ColumnTime(first + 2);
  result.detail = row.ColumnBlob(first + 3);
  return std::optional<JobResultRecord>(std::move(result));
}

absl::StatusOr<JobRecord> JobFromRow(const Statement& row) {
  JobRecord job;
  job.job_id = row.ColumnText(0);
  job.host_id = row.ColumnText(1);
  job.order_id = row.ColumnText(2);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(job.kind, ParseJobKind(row.ColumnText(3)));
  CERTFLEET_STORE_ASSIGN_OR_RETURN(job.status, ParseJobStatus(row.ColumnText(4)));
  job.spec = row.ColumnBlob(5);
  job.created_at = row.ColumnTime(6);
  job.created_by = row.ColumnText(7);
  job.not_before = row.ColumnOptionalTime(8);
  job.attempt = row.ColumnInt64(9);
  job.lease_granted_at = row.ColumnOptionalTime(10);
  job.lease_expires_at = row.ColumnOptionalTime(11);
  job.cancel_requested_at = row.ColumnOptionalTime(12);
  job.cancel_reason = row.ColumnText(13);
  job.finished_at = row.ColumnOptionalTime(14);
  if (IsFinished(job.status)) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(job.result, ResultFromRow(row, 15));
  }
  return job;
}

absl::StatusOr<std::vector<JobRecord>> SelectJobs(Database& database, std::string_view sql,
                                                  const WhereClause& where,
                                                  std::optional<int64_t> limit) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(Statement select, database.Prepare(sql));
  int next = where.Bind(select);
  if (limit.has_value()) select.BindInt64(next, *limit);
  std::vector<JobRecord> jobs;
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
    if (!row) break;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, JobFromRow(select));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

absl::StatusOr<JobRecord> LoadJob(Database& database, std::string_view job_id) {
  WhereClause where;
  where.Add("j.job_id = ?", {std::string(job_id)});
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      std::vector<JobRecord> jobs,
      SelectJobs(database, absl::StrCat("SELECT ", kJobColumns, kJobFrom, where.Sql()), where,
                 std::nullopt));
  if (jobs.empty()) {
    return absl::NotFoundError(absl::StrCat("job ", std::string(job_id), " does not exist"));
  }
  return std::move(jobs.front());
}

absl::Status LoadAttempts(Database& database, JobRecord& job) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement attempts,
      database.Prepare("SELECT attempt, started_at, ended_at, ended_reason, result_outcome, "
                       "result_failure, result_finished_at, result_detail FROM job_attempts "
                       "WHERE job_id = ? ORDER BY attempt"));
  attempts.BindText(1, job.job_id);
  std::map<int64_t, size_t> position_of_attempt;
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, attempts.Step());
    if (!row) break;
    JobAttemptRecord attempt;
    attempt.attempt = attempts.ColumnInt64(0);
    attempt.started_at = attempts.ColumnTime(1);
    attempt.ended_at = attempts.ColumnOptionalTime(2);
    attempt.ended_reason = attempts.ColumnText(3);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(attempt.result, ResultFromRow(attempts, 4));
    position_of_attempt[attempt.attempt] = job.attempts.size();
    job.attempts.push_back(std::move(attempt));
  }
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement steps,
      database.Prepare("SELECT attempt, step_index, step, outcome, started_at, finished_at, "
                       "detail, failure, facts FROM job_steps WHERE job_id = ? "
                       "ORDER BY attempt, step_index"));
  steps.BindText(1, job.job_id);
  while (true) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, steps.Step());
    if (!row) break;
    auto found = position_of_attempt.find(steps.ColumnInt64(0));
    if (found == position_of_attempt.end()) continue;
    StepReportRecord step;
    step.step_index = static_cast<int>(steps.ColumnInt64(1));
    step.step = steps.ColumnText(2);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(step.outcome, ParseStepOutcome(steps.ColumnText(3)));
    step.started_at = steps.ColumnTime(4);
    step.finished_at = steps.ColumnOptionalTime(5);
    step.detail = steps.ColumnText(6);
    step.failure = DecodeFailure(steps.ColumnOptionalText(7));
    step.facts = DecodeStringMap(steps.ColumnText(8));
    job.attempts[found->second].steps.push_back(std::move(step));
  }
  return absl::OkStatus();
}

std::string DescribeStatus(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued:
      return "it is queued (its lease expired or was released)";
    case JobStatus::kRunning:
      return "it is running";
    default:
      return absl::StrCat("the job already finished (", std::string(ToString(status)), ")");
  }
}

// OK when `attempt` is the job's current, leased attempt.
absl::Status CheckCurrentAttempt(const JobRecord& job, int64_t attempt) {
  if (attempt != job.attempt) {
    return absl::FailedPreconditionError(absl::StrCat("stale attempt ", attempt, ", current is ",
                                                      job.attempt, " (job ", job.job_id, ")"));
  }
  if (job.status != JobStatus::kRunning) {
    return absl::FailedPreconditionError(
        absl::StrCat("attempt ", attempt, " of job ", job.job_id,
                     " is no longer leased: ", DescribeStatus(job.status)));
  }
  return absl::OkStatus();
}

// Ends the current attempt without a result and puts the job back in the
// queue, or cancels it when cancellation was requested.
absl::Status RequeueIn(Database& database, const JobRecord& job, absl::Time at,
                       std::string_view reason) {
  const bool cancel = job.cancel_requested_at.has_value();
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement update,
      database.Prepare("UPDATE jobs SET status = ?2, lease_granted_at = NULL, "
                       "lease_expires_at = NULL, finished_at = ?3 WHERE job_id = ?1"));
  update.BindText(1, job.job_id)
      .BindText(2, cancel ? "cancelled" : "queued")
      .BindOptionalTime(3, cancel ? std::optional<absl::Time>(at) : std::nullopt);
  CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement end, database.Prepare("UPDATE job_attempts SET ended_at = ?3, ended_reason = ?4 "
                                      "WHERE job_id = ?1 AND attempt = ?2"));
  end.BindText(1, job.job_id).BindInt64(2, job.attempt).BindTime(3, at).BindText(4, reason);
  return end.Run();
}

}  // namespace

absl::Status CancelJobsIn(Database& database, JobOwner owner, std::string_view owner_id,
                          std::string_view reason, absl::Time at) {
  const std::string column = owner == JobOwner::kOrder ? "order_id" : "host_id";
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement queued,
      database.Prepare(absl::StrCat("UPDATE jobs SET status = 'cancelled', finished_at = ?2, "
                                    "cancel_requested_at = ?2, cancel_reason = ?3 WHERE ",
                                    column, " = ?1 AND status = 'queued'")));
  queued.BindText(1, owner_id).BindTime(2, at).BindText(3, reason);
  CERTFLEET_STORE_RETURN_IF_ERROR(queued.Run());
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement running,
      database.Prepare(absl::StrCat("UPDATE jobs SET cancel_requested_at = ?2, cancel_reason = ?3 "
                                    "WHERE ",
                                    column,
                                    " = ?1 AND status = 'running' AND cancel_requested_at IS "
                                    "NULL")));
  running.BindText(1, owner_id).BindTime(2, at).BindText(3, reason);
  return running.Run();
}

absl::StatusOr<JobRecord> SqliteJobStore::CreateJob(
    const NewJob& job, const std::optional<OrderTransition>& order_transition) {
  if (order_transition.has_value() && order_transition->order_id != job.order_id) {
    return absl::InvalidArgumentError(absl::StrCat("the order transition is for order ",
                                                   order_transition->order_id,
                                                   " but the job is for '", job.order_id, "'"));
  }
  const std::string job_id = GenerateId(IdKind::kJob);
  return connection_->Write([&](Database& database) -> absl::StatusOr<JobRecord> {
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadActiveHost(database, job.host_id).status());
    if (!job.order_id.empty()) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(OrderRecord order,
                                       LoadOrder(database, job.order_id, History::kOmit));
      if (order.host_id != job.host_id) {
        return absl::FailedPreconditionError(absl::StrCat(
            "order ", order.order_id, " belongs to host ", order.host_id, ", not ", job.host_id));
      }
    }
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO jobs (job_id, host_id, order_id, kind, status, spec, "
                         "created_at, created_by, not_before) VALUES (?, ?, ?, ?, 'queued', ?, ?, "
                         "?, ?)"));
    insert.BindText(1, job_id).BindText(2, job.host_id);
    if (job.order_id.empty()) {
      insert.BindNull(3);
    } else {
      insert.BindText(3, job.order_id);
    }
    insert.BindText(4, std::string(ToString(job.kind)))
        .BindBlob(5, job.spec)
        .BindTime(6, job.created_at)
        .BindText(7, job.created_by)
        .BindOptionalTime(8, job.not_before);
    CERTFLEET_STORE_RETURN_IF_ERROR(insert.Run());
    if (order_transition.has_value()) {
      CERTFLEET_STORE_RETURN_IF_ERROR(TransitionOrderIn(database, *order_transition).status());
    }
    return LoadJob(database, job_id);
  });
}

absl::StatusOr<JobRecord> SqliteJobStore::GetJob(std::string_view job_id) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<JobRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, job_id));
    CERTFLEET_STORE_RETURN_IF_ERROR(LoadAttempts(database, job));
    return job;
  });
}

absl::StatusOr<Page<JobRecord>> SqliteJobStore::ListJobs(const JobQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(query.page));
  WhereClause where;
  if (!query.host_id.empty()) where.Add("j.host_id = ?", {query.host_id});
  if (!query.order_id.empty()) where.Add("j.order_id = ?", {query.order_id});
  if (query.kind.has_value()) where.Add("j.kind = ?", {std::string(ToString(*query.kind))});
  if (!query.statuses.empty()) {
    std::vector<WhereClause::Parameter> statuses;
    for (JobStatus status : query.statuses) statuses.push_back(std::string(ToString(status)));
    const std::string condition = absl::StrCat("j.status IN (", Placeholders(statuses.size()), ")");
    where.Add(condition, std::move(statuses));
  }
  WhereClause page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("jobs", query.page.page_token));
    if (!position.is_array() || position.size() != 2 || !position[0].is_number_integer() ||
        !position[1].is_string()) {
      return InvalidPageTokenError(query.page.page_token);
    }
    page_where.Add("(j.created_at, j.job_id) < (?, ?)",
                   {position[0].get<int64_t>(), position[1].get<std::string>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<JobRecord>> {
    Page<JobRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM jobs j", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        page.items, SelectJobs(database,
                               absl::StrCat("SELECT ", kJobColumns, kJobFrom, page_where.Sql(),
                                            " ORDER BY j.created_at DESC, j.job_id DESC LIMIT ?"),
                               page_where, page_size + 1));
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      const JobRecord& last = page.items.back();
      page.next_page_token = EncodePageToken(
          "jobs", nlohmann::json::array({sqlite::TimeToStorage(last.created_at), last.job_id}));
    }
    return page;
  });
}

absl::StatusOr<std::optional<JobRecord>> SqliteJobStore::LeaseNextJob(std::string_view host_id,
                                                                      absl::Time now,
                                                                      absl::Time lease_expires_at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<std::optional<JobRecord>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement next,
        database.Prepare("SELECT job_id FROM jobs WHERE host_id = ?1 AND status = 'queued' AND "
                         "(not_before IS NULL OR not_before <= ?2) ORDER BY created_at, job_id "
                         "LIMIT 1"));
    next.BindText(1, host_id).BindTime(2, now);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, next.Step());
    if (!row) return std::optional<JobRecord>();
    const std::string job_id = next.ColumnText(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement lease,
        database.Prepare("UPDATE jobs SET status = 'running', attempt = attempt + 1, "
                         "lease_granted_at = ?2, lease_expires_at = ?3 WHERE job_id = ?1 AND "
                         "status = 'queued' RETURNING attempt"));
    lease.BindText(1, job_id).BindTime(2, now).BindTime(3, lease_expires_at);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(row, lease.Step());
    if (!row) {
      return absl::InternalError(absl::StrCat("job ", job_id, " left the queue while leased"));
    }
    const int64_t attempt = lease.ColumnInt64(0);
    CERTFLEET_STORE_RETURN_IF_ERROR(lease.Run());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement record,
        database.Prepare(
            "INSERT INTO job_attempts (job_id, attempt, started_at) VALUES (?, ?, ?)"));
    record.BindText(1, job_id).BindInt64(2, attempt).BindTime(3, now);
    CERTFLEET_STORE_RETURN_IF_ERROR(record.Run());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, job_id));
    return std::optional<JobRecord>(std::move(job));
  });
}

absl::StatusOr<JobRecord> SqliteJobStore::ExtendLease(std::string_view job_id, int64_t attempt,
                                                      absl::Time lease_expires_at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<JobRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, job_id));
    CERTFLEET_STORE_RETURN_IF_ERROR(CheckCurrentAttempt(job, attempt));
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE jobs SET lease_expires_at = max(lease_expires_at, ?2) "
                         "WHERE job_id = ?1"));
    update.BindText(1, job_id).BindTime(2, lease_expires_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    return LoadJob(database, job_id);
  });
}

absl::StatusOr<JobRecord> SqliteJobStore::ReleaseLease(std::string_view job_id, int64_t attempt,
                                                       absl::Time at, std::string_view reason) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<JobRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, job_id));
    CERTFLEET_STORE_RETURN_IF_ERROR(CheckCurrentAttempt(job, attempt));
    CERTFLEET_STORE_RETURN_IF_ERROR(
        RequeueIn(database, job, at, absl::StrCat("released: ", std::string(reason))));
    return LoadJob(database, job_id);
  });
}

absl::StatusOr<std::vector<JobRecord>> SqliteJobStore::ExpireLeases(absl::Time now) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<std::vector<JobRecord>> {
    WhereClause where;
    where.Add("j.status = 'running' AND j.lease_expires_at <= ?", {sqlite::TimeToStorage(now)});
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        std::vector<JobRecord> expired,
        SelectJobs(database,
                   absl::StrCat("SELECT ", kJobColumns, kJobFrom, where.Sql(),
                                " ORDER BY j.lease_expires_at, j.job_id"),
                   where, std::nullopt));
    std::vector<JobRecord> requeued;
    for (const JobRecord& job : expired) {
      CERTFLEET_STORE_RETURN_IF_ERROR(RequeueIn(
          database, job, now,
          absl::StrCat("lease expired at ", TimeForMessage(job.lease_expires_at.value_or(now)))));
      CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord updated, LoadJob(database, job.job_id));
      requeued.push_back(std::move(updated));
    }
    return requeued;
  });
}

absl::StatusOr<StepSubmissionResult> SqliteJobStore::RecordStep(const StepSubmission& submission) {
  const StepReportRecord& step = submission.step;
  if (step.step_index < 0 || step.step.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a step report needs a step name and a step index of 0 or more; got '",
                     step.step, "' at index ", step.step_index));
  }
  return connection_->Write([&](Database& database) -> absl::StatusOr<StepSubmissionResult> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, submission.job_id));
    CERTFLEET_STORE_RETURN_IF_ERROR(CheckCurrentAttempt(job, submission.attempt));
    StepSubmissionResult result;

    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement existing,
        database.Prepare("SELECT step, outcome, started_at, finished_at, detail, failure, facts "
                         "FROM job_steps WHERE job_id = ? AND attempt = ? AND step_index = ?"));
    existing.BindText(1, job.job_id).BindInt64(2, job.attempt).BindInt64(3, step.step_index);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool found, existing.Step());
    bool write = true;
    bool insert = !found;
    if (found) {
      StepReportRecord stored;
      stored.step_index = step.step_index;
      stored.step = existing.ColumnText(0);
      CERTFLEET_STORE_ASSIGN_OR_RETURN(stored.outcome, ParseStepOutcome(existing.ColumnText(1)));
      stored.started_at = existing.ColumnTime(2);
      stored.finished_at = existing.ColumnOptionalTime(3);
      stored.detail = existing.ColumnText(4);
      stored.failure = DecodeFailure(existing.ColumnOptionalText(5));
      stored.facts = DecodeStringMap(existing.ColumnText(6));
      existing.Reset();
      // A repeat changes nothing; a late RUNNING report never hides a
      // finished step.
      if (stored == step ||
          (step.outcome == StepOutcome::kRunning && stored.outcome != StepOutcome::kRunning)) {
        write = false;
      }
    }
    if (write) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(
          Statement store,
          database.Prepare(
              insert ? "INSERT INTO job_steps (job_id, attempt, step_index, step, outcome, "
                       "started_at, finished_at, detail, failure, facts) VALUES (?1, ?2, ?3, ?4, "
                       "?5, ?6, ?7, ?8, ?9, ?10)"
                     : "UPDATE job_steps SET step = ?4, outcome = ?5, started_at = ?6, "
                       "finished_at = ?7, detail = ?8, failure = ?9, facts = ?10 WHERE job_id = "
                       "?1 AND attempt = ?2 AND step_index = ?3"));
      store.BindText(1, job.job_id)
          .BindInt64(2, job.attempt)
          .BindInt64(3, step.step_index)
          .BindText(4, step.step)
          .BindText(5, std::string(ToString(step.outcome)))
          .BindTime(6, step.started_at)
          .BindOptionalTime(7, step.finished_at)
          .BindText(8, step.detail)
          .BindOptionalText(9, EncodeFailure(step.failure))
          .BindText(10, EncodeStringMap(step.facts));
      CERTFLEET_STORE_RETURN_IF_ERROR(store.Run());
    }
    result.newly_recorded = write;

    // Any report shows the agent is alive: extend the lease even for a
    // repeat.
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement extend,
        database.Prepare("UPDATE jobs SET lease_expires_at = max(lease_expires_at, ?2) WHERE "
                         "job_id = ?1 RETURNING lease_expires_at"));
    extend.BindText(1, job.job_id).BindTime(2, submission.lease_expires_at);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, extend.Step());
    if (row) result.lease_expires_at = extend.ColumnTime(0);
    CERTFLEET_STORE_RETURN_IF_ERROR(extend.Run());
    result.cancellation_requested = job.cancel_requested_at.has_value();
    return result;
  });
}

absl::StatusOr<JobCompletionResult> SqliteJobStore::CompleteJob(
    const JobCompletion& completion, const std::optional<OrderTransition>& order_transition) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<JobCompletionResult> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, completion.job_id));
    JobCompletionResult result;
    if (IsFinished(job.status) && completion.attempt == job.attempt && job.result.has_value()) {
      if (*job.result == completion.result) {
        result.newly_recorded = false;
        result.job = std::move(job);
        return result;
      }
      return absl::FailedPreconditionError(
          absl::StrCat("attempt ", completion.attempt, " of job ", job.job_id,
                       " already completed with outcome ",
                       std::string(ToString(job.result->outcome)), "; a different result (",
                       std::string(ToString(completion.result.outcome)), ") cannot replace it"));
    }
    CERTFLEET_STORE_RETURN_IF_ERROR(CheckCurrentAttempt(job, completion.attempt));
    if (!job.order_id.empty() && order_transition.has_value() &&
        order_transition->order_id != job.order_id) {
      return absl::InvalidArgumentError(absl::StrCat("job ", job.job_id, " serves order ",
                                                     job.order_id, ", not ",
                                                     order_transition->order_id));
    }
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement finish,
        database.Prepare("UPDATE jobs SET status = ?2, finished_at = ?3, lease_expires_at = NULL "
                         "WHERE job_id = ?1"));
    finish.BindText(1, job.job_id)
        .BindText(2, std::string(ToString(JobStatusForOutcome(completion.result.outcome))))
        .BindTime(3, completion.received_at);
    CERTFLEET_STORE_RETURN_IF_ERROR(finish.Run());
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement record,
        database.Prepare("UPDATE job_attempts SET ended_at = ?3, result_outcome = ?4, "
                         "result_failure = ?5, result_finished_at = ?6, result_detail = ?7 "
                         "WHERE job_id = ?1 AND attempt = ?2"));
    record.BindText(1, job.job_id)
        .BindInt64(2, job.attempt)
        .BindTime(3, completion.received_at)
        .BindText(4, std::string(ToString(completion.result.outcome)))
        .BindOptionalText(5, EncodeFailure(completion.result.failure))
        .BindTime(6, completion.result.finished_at)
        .BindBlob(7, completion.result.detail);
    CERTFLEET_STORE_RETURN_IF_ERROR(record.Run());
    if (order_transition.has_value()) {
      CERTFLEET_STORE_RETURN_IF_ERROR(TransitionOrderIn(database, *order_transition).status());
    }
    result.newly_recorded = true;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(result.job, LoadJob(database, job.job_id));
    return result;
  });
}

absl::StatusOr<JobRecord> SqliteJobStore::CancelJob(std::string_view job_id,
                                                    std::string_view reason, absl::Time at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<JobRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JobRecord job, LoadJob(database, job_id));
    if (IsFinished(job.status)) return job;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare(job.status == JobStatus::kQueued
                             ? "UPDATE jobs SET status = 'cancelled', finished_at = ?2, "
                               "cancel_requested_at = ?2, cancel_reason = ?3 WHERE job_id = ?1"
                             : "UPDATE jobs SET cancel_requested_at = coalesce("
                               "cancel_requested_at, ?2), cancel_reason = ?3 WHERE job_id = ?1"));
    update.BindText(1, job_id).BindTime(2, at).BindText(3, reason);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    return LoadJob(database, job_id);
  });
}

absl::StatusOr<std::vector<std::string>> SqliteJobStore::ListHostsWithQueuedJobs(absl::Time now) {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<std::string>> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select,
        database.Prepare("SELECT DISTINCT host_id FROM jobs WHERE status = 'queued' AND "
                         "(not_before IS NULL OR not_before <= ?) ORDER BY host_id"));
    select.BindTime(1, now);
    std::vector<std::string> host_ids;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      host_ids.push_back(select.ColumnText(0));
    }
    return host_ids;
  });
}

absl::StatusOr<std::vector<JobCountRecord>> SqliteJobStore::CountJobsByKindAndStatus() {
  return connection_->Read([&](Database& database) -> absl::StatusOr<std::vector<JobCountRecord>> {
    // Answered from jobs_by_kind_status alone.
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare("SELECT kind, status, count(*) FROM jobs GROUP BY "
                                           "kind, status ORDER BY kind, status"));
    std::vector<JobCountRecord> counts;
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      JobCountRecord count;
      CERTFLEET_STORE_ASSIGN_OR_RETURN(count.kind, ParseJobKind(select.ColumnText(0)));
      CERTFLEET_STORE_ASSIGN_OR_RETURN(count.status, ParseJobStatus(select.ColumnText(1)));
      count.count = select.ColumnInt64(2);
      counts.push_back(count);
    }
    return counts;
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
