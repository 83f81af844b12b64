// What each host has: sites, TLS bindings, the certificates in its stores
// and pending requests, as its agent last reported them, plus the history of
// which certificate each binding used. Also the fleet-wide queries the
// scheduler and the dashboard run (expiring certificates, counts).
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_INVENTORY_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_INVENTORY_STORE_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class InventoryStore {
 public:
  virtual ~InventoryStore() = default;

  // Stores one host's report, received at `received_at` (controller clock),
  // in one transaction:
  // - scanned before the stored report: ignored (kStale);
  // - a scan failure: recorded on the host, the inventory kept
  //   (kScanFailureRecorded);
  // - the stored content hash: only the inventory times change (kUnchanged);
  // - otherwise the host's sites, bindings, certificates and pending
  //   requests become exactly the report's (kApplied). A certificate keeps
  //   its first-seen time; a binding whose thumbprint differs from the
  //   stored one gets a history row (old, new, `received_at`).
  // Errors: NotFound for an unknown host; FailedPrecondition for a
  // decommissioned one; InvalidArgument for an empty content hash or a
  // certificate without thumbprint or SHA-256 fingerprint (naming it).
  virtual absl::StatusOr<InventoryIngestResult> IngestInventory(const InventoryReport& report,
                                                                absl::Time received_at) = 0;

  // The host's sites, by site id. Empty for a host without inventory;
  // NotFound for an unknown host (also for the two listings below).
  virtual absl::StatusOr<std::vector<SiteRecord>> ListSites(std::string_view host_id) = 0;

  // The host's bindings, by binding id, with their site names.
  virtual absl::StatusOr<std::vector<BindingRecord>> ListBindings(std::string_view host_id) = 0;

  // One binding. NotFound naming host and binding otherwise.
  virtual absl::StatusOr<BindingRecord> GetBinding(std::string_view host_id,
                                                   std::string_view binding_id) = 0;

  // The host's pending requests.
  virtual absl::StatusOr<std::vector<PendingRequestRecord>> ListPendingRequests(
      std::string_view host_id) = 0;

  // Pending requests anywhere in the fleet whose public key has this SHA-256
  // (which request an uploaded certificate answers).
  virtual absl::StatusOr<std::vector<PendingRequestRecord>> FindPendingRequestsByPublicKey(
      std::string_view public_key_sha256) = 0;

  // Certificates matching `query` (one item per host, store and
  // certificate), sorted as asked with a stable tie-break. The notAfter
  // filter and sort use an index. InvalidArgument for a bad page token.
  virtual absl::StatusOr<Page<CertificateRecord>> ListCertificates(
      const CertificateQuery& query) = 0;

  // Certificates (of every store) that expire before now + within, soonest
  // first.
  absl::StatusOr<Page<CertificateRecord>> ListCertificatesExpiringWithin(absl::Time now,
                                                                         absl::Duration within,
                                                                         CertificateScope scope,
                                                                         const PageRequest& page) {
    CertificateQuery query;
    query.not_after_before = now + within;
    query.scope = scope;
    query.page = page;
    return ListCertificates(query);
  }

  // The binding's certificate changes, newest first.
  virtual absl::StatusOr<Page<BindingChangeRecord>> ListBindingHistory(std::string_view host_id,
                                                                       std::string_view binding_id,
                                                                       const PageRequest& page) = 0;

  // Records that an order switched a binding to change.new_thumbprint (a
  // deploy result, before the next inventory shows it): updates the binding
  // and appends the history row with the order id, so the next inventory
  // adds none. Returns false and changes nothing when the binding already
  // has that thumbprint. NotFound when the binding is unknown;
  // FailedPrecondition when its thumbprint is neither change.old_thumbprint
  // nor the new one (naming all three).
  virtual absl::StatusOr<bool> RecordBindingChange(const BindingChangeRecord& change) = 0;

  // Fleet-wide counts at `now` for the dashboard: hosts, agents online and
  // offline, hosts whose last scan failed, bound certificates by expiry
  // bucket (expired, under 7, 30, 90 days, later).
  virtual absl::StatusOr<FleetCounts> CountFleet(absl::Time now) = 0;

  // Stores `probe` as the latest probe of its binding, replacing the
  // previous one. The probe is tied to the binding's current thumbprint:
  // when an inventory or RecordBindingChange later changes the thumbprint,
  // the probe is dropped and the binding reads as not probed. NotFound when
  // the host has no such binding; InvalidArgument for an empty endpoint.
  virtual absl::Status RecordBindingProbe(const BindingProbeRecord& probe) = 0;

  // Bindings with a certificate, on hosts not decommissioned, by the status
  // of their latest probe.
  virtual absl::StatusOr<ServedStatusCounts> CountBindingsByServedStatus() = 0;

  // Bound certificates (one per host and certificate, hosts not
  // decommissioned, as CountFleet counts them) whose notAfter falls in each
  // of `bucket_count` consecutive buckets of `bucket_width` from `from`.
  // Returns every bucket in order, empty ones with count 0. InvalidArgument
  // for a width that is not positive or a count outside 1..10000.
  virtual absl::StatusOr<std::vector<ExpiryTimelineBucket>> CountBoundCertificatesByExpiry(
      absl::Time from, absl::Duration bucket_width, int bucket_count) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_INVENTORY_STORE_H_
