// Shared rules of the store: the order graph, enum names, ids, token states.

#include "controller/store/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/store/ids.h"
#include "tests/support/status_matchers.h"

namespace certfleet::controller::store {
namespace {

using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(OrderGraphTest, HappyPathEdgesAreAllowed) {
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kDue, OrderState::kCsrRequested));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kCsrRequested, OrderState::kAwaitingIssuance));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kAwaitingIssuance, OrderState::kIssued));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kIssued, OrderState::kDeploying));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kDeploying, OrderState::kVerifying));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kVerifying, OrderState::kDone));
}

TEST(OrderGraphTest, FailureRollbackRetryAndCancellationEdges) {
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kVerifying, OrderState::kRolledBack));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kDeploying, OrderState::kRolledBack));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kAwaitingIssuance, OrderState::kFailed));
  EXPECT_TRUE(IsAllowedOrderTransition(OrderState::kFailed, OrderState::kDue));
  for (OrderState open :
       {OrderState::kDue, OrderState::kCsrRequested, OrderState::kAwaitingIssuance,
        OrderState::kIssued, OrderState::kDeploying, OrderState::kVerifying, OrderState::kFailed}) {
    EXPECT_TRUE(IsAllowedOrderTransition(open, OrderState::kCancelled)) << ToString(open);
  }
}

TEST(OrderGraphTest, SkipsBackwardsMovesAndFinalStatesAreRefused) {
  EXPECT_FALSE(IsAllowedOrderTransition(OrderState::kDue, OrderState::kIssued));
  EXPECT_FALSE(IsAllowedOrderTransition(OrderState::kIssued, OrderState::kCsrRequested));
  EXPECT_FALSE(IsAllowedOrderTransition(OrderState::kIssued, OrderState::kRolledBack));
  EXPECT_FALSE(IsAllowedOrderTransition(OrderState::kFailed, OrderState::kFailed));
  EXPECT_FALSE(IsAllowedOrderTransition(OrderState::kDue, OrderState::kDue));
  for (OrderState final_state :
       {OrderState::kDone, OrderState::kRolledBack, OrderState::kCancelled}) {
    EXPECT_TRUE(IsFinalOrderState(final_state));
    EXPECT_FALSE(IsAllowedOrderTransition(final_state, OrderState::kDue));
    EXPECT_FALSE(IsAllowedOrderTransition(final_state, OrderState::kCancelled));
  }
  EXPECT_FALSE(IsFinalOrderState(OrderState::kFailed));
}

TEST(EnumNamesTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (OrderState state : {OrderState::kDue, OrderState::kCsrRequested,
                           OrderState::kAwaitingIssuance, OrderState::kRolledBack}) {
    absl::StatusOr<OrderState> parsed = ParseOrderState(ToString(state));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, state);
  }
  EXPECT_EQ(ToString(OrderState::kCsrRequested), "csr_requested");
  EXPECT_EQ(ToString(JobKind::kCleanup), "cleanup");
  EXPECT_EQ(ToString(CertificateStoreName::kRoot), "ROOT");
  EXPECT_EQ(ToString(StepOutcome::kAlreadyDone), "already_done");
  EXPECT_THAT(ParseJobKind("reboot"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("unknown job kind 'reboot'; expected one of inventory")));
}

TEST(IdsTest, IdsArePrefixedRandomAndRecognised) {
  const std::string first = GenerateId(IdKind::kOrder);
  const std::string second = GenerateId(IdKind::kOrder);
  EXPECT_THAT(first, StartsWith("order-"));
  EXPECT_EQ(first.size(), std::string("order-").size() + 32);
  EXPECT_NE(first, second);
  EXPECT_TRUE(LooksLikeId(IdKind::kOrder, first));
  EXPECT_FALSE(LooksLikeId(IdKind::kJob, first));
  EXPECT_FALSE(LooksLikeId(IdKind::kOrder, "order-XYZ"));
}

TEST(JoinTokenStateTest, UsedAndRevokedWinOverExpiry) {
  JoinTokenRecord token;
  token.expires_at = absl::FromUnixSeconds(100);
  EXPECT_EQ(token.StateAt(absl::FromUnixSeconds(99)), JoinTokenState::kActive);
  EXPECT_EQ(token.StateAt(absl::FromUnixSeconds(100)), JoinTokenState::kExpired);
  token.revoked_at = absl::FromUnixSeconds(50);
  EXPECT_EQ(token.StateAt(absl::FromUnixSeconds(200)), JoinTokenState::kRevoked);
  token.used_at = absl::FromUnixSeconds(40);
  EXPECT_EQ(token.StateAt(absl::FromUnixSeconds(200)), JoinTokenState::kUsed);
}

}  // namespace
}  // namespace certfleet::controller::store
