// The audit log of operator actions (successful and refused), append-only.
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_AUDIT_LOG_H_
#define CERTFLEET_CONTROLLER_STORE_AUDIT_LOG_H_

#include "absl/status/statusor.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class AuditLog {
 public:
  virtual ~AuditLog() = default;

  // Appends `event` (its event_id is ignored) and returns it with its
  // generated id. InvalidArgument when actor or action is empty.
  virtual absl::StatusOr<AuditEventRecord> AppendAuditEvent(const AuditEventRecord& event) = 0;

  // Events matching `query`, newest first (events at the same time: the
  // later appended first). InvalidArgument for a bad page token.
  virtual absl::StatusOr<Page<AuditEventRecord>> ListAuditEvents(const AuditQuery& query) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_AUDIT_LOG_H_
