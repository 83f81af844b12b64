// Jobs: leases with attempt numbers as fencing tokens, lease expiry, step
// reports, idempotent completion, and atomic order transitions.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr absl::Duration kLease = absl::Seconds(60);

class JobStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    host_ = Enroll("web-01.example.com");
  }

  JobStore& jobs() { return store().jobs(); }

  JobRecord Queue(JobKind kind = JobKind::kInventory, std::string order_id = "") {
    NewJob job;
    job.host_id = host_.host_id;
    job.order_id = std::move(order_id);
    job.kind = kind;
    job.spec = std::string("\x0a\x00", 2);
    job.created_at = now();
    job.created_by = "scheduler";
    absl::StatusOr<JobRecord> created = jobs().CreateJob(job, std::nullopt);
    EXPECT_THAT(created, IsOk());
    return created.ok() ? *created : JobRecord();
  }

  JobRecord Lease() {
    absl::StatusOr<std::optional<JobRecord>> leased =
        jobs().LeaseNextJob(host_.host_id, now(), now() + kLease);
    EXPECT_THAT(leased, IsOk());
    EXPECT_TRUE(leased.ok() && leased->has_value());
    return leased.ok() && leased->has_value() ? **leased : JobRecord();
  }

  StepSubmission Step(const JobRecord& job, int64_t attempt, int index, StepOutcome outcome) {
    StepSubmission submission;
    submission.job_id = job.job_id;
    submission.attempt = attempt;
    submission.step.step_index = index;
    submission.step.step = "SCAN_INVENTORY";
    submission.step.outcome = outcome;
    submission.step.started_at = now();
    if (outcome != StepOutcome::kRunning) submission.step.finished_at = now() + absl::Seconds(2);
    submission.step.detail = "scanned 3 sites";
    submission.step.facts = {{"sites", "3"}};
    submission.lease_expires_at = now() + kLease;
    return submission;
  }

  JobCompletion Completion(const JobRecord& job, int64_t attempt, JobOutcome outcome) {
    JobCompletion completion;
    completion.job_id = job.job_id;
    completion.attempt = attempt;
    completion.result.outcome = outcome;
    completion.result.finished_at = now();
    completion.result.detail = "result-bytes";
    if (outcome != JobOutcome::kSucceeded) {
      completion.result.failure = FailureRecord{"FAILURE_CODE_IO", "disk full", true, ""};
    }
    completion.received_at = now();
    return completion;
  }

  HostRecord host_;
};

TEST_F(JobStoreTest, CreatedJobIsQueuedWithAttemptZero) {
  JobRecord job = Queue();
  EXPECT_TRUE(LooksLikeId(IdKind::kJob, job.job_id));
  EXPECT_EQ(job.status, JobStatus::kQueued);
  EXPECT_EQ(job.attempt, 0);
  EXPECT_EQ(job.kind, JobKind::kInventory);
  EXPECT_EQ(job.spec, std::string("\x0a\x00", 2));
  EXPECT_EQ(job.lease_expires_at, std::nullopt);
}

TEST_F(JobStoreTest, CreateRefusesUnknownHostsAndOrdersOfOtherHosts) {
  NewJob job;
  job.host_id = "host-unknown";
  job.created_at = now();
  EXPECT_THAT(jobs().CreateJob(job, std::nullopt), StatusIs(absl::StatusCode::kNotFound));
  HostRecord other = Enroll("web-02");
  NewOrder order;
  order.host_id = other.host_id;
  order.site_id = "1";
  order.binding_id = "1";
  order.created_at = now();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord foreign, store().orders().CreateOrder(order));
  job.host_id = host_.host_id;
  job.order_id = foreign.order_id;
  EXPECT_THAT(jobs().CreateJob(job, std::nullopt),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("belongs to host"), HasSubstr(other.host_id))));
  job.order_id = "order-unknown";
  EXPECT_THAT(jobs().CreateJob(job, std::nullopt), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobStoreTest, LeaseTakesTheOldestQueuedJobAndIncrementsTheAttempt) {
  JobRecord first = Queue();
  Advance(absl::Seconds(1));
  JobRecord second = Queue(JobKind::kProbe);
  JobRecord leased = Lease();
  EXPECT_EQ(leased.job_id, first.job_id);
  EXPECT_EQ(leased.status, JobStatus::kRunning);
  EXPECT_EQ(leased.attempt, 1);
  EXPECT_EQ(leased.lease_granted_at, now());
  EXPECT_EQ(leased.lease_expires_at, now() + kLease);
  EXPECT_EQ(Lease().job_id, second.job_id);
  EXPECT_THAT(jobs().LeaseNextJob(host_.host_id, now(), now() + kLease),
              IsOkAndHolds(::testing::Eq(std::nullopt)));
}

TEST_F(JobStoreTest, NotBeforeDelaysLeasing) {
  NewJob job;
  job.host_id = host_.host_id;
  job.kind = JobKind::kDeploy;
  job.created_at = now();
  job.not_before = now() + absl::Hours(2);
  ASSERT_THAT(jobs().CreateJob(job, std::nullopt), IsOk());
  EXPECT_THAT(jobs().LeaseNextJob(host_.host_id, now(), now() + kLease),
              IsOkAndHolds(::testing::Eq(std::nullopt)));
  EXPECT_THAT(jobs().ListHostsWithQueuedJobs(now()), IsOkAndHolds(IsEmpty()));
  Advance(absl::Hours(2));
  EXPECT_THAT(jobs().ListHostsWithQueuedJobs(now()), IsOkAndHolds(ElementsAre(host_.host_id)));
  EXPECT_EQ(Lease().kind, JobKind::kDeploy);
}

TEST_F(JobStoreTest, ExpiredLeaseReturnsTheJobToTheQueueAndTheNextLeaseIsANewAttempt) {
  JobRecord job = Queue();
  ASSERT_EQ(Lease().attempt, 1);
  Advance(kLease - absl::Seconds(1));
  EXPECT_THAT(jobs().ExpireLeases(now()), IsOkAndHolds(IsEmpty()));
  Advance(absl::Seconds(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<JobRecord> expired, jobs().ExpireLeases(now()));
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].job_id, job.job_id);
  EXPECT_EQ(expired[0].status, JobStatus::kQueued);
  EXPECT_EQ(expired[0].attempt, 1);  // Unchanged until the next lease.
  EXPECT_EQ(expired[0].lease_expires_at, std::nullopt);

  // The old attempt can no longer report.
  EXPECT_THAT(jobs().RecordStep(Step(job, 1, 0, StepOutcome::kRunning)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no longer leased")));

  JobRecord again = Lease();
  EXPECT_EQ(again.job_id, job.job_id);
  EXPECT_EQ(again.attempt, 2);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord full, jobs().GetJob(job.job_id));
  ASSERT_EQ(full.attempts.size(), 2u);
  EXPECT_EQ(full.attempts[0].ended_at, Start() + kLease);
  EXPECT_THAT(full.attempts[0].ended_reason, HasSubstr("lease expired at"));
  EXPECT_EQ(full.attempts[1].ended_at, std::nullopt);
}

TEST_F(JobStoreTest, StaleAttemptIsRefusedNamingBothAttempts) {
  JobRecord job = Queue();
  Lease();
  Advance(kLease);
  ASSERT_THAT(jobs().ExpireLeases(now()), IsOk());
  Lease();  // Attempt 2.
  EXPECT_THAT(
      jobs().RecordStep(Step(job, 1, 0, StepOutcome::kSucceeded)),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stale attempt 1, current is 2")));
  EXPECT_THAT(
      jobs().CompleteJob(Completion(job, 1, JobOutcome::kSucceeded), std::nullopt),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stale attempt 1, current is 2")));
  EXPECT_THAT(
      jobs().ExtendLease(job.job_id, 1, now() + kLease),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("stale attempt 1, current is 2")));
  EXPECT_THAT(jobs().RecordStep(Step(job, 2, 0, StepOutcome::kRunning)), IsOk());
  JobRecord unknown;
  unknown.job_id = "job-unknown";
  EXPECT_THAT(jobs().RecordStep(Step(unknown, 1, 0, StepOutcome::kRunning)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("job-unknown")));
}

TEST_F(JobStoreTest, StepReportsAreStoredRepeatsAreNoOpsAndLeasesExtend) {
  JobRecord job = Queue();
  Lease();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(StepSubmissionResult running,
                                 jobs().RecordStep(Step(job, 1, 0, StepOutcome::kRunning)));
  EXPECT_TRUE(running.newly_recorded);
  EXPECT_FALSE(running.cancellation_requested);
  Advance(absl::Seconds(20));
  StepSubmission finished = Step(job, 1, 0, StepOutcome::kSucceeded);
  finished.step.started_at = Start();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(StepSubmissionResult succeeded, jobs().RecordStep(finished));
  EXPECT_TRUE(succeeded.newly_recorded);
  EXPECT_EQ(succeeded.lease_expires_at, now() + kLease);
  // The same report again changes nothing.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(StepSubmissionResult repeat, jobs().RecordStep(finished));
  EXPECT_FALSE(repeat.newly_recorded);
  // A late RUNNING report does not hide the finished step.
  StepSubmission late = Step(job, 1, 0, StepOutcome::kRunning);
  EXPECT_THAT(jobs().RecordStep(late),
              IsOkAndHolds(::testing::Field(&StepSubmissionResult::newly_recorded, false)));
  StepSubmission second = Step(job, 1, 1, StepOutcome::kFailed);
  second.step.step = "VERIFY";
  second.step.failure = FailureRecord{"FAILURE_CODE_VERIFICATION", "old certificate served", true,
                                      std::string("\x01\x02", 2)};
  ASSERT_THAT(jobs().RecordStep(second), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord full, jobs().GetJob(job.job_id));
  ASSERT_EQ(full.attempts.size(), 1u);
  ASSERT_EQ(full.attempts[0].steps.size(), 2u);
  EXPECT_EQ(full.attempts[0].steps[0], finished.step);
  EXPECT_EQ(full.attempts[0].steps[1], second.step);
  EXPECT_EQ(full.lease_expires_at, now() + kLease);
  // A shorter lease in a report never shortens it.
  StepSubmission shorter = Step(job, 1, 2, StepOutcome::kRunning);
  shorter.lease_expires_at = now();
  EXPECT_THAT(
      jobs().RecordStep(shorter),
      IsOkAndHolds(::testing::Field(&StepSubmissionResult::lease_expires_at, now() + kLease)));
}

TEST_F(JobStoreTest, RepeatedCompletionIsIdempotentAndADifferentResultIsRefused) {
  JobRecord job = Queue();
  Lease();
  Advance(absl::Seconds(10));
  const JobCompletion completion = Completion(job, 1, JobOutcome::kSucceeded);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobCompletionResult first,
                                 jobs().CompleteJob(completion, std::nullopt));
  EXPECT_TRUE(first.newly_recorded);
  EXPECT_EQ(first.job.status, JobStatus::kSucceeded);
  EXPECT_EQ(first.job.finished_at, now());
  EXPECT_EQ(first.job.lease_expires_at, std::nullopt);
  ASSERT_TRUE(first.job.result.has_value());
  EXPECT_EQ(*first.job.result, completion.result);

  Advance(absl::Seconds(10));
  JobCompletion repeat = completion;
  repeat.received_at = now();  // Arrives later; the result itself is identical.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobCompletionResult second,
                                 jobs().CompleteJob(repeat, std::nullopt));
  EXPECT_FALSE(second.newly_recorded);
  EXPECT_EQ(second.job.finished_at, Start() + absl::Seconds(10));

  JobCompletion different = completion;
  different.result.outcome = JobOutcome::kFailed;
  EXPECT_THAT(jobs().CompleteJob(different, std::nullopt),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("already completed with outcome succeeded"),
                             HasSubstr("(failed) cannot replace it"))));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord stored, jobs().GetJob(job.job_id));
  EXPECT_EQ(stored.status, JobStatus::kSucceeded);
  EXPECT_EQ(stored.attempts[0].result, completion.result);
  EXPECT_THAT(jobs().RecordStep(Step(job, 1, 5, StepOutcome::kRunning)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already finished")));
}

TEST_F(JobStoreTest, ReleasedLeaseGoesBackToTheQueue) {
  JobRecord job = Queue();
  Lease();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord released,
                                 jobs().ReleaseLease(job.job_id, 1, now(), "agent busy"));
  EXPECT_EQ(released.status, JobStatus::kQueued);
  EXPECT_EQ(Lease().attempt, 2);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord full, jobs().GetJob(job.job_id));
  EXPECT_EQ(full.attempts[0].ended_reason, "released: agent busy");
}

TEST_F(JobStoreTest, CancellationOfQueuedAndRunningJobs) {
  JobRecord queued = Queue();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord cancelled,
                                 jobs().CancelJob(queued.job_id, "operator", now()));
  EXPECT_EQ(cancelled.status, JobStatus::kCancelled);
  EXPECT_EQ(cancelled.finished_at, now());

  JobRecord running = Queue();
  Lease();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord asked, jobs().CancelJob(running.job_id, "abort", now()));
  EXPECT_EQ(asked.status, JobStatus::kRunning);
  EXPECT_EQ(asked.cancel_requested_at, now());
  EXPECT_THAT(jobs().RecordStep(Step(running, 1, 0, StepOutcome::kRunning)),
              IsOkAndHolds(::testing::Field(&StepSubmissionResult::cancellation_requested, true)));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      JobCompletionResult done,
      jobs().CompleteJob(Completion(running, 1, JobOutcome::kCancelled), std::nullopt));
  EXPECT_EQ(done.job.status, JobStatus::kCancelled);

  // A running job whose cancellation was asked and whose lease expires is
  // cancelled, not queued again.
  JobRecord abandoned = Queue();
  Lease();
  ASSERT_THAT(jobs().CancelJob(abandoned.job_id, "abort", now()), IsOk());
  Advance(kLease);
  ASSERT_THAT(jobs().ExpireLeases(now()), IsOk());
  EXPECT_EQ(jobs().GetJob(abandoned.job_id)->status, JobStatus::kCancelled);
}

TEST_F(JobStoreTest, JobAndOrderTransitionsAreAtomic) {
  NewOrder new_order;
  new_order.host_id = host_.host_id;
  new_order.site_id = "1";
  new_order.binding_id = "1";
  new_order.created_at = now();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, store().orders().CreateOrder(new_order));

  OrderTransition to_requested;
  to_requested.order_id = order.order_id;
  to_requested.expected_state = OrderState::kDue;
  to_requested.to = OrderState::kCsrRequested;
  to_requested.at = now();
  to_requested.reason = "prepare job queued";
  NewJob prepare;
  prepare.host_id = host_.host_id;
  prepare.order_id = order.order_id;
  prepare.kind = JobKind::kPrepare;
  prepare.created_at = now();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord job, jobs().CreateJob(prepare, to_requested));
  EXPECT_EQ(store().orders().GetOrder(order.order_id)->state, OrderState::kCsrRequested);

  // A refused transition stores no job either.
  EXPECT_THAT(jobs().CreateJob(prepare, to_requested),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not due")));
  JobQuery by_order;
  by_order.order_id = order.order_id;
  EXPECT_EQ(jobs().ListJobs(by_order)->total_size, 1);

  Lease();
  OrderTransition to_awaiting;
  to_awaiting.order_id = order.order_id;
  to_awaiting.expected_state = OrderState::kCsrRequested;
  to_awaiting.to = OrderState::kAwaitingIssuance;
  to_awaiting.at = now();
  to_awaiting.reason = "CSR received";
  to_awaiting.csr_pem = "csr";
  // A completion whose transition is refused is not recorded.
  OrderTransition wrong = to_awaiting;
  wrong.expected_state = OrderState::kIssued;
  EXPECT_THAT(jobs().CompleteJob(Completion(job, 1, JobOutcome::kSucceeded), wrong),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(jobs().GetJob(job.job_id)->status, JobStatus::kRunning);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      JobCompletionResult completed,
      jobs().CompleteJob(Completion(job, 1, JobOutcome::kSucceeded), to_awaiting));
  EXPECT_TRUE(completed.newly_recorded);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord advanced, store().orders().GetOrder(order.order_id));
  EXPECT_EQ(advanced.state, OrderState::kAwaitingIssuance);
  EXPECT_EQ(advanced.csr_pem, "csr");
  // The repeat applies no transition (it would be refused otherwise).
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      JobCompletionResult repeat,
      jobs().CompleteJob(Completion(job, 1, JobOutcome::kSucceeded), to_awaiting));
  EXPECT_FALSE(repeat.newly_recorded);
  EXPECT_EQ(store().orders().GetOrder(order.order_id)->history.size(), 3u);
}

TEST_F(JobStoreTest, ListFiltersAndPages) {
  JobRecord inventory = Queue(JobKind::kInventory);
  Advance(absl::Seconds(1));
  JobRecord probe = Queue(JobKind::kProbe);
  Advance(absl::Seconds(1));
  JobRecord other = Queue(JobKind::kProbe);
  Lease();  // The inventory job runs.

  JobQuery probes;
  probes.kind = JobKind::kProbe;
  probes.page.page_size = 1;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<JobRecord> page, jobs().ListJobs(probes));
  EXPECT_EQ(page.total_size, 2);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].job_id, other.job_id);
  EXPECT_THAT(page.items[0].attempts, IsEmpty());
  probes.page.page_token = page.next_page_token;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, jobs().ListJobs(probes));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].job_id, probe.job_id);
  EXPECT_TRUE(page.next_page_token.empty());

  JobQuery running;
  running.host_id = host_.host_id;
  running.statuses = {JobStatus::kRunning};
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, jobs().ListJobs(running));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].job_id, inventory.job_id);
}

}  // namespace
}  // namespace certfleet::controller::store::testing
