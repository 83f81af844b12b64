// Turns what a HostDriver scanned into the HostInventory message of
// AgentService.ReportInventory (agent.proto), the form
// controller/agents/inventory_conversion.cc expects: every site, one TLS
// binding per site that has a secure endpoint or a bound certificate (IIS 6:
// binding id = site id), every certificate of MY, CA, ROOT and REQUEST with
// its DER, and every pending request. The content hash is the SHA-256 of the
// deterministic serialization with scanned_at cleared, so an unchanged host
// yields the same hash and the controller answers UNCHANGED cheaply.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_AGENT_SESSION_INVENTORY_REPORT_H_
#define CERTFLEET_AGENT_SESSION_INVENTORY_REPORT_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "certfleet/v1/agent.pb.h"
#include "common/crypto/certificate.h"

namespace certfleet::agent::session {

// The report of a successful scan, content_hash filled.
certfleet::v1::HostInventory ToHostInventoryProto(const HostInventory& inventory,
                                                  const certfleet::v1::Platform& platform,
                                                  absl::Time scanned_at);

// The report of a failed scan: only the failure (CORRUPT_CONFIGURATION for
// FailedPrecondition, IO_ERROR otherwise), so that the controller keeps the
// previous inventory.
certfleet::v1::HostInventory ScanFailureReport(const absl::Status& scan_error,
                                               const certfleet::v1::Platform& platform,
                                               absl::Time scanned_at);

// What the toolkit sees in one certificate, as CertificateInfo (DER
// included).
certfleet::v1::CertificateInfo ToCertificateInfo(const crypto::Certificate& certificate);

// SHA-256 of the deterministic serialization of `inventory` without
// scanned_at, content_hash and served (measurements, not configuration),
// 64 upper-case hex digits.
std::string InventoryContentHash(const certfleet::v1::HostInventory& inventory);

// Upper-case hex SHA-256 of `bytes`.
std::string Sha256Hex(std::string_view bytes);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_INVENTORY_REPORT_H_
