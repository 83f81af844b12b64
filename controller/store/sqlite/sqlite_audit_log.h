// AuditLog on SQLite (table audit_events).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_AUDIT_LOG_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_AUDIT_LOG_H_

#include "controller/store/audit_log.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteAuditLog final : public AuditLog {
 public:
  // `connection` must outlive this object.
  explicit SqliteAuditLog(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<AuditEventRecord> AppendAuditEvent(const AuditEventRecord& event) override;
  absl::StatusOr<Page<AuditEventRecord>> ListAuditEvents(const AuditQuery& query) override;

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_AUDIT_LOG_H_
