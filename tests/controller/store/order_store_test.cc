// Orders: one open order per binding, transitions along the graph with
// history, retry scheduling and the scheduler's queries.

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
using ::testing::Optional;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class OrderStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    host_ = Enroll("web-01.example.com");
  }

  OrderStore& orders() { return store().orders(); }

  NewOrder Order(std::string_view binding_id, const std::string& host_id = "") {
    NewOrder order;
    order.host_id = host_id.empty() ? host_.host_id : host_id;
    order.site_id = std::string(binding_id);
    order.binding_id = std::string(binding_id);
    order.trigger = OrderTrigger::kSchedule;
    order.policy_name = "default";
    order.connector = "local";
    order.subject.common_name = "www.example.com";
    order.subject.organization = "New Name Ltd";
    order.subject_alternative_names = {"DNS:www.example.com"};
    order.key_spec = "RSA_2048";
    order.signature_hash = "SHA256";
    order.previous_thumbprint = std::string(40, 'a');
    order.created_at = now();
    order.created_by = "scheduler";
    order.reason = "renewal point reached";
    return order;
  }

  OrderTransition Move(const OrderRecord& order, OrderState to, std::string_view reason) {
    OrderTransition transition;
    transition.order_id = order.order_id;
    transition.expected_state = order.state;
    transition.to = to;
    transition.at = now();
    transition.reason = std::string(reason);
    transition.actor = "scheduler";
    return transition;
  }

  HostRecord host_;
};

TEST_F(OrderStoreTest, CreateStartsDueWithAHistoryEntry) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  EXPECT_TRUE(LooksLikeId(IdKind::kOrder, order.order_id));
  EXPECT_EQ(order.state, OrderState::kDue);
  EXPECT_TRUE(order.open);
  EXPECT_EQ(order.next_attempt_at, now());
  EXPECT_EQ(order.subject.organization, "New Name Ltd");
  EXPECT_EQ(order.subject_alternative_names, std::vector<std::string>{"DNS:www.example.com"});
  EXPECT_EQ(order.previous_thumbprint, std::string(40, 'A'));
  EXPECT_EQ(order.attempts, 0);
  ASSERT_EQ(order.history.size(), 1u);
  EXPECT_EQ(order.history[0], (OrderStateChange{std::nullopt, OrderState::kDue, now(),
                                                "renewal point reached", "scheduler"}));
}

TEST_F(OrderStoreTest, SecondOpenOrderForABindingIsRefusedNamingTheFirst) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord first, orders().CreateOrder(Order("1")));
  EXPECT_THAT(orders().CreateOrder(Order("1")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr("already has open order"), HasSubstr(first.order_id),
                             HasSubstr("state due"))));
  // Another binding of the same host is fine (one per host is the
  // scheduler's rule, not the store's).
  EXPECT_THAT(orders().CreateOrder(Order("2")), IsOk());
  // Once the first is closed, the binding may have a new one.
  ASSERT_THAT(orders().TransitionOrder(Move(first, OrderState::kCancelled, "operator")), IsOk());
  EXPECT_THAT(orders().CreateOrder(Order("1")), IsOk());
}

TEST_F(OrderStoreTest, CreateRefusesUnknownAndDecommissionedHostsAndMissingIds) {
  EXPECT_THAT(orders().CreateOrder(Order("1", "host-unknown")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("host-unknown")));
  HostRecord gone = Enroll("web-09");
  ASSERT_THAT(store().hosts().DecommissionHost(gone.host_id, "gone", now()), IsOk());
  EXPECT_THAT(orders().CreateOrder(Order("1", gone.host_id)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("decommissioned")));
  EXPECT_THAT(orders().CreateOrder(Order("")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a host, a site")));
}

TEST_F(OrderStoreTest, FullLifecycleRecordsEveryTransitionInOrderWithItsData) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      order,
      orders().TransitionOrder(Move(order, OrderState::kCsrRequested, "prepare job queued")));
  EXPECT_EQ(order.attempts, 1);
  EXPECT_EQ(order.next_attempt_at, std::nullopt);
  Advance(absl::Minutes(1));
  OrderTransition csr = Move(order, OrderState::kAwaitingIssuance, "CSR received");
  csr.actor = "agent";
  csr.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----\n...";
  csr.public_key_sha256 = std::string(64, 'b');
  csr.temporary_site_id = "555";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(order, orders().TransitionOrder(csr));
  EXPECT_EQ(order.csr_pem, *csr.csr_pem);
  EXPECT_EQ(order.public_key_sha256, std::string(64, 'B'));
  EXPECT_EQ(order.temporary_site_id, "555");
  Advance(absl::Minutes(1));
  OrderTransition issued = Move(order, OrderState::kIssued, "signed by the local CA");
  issued.actor = "connector local";
  issued.certificate_pem = "-----BEGIN CERTIFICATE-----\nleaf";
  issued.chain_pem = "-----BEGIN CERTIFICATE-----\nintermediate";
  issued.issued_thumbprint = std::string(40, 'c');
  CERTFLEET_ASSERT_OK_AND_ASSIGN(order, orders().TransitionOrder(issued));
  EXPECT_EQ(order.certificate_pem, *issued.certificate_pem);
  EXPECT_EQ(order.chain_pem, *issued.chain_pem);
  EXPECT_EQ(order.issued_thumbprint, std::string(40, 'C'));
  EXPECT_EQ(order.csr_pem, *csr.csr_pem);  // Kept.
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      order, orders().TransitionOrder(Move(order, OrderState::kDeploying, "deploy job queued")));
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      order, orders().TransitionOrder(Move(order, OrderState::kVerifying, "binding switched")));
  Advance(absl::Minutes(1));
  OrderTransition done = Move(order, OrderState::kDone, "new certificate served");
  done.external_probe = std::string("\x0a\x03", 2);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(order, orders().TransitionOrder(done));
  EXPECT_FALSE(order.open);
  EXPECT_EQ(order.external_probe, *done.external_probe);
  EXPECT_EQ(order.updated_at, now());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord fetched, orders().GetOrder(order.order_id));
  std::vector<std::pair<std::optional<OrderState>, OrderState>> edges;
  for (const OrderStateChange& change : fetched.history) edges.emplace_back(change.from, change.to);
  EXPECT_THAT(edges,
              ElementsAre(Pair(std::nullopt, OrderState::kDue),
                          Pair(Optional(OrderState::kDue), OrderState::kCsrRequested),
                          Pair(Optional(OrderState::kCsrRequested), OrderState::kAwaitingIssuance),
                          Pair(Optional(OrderState::kAwaitingIssuance), OrderState::kIssued),
                          Pair(Optional(OrderState::kIssued), OrderState::kDeploying),
                          Pair(Optional(OrderState::kDeploying), OrderState::kVerifying),
                          Pair(Optional(OrderState::kVerifying), OrderState::kDone)));
  EXPECT_EQ(fetched.history[2].reason, "CSR received");
  EXPECT_EQ(fetched.history[2].actor, "agent");
  EXPECT_EQ(fetched.history[2].changed_at, Start() + absl::Minutes(2));
  EXPECT_EQ(fetched.history[6].changed_at, Start() + absl::Minutes(6));
}

TEST_F(OrderStoreTest, InvalidTransitionIsRefusedNamingFromAndTo) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  EXPECT_THAT(
      orders().TransitionOrder(Move(order, OrderState::kIssued, "skip ahead")),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("cannot move from due to issued")));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      OrderRecord done_order,
      orders().TransitionOrder(Move(order, OrderState::kCancelled, "operator")));
  EXPECT_THAT(orders().TransitionOrder(Move(done_order, OrderState::kDue, "again")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("cannot move from cancelled to due")));
  // Nothing was recorded by the refused attempts.
  EXPECT_EQ(orders().GetOrder(order.order_id)->history.size(), 2u);
  OrderTransition unknown = Move(order, OrderState::kCsrRequested, "x");
  unknown.order_id = "order-unknown";
  EXPECT_THAT(orders().TransitionOrder(unknown),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("order-unknown")));
}

TEST_F(OrderStoreTest, ExpectedStateIsCompareAndSet) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  ASSERT_THAT(orders().TransitionOrder(Move(order, OrderState::kCsrRequested, "first")), IsOk());
  // A second actor still believing the order is due loses.
  EXPECT_THAT(orders().TransitionOrder(Move(order, OrderState::kCancelled, "second")),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("is in state csr_requested, not due")));
}

TEST_F(OrderStoreTest, FailureWithRetryStaysOpenAndComesBackDue) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      order, orders().TransitionOrder(Move(order, OrderState::kCsrRequested, "prepare")));
  OrderTransition failed = Move(order, OrderState::kFailed, "prepare failed: agent offline");
  failed.failure = FailureRecord{"FAILURE_CODE_TIMEOUT", "agent did not answer", true, ""};
  failed.next_attempt_at = now() + absl::Hours(1);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(order, orders().TransitionOrder(failed));
  EXPECT_TRUE(order.open);
  EXPECT_EQ(order.failed_attempts, 1);
  EXPECT_EQ(order.last_failure, failed.failure);
  EXPECT_EQ(order.next_attempt_at, now() + absl::Hours(1));
  EXPECT_THAT(orders().CreateOrder(Order("1")), StatusIs(absl::StatusCode::kAlreadyExists));

  EXPECT_THAT(orders().ListOrdersReadyAt(now() + absl::Minutes(59), 10), IsOkAndHolds(IsEmpty()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<OrderRecord> ready,
                                 orders().ListOrdersReadyAt(now() + absl::Hours(1), 10));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].order_id, order.order_id);

  Advance(absl::Hours(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(order,
                                 orders().TransitionOrder(Move(order, OrderState::kDue, "retry")));
  EXPECT_EQ(order.next_attempt_at, now());
  EXPECT_EQ(order.last_failure, failed.failure);  // Kept for the operator.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      order, orders().TransitionOrder(Move(order, OrderState::kCsrRequested, "prepare again")));
  EXPECT_EQ(order.attempts, 2);
}

TEST_F(OrderStoreTest, FailureWithoutRetryClosesTheOrderAndReopeningChecksTheBinding) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      order, orders().TransitionOrder(Move(order, OrderState::kFailed, "platform cannot do it")));
  EXPECT_FALSE(order.open);
  EXPECT_EQ(order.next_attempt_at, std::nullopt);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord newer, orders().CreateOrder(Order("1")));
  EXPECT_THAT(orders().TransitionOrder(Move(order, OrderState::kDue, "operator retry")),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(newer.order_id)));
}

TEST_F(OrderStoreTest, ClosingAnOrderCancelsItsQueuedJobs) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  NewJob prepare;
  prepare.host_id = host_.host_id;
  prepare.order_id = order.order_id;
  prepare.kind = JobKind::kPrepare;
  prepare.created_at = now();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      JobRecord job,
      store().jobs().CreateJob(prepare, Move(order, OrderState::kCsrRequested, "prepare queued")));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(order, orders().GetOrder(order.order_id));
  ASSERT_THAT(orders().TransitionOrder(Move(order, OrderState::kCancelled, "operator alice")),
              IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord cancelled, store().jobs().GetJob(job.job_id));
  EXPECT_EQ(cancelled.status, JobStatus::kCancelled);
  EXPECT_EQ(cancelled.cancel_reason, "order cancelled: operator alice");
}

TEST_F(OrderStoreTest, ListingsCountsAndSchedulerQueries) {
  HostRecord other = Enroll("web-02.example.com");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord first, orders().CreateOrder(Order("1")));
  Advance(absl::Minutes(1));
  NewOrder later = Order("2");
  later.next_attempt_at = now() + absl::Hours(2);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord second, orders().CreateOrder(later));
  Advance(absl::Minutes(1));
  NewOrder campaign = Order("1", other.host_id);
  campaign.trigger = OrderTrigger::kCampaign;
  campaign.campaign_id = "campaign-1";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord third, orders().CreateOrder(campaign));
  ASSERT_THAT(orders().TransitionOrder(Move(third, OrderState::kCsrRequested, "prepare")), IsOk());

  OrderQuery all;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<OrderRecord> page, orders().ListOrders(all));
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_EQ(page.items[0].order_id, third.order_id);  // Newest first.
  EXPECT_THAT(page.items[0].history, IsEmpty());
  OrderQuery due;
  due.states = {OrderState::kDue};
  due.host_id = host_.host_id;
  due.page.page_size = 1;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, orders().ListOrders(due));
  EXPECT_EQ(page.total_size, 2);
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].order_id, second.order_id);
  due.page.page_token = page.next_page_token;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, orders().ListOrders(due));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].order_id, first.order_id);
  EXPECT_TRUE(page.next_page_token.empty());
  OrderQuery by_campaign;
  by_campaign.campaign_id = "campaign-1";
  EXPECT_EQ(orders().ListOrders(by_campaign)->items.size(), 1u);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<OrderRecord> ready,
                                 orders().ListOrdersReadyAt(now(), 10));
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].order_id, first.order_id);
  EXPECT_EQ(orders().ListOrdersReadyAt(now() + absl::Hours(3), 10)->size(), 2u);
  EXPECT_EQ(orders().ListOrdersReadyAt(now() + absl::Hours(3), 1)->size(), 1u);

  EXPECT_THAT(orders().ListHostsWithOpenOrders(),
              IsOkAndHolds(UnorderedElementsAre(host_.host_id, other.host_id)));
  EXPECT_THAT(orders().CountOpenOrders(), IsOkAndHolds(3));
  EXPECT_THAT(
      orders().CountOrdersByState(),
      IsOkAndHolds(ElementsAre(Pair(OrderState::kDue, 2), Pair(OrderState::kCsrRequested, 1))));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::optional<OrderRecord> open,
                                 orders().FindOpenOrder(host_.host_id, "2"));
  ASSERT_TRUE(open.has_value());
  EXPECT_EQ(open->order_id, second.order_id);
  EXPECT_THAT(orders().FindOpenOrder(host_.host_id, "9"),
              IsOkAndHolds(::testing::Eq(std::nullopt)));
}

TEST_F(OrderStoreTest, FindByPublicKeyForUploadMatching) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord order, orders().CreateOrder(Order("1")));
  ASSERT_THAT(orders().TransitionOrder(Move(order, OrderState::kCsrRequested, "prepare")), IsOk());
  order = *orders().GetOrder(order.order_id);
  OrderTransition csr = Move(order, OrderState::kAwaitingIssuance, "CSR");
  csr.public_key_sha256 = std::string(64, 'e');
  ASSERT_THAT(orders().TransitionOrder(csr), IsOk());
  EXPECT_THAT(orders().FindOrdersByPublicKey(std::string(64, 'E')),
              IsOkAndHolds(ElementsAre(::testing::Field(&OrderRecord::order_id, order.order_id))));
  EXPECT_THAT(orders().FindOrdersByPublicKey(std::string(64, 'f')), IsOkAndHolds(IsEmpty()));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
