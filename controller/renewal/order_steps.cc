#include "controller/renewal/order_steps.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "controller/admin/record_conversion.h"

namespace certfleet::controller::renewal {
namespace {

// A DNS name (letters, digits, '-', '.', a leading "*."), not an IP
// address literal or a free-text name such as "Payroll Portal".
bool LooksLikeHostName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  bool has_letter = false;
  for (const char character : name) {
    if (absl::ascii_isalpha(character)) has_letter = true;
    if (!absl::ascii_isalnum(character) && character != '-' && character != '.') return false;
  }
  return has_letter;
}

template <typename Enum, typename Parse>
Enum ParseWireName(const std::string& name, std::string_view prefix, Parse parse, Enum fallback) {
  Enum value = fallback;
  if (name.empty() || !parse(std::string(prefix) + name, &value)) return fallback;
  return value;
}

store::FailureRecord ControllerFailure(v1::FailureCode code, std::string message) {
  return store::FailureRecord{.code = v1::FailureCode_Name(code),
                              .message = std::move(message),
                              .retryable = false,
                              .diagnosis = {}};
}

// A transition of `order` out of `expected`, made by the agent's result.
store::OrderTransition TransitionFrom(const store::OrderRecord& order, store::OrderState expected,
                                      store::OrderState to, std::string reason, absl::Time now) {
  store::OrderTransition transition;
  transition.order_id = order.order_id;
  transition.expected_state = expected;
  transition.to = to;
  transition.at = now;
  transition.reason = std::move(reason);
  transition.actor = "agent";
  return transition;
}

// `failure` ends the attempt: failed, retried at `retry_at` when the failure
// is retryable and a retry is allowed.
store::OrderTransition FailedTransition(const store::OrderRecord& order, store::OrderState expected,
                                        std::string_view step, store::FailureRecord failure,
                                        std::optional<absl::Time> retry_at, absl::Time now) {
  const bool retry = failure.retryable && retry_at.has_value();
  std::string reason = absl::StrCat(
      std::string(step), " failed: ", failure.message, retry ? "; retrying at " : "; not retried",
      retry ? absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", *retry_at, absl::UTCTimeZone()) : "");
  if (failure.retryable && !retry_at.has_value()) {
    absl::StrAppend(&reason, " (no retry fits before the certificate expires)");
  }
  store::OrderTransition transition =
      TransitionFrom(order, expected, store::OrderState::kFailed, std::move(reason), now);
  transition.failure = std::move(failure);
  if (retry) transition.next_attempt_at = retry_at;
  return transition;
}

store::OrderTransition PrepareSucceeded(const store::OrderRecord& order,
                                        const v1::PrepareResult& prepared, absl::Time now) {
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Parse(prepared.csr_pem());
  absl::Status problem = request.status();
  if (request.ok()) problem = request->VerifySignature();
  if (problem.ok() && request->public_key().Sha256Fingerprint() !=
                          absl::AsciiStrToUpper(prepared.public_key_sha256())) {
    problem = absl::InvalidArgumentError(
        absl::StrCat("the CSR's public key is ", request->public_key().Sha256Fingerprint(),
                     " but the agent reported ", prepared.public_key_sha256()));
  }
  if (problem.ok() && prepared.temporary_site_id().empty()) {
    problem = absl::InvalidArgumentError("the result names no temporary site");
  }
  if (!problem.ok()) {
    store::OrderTransition transition =
        TransitionFrom(order, store::OrderState::kCsrRequested, store::OrderState::kFailed,
                       absl::StrCat("the host's CSR is unusable: ", problem.message()), now);
    transition.actor = std::string(kSchedulerActor);
    transition.failure =
        ControllerFailure(v1::FAILURE_CODE_INVALID_INPUT, std::string(problem.message()));
    return transition;
  }
  store::OrderTransition transition =
      TransitionFrom(order, store::OrderState::kCsrRequested, store::OrderState::kAwaitingIssuance,
                     absl::StrCat("CSR made on the host (key ", prepared.public_key_sha256(),
                                  ", temporary site ", prepared.temporary_site_id(), ")"),
                     now);
  transition.csr_pem = request->ToPem();
  transition.public_key_sha256 = request->public_key().Sha256Fingerprint();
  transition.temporary_site_id = prepared.temporary_site_id();
  return transition;
}

// What the agent's verification saw, for the history: "127.0.0.2:8443
// serves 3F2A...".
std::string VerificationSummary(const v1::DeployResult& deployed) {
  std::vector<std::string> seen;
  for (const v1::ProbeResult& probe : deployed.verification()) {
    seen.push_back(
        absl::StrCat(probe.address(), " serves ",
                     probe.served_thumbprint().empty() ? "nothing" : probe.served_thumbprint(),
                     probe.chain_verifies() ? " with a verified chain" : ""));
  }
  return seen.empty() ? "no endpoint reported" : absl::StrJoin(seen, "; ");
}

}  // namespace

RequestedNames RequestedNamesFor(const store::CertificateRecord* current,
                                 const v1::SubjectTemplate& subject_template,
                                 std::string_view fallback_common_name) {
  RequestedNames names;
  if (current != nullptr) {
    names.subject = current->subject_name;
    names.subject_alternative_names = current->subject_alternative_names;
  }
  store::DistinguishedNameRecord& subject = names.subject;
  if (subject_template.has_common_name()) subject.common_name = subject_template.common_name();
  if (subject_template.has_organization()) subject.organization = subject_template.organization();
  if (subject_template.has_organizational_unit()) {
    subject.organizational_unit = subject_template.organizational_unit();
  }
  if (subject_template.has_locality()) subject.locality = subject_template.locality();
  if (subject_template.has_state_or_province()) {
    subject.state_or_province = subject_template.state_or_province();
  }
  if (subject_template.has_country()) subject.country = subject_template.country();
  if (subject.common_name.empty()) subject.common_name = std::string(fallback_common_name);

  if (subject_template.subject_alternative_name_mode() ==
      v1::SUBJECT_ALTERNATIVE_NAME_MODE_REPLACE) {
    names.subject_alternative_names.clear();
  }
  auto add = [&](std::string name) {
    for (const std::string& present : names.subject_alternative_names) {
      if (absl::EqualsIgnoreCase(present, name)) return;
    }
    names.subject_alternative_names.push_back(std::move(name));
  };
  for (const v1::SubjectAlternativeName& name : subject_template.subject_alternative_names()) {
    add(admin::FromSubjectAlternativeNameProto(name));
  }
  if (LooksLikeHostName(subject.common_name)) {
    add(absl::StrCat("DNS:", absl::AsciiStrToLower(subject.common_name)));
  }
  return names;
}

std::string FallbackCommonName(const store::BindingRecord& binding, const store::HostRecord& host) {
  if (binding.secure_endpoints.empty() || binding.secure_endpoints.front().host_header.empty()) {
    return host.hostname;
  }
  return binding.secure_endpoints.front().host_header;
}

std::string TemporarySiteName(std::string_view order_id) {
  return absl::StrCat("certfleet-renewal-", std::string(order_id));
}

v1::JobSpec PrepareJobFor(const store::OrderRecord& order) {
  v1::JobSpec spec;
  v1::PrepareJob* prepare = spec.mutable_prepare();
  prepare->set_site_id(order.site_id);
  prepare->set_binding_id(order.binding_id);
  prepare->set_expected_current_thumbprint(order.previous_thumbprint);
  prepare->set_temporary_site_name(TemporarySiteName(order.order_id));
  prepare->set_key_spec(
      ParseWireName(order.key_spec, "KEY_SPEC_", v1::KeySpec_Parse, v1::KEY_SPEC_RSA_2048));
  *prepare->mutable_subject() = admin::ToDistinguishedNameProto(order.subject);
  for (const std::string& name : order.subject_alternative_names) {
    *prepare->add_subject_alternative_names() = admin::ToSubjectAlternativeNameProto(name);
  }
  prepare->set_signature_hash(ParseWireName(order.signature_hash, "SIGNATURE_HASH_",
                                            v1::SignatureHash_Parse, v1::SIGNATURE_HASH_SHA256));
  return spec;
}

absl::StatusOr<v1::JobSpec> DeployJobFor(const store::OrderRecord& order,
                                         const v1::RenewalPolicy& policy) {
  absl::StatusOr<crypto::Certificate> leaf = crypto::ReadSingleCertificate(order.certificate_pem);
  if (!leaf.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", order.order_id, "'s certificate: ", leaf.status().message()));
  }
  std::vector<crypto::Certificate> chain;
  if (!order.chain_pem.empty()) {
    absl::StatusOr<crypto::CertificateFile> read = crypto::ReadCertificates(order.chain_pem);
    if (!read.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("order ", order.order_id, "'s chain: ", read.status().message()));
    }
    chain = std::move(read->certificates);
  }
  v1::JobSpec spec;
  v1::DeployJob* deploy = spec.mutable_deploy();
  deploy->set_site_id(order.site_id);
  deploy->set_binding_id(order.binding_id);
  deploy->set_temporary_site_id(order.temporary_site_id);
  deploy->set_certificate_pem(leaf->ToPem());
  for (const crypto::Certificate& certificate : chain) {
    if (certificate.IsSelfIssued()) {
      deploy->set_root_pem(certificate.ToPem());
      deploy->mutable_verification()->add_trusted_root_pems(certificate.ToPem());
    } else {
      deploy->add_intermediate_pems(certificate.ToPem());
    }
  }
  deploy->set_expected_thumbprint(leaf->Thumbprint());
  deploy->set_previous_thumbprint(order.previous_thumbprint);
  deploy->set_restart_policy(policy.restart_policy());
  *deploy->mutable_backup() = policy.backup();
  return spec;
}

std::optional<store::OrderTransition> TransitionForResult(const store::OrderRecord& order,
                                                          const store::JobRecord& job,
                                                          const store::JobResultRecord& result,
                                                          std::optional<absl::Time> retry_at,
                                                          absl::Time now) {
  if (!order.open || job.order_id != order.order_id) return std::nullopt;
  v1::JobResult detail;
  if (!detail.ParseFromString(result.detail)) detail.Clear();
  const store::FailureRecord failure =
      result.failure.value_or(ControllerFailure(v1::FAILURE_CODE_INTERNAL, "no reason given"));

  if (job.kind == store::JobKind::kPrepare) {
    if (order.state != store::OrderState::kCsrRequested) return std::nullopt;
    if (result.outcome == store::JobOutcome::kSucceeded) {
      return PrepareSucceeded(order, detail.prepare(), now);
    }
    return FailedTransition(order, store::OrderState::kCsrRequested, "prepare", failure, retry_at,
                            now);
  }
  if (job.kind == store::JobKind::kDeploy) {
    if (order.state != store::OrderState::kDeploying) return std::nullopt;
    if (result.outcome == store::JobOutcome::kSucceeded) {
      return TransitionFrom(order, store::OrderState::kDeploying, store::OrderState::kVerifying,
                            absl::StrCat("deployed and verified by the agent: ",
                                         VerificationSummary(detail.deploy())),
                            now);
    }
    if (result.outcome == store::JobOutcome::kRolledBack) {
      const std::string why = detail.deploy().rollback().reason().empty()
                                  ? failure.message
                                  : detail.deploy().rollback().reason();
      store::OrderTransition transition =
          TransitionFrom(order, store::OrderState::kDeploying, store::OrderState::kRolledBack,
                         absl::StrCat("rolled back to ",
                                      detail.deploy().rollback().restored_thumbprint().empty()
                                          ? order.previous_thumbprint
                                          : detail.deploy().rollback().restored_thumbprint(),
                                      ": ", why),
                         now);
      transition.failure = failure;
      if (transition.failure->message.empty()) transition.failure->message = why;
      return transition;
    }
    return FailedTransition(order, store::OrderState::kDeploying, "deploy", failure, retry_at, now);
  }
  return std::nullopt;
}

}  // namespace certfleet::controller::renewal
