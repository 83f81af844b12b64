#include "controller/http/api_json.h"

#include <array>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace certfleet::controller::http {
namespace {

using nlohmann::json;

json EndpointsJson(const std::vector<store::EndpointRecord>& endpoints) {
  json list = json::array();
  for (const store::EndpointRecord& endpoint : endpoints) {
    list.push_back({{"ip_address", endpoint.ip_address},
                    {"port", endpoint.port},
                    {"host_header", endpoint.host_header}});
  }
  return list;
}

json DistinguishedNameJson(const store::DistinguishedNameRecord& name) {
  return {{"common_name", name.common_name},
          {"organization", name.organization},
          {"organizational_unit", name.organizational_unit},
          {"locality", name.locality},
          {"state_or_province", name.state_or_province},
          {"country", name.country},
          {"email_address", name.email_address}};
}

json ResultJson(const std::optional<store::JobResultRecord>& result) {
  if (!result.has_value()) return nullptr;
  return {{"outcome", std::string(store::ToString(result->outcome))},
          {"failure", FailureJson(result->failure)},
          {"finished_at", Rfc3339(result->finished_at)}};
}

}  // namespace

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", time, absl::UTCTimeZone());
}

json OptionalTime(const std::optional<absl::Time>& time) {
  if (!time.has_value()) return nullptr;
  return Rfc3339(*time);
}

int64_t DaysLeft(absl::Time not_after, absl::Time now) {
  return static_cast<int64_t>(std::floor(absl::FDivDuration(not_after - now, absl::Hours(24))));
}

std::string ServedStatusName(const std::optional<store::BindingProbeRecord>& probe) {
  return probe.has_value() ? std::string(store::ToString(probe->status)) : "not_probed";
}

std::string WorstServedStatus(const std::vector<std::string>& statuses) {
  static constexpr std::array<std::string_view, 5> kWorstFirst = {
      "mismatch", "incomplete_chain", "unreachable", "not_probed", "matches"};
  for (std::string_view candidate : kWorstFirst) {
    for (const std::string& status : statuses) {
      if (status == candidate) return status;
    }
  }
  return statuses.empty() ? std::string() : statuses.front();
}

json ServedJson(const std::optional<store::BindingProbeRecord>& probe) {
  if (!probe.has_value()) {
    return {{"status", "not_probed"},
            {"probed_at", nullptr},
            {"endpoint", nullptr},
            {"served_thumbprint", nullptr},
            {"detail", nullptr}};
  }
  return {{"status", std::string(store::ToString(probe->status))},
          {"probed_at", Rfc3339(probe->probed_at)},
          {"endpoint", probe->endpoint},
          {"served_thumbprint", probe->served_thumbprint},
          {"detail", probe->detail}};
}

json FailureJson(const std::optional<store::FailureRecord>& failure) {
  if (!failure.has_value()) return nullptr;
  return {
      {"code", failure->code}, {"message", failure->message}, {"retryable", failure->retryable}};
}

json HostJson(const store::HostRecord& host) {
  return {{"host_id", host.host_id},
          {"hostname", host.hostname},
          {"state", std::string(store::ToString(host.state))},
          {"online", host.online},
          {"last_seen_at", OptionalTime(host.last_seen_at)},
          {"labels", host.labels},
          {"platform",
           {{"driver", host.platform.driver},
            {"web_server", host.platform.web_server},
            {"operating_system", host.platform.operating_system},
            {"operating_system_version", host.platform.operating_system_version},
            {"remote_address", host.platform.remote_address}}},
          {"agent_version", host.agent_version},
          {"enrolled_at", Rfc3339(host.enrolled_at)},
          {"agent_identity_expires_at", Rfc3339(host.identity.expires_at)},
          {"last_inventory_at", OptionalTime(host.last_inventory_at)},
          {"inventory_scanned_at", OptionalTime(host.inventory_scanned_at)},
          {"inventory_failure", FailureJson(host.last_inventory_failure)},
          {"decommissioned_at", OptionalTime(host.decommissioned_at)}};
}

json SiteJson(const store::SiteRecord& site) {
  return {{"site_id", site.site_id},     {"name", site.name},
          {"state", site.state},         {"auto_start", site.auto_start},
          {"temporary", site.temporary}, {"temporary_for_order_id", site.temporary_for_order_id}};
}

json BindingJson(const store::BindingRecord& binding) {
  return {{"binding_id", binding.binding_id},
          {"site_id", binding.site_id},
          {"site_name", binding.site_name},
          {"secure_endpoints", EndpointsJson(binding.secure_endpoints)},
          {"plain_endpoints", EndpointsJson(binding.plain_endpoints)},
          {"certificate_thumbprint", binding.certificate_thumbprint},
          {"certificate_store", std::string(store::ToString(binding.certificate_store))},
          {"has_pending_request", binding.has_pending_request},
          {"first_seen_at", Rfc3339(binding.first_seen_at)},
          {"thumbprint_since", Rfc3339(binding.thumbprint_since)},
          {"served", ServedJson(binding.last_probe)}};
}

json CertificateJson(const store::CertificateRecord& certificate, absl::Time now) {
  json bound_sites = json::array();
  std::vector<std::string> statuses;
  for (const store::BindingRecord& binding : certificate.bindings) {
    bound_sites.push_back({{"site_id", binding.site_id},
                           {"site_name", binding.site_name},
                           {"binding_id", binding.binding_id},
                           {"served", ServedJson(binding.last_probe)}});
    statuses.push_back(ServedStatusName(binding.last_probe));
  }
  json served_status = nullptr;
  if (!statuses.empty()) served_status = WorstServedStatus(statuses);
  return {{"host_id", certificate.host_id},
          {"hostname", certificate.hostname},
          {"thumbprint", certificate.thumbprint_sha1},
          {"fingerprint_sha256", certificate.fingerprint_sha256},
          {"subject", certificate.subject},
          {"subject_name", DistinguishedNameJson(certificate.subject_name)},
          {"subject_alternative_names", certificate.subject_alternative_names},
          {"issuer", certificate.issuer},
          {"serial_number", certificate.serial_number},
          {"not_before", Rfc3339(certificate.not_before)},
          {"not_after", Rfc3339(certificate.not_after)},
          {"days_left", DaysLeft(certificate.not_after, now)},
          {"key_algorithm", certificate.key_algorithm},
          {"key_bits", certificate.key_bits},
          {"signature_hash", certificate.signature_hash},
          {"kind", certificate.kind},
          {"is_ca", certificate.is_ca},
          {"store", std::string(store::ToString(certificate.store))},
          {"has_private_key", certificate.has_private_key},
          {"first_seen_at", Rfc3339(certificate.first_seen_at)},
          {"bound_sites", bound_sites},
          {"served_status", served_status}};
}

json StepJson(const store::StepReportRecord& step) {
  return {{"index", step.step_index},
          {"step", step.step},
          {"outcome", std::string(store::ToString(step.outcome))},
          {"started_at", Rfc3339(step.started_at)},
          {"finished_at", OptionalTime(step.finished_at)},
          {"detail", step.detail},
          {"failure", FailureJson(step.failure)},
          {"facts", step.facts}};
}

json JobJson(const store::JobRecord& job, std::string_view hostname) {
  json answer = {{"job_id", job.job_id},
                 {"host_id", job.host_id},
                 {"hostname", std::string(hostname)},
                 {"order_id", job.order_id.empty() ? json(nullptr) : json(job.order_id)},
                 {"kind", std::string(store::ToString(job.kind))},
                 {"state", std::string(store::ToString(job.status))},
                 {"created_at", Rfc3339(job.created_at)},
                 {"created_by", job.created_by},
                 {"not_before", OptionalTime(job.not_before)},
                 {"attempt", job.attempt},
                 {"lease_expires_at", OptionalTime(job.lease_expires_at)},
                 {"cancel_requested_at", OptionalTime(job.cancel_requested_at)},
                 {"cancel_reason", job.cancel_reason},
                 {"finished_at", OptionalTime(job.finished_at)},
                 {"result", ResultJson(job.result)}};
  if (!job.attempts.empty()) {
    json attempts = json::array();
    for (const store::JobAttemptRecord& attempt : job.attempts) {
      json steps = json::array();
      for (const store::StepReportRecord& step : attempt.steps) steps.push_back(StepJson(step));
      attempts.push_back({{"attempt", attempt.attempt},
                          {"started_at", Rfc3339(attempt.started_at)},
                          {"ended_at", OptionalTime(attempt.ended_at)},
                          {"ended_reason", attempt.ended_reason},
                          {"result", ResultJson(attempt.result)},
                          {"steps", steps}});
    }
    answer["attempts"] = attempts;
  }
  return answer;
}

json OrderStateChangeJson(const store::OrderStateChange& change) {
  return {{"from", change.from.has_value() ? json(std::string(store::ToString(*change.from)))
                                           : json(nullptr)},
          {"to", std::string(store::ToString(change.to))},
          {"at", Rfc3339(change.changed_at)},
          {"reason", change.reason},
          {"actor", change.actor}};
}

std::optional<store::StepReportRecord> CurrentStep(const store::JobRecord& job) {
  if (job.attempts.empty()) return std::nullopt;
  const std::vector<store::StepReportRecord>& steps = job.attempts.back().steps;
  if (steps.empty()) return std::nullopt;
  for (auto step = steps.rbegin(); step != steps.rend(); ++step) {
    if (step->outcome == store::StepOutcome::kFailed) return *step;
  }
  return steps.back();
}

}  // namespace certfleet::controller::http
