// OrderStore on SQLite (tables orders and order_history).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_ORDER_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_ORDER_STORE_H_

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "controller/store/order_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteOrderStore final : public OrderStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteOrderStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<OrderRecord> CreateOrder(const NewOrder& order) override;
  absl::StatusOr<OrderRecord> GetOrder(std::string_view order_id) override;
  absl::StatusOr<OrderRecord> TransitionOrder(const OrderTransition& transition) override;
  absl::StatusOr<Page<OrderRecord>> ListOrders(const OrderQuery& query) override;
  absl::StatusOr<std::optional<OrderRecord>> FindOpenOrder(std::string_view host_id,
                                                           std::string_view binding_id) override;
  absl::StatusOr<std::vector<OrderRecord>> ListOrdersReadyAt(absl::Time now, int limit) override;
  absl::StatusOr<std::vector<std::string>> ListHostsWithOpenOrders() override;
  absl::StatusOr<int64_t> CountOpenOrders() override;
  absl::StatusOr<std::map<OrderState, int64_t>> CountOrdersByState() override;
  absl::StatusOr<DurationHistogram> HistogramOfDoneOrderDurations(
      const std::vector<absl::Duration>& upper_bounds) override;
  absl::StatusOr<std::vector<OrderRecord>> FindOrdersByPublicKey(
      std::string_view public_key_sha256) override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_ORDER_STORE_H_
