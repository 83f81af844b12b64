// PolicyStore on SQLite (table policies).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_POLICY_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_POLICY_STORE_H_

#include <string_view>
#include <vector>

#include "controller/store/policy_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqlitePolicyStore final : public PolicyStore {
 public:
  // `connection` must outlive this object.
  explicit SqlitePolicyStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<PolicyRecord> SetPolicy(const PolicyRecord& policy) override;
  absl::StatusOr<PolicyRecord> GetPolicy(std::string_view name) override;
  absl::StatusOr<std::vector<PolicyRecord>> ListPolicies() override;
  absl::Status DeletePolicy(std::string_view name) override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_POLICY_STORE_H_
