// Renewal orders: one renewal of one binding, moving along the order graph
// (records.h, IsAllowedOrderTransition), with every transition kept in its
// history. At most one open order per binding is enforced by the store; at
// most one per host is the scheduler's rule, helped by
// ListHostsWithOpenOrders.
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_ORDER_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_ORDER_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class OrderStore {
 public:
  virtual ~OrderStore() = default;

  // Creates an order in state due, with its first history entry, and
  // returns it. next_attempt_at defaults to created_at. Errors:
  // AlreadyExists when the binding has an open order (naming that order and
  // its state); NotFound when the host is unknown; FailedPrecondition when
  // it is decommissioned; InvalidArgument when host, site or binding id is
  // empty.
  virtual absl::StatusOr<OrderRecord> CreateOrder(const NewOrder& order) = 0;

  // The order with its full history. NotFound otherwise.
  virtual absl::StatusOr<OrderRecord> GetOrder(std::string_view order_id) = 0;

  // Moves an order to transition.to, storing what the transition brings and
  // a history entry (time, from, to, reason, actor), and returns the order
  // with its history. Entering failed counts a failed attempt; leaving due
  // for csr_requested counts an attempt; next_attempt_at is kept only in due
  // and failed. When the order closes (done, rolled back, cancelled, or
  // failed with no retry), its queued jobs are cancelled and its running
  // jobs get a cancellation request. Errors: NotFound for an unknown order;
  // FailedPrecondition when the order is not in expected_state (naming
  // both), or the graph has no such edge ("cannot move from X to Y");
  // AlreadyExists when a retry (failed -> due) would give the binding a
  // second open order.
  virtual absl::StatusOr<OrderRecord> TransitionOrder(const OrderTransition& transition) = 0;

  // Orders matching `query`, newest first by query.sort_key (creation or
  // last change; both indexed), without history.
  // InvalidArgument for a bad page token.
  virtual absl::StatusOr<Page<OrderRecord>> ListOrders(const OrderQuery& query) = 0;

  // The binding's open order, if any.
  virtual absl::StatusOr<std::optional<OrderRecord>> FindOpenOrder(std::string_view host_id,
                                                                   std::string_view binding_id) = 0;

  // Up to `limit` orders in state due or failed whose next_attempt_at is at
  // or before `now`, earliest first (the scheduler's work list; indexed).
  virtual absl::StatusOr<std::vector<OrderRecord>> ListOrdersReadyAt(absl::Time now, int limit) = 0;

  // Ids of the hosts that have at least one open order, sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListHostsWithOpenOrders() = 0;

  // Number of open orders (for the global concurrency cap).
  virtual absl::StatusOr<int64_t> CountOpenOrders() = 0;

  // Number of orders in each state; states without orders are absent.
  virtual absl::StatusOr<std::map<OrderState, int64_t>> CountOrdersByState() = 0;

  // Durations (created_at to the transition into done) of every done order,
  // as a cumulative histogram over `upper_bounds` (ascending; InvalidArgument
  // otherwise).
  virtual absl::StatusOr<DurationHistogram> HistogramOfDoneOrderDurations(
      const std::vector<absl::Duration>& upper_bounds) = 0;

  // Orders whose CSR has a public key with this SHA-256, newest first
  // (which order an uploaded certificate answers).
  virtual absl::StatusOr<std::vector<OrderRecord>> FindOrdersByPublicKey(
      std::string_view public_key_sha256) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_ORDER_STORE_H_
