// InventoryStore on SQLite (tables sites, bindings, binding_history,
// binding_probes, certificates, certificate_placements and
// pending_requests).
//
// Thread safety: thread-safe; every method runs under the shared
// connection's mutex.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_INVENTORY_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_INVENTORY_STORE_H_

#include <string>
#include <string_view>
#include <vector>

#include "controller/store/inventory_store.h"
#include "controller/store/sqlite/sqlite_connection.h"

namespace certfleet::controller::store::sqlite_backend {

class SqliteInventoryStore final : public InventoryStore {
 public:
  // `connection` must outlive this object.
  explicit SqliteInventoryStore(SqliteConnection* connection) : connection_(connection) {}

  absl::StatusOr<InventoryIngestResult> IngestInventory(const InventoryReport& report,
                                                        absl::Time received_at) override;
  absl::StatusOr<std::vector<SiteRecord>> ListSites(std::string_view host_id) override;
  absl::StatusOr<std::vector<BindingRecord>> ListBindings(std::string_view host_id) override;
  absl::StatusOr<BindingRecord> GetBinding(std::string_view host_id,
                                           std::string_view binding_id) override;
  absl::StatusOr<std::vector<PendingRequestRecord>> ListPendingRequests(
      std::string_view host_id) override;
  absl::StatusOr<std::vector<PendingRequestRecord>> FindPendingRequestsByPublicKey(
      std::string_view public_key_sha256) override;
  absl::StatusOr<Page<CertificateRecord>> ListCertificates(const CertificateQuery& query) override;
  absl::StatusOr<Page<BindingChangeRecord>> ListBindingHistory(std::string_view host_id,
                                                               std::string_view binding_id,
                                                               const PageRequest& page) override;
  absl::StatusOr<bool> RecordBindingChange(const BindingChangeRecord& change) override;
  absl::StatusOr<FleetCounts> CountFleet(absl::Time now) override;
  absl::Status RecordBindingProbe(const BindingProbeRecord& probe) override;
  absl::StatusOr<ServedStatusCounts> CountBindingsByServedStatus() override;
  absl::StatusOr<std::vector<ExpiryTimelineBucket>> CountBoundCertificatesByExpiry(
      absl::Time from, absl::Duration bucket_width, int bucket_count) override;

  // The SQLite query plan (EXPLAIN QUERY PLAN, one line per step) of the
  // page query ListCertificates runs for `query`, to check that hot queries
  // use their index. For tests and diagnostics.
  absl::StatusOr<std::string> ExplainListCertificates(const CertificateQuery& query);

 private:
  SqliteConnection* connection_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_INVENTORY_STORE_H_
