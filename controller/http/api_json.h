// How the JSON API writes the store's records: times as RFC 3339 UTC
// strings, enum values by the store's names ("csr_requested", "MY",
// "matches"), absent values as null. One function per record, so every
// resource that shows a host, order or job shows it the same way.
//
// The admin API's conversions (controller/admin/record_conversion.h) map the
// same records to protobuf messages; the HTTP API writes plain JSON with the
// store's spellings instead, which is what scripts and the dashboard read.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_HTTP_API_JSON_H_
#define CERTFLEET_CONTROLLER_HTTP_API_JSON_H_

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::http {

// "2026-11-29T04:36:30Z", with a fraction of a second only when there is one.
std::string Rfc3339(absl::Time time);
// FormatTime, or null when unset.
nlohmann::json OptionalTime(const std::optional<absl::Time>& time);

// Whole days from `now` to `not_after`, rounded down: 0 on the last day,
// negative once expired.
int64_t DaysLeft(absl::Time not_after, absl::Time now);

// What the served status of a binding reads as: a probe's status, or
// "not_probed".
std::string ServedStatusName(const std::optional<store::BindingProbeRecord>& probe);

// The worst of several served statuses: mismatch, then incomplete_chain,
// then unreachable, then not_probed, then matches. Empty input: empty.
std::string WorstServedStatus(const std::vector<std::string>& statuses);

// {status, probed_at, endpoint, served_thumbprint, detail}.
nlohmann::json ServedJson(const std::optional<store::BindingProbeRecord>& probe);

nlohmann::json FailureJson(const std::optional<store::FailureRecord>& failure);
nlohmann::json HostJson(const store::HostRecord& host);
nlohmann::json SiteJson(const store::SiteRecord& site);
nlohmann::json BindingJson(const store::BindingRecord& binding);
// A certificate as the certificates resource lists it; `bindings` are the
// ones using it (CertificateRecord::bindings).
nlohmann::json CertificateJson(const store::CertificateRecord& certificate, absl::Time now);
nlohmann::json StepJson(const store::StepReportRecord& step);
// A job without its attempts (listings) or with them (GetJob answers).
nlohmann::json JobJson(const store::JobRecord& job, std::string_view hostname);
nlohmann::json OrderStateChangeJson(const store::OrderStateChange& change);

// The step a job is at or failed at: the last step of its latest attempt,
// preferring a failed one. Empty when the job reported no step.
std::optional<store::StepReportRecord> CurrentStep(const store::JobRecord& job);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_API_JSON_H_
