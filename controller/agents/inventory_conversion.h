// Converts an agent's inventory report (certfleet.v1.HostInventory) into the
// store's InventoryReport for one host, validating it on the way.
//
// Contract: the host id always comes from the caller (the authenticated
// agent), never from the report, so a report cannot name another host.
// Every refusal is InvalidArgument with a message naming the offending item
// ("binding 7: site 9 is not in the report"); nothing is partially
// converted. Enum values are spelled as the store expects: site states in
// lower case ("started"), certificate kinds, key algorithms, signature hashes
// and key specs as the wire suffix ("LEAF", "RSA", "SHA256", "RSA_2048"),
// subjectAltNames as "DNS:name" / "IP:address" / "EMAIL:..." / "URI:...".
//
// Thread safety: pure functions.

#ifndef CERTFLEET_CONTROLLER_AGENTS_INVENTORY_CONVERSION_H_
#define CERTFLEET_CONTROLLER_AGENTS_INVENTORY_CONVERSION_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/agent.pb.h"
#include "controller/store/records.h"

namespace certfleet::controller::agents {

// Upper bounds on one report; larger reports are refused as malformed.
struct InventoryLimits {
  int max_sites = 10000;
  int max_bindings = 10000;
  int max_certificates = 50000;
  int max_pending_requests = 10000;
  int max_endpoints_per_binding = 256;
  // DER of one certificate.
  int max_certificate_bytes = 64 * 1024;
};

absl::StatusOr<store::InventoryReport> FromHostInventoryProto(
    std::string_view host_id, const certfleet::v1::HostInventory& inventory,
    const InventoryLimits& limits = {});

// The binding probes of an inventory report (HostInventory.served) as the
// store keeps them, for `host_id`: no handshake is kUnreachable, another
// leaf than the bound one kMismatch, the bound leaf without the
// intermediates to reach a root kIncompleteChain, else kMatches. At most
// limits.max_bindings are taken; probes without a binding id or address
// are skipped. `received_at` stands in for a missing probe time.
std::vector<store::BindingProbeRecord> FromServedProbes(
    std::string_view host_id, const certfleet::v1::HostInventory& inventory, absl::Time received_at,
    const InventoryLimits& limits = {});

// The wire value of a store disposition.
certfleet::v1::InventoryDisposition ToInventoryDispositionProto(
    store::InventoryDisposition disposition);

}  // namespace certfleet::controller::agents

#endif  // CERTFLEET_CONTROLLER_AGENTS_INVENTORY_CONVERSION_H_
