// HostStore on SQLite (tables hosts and host_labels).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_HOST_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_HOST_STORE_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "controller/store/host_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteHostStore final : public HostStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteHostStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<HostRecord> EnrollHost(const HostEnrollment& enrollment) override;
  absl::StatusOr<HostRecord> GetHost(std::string_view host_id) override;
  absl::StatusOr<HostRecord> GetHostByName(std::string_view hostname) override;
  absl::StatusOr<Page<HostRecord>> ListHosts(const HostQuery& query) override;
  absl::Status RecordHeartbeat(std::string_view host_id, absl::Time seen_at) override;
  absl::StatusOr<int64_t> RecordHeartbeats(const std::vector<HostHeartbeat>& heartbeats) override;
  absl::Status SetPresence(std::string_view host_id, Presence presence, absl::Time at) override;
  absl::StatusOr<std::vector<std::string>> MarkOfflineSeenBefore(absl::Time cutoff) override;
  absl::StatusOr<HostRecord> UpdateAgentDescription(std::string_view host_id,
                                                    const AgentDescription& description,
                                                    absl::Time seen_at) override;
  absl::StatusOr<HostRecord> UpdateIdentity(std::string_view host_id,
                                            const AgentIdentityRecord& identity) override;
  absl::StatusOr<HostRecord> SetLabels(std::string_view host_id,
                                       const std::map<std::string, std::string>& labels) override;
  absl::StatusOr<HostRecord> DecommissionHost(std::string_view host_id, std::string_view reason,
                                              absl::Time at) override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_HOST_STORE_H_
