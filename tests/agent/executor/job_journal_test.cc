// Tests of the job journal: a round trip of jobs, steps and values, and what
// a restarted agent finds after reopening the file.

#include "agent/executor/job_journal.h"

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::agent {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::Optional;

const absl::Time kStart = absl::FromUnixSeconds(1'800'000'000);

class JobJournalTest : public ::testing::Test {
 protected:
  std::string JournalPath() const { return (temporary_.path() / "journal.db").string(); }

  testing::TemporaryDirectory temporary_;
};

TEST_F(JobJournalTest, RecordsAJobItsStepsAndValuesAndReadsThemBack) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto journal, JobJournal::Open(JournalPath()));
  ASSERT_THAT(journal->BeginJob("job-1", 2, "deploy", std::string("spec\0bytes", 10), kStart),
              IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(int64_t first,
                                 journal->StartStep("job-1", 2, 0, "accept_certificate", kStart));
  ASSERT_THAT(
      journal->FinishStep(first, StepOutcome::kSucceeded, "accepted", kStart + absl::Seconds(1)),
      IsOk());
  ASSERT_THAT(journal->SetValue("job-1", 2, "previous_thumbprint", "ABCD"), IsOk());
  ASSERT_THAT(journal->SetValue("job-1", 2, "previous_thumbprint", "EF01"), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord job, journal->GetJob("job-1", 2));
  EXPECT_EQ(job.kind, "deploy");
  EXPECT_EQ(job.spec, std::string("spec\0bytes", 10));
  EXPECT_EQ(job.state, JobState::kRunning);
  EXPECT_EQ(job.created, kStart);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto steps, journal->Steps("job-1", 2));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].name, "accept_certificate");
  EXPECT_EQ(steps[0].index, 0);
  EXPECT_EQ(steps[0].started, kStart);
  EXPECT_THAT(steps[0].finished, Optional(kStart + absl::Seconds(1)));
  EXPECT_THAT(steps[0].outcome, Optional(StepOutcome::kSucceeded));
  EXPECT_EQ(steps[0].detail, "accepted");
  EXPECT_THAT(journal->GetValue("job-1", 2, "previous_thumbprint").value(),
              Optional(std::string("EF01")));
  EXPECT_THAT(journal->GetValue("job-1", 2, "missing").value(), std::optional<std::string>());
  EXPECT_THAT(journal->StepDone("job-1", 2, "accept_certificate").value(), true);
  EXPECT_THAT(journal->StepDone("job-1", 2, "install_chain").value(), false);
}

TEST_F(JobJournalTest, RefusesADuplicateJobAndAStepFinishedTwice) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto journal, JobJournal::Open(JournalPath()));
  ASSERT_THAT(journal->BeginJob("job-1", 1, "deploy", "spec", kStart), IsOk());
  EXPECT_THAT(journal->BeginJob("job-1", 1, "deploy", "spec", kStart),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(journal->BeginJob("", 1, "deploy", "spec", kStart),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(journal->StartStep("job-2", 1, 0, "restart", kStart),
              StatusIs(absl::StatusCode::kNotFound));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(int64_t step,
                                 journal->StartStep("job-1", 1, 0, "restart", kStart));
  ASSERT_THAT(journal->FinishStep(step, StepOutcome::kFailed, "no", kStart), IsOk());
  EXPECT_THAT(journal->FinishStep(step, StepOutcome::kSucceeded, "yes", kStart),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(journal->StepDone("job-1", 1, "restart").value(), false);
  EXPECT_THAT(journal->MarkResultReported("job-1", 1),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(journal->FinishJob("job-1", 1, JobState::kRunning, "", kStart),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(journal->FinishJob("job-9", 1, JobState::kFailed, "", kStart),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(JobJournalTest, AfterReopeningTheUnfinishedJobAndItsUnfinishedStepAreThere) {
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(auto journal, JobJournal::Open(JournalPath()));
    ASSERT_THAT(journal->BeginJob("done", 1, "prepare", "a", kStart), IsOk());
    ASSERT_THAT(journal->FinishJob("done", 1, JobState::kSucceeded, "CSR created", kStart), IsOk());
    ASSERT_THAT(journal->BeginJob("running", 1, "deploy", "b", kStart + absl::Seconds(1)), IsOk());
    ASSERT_THAT(journal->StartStep("running", 1, 3, "replace_binding", kStart).status(), IsOk());
  }  // The "crash": the journal is closed with the step under way.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto journal, JobJournal::Open(JournalPath()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto unfinished, journal->UnfinishedJobs());
  ASSERT_THAT(unfinished, ElementsAre(Field(&JobRecord::job_id, "running")));
  EXPECT_EQ(unfinished[0].spec, "b");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto steps, journal->Steps("running", 1));
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].finished, std::nullopt);
  EXPECT_EQ(steps[0].outcome, std::nullopt);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(auto unreported, journal->UnreportedJobs());
  ASSERT_THAT(unreported, ElementsAre(Field(&JobRecord::job_id, "done")));
  EXPECT_EQ(unreported[0].detail, "CSR created");
  ASSERT_THAT(journal->MarkResultReported("done", 1), IsOk());
  EXPECT_THAT(journal->UnreportedJobs().value(), IsEmpty());
}

}  // namespace
}  // namespace certfleet::agent
