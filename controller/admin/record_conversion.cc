#include "controller/admin/record_conversion.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"

namespace certfleet::controller::admin {
namespace {

// Parses the wire enum named `prefix` + upper-cased `name` ("csr_requested"
// with "ORDER_STATE_" -> ORDER_STATE_CSR_REQUESTED); names already carrying
// the prefix are accepted as they are. Unknown names give `fallback`.
template <typename Enum, typename Parser>
Enum ParseWireName(std::string_view name, std::string_view prefix, Parser parse, Enum fallback) {
  std::string upper = absl::AsciiStrToUpper(std::string(name));
  if (!absl::StartsWith(upper, std::string(prefix)))
    upper = absl::StrCat(std::string(prefix), upper);
  Enum value = fallback;
  if (!parse(upper, &value)) return fallback;
  return value;
}

void SetFailure(const store::FailureRecord& failure, v1::Failure* proto) {
  proto->set_code(ParseWireName(failure.code, "FAILURE_CODE_", v1::FailureCode_Parse,
                                v1::FAILURE_CODE_UNSPECIFIED));
  proto->set_message(failure.message);
  proto->set_retryable(failure.retryable);
  if (!failure.diagnosis.empty()) proto->mutable_diagnosis()->ParseFromString(failure.diagnosis);
}

}  // namespace

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

void SetDuration(absl::Duration duration, google::protobuf::Duration* proto) {
  const int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &duration);
  proto->set_seconds(seconds);
  proto->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
}

absl::Duration FromDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

store::PageRequest FromPageRequest(const v1::PageRequest& page) {
  return store::PageRequest{.page_size = static_cast<int>(std::min<uint32_t>(
                                page.page_size(), static_cast<uint32_t>(store::kMaximumPageSize))),
                            .page_token = page.page_token()};
}

v1::OrderState ToOrderStateProto(store::OrderState state) {
  return ParseWireName(store::ToString(state), "ORDER_STATE_", v1::OrderState_Parse,
                       v1::ORDER_STATE_UNSPECIFIED);
}

absl::StatusOr<store::OrderState> FromOrderStateProto(v1::OrderState state) {
  std::string name = v1::OrderState_Name(state);
  if (state == v1::ORDER_STATE_UNSPECIFIED || !absl::StartsWith(name, "ORDER_STATE_")) {
    return absl::InvalidArgumentError(absl::StrCat("order state ", static_cast<int>(state),
                                                   " is not a state; use due, issued, ..."));
  }
  return store::ParseOrderState(absl::AsciiStrToLower(name.substr(12)));
}

v1::JobStatus ToJobStatusProto(store::JobStatus status) {
  return ParseWireName(store::ToString(status), "JOB_STATUS_", v1::JobStatus_Parse,
                       v1::JOB_STATUS_UNSPECIFIED);
}

absl::StatusOr<store::JobStatus> FromJobStatusProto(v1::JobStatus status) {
  std::string name = v1::JobStatus_Name(status);
  if (status == v1::JOB_STATUS_UNSPECIFIED || !absl::StartsWith(name, "JOB_STATUS_")) {
    return absl::InvalidArgumentError("job status is not set or unknown");
  }
  return store::ParseJobStatus(absl::AsciiStrToLower(name.substr(11)));
}

v1::JobKind ToJobKindProto(store::JobKind kind) {
  return ParseWireName(store::ToString(kind), "JOB_KIND_", v1::JobKind_Parse,
                       v1::JOB_KIND_UNSPECIFIED);
}

absl::StatusOr<store::JobKind> FromJobKindProto(v1::JobKind kind) {
  std::string name = v1::JobKind_Name(kind);
  if (kind == v1::JOB_KIND_UNSPECIFIED || !absl::StartsWith(name, "JOB_KIND_")) {
    return absl::InvalidArgumentError("job kind is not set or unknown");
  }
  return store::ParseJobKind(absl::AsciiStrToLower(name.substr(9)));
}

v1::DistinguishedName ToDistinguishedNameProto(const store::DistinguishedNameRecord& name) {
  v1::DistinguishedName proto;
  proto.set_common_name(name.common_name);
  proto.set_organization(name.organization);
  proto.set_organizational_unit(name.organizational_unit);
  proto.set_locality(name.locality);
  proto.set_state_or_province(name.state_or_province);
  proto.set_country(name.country);
  proto.set_email_address(name.email_address);
  return proto;
}

v1::SubjectAlternativeName ToSubjectAlternativeNameProto(std::string_view name) {
  v1::SubjectAlternativeName proto;
  const size_t colon = name.find(':');
  const std::string kind = absl::AsciiStrToUpper(std::string(name.substr(0, colon)));
  proto.set_value(std::string(colon == std::string_view::npos ? name : name.substr(colon + 1)));
  if (kind == "DNS") {
    proto.set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS);
  } else if (kind == "IP" || kind == "IP ADDRESS") {
    proto.set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_IP_ADDRESS);
  } else if (kind == "EMAIL") {
    proto.set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_EMAIL);
  } else if (kind == "URI") {
    proto.set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_URI);
  } else {
    proto.set_kind(v1::SUBJECT_ALTERNATIVE_NAME_KIND_UNSPECIFIED);
    proto.set_value(std::string(name));
  }
  return proto;
}

std::string FromSubjectAlternativeNameProto(const v1::SubjectAlternativeName& name) {
  switch (name.kind()) {
    case v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS:
      return absl::StrCat("DNS:", name.value());
    case v1::SUBJECT_ALTERNATIVE_NAME_KIND_IP_ADDRESS:
      return absl::StrCat("IP:", name.value());
    case v1::SUBJECT_ALTERNATIVE_NAME_KIND_EMAIL:
      return absl::StrCat("EMAIL:", name.value());
    case v1::SUBJECT_ALTERNATIVE_NAME_KIND_URI:
      return absl::StrCat("URI:", name.value());
    default:
      return name.value();
  }
}

v1::Host ToHostProto(const store::HostRecord& host) {
  v1::Host proto;
  proto.set_host_id(host.host_id);
  proto.set_hostname(host.hostname);
  proto.mutable_labels()->insert(host.labels.begin(), host.labels.end());
  v1::Platform* platform = proto.mutable_platform();
  platform->set_driver(host.platform.driver);
  platform->set_web_server(host.platform.web_server);
  platform->set_operating_system(host.platform.operating_system);
  platform->set_operating_system_version(host.platform.operating_system_version);
  platform->set_remote_address(host.platform.remote_address);
  for (const std::string& update : host.platform.installed_updates) {
    platform->add_installed_updates(update);
  }
  if (!host.capabilities.empty()) proto.mutable_capabilities()->ParseFromString(host.capabilities);
  proto.set_agent_version(host.agent_version);
  proto.set_online(host.online);
  if (host.last_seen_at) SetTimestamp(*host.last_seen_at, proto.mutable_last_seen_at());
  SetTimestamp(host.enrolled_at, proto.mutable_enrolled_at());
  SetTimestamp(host.identity.expires_at, proto.mutable_identity_expires_at());
  if (host.last_inventory_at) {
    SetTimestamp(*host.last_inventory_at, proto.mutable_last_inventory_at());
  }
  if (host.last_inventory_failure) {
    SetFailure(*host.last_inventory_failure, proto.mutable_last_inventory_failure());
  }
  proto.set_state(host.state == store::HostState::kActive ? v1::HOST_STATE_ACTIVE
                                                          : v1::HOST_STATE_DECOMMISSIONED);
  return proto;
}

v1::Site ToSiteProto(const store::SiteRecord& site) {
  v1::Site proto;
  proto.set_site_id(site.site_id);
  proto.set_name(site.name);
  proto.set_state(
      ParseWireName(site.state, "SITE_STATE_", v1::SiteState_Parse, v1::SITE_STATE_UNKNOWN));
  proto.set_auto_start(site.auto_start);
  proto.set_content_path(site.content_path);
  proto.set_configuration_location(site.configuration_location);
  proto.set_temporary(site.temporary);
  proto.set_temporary_for_order_id(site.temporary_for_order_id);
  return proto;
}

namespace {

v1::CertificateStore ToCertificateStoreProto(store::CertificateStoreName store) {
  return ParseWireName(store::ToString(store), "CERTIFICATE_STORE_", v1::CertificateStore_Parse,
                       v1::CERTIFICATE_STORE_UNSPECIFIED);
}

void SetEndpoint(const store::EndpointRecord& endpoint, v1::Endpoint* proto) {
  proto->set_ip_address(endpoint.ip_address);
  proto->set_port(static_cast<uint32_t>(endpoint.port));
  proto->set_host_header(endpoint.host_header);
}

}  // namespace

v1::Binding ToBindingProto(const store::BindingRecord& binding) {
  v1::Binding proto;
  proto.set_binding_id(binding.binding_id);
  proto.set_site_id(binding.site_id);
  for (const store::EndpointRecord& endpoint : binding.secure_endpoints) {
    SetEndpoint(endpoint, proto.add_secure_endpoints());
  }
  for (const store::EndpointRecord& endpoint : binding.plain_endpoints) {
    SetEndpoint(endpoint, proto.add_plain_endpoints());
  }
  proto.set_certificate_thumbprint(binding.certificate_thumbprint);
  proto.set_certificate_store(ToCertificateStoreProto(binding.certificate_store));
  proto.set_has_pending_request(binding.has_pending_request);
  return proto;
}

v1::ServedStatus ToServedStatusProto(const std::optional<store::BindingProbeRecord>& probe) {
  if (!probe.has_value()) return v1::SERVED_STATUS_NOT_PROBED;
  switch (probe->status) {
    case store::ServedStatus::kMatches:
      return v1::SERVED_STATUS_MATCHES;
    case store::ServedStatus::kMismatch:
      return v1::SERVED_STATUS_MISMATCH;
    case store::ServedStatus::kIncompleteChain:
      return v1::SERVED_STATUS_INCOMPLETE_CHAIN;
    case store::ServedStatus::kUnreachable:
      return v1::SERVED_STATUS_UNREACHABLE;
  }
  return v1::SERVED_STATUS_NOT_PROBED;
}

v1::ProbeResult ToProbeResultProto(const store::BindingProbeRecord& probe) {
  v1::ProbeResult result;
  result.set_address(probe.endpoint);
  SetTimestamp(probe.probed_at, result.mutable_probed_at());
  result.set_handshake_completed(probe.status != store::ServedStatus::kUnreachable);
  result.set_served_thumbprint(probe.served_thumbprint);
  result.set_thumbprint_matches(probe.status == store::ServedStatus::kMatches ||
                                probe.status == store::ServedStatus::kIncompleteChain);
  result.set_chain_complete(probe.status == store::ServedStatus::kMatches);
  result.set_problem(probe.detail);
  return result;
}

v1::ServedStatus WorseServedStatus(v1::ServedStatus a, v1::ServedStatus b) {
  auto severity = [](v1::ServedStatus status) {
    switch (status) {
      case v1::SERVED_STATUS_MISMATCH:
        return 4;
      case v1::SERVED_STATUS_INCOMPLETE_CHAIN:
        return 3;
      case v1::SERVED_STATUS_UNREACHABLE:
        return 2;
      case v1::SERVED_STATUS_MATCHES:
        return 1;
      default:
        return 0;
    }
  };
  return severity(b) > severity(a) ? b : a;
}

v1::CertificateInfo ToCertificateInfoProto(const store::CertificateRecord& certificate) {
  v1::CertificateInfo proto;
  proto.set_thumbprint_sha1(certificate.thumbprint_sha1);
  proto.set_fingerprint_sha256(certificate.fingerprint_sha256);
  proto.set_subject(certificate.subject);
  *proto.mutable_subject_name() = ToDistinguishedNameProto(certificate.subject_name);
  proto.set_issuer(certificate.issuer);
  *proto.mutable_issuer_name() = ToDistinguishedNameProto(certificate.issuer_name);
  proto.set_serial_number(certificate.serial_number);
  SetTimestamp(certificate.not_before, proto.mutable_not_before());
  SetTimestamp(certificate.not_after, proto.mutable_not_after());
  for (const std::string& name : certificate.subject_alternative_names) {
    *proto.add_subject_alternative_names() = ToSubjectAlternativeNameProto(name);
  }
  proto.set_key_algorithm(ParseWireName(certificate.key_algorithm, "KEY_ALGORITHM_",
                                        v1::KeyAlgorithm_Parse, v1::KEY_ALGORITHM_OTHER));
  proto.set_key_bits(static_cast<uint32_t>(certificate.key_bits));
  proto.set_signature_algorithm(certificate.signature_algorithm);
  proto.set_signature_hash(ParseWireName(certificate.signature_hash, "SIGNATURE_HASH_",
                                         v1::SignatureHash_Parse, v1::SIGNATURE_HASH_UNSPECIFIED));
  proto.set_is_ca(certificate.is_ca);
  if (certificate.path_length_constraint) {
    proto.set_path_length_constraint(static_cast<uint32_t>(*certificate.path_length_constraint));
  }
  proto.set_kind(ParseWireName(certificate.kind, "CERTIFICATE_KIND_", v1::CertificateKind_Parse,
                               v1::CERTIFICATE_KIND_UNSPECIFIED));
  proto.set_public_key_sha256(certificate.public_key_sha256);
  proto.set_subject_key_identifier(certificate.subject_key_identifier);
  proto.set_authority_key_identifier(certificate.authority_key_identifier);
  for (const std::string& usage : certificate.extended_key_usages) {
    proto.add_extended_key_usages(usage);
  }
  proto.set_store(ToCertificateStoreProto(certificate.store));
  proto.set_has_private_key(certificate.has_private_key);
  proto.set_der(certificate.der);
  return proto;
}

v1::CertificateInfo ToCertificateInfoProto(const crypto::Certificate& certificate) {
  v1::CertificateInfo proto;
  proto.set_thumbprint_sha1(certificate.Thumbprint());
  proto.set_fingerprint_sha256(certificate.Sha256Fingerprint());
  proto.set_subject(certificate.SubjectText());
  proto.set_issuer(certificate.IssuerText());
  const crypto::DistinguishedName subject = certificate.Subject();
  v1::DistinguishedName* subject_name = proto.mutable_subject_name();
  subject_name->set_common_name(subject.common_name);
  subject_name->set_organization(subject.organization);
  subject_name->set_organizational_unit(subject.organizational_unit);
  subject_name->set_locality(subject.locality);
  subject_name->set_state_or_province(subject.state);
  subject_name->set_country(subject.country);
  proto.set_serial_number(certificate.SerialHex());
  SetTimestamp(certificate.NotBefore(), proto.mutable_not_before());
  SetTimestamp(certificate.NotAfter(), proto.mutable_not_after());
  for (const std::string& name : certificate.SubjectAlternativeNames()) {
    *proto.add_subject_alternative_names() = ToSubjectAlternativeNameProto(name);
  }
  const crypto::PublicKey key = certificate.public_key();
  proto.set_key_algorithm(key.algorithm() == crypto::KeyAlgorithm::kRsa ? v1::KEY_ALGORITHM_RSA
                          : key.algorithm() == crypto::KeyAlgorithm::kEcdsa
                              ? v1::KEY_ALGORITHM_ECDSA
                              : v1::KEY_ALGORITHM_OTHER);
  proto.set_key_bits(static_cast<uint32_t>(key.bits()));
  proto.set_public_key_sha256(key.Sha256Fingerprint());
  proto.set_signature_algorithm(certificate.SignatureAlgorithm());
  proto.set_is_ca(certificate.IsCertificateAuthority());
  if (certificate.PathLength()) {
    proto.set_path_length_constraint(static_cast<uint32_t>(*certificate.PathLength()));
  }
  proto.set_kind(!certificate.IsCertificateAuthority() ? v1::CERTIFICATE_KIND_LEAF
                 : certificate.IsSelfIssued()          ? v1::CERTIFICATE_KIND_ROOT
                                                       : v1::CERTIFICATE_KIND_INTERMEDIATE);
  proto.set_der(certificate.ToDer());
  return proto;
}

v1::PendingRequest ToPendingRequestProto(const store::PendingRequestRecord& request) {
  v1::PendingRequest proto;
  proto.set_site_id(request.site_id);
  proto.set_public_key_sha256(request.public_key_sha256);
  *proto.mutable_subject() = ToDistinguishedNameProto(request.subject);
  for (const std::string& name : request.subject_alternative_names) {
    *proto.add_subject_alternative_names() = ToSubjectAlternativeNameProto(name);
  }
  proto.set_key_spec(
      ParseWireName(request.key_spec, "KEY_SPEC_", v1::KeySpec_Parse, v1::KEY_SPEC_UNSPECIFIED));
  if (request.created_at) SetTimestamp(*request.created_at, proto.mutable_created_at());
  proto.set_placeholder_thumbprint(request.placeholder_thumbprint);
  proto.set_csr_pem(request.csr_pem);
  proto.set_order_id(request.order_id);
  return proto;
}

v1::Order ToOrderProto(const store::OrderRecord& order, std::string_view hostname) {
  v1::Order proto;
  proto.set_order_id(order.order_id);
  proto.set_host_id(order.host_id);
  proto.set_hostname(std::string(hostname));
  proto.set_site_id(order.site_id);
  proto.set_binding_id(order.binding_id);
  proto.set_state(ToOrderStateProto(order.state));
  switch (order.trigger) {
    case store::OrderTrigger::kSchedule:
    case store::OrderTrigger::kRetry:
      proto.set_trigger(v1::ORDER_TRIGGER_SCHEDULE);
      break;
    case store::OrderTrigger::kOperator:
      proto.set_trigger(v1::ORDER_TRIGGER_OPERATOR);
      break;
    case store::OrderTrigger::kCampaign:
      proto.set_trigger(v1::ORDER_TRIGGER_CAMPAIGN);
      break;
  }
  proto.set_campaign_id(order.campaign_id);
  proto.set_policy_name(order.policy_name);
  proto.set_connector(order.connector);
  proto.set_ca_product(order.ca_product);
  *proto.mutable_subject() = ToDistinguishedNameProto(order.subject);
  for (const std::string& name : order.subject_alternative_names) {
    *proto.add_subject_alternative_names() = ToSubjectAlternativeNameProto(name);
  }
  proto.set_key_spec(
      ParseWireName(order.key_spec, "KEY_SPEC_", v1::KeySpec_Parse, v1::KEY_SPEC_UNSPECIFIED));
  proto.set_previous_thumbprint(order.previous_thumbprint);
  if (!order.certificate_pem.empty()) {
    absl::StatusOr<crypto::Certificate> issued =
        crypto::ReadSingleCertificate(order.certificate_pem);
    if (issued.ok()) *proto.mutable_issued_certificate() = ToCertificateInfoProto(*issued);
  }
  if (!order.chain_pem.empty()) {
    absl::StatusOr<crypto::CertificateFile> chain = crypto::ReadCertificates(order.chain_pem);
    if (chain.ok()) {
      for (const crypto::Certificate& certificate : chain->certificates) {
        *proto.add_chain() = ToCertificateInfoProto(certificate);
      }
    }
  }
  for (const store::OrderStateChange& change : order.history) {
    v1::OrderStateChange* entry = proto.add_history();
    entry->set_state(ToOrderStateProto(change.to));
    SetTimestamp(change.changed_at, entry->mutable_changed_at());
    entry->set_reason(change.reason);
    entry->set_actor(change.actor);
  }
  if (order.last_failure) SetFailure(*order.last_failure, proto.mutable_last_failure());
  proto.set_failed_attempts(static_cast<uint32_t>(order.failed_attempts));
  if (order.next_attempt_at) SetTimestamp(*order.next_attempt_at, proto.mutable_next_attempt_at());
  if (order.deploy_not_before) {
    SetTimestamp(*order.deploy_not_before, proto.mutable_deploy_not_before());
  }
  if (!order.external_probe.empty()) {
    proto.mutable_external_probe()->ParseFromString(order.external_probe);
  }
  SetTimestamp(order.created_at, proto.mutable_created_at());
  SetTimestamp(order.updated_at, proto.mutable_updated_at());
  proto.set_created_by(order.created_by);
  return proto;
}

namespace {

void SetStep(const store::StepReportRecord& step, v1::StepReport* proto) {
  proto->set_step_index(static_cast<uint32_t>(step.step_index));
  proto->set_step(
      ParseWireName(step.step, "STEP_NAME_", v1::StepName_Parse, v1::STEP_NAME_UNSPECIFIED));
  proto->set_outcome(ParseWireName(store::ToString(step.outcome), "STEP_OUTCOME_",
                                   v1::StepOutcome_Parse, v1::STEP_OUTCOME_UNSPECIFIED));
  SetTimestamp(step.started_at, proto->mutable_started_at());
  if (step.finished_at) SetTimestamp(*step.finished_at, proto->mutable_finished_at());
  proto->set_detail(step.detail);
  if (step.failure) SetFailure(*step.failure, proto->mutable_failure());
  proto->mutable_facts()->insert(step.facts.begin(), step.facts.end());
}

void SetResult(const store::JobResultRecord& result, v1::JobResult* proto) {
  if (!result.detail.empty()) proto->ParseFromString(result.detail);
  proto->set_outcome(ParseWireName(store::ToString(result.outcome), "JOB_OUTCOME_",
                                   v1::JobOutcome_Parse, v1::JOB_OUTCOME_UNSPECIFIED));
  if (result.failure) SetFailure(*result.failure, proto->mutable_failure());
  SetTimestamp(result.finished_at, proto->mutable_finished_at());
}

}  // namespace

v1::Job ToJobProto(const store::JobRecord& job) {
  v1::Job proto;
  proto.set_job_id(job.job_id);
  proto.set_kind(ToJobKindProto(job.kind));
  proto.set_host_id(job.host_id);
  proto.set_order_id(job.order_id);
  proto.set_status(ToJobStatusProto(job.status));
  if (!job.spec.empty()) proto.mutable_spec()->ParseFromString(job.spec);
  if (job.lease_granted_at) {
    v1::Lease* lease = proto.mutable_lease();
    lease->set_job_id(job.job_id);
    lease->set_attempt(static_cast<uint64_t>(job.attempt));
    SetTimestamp(*job.lease_granted_at, lease->mutable_granted_at());
    if (job.lease_expires_at) SetTimestamp(*job.lease_expires_at, lease->mutable_expires_at());
  }
  SetTimestamp(job.created_at, proto.mutable_created_at());
  if (job.finished_at) SetTimestamp(*job.finished_at, proto.mutable_finished_at());
  for (const store::JobAttemptRecord& attempt : job.attempts) {
    v1::JobAttempt* entry = proto.add_attempts();
    entry->set_attempt(static_cast<uint64_t>(attempt.attempt));
    SetTimestamp(attempt.started_at, entry->mutable_started_at());
    if (attempt.ended_at) SetTimestamp(*attempt.ended_at, entry->mutable_ended_at());
    for (const store::StepReportRecord& step : attempt.steps) SetStep(step, entry->add_steps());
    if (attempt.result) SetResult(*attempt.result, entry->mutable_result());
    entry->set_ended_reason(attempt.ended_reason);
  }
  if (job.result) SetResult(*job.result, proto.mutable_result());
  proto.set_created_by(job.created_by);
  return proto;
}

v1::JoinToken ToJoinTokenProto(const store::JoinTokenRecord& token, absl::Time now) {
  v1::JoinToken proto;
  proto.set_token_id(token.token_id);
  proto.set_description(token.description);
  proto.set_bound_hostname(token.bound_hostname);
  proto.mutable_labels()->insert(token.labels.begin(), token.labels.end());
  switch (token.StateAt(now)) {
    case store::JoinTokenState::kActive:
      proto.set_state(v1::JOIN_TOKEN_STATE_ACTIVE);
      break;
    case store::JoinTokenState::kUsed:
      proto.set_state(v1::JOIN_TOKEN_STATE_USED);
      break;
    case store::JoinTokenState::kExpired:
      proto.set_state(v1::JOIN_TOKEN_STATE_EXPIRED);
      break;
    case store::JoinTokenState::kRevoked:
      proto.set_state(v1::JOIN_TOKEN_STATE_REVOKED);
      break;
  }
  SetTimestamp(token.created_at, proto.mutable_created_at());
  SetTimestamp(token.expires_at, proto.mutable_expires_at());
  if (token.used_at) SetTimestamp(*token.used_at, proto.mutable_used_at());
  proto.set_used_by_host_id(token.used_by_host_id);
  if (token.revoked_at) SetTimestamp(*token.revoked_at, proto.mutable_revoked_at());
  proto.set_created_by(token.created_by);
  return proto;
}

v1::RenewalPolicy ToPolicyProto(const store::PolicyRecord& policy) {
  v1::RenewalPolicy proto;
  // The settings blob holds what the store does not query; the queried
  // columns below win over it.
  if (!policy.settings.empty()) proto.ParseFromString(policy.settings);
  proto.set_name(policy.name);
  proto.set_description(policy.description);
  v1::HostSelector* hosts = proto.mutable_hosts();
  hosts->clear_labels();
  hosts->mutable_labels()->insert(policy.hosts.labels.begin(), policy.hosts.labels.end());
  hosts->set_hostname_pattern(policy.hosts.hostname_pattern);
  hosts->clear_host_ids();
  for (const std::string& id : policy.hosts.host_ids) hosts->add_host_ids(id);
  proto.set_priority(policy.priority);
  proto.set_renew_when_remaining_fraction(policy.renew_when_remaining_fraction);
  proto.clear_renew_before();
  if (policy.renew_before) SetDuration(*policy.renew_before, proto.mutable_renew_before());
  proto.clear_jitter();
  if (policy.jitter) SetDuration(*policy.jitter, proto.mutable_jitter());
  proto.set_key_spec(
      ParseWireName(policy.key_spec, "KEY_SPEC_", v1::KeySpec_Parse, v1::KEY_SPEC_UNSPECIFIED));
  proto.set_signature_hash(ParseWireName(policy.signature_hash, "SIGNATURE_HASH_",
                                         v1::SignatureHash_Parse, v1::SIGNATURE_HASH_UNSPECIFIED));
  proto.set_connector(policy.connector);
  proto.set_ca_product(policy.ca_product);
  proto.clear_initial_backoff();
  if (policy.initial_backoff) SetDuration(*policy.initial_backoff, proto.mutable_initial_backoff());
  proto.clear_maximum_backoff();
  if (policy.maximum_backoff) SetDuration(*policy.maximum_backoff, proto.mutable_maximum_backoff());
  proto.clear_updated_at();
  if (policy.updated_at) SetTimestamp(*policy.updated_at, proto.mutable_updated_at());
  proto.set_updated_by(policy.updated_by);
  return proto;
}

absl::StatusOr<store::PolicyRecord> FromPolicyProto(const v1::RenewalPolicy& policy) {
  if (policy.name().empty()) {
    return absl::InvalidArgumentError("policy.name is empty; name the policy to set");
  }
  store::PolicyRecord record;
  record.name = policy.name();
  record.description = policy.description();
  record.hosts = FromHostSelectorProto(policy.hosts());
  record.priority = policy.priority();
  if (policy.has_renew_when_remaining_fraction()) {
    record.renew_when_remaining_fraction = policy.renew_when_remaining_fraction();
  }
  if (policy.has_renew_before()) record.renew_before = FromDuration(policy.renew_before());
  if (policy.has_jitter()) record.jitter = FromDuration(policy.jitter());
  record.key_spec = policy.key_spec() == v1::KEY_SPEC_UNSPECIFIED
                        ? "RSA_2048"
                        : v1::KeySpec_Name(policy.key_spec()).substr(9);
  record.signature_hash = policy.signature_hash() == v1::SIGNATURE_HASH_UNSPECIFIED
                              ? "SHA256"
                              : v1::SignatureHash_Name(policy.signature_hash()).substr(15);
  record.connector = policy.connector().empty() ? "local" : policy.connector();
  record.ca_product = policy.ca_product();
  if (policy.has_initial_backoff()) record.initial_backoff = FromDuration(policy.initial_backoff());
  if (policy.has_maximum_backoff()) record.maximum_backoff = FromDuration(policy.maximum_backoff());
  v1::RenewalPolicy settings;
  *settings.mutable_subject() = policy.subject();
  settings.set_restart_policy(policy.restart_policy());
  *settings.mutable_backup() = policy.backup();
  record.settings = settings.SerializeAsString();
  return record;
}

v1::AuditEvent ToAuditEventProto(const store::AuditEventRecord& event) {
  v1::AuditEvent proto;
  proto.set_event_id(event.event_id);
  SetTimestamp(event.occurred_at, proto.mutable_occurred_at());
  proto.set_actor(event.actor);
  proto.set_action(event.action);
  proto.set_target(event.target);
  proto.set_succeeded(event.succeeded);
  proto.set_detail(event.detail);
  return proto;
}

v1::FileFormat ToFileFormatProto(UploadFormat format) {
  switch (format) {
    case UploadFormat::kPem:
      return v1::FILE_FORMAT_PEM;
    case UploadFormat::kDer:
      return v1::FILE_FORMAT_DER;
    case UploadFormat::kPkcs7:
      return v1::FILE_FORMAT_PKCS7;
    case UploadFormat::kPkcs12:
      return v1::FILE_FORMAT_PKCS12;
    case UploadFormat::kUnknown:
      break;
  }
  return v1::FILE_FORMAT_UNKNOWN;
}

v1::Diagnosis ToDiagnosisProto(const UploadDiagnosis& diagnosis) {
  v1::Diagnosis proto;
  proto.set_kind(ParseWireName(DiagnosisKindName(diagnosis.kind), "DIAGNOSIS_KIND_",
                               v1::DiagnosisKind_Parse, v1::DIAGNOSIS_KIND_UNSPECIFIED));
  proto.set_message(diagnosis.message);
  proto.set_detected_format(ToFileFormatProto(diagnosis.format));
  if (diagnosis.certificate) {
    *proto.mutable_certificate() = ToCertificateInfoProto(*diagnosis.certificate);
  }
  proto.set_matched_host_id(diagnosis.matched_host_id);
  proto.set_matched_hostname(diagnosis.matched_hostname);
  proto.set_matched_site_id(diagnosis.matched_site_id);
  proto.set_matched_site_name(diagnosis.matched_site_name);
  proto.set_matched_order_id(diagnosis.matched_order_id);
  proto.set_detected_content(diagnosis.detected_content);
  return proto;
}

store::HostSelectorRecord FromHostSelectorProto(const v1::HostSelector& selector) {
  store::HostSelectorRecord record;
  record.labels.insert(selector.labels().begin(), selector.labels().end());
  record.hostname_pattern = selector.hostname_pattern();
  record.host_ids.assign(selector.host_ids().begin(), selector.host_ids().end());
  return record;
}

}  // namespace certfleet::controller::admin
