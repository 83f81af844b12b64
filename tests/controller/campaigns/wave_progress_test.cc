#include "controller/campaigns/wave_progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace certfleet::controller::campaigns {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kStart = absl::FromUnixSeconds(1767225600);  // 2026-01-01T00:00:00Z

TargetStatus Pending() { return TargetStatus{}; }

TargetStatus Open(store::OrderState state, absl::Time created_at = kStart) {
  return TargetStatus{.order_state = state,
                      .order_open = true,
                      .order_created_at = created_at,
                      .order_updated_at = created_at};
}

TargetStatus Closed(store::OrderState state, absl::Time finished_at,
                    absl::Time created_at = kStart) {
  return TargetStatus{.order_state = state,
                      .order_open = false,
                      .order_created_at = created_at,
                      .order_updated_at = finished_at};
}

TargetStatus Done(absl::Time at) { return Closed(store::OrderState::kDone, at); }

CampaignSituation Running(std::vector<std::vector<TargetStatus>> waves, absl::Time now) {
  CampaignSituation situation;
  situation.state = store::CampaignState::kRunning;
  situation.waves = std::move(waves);
  situation.soak_time = absl::Hours(1);
  situation.now = now;
  return situation;
}

std::vector<v1::WaveState> WaveStates(const CampaignStep& step) {
  std::vector<v1::WaveState> states;
  for (const WaveOutlook& wave : step.waves) states.push_back(wave.state);
  return states;
}

TEST(TargetProgressTest, FromTheOrder) {
  EXPECT_EQ(ProgressOf(Pending()), TargetProgress::kPending);
  EXPECT_EQ(ProgressOf(Open(store::OrderState::kDue)), TargetProgress::kInFlight);
  EXPECT_EQ(ProgressOf(Open(store::OrderState::kFailed)), TargetProgress::kInFlight)
      << "a retry is planned";
  EXPECT_EQ(ProgressOf(Closed(store::OrderState::kFailed, kStart)), TargetProgress::kFailed);
  EXPECT_EQ(ProgressOf(Closed(store::OrderState::kRolledBack, kStart)),
            TargetProgress::kRolledBack);
  EXPECT_EQ(ProgressOf(Closed(store::OrderState::kCancelled, kStart)), TargetProgress::kCancelled);
  EXPECT_EQ(ProgressOf(Done(kStart)), TargetProgress::kDone);
}

TEST(WaveProgressTest, StartingCampaignStartsTheCanaryOnly) {
  const CampaignStep step =
      DecideCampaignStep(Running({{Pending()}, {Pending(), Pending()}}, kStart));
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 0, .target = 0}));
  EXPECT_EQ(step.current_wave, 0);
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_RUNNING, v1::WAVE_STATE_PENDING));
  EXPECT_EQ(step.new_state, std::nullopt);
  EXPECT_EQ(step.progress, (ProgressCounts{.total = 3, .pending = 3}));
}

TEST(WaveProgressTest, NextWaveWaitsForThePreviousToFinishAndSoak) {
  const absl::Time finished = kStart + absl::Minutes(10);
  // Wave 0 still in flight: nothing of wave 1 starts.
  CampaignStep step = DecideCampaignStep(
      Running({{Open(store::OrderState::kDeploying)}, {Pending(), Pending()}}, finished));
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_EQ(step.current_wave, 0);
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_RUNNING, v1::WAVE_STATE_PENDING));

  // Finished healthy but still soaking: wait until finished + soak.
  step = DecideCampaignStep(
      Running({{Done(finished)}, {Pending(), Pending()}}, finished + absl::Minutes(59)));
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_EQ(step.current_wave, 0);
  EXPECT_EQ(step.decide_again_at, finished + absl::Hours(1));
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SOAKING, v1::WAVE_STATE_PENDING));
  EXPECT_EQ(step.waves[0].finished_at, finished);
  EXPECT_EQ(step.waves[0].started_at, kStart);

  // Soaked: wave 1 starts, all of it.
  step = DecideCampaignStep(
      Running({{Done(finished)}, {Pending(), Pending()}}, finished + absl::Hours(1)));
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 1, .target = 0},
                                      TargetReference{.wave = 1, .target = 1}));
  EXPECT_EQ(step.current_wave, 1);
  EXPECT_EQ(step.decide_again_at, std::nullopt);
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SUCCEEDED, v1::WAVE_STATE_RUNNING));
}

TEST(WaveProgressTest, ThirdWaveWaitsForTheSecondToSoak) {
  const absl::Time second_done = kStart + absl::Hours(4);
  CampaignSituation situation = Running(
      {{Done(kStart)}, {Done(second_done), Open(store::OrderState::kVerifying)}, {Pending()}},
      kStart + absl::Hours(10));
  CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_EQ(step.current_wave, 1);
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SUCCEEDED, v1::WAVE_STATE_RUNNING,
                                            v1::WAVE_STATE_PENDING));

  situation.waves[1][1] = Done(second_done);
  situation.now = second_done + absl::Minutes(30);
  step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_EQ(step.current_wave, 1);
  EXPECT_EQ(step.decide_again_at, second_done + absl::Hours(1));

  situation.now = second_done + absl::Hours(1);
  step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 2, .target = 0}));
  EXPECT_EQ(step.current_wave, 2);
}

TEST(WaveProgressTest, WaveFinishesWhenItsLastTargetFinishes) {
  const absl::Time first = kStart + absl::Minutes(5);
  const absl::Time last = kStart + absl::Minutes(20);
  CampaignSituation situation = Running({{Done(first), Done(last)}, {Pending()}}, last);
  situation.soak_time = absl::Minutes(30);
  situation.now = first + absl::Minutes(30);
  CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty()) << "soak counts from the last finish";
  EXPECT_EQ(step.decide_again_at, last + absl::Minutes(30));
  situation.now = last + absl::Minutes(30);
  step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 1, .target = 0}));
}

TEST(WaveProgressTest, InFlightCapLimitsStarts) {
  CampaignSituation situation =
      Running({{Done(kStart)}, {Open(store::OrderState::kIssued), Pending(), Pending(), Pending()}},
              kStart + absl::Hours(2));
  situation.max_in_flight = 3;
  CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 1, .target = 1},
                                      TargetReference{.wave = 1, .target = 2}));
  EXPECT_EQ(step.progress.in_flight, 1);

  situation.waves[1][1] = Open(store::OrderState::kDue);
  situation.waves[1][2] = Open(store::OrderState::kDue);
  step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty()) << "3 in flight, cap 3";

  situation.max_in_flight = 0;
  step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 1, .target = 3}))
      << "0: no campaign cap";
}

TEST(WaveProgressTest, FailureWithinBudgetStillFinishesHealthy) {
  CampaignSituation situation =
      Running({{Done(kStart), Closed(store::OrderState::kFailed, kStart)}, {Pending()}},
              kStart + absl::Hours(1));
  situation.failure_budget.max_failures = 1;
  const CampaignStep step = DecideCampaignStep(situation);
  EXPECT_EQ(step.new_state, std::nullopt);
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 1, .target = 0}));
}

TEST(WaveProgressTest, BudgetExceededPausesAndStartsNothing) {
  CampaignSituation situation =
      Running({{Closed(store::OrderState::kRolledBack, kStart)}, {Pending(), Pending()}},
              kStart + absl::Hours(2));
  situation.failure_budget.max_failures = 0;
  CampaignStep step = DecideCampaignStep(situation);
  EXPECT_EQ(step.new_state, store::CampaignState::kPaused);
  EXPECT_EQ(step.pause_reason, store::CampaignPauseReason::kFailureBudget);
  EXPECT_EQ(step.state_reason, "1 failure exceeds the budget of 0");
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_FAILED, v1::WAVE_STATE_PENDING));

  // A failure mid-wave pauses at once, even with targets left in the wave.
  CampaignSituation mid_wave = Running({{Done(kStart)},
                                        {Closed(store::OrderState::kFailed, kStart),
                                         Open(store::OrderState::kDeploying), Pending()}},
                                       kStart + absl::Hours(2));
  mid_wave.failure_budget.max_failure_percent = 20;
  step = DecideCampaignStep(mid_wave);
  EXPECT_EQ(step.new_state, store::CampaignState::kPaused);
  EXPECT_EQ(step.state_reason, "50% of 2 finished renewals failed, over the budget of 20%");
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SUCCEEDED, v1::WAVE_STATE_RUNNING));
}

TEST(WaveProgressTest, ResumedCampaignPausesAgainOnlyOnANewFailure) {
  CampaignSituation situation =
      Running({{Closed(store::OrderState::kFailed, kStart)}, {Pending(), Pending()}},
              kStart + absl::Hours(2));
  situation.failure_budget.max_failures = 0;
  situation.resumed_at = kStart + absl::Hours(1);
  CampaignStep step = DecideCampaignStep(situation);
  EXPECT_EQ(step.new_state, std::nullopt);
  EXPECT_THAT(step.start, ElementsAre(TargetReference{.wave = 1, .target = 0},
                                      TargetReference{.wave = 1, .target = 1}));

  situation.waves[1][0] = Closed(store::OrderState::kRolledBack, kStart + absl::Hours(3));
  situation.waves[1][1] = Open(store::OrderState::kDeploying);
  step = DecideCampaignStep(situation);
  EXPECT_EQ(step.new_state, store::CampaignState::kPaused);
  EXPECT_EQ(step.state_reason, "2 failures exceed the budget of 0");
}

TEST(WaveProgressTest, PausedCampaignStartsNothing) {
  CampaignSituation situation = Running({{Pending(), Pending()}}, kStart);
  situation.state = store::CampaignState::kPaused;
  const CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_EQ(step.new_state, std::nullopt);
  EXPECT_EQ(step.progress.pending, 2);
}

TEST(WaveProgressTest, DraftIsAllPending) {
  CampaignSituation situation = Running({{Pending()}, {Pending()}}, kStart);
  situation.state = store::CampaignState::kDraft;
  const CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_EQ(step.current_wave, std::nullopt);
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_PENDING, v1::WAVE_STATE_PENDING));
}

TEST(WaveProgressTest, CompletesWhenEveryWaveFinishedWithoutSoakingTheLast) {
  const absl::Time last = kStart + absl::Hours(3);
  CampaignSituation situation =
      Running({{Done(kStart)}, {Done(last), Closed(store::OrderState::kCancelled, last)}}, last);
  const CampaignStep step = DecideCampaignStep(situation);
  EXPECT_EQ(step.new_state, store::CampaignState::kCompleted);
  EXPECT_EQ(step.state_reason,
            "all 2 waves finished: 2 done, 0 failed, 0 rolled back, 1 cancelled");
  EXPECT_EQ(step.current_wave, std::nullopt);
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SUCCEEDED, v1::WAVE_STATE_SUCCEEDED));
  EXPECT_EQ(step.progress,
            (ProgressCounts{.total = 3, .pending = 0, .in_flight = 0, .done = 2, .cancelled = 1}));
}

TEST(WaveProgressTest, LastFailureOverBudgetPausesRatherThanCompletes) {
  CampaignSituation situation =
      Running({{Done(kStart)}, {Closed(store::OrderState::kFailed, kStart + absl::Hours(2))}},
              kStart + absl::Hours(2));
  situation.failure_budget.max_failures = 0;
  EXPECT_EQ(DecideCampaignStep(situation).new_state, store::CampaignState::kPaused);
  situation.resumed_at = kStart + absl::Hours(1);
  EXPECT_EQ(DecideCampaignStep(situation).new_state, store::CampaignState::kPaused)
      << "the failure came after the resume";
  situation.resumed_at = kStart + absl::Hours(2);
  EXPECT_EQ(DecideCampaignStep(situation).new_state, store::CampaignState::kCompleted);
}

TEST(WaveProgressTest, AbortStopsNewStartsAndCancelsWhatHasNotDeployed) {
  CampaignSituation situation =
      Running({{Done(kStart)},
               {Open(store::OrderState::kDeploying), Open(store::OrderState::kAwaitingIssuance),
                Open(store::OrderState::kFailed), Pending()},
               {Pending(), Pending()}},
              kStart + absl::Hours(5));
  situation.state = store::CampaignState::kAborting;
  CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.start, IsEmpty());
  EXPECT_THAT(step.never_start, ElementsAre(TargetReference{.wave = 1, .target = 3},
                                            TargetReference{.wave = 2, .target = 0},
                                            TargetReference{.wave = 2, .target = 1}));
  EXPECT_THAT(step.cancel, ElementsAre(TargetReference{.wave = 1, .target = 1},
                                       TargetReference{.wave = 1, .target = 2}))
      << "the deploying one finishes or rolls back on the host";
  EXPECT_EQ(step.new_state, std::nullopt) << "three still in flight";
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SUCCEEDED, v1::WAVE_STATE_RUNNING,
                                            v1::WAVE_STATE_CANCELLED));
  EXPECT_EQ(step.progress, (ProgressCounts{.total = 7, .in_flight = 3, .done = 1, .cancelled = 3}));

  // The engine cancelled two; the deploy rolled back: the abort settles.
  situation.waves[1][0] = Closed(store::OrderState::kRolledBack, kStart + absl::Hours(6));
  situation.waves[1][1] = Closed(store::OrderState::kCancelled, kStart + absl::Hours(5));
  situation.waves[1][2] = Closed(store::OrderState::kCancelled, kStart + absl::Hours(5));
  step = DecideCampaignStep(situation);
  EXPECT_EQ(step.new_state, store::CampaignState::kAborted);
  EXPECT_EQ(step.state_reason,
            "aborted with nothing in flight: 1 done, 0 failed, 1 rolled back, 5 cancelled");
  EXPECT_THAT(step.cancel, IsEmpty());
  EXPECT_THAT(WaveStates(step), ElementsAre(v1::WAVE_STATE_SUCCEEDED, v1::WAVE_STATE_CANCELLED,
                                            v1::WAVE_STATE_CANCELLED));
}

TEST(WaveProgressTest, AbortedCampaignOnlyCounts) {
  CampaignSituation situation = Running({{Done(kStart), Pending()}}, kStart);
  situation.state = store::CampaignState::kAborted;
  const CampaignStep step = DecideCampaignStep(situation);
  EXPECT_THAT(step.never_start, IsEmpty());
  EXPECT_EQ(step.new_state, std::nullopt);
  EXPECT_EQ(step.progress, (ProgressCounts{.total = 2, .done = 1, .cancelled = 1}));
}

TEST(WaveProgressTest, TargetsFromTheStoreGroupedByWave) {
  store::CampaignTargetRecord canary;
  canary.wave_index = 0;
  canary.host_id = "host-1";
  canary.binding_id = "binding-1";
  store::OrderRecord order;
  order.state = store::OrderState::kRolledBack;
  order.open = false;
  order.created_at = kStart;
  order.updated_at = kStart + absl::Minutes(7);
  canary.order = order;
  store::CampaignTargetRecord second = canary;
  second.wave_index = 2;
  second.host_id = "host-2";
  second.order.reset();

  const std::vector<std::vector<TargetStatus>> waves = TargetsByWave({canary, second});
  ASSERT_EQ(waves.size(), 3u);
  ASSERT_EQ(waves[0].size(), 1u);
  EXPECT_TRUE(waves[1].empty()) << "indexes stay those of the plan";
  ASSERT_EQ(waves[2].size(), 1u);
  EXPECT_EQ(waves[0][0].host_id, "host-1");
  EXPECT_EQ(waves[0][0].order_state, store::OrderState::kRolledBack);
  EXPECT_EQ(waves[0][0].order_updated_at, kStart + absl::Minutes(7));
  EXPECT_EQ(ProgressOf(waves[0][0]), TargetProgress::kRolledBack);
  EXPECT_EQ(waves[2][0].host_id, "host-2");
  EXPECT_EQ(ProgressOf(waves[2][0]), TargetProgress::kPending);
}

TEST(WaveProgressTest, ProgressToProto) {
  const v1::CampaignProgress proto = ToCampaignProgressProto(ProgressCounts{.total = 7,
                                                                            .pending = 1,
                                                                            .in_flight = 2,
                                                                            .done = 1,
                                                                            .failed = 1,
                                                                            .rolled_back = 1,
                                                                            .cancelled = 1});
  EXPECT_EQ(proto.total(), 7u);
  EXPECT_EQ(proto.pending(), 1u);
  EXPECT_EQ(proto.in_flight(), 2u);
  EXPECT_EQ(proto.done(), 1u);
  EXPECT_EQ(proto.failed(), 1u);
  EXPECT_EQ(proto.rolled_back(), 1u);
  EXPECT_EQ(proto.cancelled(), 1u);
}

}  // namespace
}  // namespace certfleet::controller::campaigns
