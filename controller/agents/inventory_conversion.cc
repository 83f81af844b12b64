#include "controller/agents/inventory_conversion.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/admin/record_conversion.h"

namespace certfleet::controller::agents {
namespace {

namespace v1 = certfleet::v1;

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

// "SITE_STATE_STARTED" with prefix "SITE_STATE_" -> "STARTED".
std::string WireSuffix(const std::string& name, std::string_view prefix) {
  if (absl::StartsWith(name, std::string(prefix))) return name.substr(prefix.size());
  return name;
}

store::DistinguishedNameRecord ToDistinguishedName(const v1::DistinguishedName& name) {
  store::DistinguishedNameRecord record;
  record.common_name = name.common_name();
  record.organization = name.organization();
  record.organizational_unit = name.organizational_unit();
  record.locality = name.locality();
  record.state_or_province = name.state_or_province();
  record.country = name.country();
  record.email_address = name.email_address();
  return record;
}

absl::StatusOr<store::CertificateStoreName> ToStoreName(v1::CertificateStore store,
                                                        std::string_view what) {
  switch (store) {
    case v1::CERTIFICATE_STORE_MY:
      return store::CertificateStoreName::kMy;
    case v1::CERTIFICATE_STORE_CA:
      return store::CertificateStoreName::kCa;
    case v1::CERTIFICATE_STORE_ROOT:
      return store::CertificateStoreName::kRoot;
    case v1::CERTIFICATE_STORE_REQUEST:
      return store::CertificateStoreName::kRequest;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(what), ": certificate store is not set"));
  }
}

absl::StatusOr<std::vector<store::EndpointRecord>> ToEndpoints(
    const google::protobuf::RepeatedPtrField<v1::Endpoint>& endpoints, const std::string& what) {
  std::vector<store::EndpointRecord> records;
  for (const v1::Endpoint& endpoint : endpoints) {
    if (endpoint.port() < 1 || endpoint.port() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": port ", endpoint.port(), " is outside 1-65535"));
    }
    store::EndpointRecord record;
    record.ip_address = endpoint.ip_address();
    record.port = static_cast<int>(endpoint.port());
    record.host_header = endpoint.host_header();
    records.push_back(std::move(record));
  }
  return records;
}

absl::Status TooMany(std::string_view what, int count, int limit) {
  return absl::InvalidArgumentError(absl::StrCat("the report has ", count, " ", std::string(what),
                                                 "; at most ", limit, " are accepted"));
}

}  // namespace

absl::StatusOr<store::InventoryReport> FromHostInventoryProto(std::string_view host_id,
                                                              const v1::HostInventory& inventory,
                                                              const InventoryLimits& limits) {
  if (host_id.empty()) return absl::InvalidArgumentError("inventory report without a host");
  if (!inventory.has_scanned_at()) {
    return absl::InvalidArgumentError("inventory report without scanned_at");
  }
  if (inventory.sites_size() > limits.max_sites) {
    return TooMany("sites", inventory.sites_size(), limits.max_sites);
  }
  if (inventory.bindings_size() > limits.max_bindings) {
    return TooMany("bindings", inventory.bindings_size(), limits.max_bindings);
  }
  if (inventory.certificates_size() > limits.max_certificates) {
    return TooMany("certificates", inventory.certificates_size(), limits.max_certificates);
  }
  if (inventory.pending_requests_size() > limits.max_pending_requests) {
    return TooMany("pending requests", inventory.pending_requests_size(),
                   limits.max_pending_requests);
  }

  store::InventoryReport report;
  report.host_id = std::string(host_id);
  report.scanned_at = FromTimestamp(inventory.scanned_at());
  report.content_hash = inventory.content_hash();
  const v1::Platform& platform = inventory.platform();
  report.platform.driver = platform.driver();
  report.platform.web_server = platform.web_server();
  report.platform.operating_system = platform.operating_system();
  report.platform.operating_system_version = platform.operating_system_version();
  report.platform.remote_address = platform.remote_address();
  report.platform.installed_updates.assign(platform.installed_updates().begin(),
                                           platform.installed_updates().end());
  if (inventory.has_scan_failure()) {
    const v1::Failure& failure = inventory.scan_failure();
    store::FailureRecord record;
    record.code = v1::FailureCode_Name(failure.code());
    record.message = failure.message();
    record.retryable = failure.retryable();
    if (failure.has_diagnosis()) record.diagnosis = failure.diagnosis().SerializeAsString();
    report.scan_failure = std::move(record);
    // The rest of a failed scan is ignored by the store; nothing to check.
    return report;
  }

  std::set<std::string> site_ids;
  for (const v1::Site& site : inventory.sites()) {
    if (site.site_id().empty()) return absl::InvalidArgumentError("a site has no site_id");
    if (!site_ids.insert(site.site_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("site ", site.site_id(), " is reported twice"));
    }
    store::SiteRecord record;
    record.site_id = site.site_id();
    record.name = site.name();
    record.state =
        absl::AsciiStrToLower(WireSuffix(v1::SiteState_Name(site.state()), "SITE_STATE_"));
    if (site.state() == v1::SITE_STATE_UNSPECIFIED) record.state = "unknown";
    record.auto_start = site.auto_start();
    record.content_path = site.content_path();
    record.configuration_location = site.configuration_location();
    record.temporary = site.temporary();
    record.temporary_for_order_id = site.temporary_for_order_id();
    report.sites.push_back(std::move(record));
  }

  std::set<std::string> binding_ids;
  for (const v1::Binding& binding : inventory.bindings()) {
    if (binding.binding_id().empty()) {
      return absl::InvalidArgumentError("a binding has no binding_id");
    }
    const std::string what = absl::StrCat("binding ", binding.binding_id());
    if (!binding_ids.insert(binding.binding_id()).second) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is reported twice"));
    }
    if (!site_ids.contains(binding.site_id())) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": site ", binding.site_id(), " is not in the report"));
    }
    if (binding.secure_endpoints_size() + binding.plain_endpoints_size() >
        limits.max_endpoints_per_binding) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " has more than ", limits.max_endpoints_per_binding, " endpoints"));
    }
    store::BindingRecord record;
    record.binding_id = binding.binding_id();
    record.site_id = binding.site_id();
    absl::StatusOr<std::vector<store::EndpointRecord>> secure =
        ToEndpoints(binding.secure_endpoints(), what);
    if (!secure.ok()) return secure.status();
    record.secure_endpoints = *std::move(secure);
    absl::StatusOr<std::vector<store::EndpointRecord>> plain =
        ToEndpoints(binding.plain_endpoints(), what);
    if (!plain.ok()) return plain.status();
    record.plain_endpoints = *std::move(plain);
    record.certificate_thumbprint = absl::AsciiStrToUpper(binding.certificate_thumbprint());
    if (binding.certificate_store() != v1::CERTIFICATE_STORE_UNSPECIFIED) {
      absl::StatusOr<store::CertificateStoreName> store_name =
          ToStoreName(binding.certificate_store(), what);
      if (!store_name.ok()) return store_name.status();
      record.certificate_store = *store_name;
    }
    record.has_pending_request = binding.has_pending_request();
    report.bindings.push_back(std::move(record));
  }

  for (const v1::CertificateInfo& certificate : inventory.certificates()) {
    if (certificate.thumbprint_sha1().size() != 40) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate \"", certificate.subject(), "\": thumbprint_sha1 \"",
                       certificate.thumbprint_sha1(), "\" is not 40 hex digits"));
    }
    const std::string what = absl::StrCat("certificate ", certificate.thumbprint_sha1());
    if (static_cast<int64_t>(certificate.der().size()) > limits.max_certificate_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": DER of ", certificate.der().size(),
                                                     " bytes exceeds ",
                                                     limits.max_certificate_bytes));
    }
    absl::StatusOr<store::CertificateStoreName> store_name = ToStoreName(certificate.store(), what);
    if (!store_name.ok()) return store_name.status();
    store::CertificateRecord record;
    record.store = *store_name;
    record.has_private_key = certificate.has_private_key();
    record.thumbprint_sha1 = absl::AsciiStrToUpper(certificate.thumbprint_sha1());
    record.fingerprint_sha256 = certificate.fingerprint_sha256();
    record.subject = certificate.subject();
    record.subject_name = ToDistinguishedName(certificate.subject_name());
    record.issuer = certificate.issuer();
    record.issuer_name = ToDistinguishedName(certificate.issuer_name());
    record.serial_number = certificate.serial_number();
    record.not_before = FromTimestamp(certificate.not_before());
    record.not_after = FromTimestamp(certificate.not_after());
    if (record.not_after < record.not_before) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": not_after is before not_before"));
    }
    for (const v1::SubjectAlternativeName& name : certificate.subject_alternative_names()) {
      record.subject_alternative_names.push_back(admin::FromSubjectAlternativeNameProto(name));
    }
    record.key_algorithm =
        WireSuffix(v1::KeyAlgorithm_Name(certificate.key_algorithm()), "KEY_ALGORITHM_");
    record.key_bits = static_cast<int>(certificate.key_bits());
    record.signature_algorithm = certificate.signature_algorithm();
    record.signature_hash =
        WireSuffix(v1::SignatureHash_Name(certificate.signature_hash()), "SIGNATURE_HASH_");
    record.is_ca = certificate.is_ca();
    if (certificate.has_path_length_constraint()) {
      record.path_length_constraint = static_cast<int>(certificate.path_length_constraint());
    }
    record.kind = WireSuffix(v1::CertificateKind_Name(certificate.kind()), "CERTIFICATE_KIND_");
    record.public_key_sha256 = certificate.public_key_sha256();
    record.subject_key_identifier = certificate.subject_key_identifier();
    record.authority_key_identifier = certificate.authority_key_identifier();
    record.extended_key_usages.assign(certificate.extended_key_usages().begin(),
                                      certificate.extended_key_usages().end());
    record.der = certificate.der();
    report.certificates.push_back(std::move(record));
  }

  for (const v1::PendingRequest& request : inventory.pending_requests()) {
    if (!site_ids.contains(request.site_id())) {
      return absl::InvalidArgumentError(absl::StrCat("pending request for site ", request.site_id(),
                                                     ": the site is not in the report"));
    }
    store::PendingRequestRecord record;
    record.site_id = request.site_id();
    record.public_key_sha256 = request.public_key_sha256();
    record.subject = ToDistinguishedName(request.subject());
    for (const v1::SubjectAlternativeName& name : request.subject_alternative_names()) {
      record.subject_alternative_names.push_back(admin::FromSubjectAlternativeNameProto(name));
    }
    if (request.key_spec() != v1::KEY_SPEC_UNSPECIFIED) {
      record.key_spec = WireSuffix(v1::KeySpec_Name(request.key_spec()), "KEY_SPEC_");
    }
    if (request.has_created_at()) record.created_at = FromTimestamp(request.created_at());
    record.placeholder_thumbprint = absl::AsciiStrToUpper(request.placeholder_thumbprint());
    record.csr_pem = request.csr_pem();
    record.order_id = request.order_id();
    report.pending_requests.push_back(std::move(record));
  }
  return report;
}

v1::InventoryDisposition ToInventoryDispositionProto(store::InventoryDisposition disposition) {
  switch (disposition) {
    case store::InventoryDisposition::kApplied:
      return v1::INVENTORY_DISPOSITION_APPLIED;
    case store::InventoryDisposition::kUnchanged:
      return v1::INVENTORY_DISPOSITION_UNCHANGED;
    case store::InventoryDisposition::kStale:
      return v1::INVENTORY_DISPOSITION_STALE;
    case store::InventoryDisposition::kScanFailureRecorded:
      return v1::INVENTORY_DISPOSITION_SCAN_FAILURE_RECORDED;
  }
  return v1::INVENTORY_DISPOSITION_UNSPECIFIED;
}

std::vector<store::BindingProbeRecord> FromServedProbes(std::string_view host_id,
                                                        const v1::HostInventory& inventory,
                                                        absl::Time received_at,
                                                        const InventoryLimits& limits) {
  std::vector<store::BindingProbeRecord> records;
  for (const v1::ServedProbe& served : inventory.served()) {
    if (static_cast<int>(records.size()) >= limits.max_bindings) break;
    const v1::ProbeResult& probe = served.probe();
    if (served.binding_id().empty() || probe.address().empty()) continue;
    store::BindingProbeRecord record;
    record.host_id = std::string(host_id);
    record.binding_id = served.binding_id();
    record.endpoint = probe.address();
    record.probed_at = probe.has_probed_at() ? FromTimestamp(probe.probed_at()) : received_at;
    record.served_thumbprint = probe.served_thumbprint();
    if (!probe.handshake_completed()) {
      record.status = store::ServedStatus::kUnreachable;
      record.detail = probe.problem().empty() ? "no TLS handshake completed" : probe.problem();
    } else if (!probe.thumbprint_matches()) {
      record.status = store::ServedStatus::kMismatch;
      record.detail = absl::StrCat("serves ", probe.served_thumbprint(), " instead of the bound ",
                                   probe.expected_thumbprint(),
                                   " (was the web service restarted after the change?)");
    } else if (!probe.chain_complete()) {
      record.status = store::ServedStatus::kIncompleteChain;
      record.detail = probe.problem().empty()
                          ? "serves the bound certificate without its intermediate"
                          : probe.problem();
    } else {
      record.status = store::ServedStatus::kMatches;
      record.detail = probe.chain_verifies()
                          ? "serves the bound certificate with a chain that verifies"
                          : absl::StrCat("serves the bound certificate; ", probe.problem());
    }
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace certfleet::controller::agents
