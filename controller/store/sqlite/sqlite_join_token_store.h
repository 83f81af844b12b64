// JoinTokenStore on SQLite (table join_tokens).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_JOIN_TOKEN_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_JOIN_TOKEN_STORE_H_

#include <string_view>

#include "controller/store/join_token_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteJoinTokenStore final : public JoinTokenStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteJoinTokenStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<JoinTokenRecord> CreateJoinToken(const NewJoinToken& token) override;
  absl::StatusOr<JoinTokenRecord> GetJoinToken(std::string_view token_id) override;
  absl::StatusOr<JoinTokenRecord> ValidateJoinToken(std::string_view secret_sha256,
                                                    std::string_view hostname,
                                                    absl::Time now) override;
  absl::StatusOr<JoinTokenRecord> ConsumeJoinToken(std::string_view secret_sha256,
                                                   std::string_view hostname,
                                                   std::string_view host_id,
                                                   absl::Time now) override;
  absl::StatusOr<Page<JoinTokenRecord>> ListJoinTokens(const JoinTokenQuery& query) override;
  absl::StatusOr<JoinTokenRecord> RevokeJoinToken(std::string_view token_id,
                                                  absl::Time at) override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_JOIN_TOKEN_STORE_H_
