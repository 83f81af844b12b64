#include "agent/session/job_conversion.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"

namespace certfleet::agent::session {

namespace v1 = certfleet::v1;

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

v1::StepName ToStepName(std::string_view executor_step) {
  const std::string step(executor_step);
  if (step == "create_temporary_site") return v1::STEP_NAME_CREATE_TEMPORARY_SITE;
  if (step == "create_pending_request") return v1::STEP_NAME_CREATE_PENDING_REQUEST;
  if (step == "accept_certificate") return v1::STEP_NAME_ACCEPT_CERTIFICATE;
  if (step == "install_chain") return v1::STEP_NAME_INSTALL_CHAIN;
  if (step == "read_binding") return v1::STEP_NAME_CHECK_PRECONDITIONS;
  if (step == "replace_binding") return v1::STEP_NAME_REPLACE_BINDING;
  if (step == "delete_temporary_site") return v1::STEP_NAME_DELETE_TEMPORARY_SITE;
  if (step == "restart" || step == "rollback_restart") return v1::STEP_NAME_RESTART;
  if (step == "verify" || step == "rollback_verify") return v1::STEP_NAME_VERIFY;
  if (step == "rollback_binding") return v1::STEP_NAME_ROLLBACK;
  if (step == "backup") return v1::STEP_NAME_BACKUP;
  if (step == "scan_inventory") return v1::STEP_NAME_SCAN_INVENTORY;
  return v1::STEP_NAME_UNSPECIFIED;
}

v1::StepOutcome ToStepOutcomeProto(StepOutcome outcome) {
  switch (outcome) {
    case StepOutcome::kSucceeded:
      return v1::STEP_OUTCOME_SUCCEEDED;
    case StepOutcome::kFailed:
      return v1::STEP_OUTCOME_FAILED;
    case StepOutcome::kSkipped:
      return v1::STEP_OUTCOME_SKIPPED;
  }
  return v1::STEP_OUTCOME_UNSPECIFIED;
}

v1::JobKind ToJobKind(std::string_view kind) {
  if (kind == "prepare") return v1::JOB_KIND_PREPARE;
  if (kind == "deploy") return v1::JOB_KIND_DEPLOY;
  if (kind == "inventory") return v1::JOB_KIND_INVENTORY;
  return v1::JOB_KIND_UNSPECIFIED;
}

absl::StatusOr<PrepareOrder> ToPrepareOrder(std::string_view job_id, int attempt,
                                            const v1::PrepareJob& job) {
  if (job.site_id().empty()) return absl::InvalidArgumentError("prepare.site_id: empty");
  if (job.temporary_site_name().empty()) {
    return absl::InvalidArgumentError("prepare.temporary_site_name: empty");
  }
  PrepareOrder order;
  order.job_id = std::string(job_id);
  order.attempt = attempt;
  order.site_id = job.site_id();
  order.temporary_site_name = job.temporary_site_name();
  const v1::DistinguishedName& subject = job.subject();
  order.subject.common_name = subject.common_name();
  order.subject.organization = subject.organization();
  order.subject.organizational_unit = subject.organizational_unit();
  order.subject.locality = subject.locality();
  order.subject.state = subject.state_or_province();
  order.subject.country = subject.country();
  for (const v1::SubjectAlternativeName& name : job.subject_alternative_names()) {
    if (name.kind() != v1::SUBJECT_ALTERNATIVE_NAME_KIND_DNS) {
      return absl::InvalidArgumentError(
          absl::StrCat("prepare.subject_alternative_names: \"", name.value(),
                       "\" is not a DNS name; this agent requests DNS names only"));
    }
    order.dns_names.push_back(name.value());
  }
  switch (job.key_spec()) {
    case v1::KEY_SPEC_UNSPECIFIED:
    case v1::KEY_SPEC_RSA_2048:
      order.key_spec = {crypto::KeyAlgorithm::kRsa, 2048};
      break;
    case v1::KEY_SPEC_RSA_3072:
      order.key_spec = {crypto::KeyAlgorithm::kRsa, 3072};
      break;
    case v1::KEY_SPEC_RSA_4096:
      order.key_spec = {crypto::KeyAlgorithm::kRsa, 4096};
      break;
    case v1::KEY_SPEC_ECDSA_P256:
      order.key_spec = {crypto::KeyAlgorithm::kEcdsa, 256};
      break;
    case v1::KEY_SPEC_ECDSA_P384:
      order.key_spec = {crypto::KeyAlgorithm::kEcdsa, 384};
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("prepare.key_spec: unknown value ", job.key_spec()));
  }
  return order;
}

absl::StatusOr<DeployOrder> ToDeployOrder(std::string_view job_id, int attempt,
                                          const v1::DeployJob& job, std::string temporary_site_name,
                                          std::optional<BackupOptions> backup) {
  if (job.site_id().empty()) return absl::InvalidArgumentError("deploy.site_id: empty");
  absl::StatusOr<crypto::Certificate> leaf = crypto::ReadSingleCertificate(job.certificate_pem());
  if (!leaf.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("deploy.certificate_pem: ", leaf.status().message()));
  }
  std::string expected_thumbprint = absl::AsciiStrToUpper(job.expected_thumbprint());
  if (expected_thumbprint.empty()) expected_thumbprint = leaf->Thumbprint();
  std::vector<crypto::Certificate> chain;
  for (int index = 0; index < job.intermediate_pems_size(); ++index) {
    absl::StatusOr<crypto::CertificateFile> intermediates =
        crypto::ReadCertificates(job.intermediate_pems(index));
    if (!intermediates.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("deploy.intermediate_pems[", index,
                                                     "]: ", intermediates.status().message()));
    }
    chain.insert(chain.end(), intermediates->certificates.begin(),
                 intermediates->certificates.end());
  }
  std::optional<crypto::Certificate> root;
  if (!job.root_pem().empty()) {
    absl::StatusOr<crypto::Certificate> read = crypto::ReadSingleCertificate(job.root_pem());
    if (!read.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("deploy.root_pem: ", read.status().message()));
    }
    root = *read;
    chain.push_back(*read);
  }
  if (job.verification().trusted_root_pems_size() > 0) {
    absl::StatusOr<crypto::Certificate> read =
        crypto::ReadSingleCertificate(job.verification().trusted_root_pems(0));
    if (!read.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("deploy.verification.trusted_root_pems[0]: ", read.status().message()));
    }
    root = *read;
  }
  if (!root.has_value()) {
    return absl::InvalidArgumentError(
        "deploy: no root to verify the served chain against (set root_pem or "
        "verification.trusted_root_pems)");
  }
  DeployOrder order{.job_id = std::string(job_id),
                    .attempt = attempt,
                    .site_id = job.site_id(),
                    .temporary_site_name = std::move(temporary_site_name),
                    .leaf = *leaf,
                    .chain = std::move(chain),
                    .expected_thumbprint = std::move(expected_thumbprint),
                    .trusted_root = *root,
                    .backup = std::move(backup)};
  return order;
}

v1::Failure MakeFailure(v1::FailureCode code, std::string message, bool retryable) {
  v1::Failure failure;
  failure.set_code(code);
  failure.set_message(std::move(message));
  failure.set_retryable(retryable);
  return failure;
}

v1::Failure FailureFromStatus(const absl::Status& status) {
  const std::string message(status.message());
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return MakeFailure(v1::FAILURE_CODE_INVALID_INPUT, message, false);
    case absl::StatusCode::kNotFound:
      return MakeFailure(v1::FAILURE_CODE_NOT_FOUND, message, true);
    case absl::StatusCode::kFailedPrecondition:
      return MakeFailure(v1::FAILURE_CODE_UNEXPECTED_HOST_STATE, message, true);
    case absl::StatusCode::kDeadlineExceeded:
      return MakeFailure(v1::FAILURE_CODE_TIMEOUT, message, true);
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDataLoss:
      return MakeFailure(v1::FAILURE_CODE_IO_ERROR, message, true);
    default:
      return MakeFailure(v1::FAILURE_CODE_INTERNAL, message, true);
  }
}

}  // namespace certfleet::agent::session
