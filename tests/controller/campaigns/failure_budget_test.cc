#include "controller/campaigns/failure_budget.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "tests/support/status_matchers.h"

namespace certfleet::controller::campaigns {
namespace {

using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Optional;

std::optional<std::string> Exceeded(FailureBudgetSettings budget, int failures, int finished) {
  return FailureBudgetExceeded(budget, FailureCounts{.failures = failures, .finished = finished});
}

TEST(FailureBudgetTest, AbsentLimitsNeverTrigger) {
  EXPECT_EQ(Exceeded({}, 0, 0), std::nullopt);
  EXPECT_EQ(Exceeded({}, 1000, 1000), std::nullopt);
}

TEST(FailureBudgetTest, CountLimitIsExceededOnlyAboveIt) {
  const FailureBudgetSettings budget{.max_failures = 2, .max_failure_percent = std::nullopt};
  EXPECT_EQ(Exceeded(budget, 2, 10), std::nullopt);
  EXPECT_THAT(Exceeded(budget, 3, 10), Optional(std::string("3 failures exceed the budget of 2")));
}

TEST(FailureBudgetTest, ZeroFailuresAllowedPausesAtTheFirst) {
  const FailureBudgetSettings budget{.max_failures = 0, .max_failure_percent = std::nullopt};
  EXPECT_EQ(Exceeded(budget, 0, 50), std::nullopt);
  EXPECT_THAT(Exceeded(budget, 1, 1), Optional(std::string("1 failure exceeds the budget of 0")));
}

TEST(FailureBudgetTest, PercentageOfFinishedRenewals) {
  const FailureBudgetSettings budget{.max_failures = std::nullopt, .max_failure_percent = 20.0};
  EXPECT_EQ(Exceeded(budget, 0, 0), std::nullopt) << "nothing finished";
  EXPECT_EQ(Exceeded(budget, 1, 5), std::nullopt) << "exactly 20% is within";
  EXPECT_THAT(Exceeded(budget, 2, 5),
              Optional(std::string("40% of 5 finished renewals failed, over the budget of 20%")));
  EXPECT_THAT(Exceeded(budget, 1, 1),
              Optional(std::string("100% of 1 finished renewal failed, over the budget of 20%")))
      << "small numbers are judged harshly on purpose";
  const FailureBudgetSettings fraction{.max_failures = std::nullopt, .max_failure_percent = 12.5};
  EXPECT_THAT(Exceeded(fraction, 1, 3),
              Optional(std::string("33.3% of 3 finished renewals failed, over the budget of "
                                   "12.5%")));
  const FailureBudgetSettings zero{.max_failures = std::nullopt, .max_failure_percent = 0.0};
  EXPECT_EQ(Exceeded(zero, 0, 40), std::nullopt);
  EXPECT_THAT(Exceeded(zero, 1, 40), Optional(HasSubstr("over the budget of 0%")));
}

TEST(FailureBudgetTest, CountLimitIsNamedWhenBothAreExceeded) {
  const FailureBudgetSettings budget{.max_failures = 2, .max_failure_percent = 5.0};
  EXPECT_THAT(Exceeded(budget, 1, 10), Optional(HasSubstr("10% of 10 finished renewals")));
  EXPECT_THAT(Exceeded(budget, 3, 10), Optional(std::string("3 failures exceed the budget of 2")));
}

TEST(FailureBudgetTest, FromProto) {
  v1::FailureBudget budget;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(FailureBudgetSettings none, FromFailureBudgetProto(budget));
  EXPECT_EQ(none.max_failures, std::nullopt);
  EXPECT_EQ(none.max_failure_percent, std::nullopt);

  budget.set_max_failures(0);
  budget.set_max_failure_percent(5);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(FailureBudgetSettings both, FromFailureBudgetProto(budget));
  EXPECT_EQ(both.max_failures, 0) << "an explicit 0 is kept, not taken as absent";
  EXPECT_EQ(both.max_failure_percent, 5.0);

  budget.set_max_failure_percent(100.5);
  EXPECT_THAT(FromFailureBudgetProto(budget),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("failure_budget.max_failure_percent is 100.5")));
  budget.set_max_failure_percent(std::numeric_limits<double>::quiet_NaN());
  EXPECT_THAT(FromFailureBudgetProto(budget),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("failure_budget.max_failure_percent")));
}

}  // namespace
}  // namespace certfleet::controller::campaigns
