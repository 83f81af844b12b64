#include "bench/fleet_sim/simulated_job.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "agent/executor/job_journal.h"
#include "agent/session/job_conversion.h"

namespace certfleet::bench {
namespace {

namespace session = agent::session;

bool SameThumbprint(std::string_view first, std::string_view second) {
  return absl::EqualsIgnoreCase(std::string(first), std::string(second));
}

v1::JobResult FailedResult(v1::Failure failure) {
  v1::JobResult result;
  result.set_outcome(v1::JOB_OUTCOME_FAILED);
  *result.mutable_failure() = std::move(failure);
  return result;
}

std::string BoundText(const std::string& thumbprint) {
  return thumbprint.empty() ? std::string("no certificate") : thumbprint;
}

}  // namespace

SimulatedJob::SimulatedJob(v1::JobAssignment assignment, SimulatedHost& host,
                           const SimulatorPki& pki, bool fail_verification, size_t key_index)
    : assignment_(std::move(assignment)),
      host_(host),
      pki_(pki),
      fail_verification_(fail_verification),
      key_index_(key_index) {
  result_.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
}

std::optional<v1::JobResult> SimulatedJob::Begin() {
  const std::string& job_id = assignment_.lease().job_id();
  const int attempt = static_cast<int>(assignment_.lease().attempt());
  if (assignment_.kind() == v1::JOB_KIND_PREPARE) {
    const v1::PrepareJob& job = assignment_.spec().prepare();
    absl::StatusOr<agent::PrepareOrder> order = session::ToPrepareOrder(job_id, attempt, job);
    if (!order.ok()) return FailedResult(session::FailureFromStatus(order.status()));
    absl::StatusOr<std::string> bound = host_.ReadBinding(job.site_id());
    if (!bound.ok()) return FailedResult(session::FailureFromStatus(bound.status()));
    if (!SameThumbprint(*bound, job.expected_current_thumbprint())) {
      return FailedResult(session::MakeFailure(
          v1::FAILURE_CODE_UNEXPECTED_HOST_STATE,
          absl::StrCat("site ", job.site_id(), " is bound to ", BoundText(*bound),
                       " but the job expected ", BoundText(job.expected_current_thumbprint()),
                       "; the inventory is out of date"),
          true));
    }
    temporary_site_name_ = order->temporary_site_name;
    const crypto::DistinguishedName subject = order->subject;
    const std::vector<std::string> dns_names = order->dns_names;
    pending_steps_.push_back(Step{
        0, "create_temporary_site",
        [this]() -> absl::StatusOr<std::string> {
          absl::StatusOr<std::string> site_id = host_.CreateTemporarySite(temporary_site_name_);
          if (!site_id.ok()) return site_id.status();
          temporary_site_id_ = *site_id;
          return absl::StrCat("temporary site '", temporary_site_name_, "' has id ", *site_id);
        },
        std::nullopt});
    pending_steps_.push_back(
        Step{1, "create_pending_request",
             [this, subject, dns_names]() -> absl::StatusOr<std::string> {
               absl::StatusOr<crypto::CertificateRequest> csr = host_.CreatePendingRequest(
                   temporary_site_id_, subject, dns_names, pki_.PoolKey(key_index_));
               if (!csr.ok()) return csr.status();
               request_ = *csr;
               return absl::StrCat("pending request for '", subject.ToString(),
                                   "' (rsa2048) on temporary site ", temporary_site_id_);
             },
             std::nullopt});
    return std::nullopt;
  }
  if (assignment_.kind() == v1::JOB_KIND_DEPLOY) {
    const v1::DeployJob& job = assignment_.spec().deploy();
    if (job.has_start_deadline() && absl::Now() > session::FromTimestamp(job.start_deadline())) {
      return FailedResult(session::MakeFailure(
          v1::FAILURE_CODE_TIMEOUT,
          "the deploy's start deadline has passed; the host was not touched", true));
    }
    temporary_site_name_ = host_.SiteName(job.temporary_site_id());
    if (temporary_site_name_.empty()) {
      temporary_site_name_ =
          absl::StrCat("certfleet-deleted-temporary-site-", job.temporary_site_id());
    }
    absl::StatusOr<std::string> bound = host_.ReadBinding(job.site_id());
    if (!bound.ok()) return FailedResult(session::FailureFromStatus(bound.status()));
    if (!job.previous_thumbprint().empty() && !SameThumbprint(*bound, job.previous_thumbprint()) &&
        !SameThumbprint(*bound, job.expected_thumbprint())) {
      return FailedResult(session::MakeFailure(
          v1::FAILURE_CODE_UNEXPECTED_HOST_STATE,
          absl::StrCat("site ", job.site_id(), " is bound to ", BoundText(*bound),
                       ", neither the previous ", job.previous_thumbprint(), " nor the new ",
                       job.expected_thumbprint(), "; someone changed it, the host was not touched"),
          true));
    }
    absl::StatusOr<agent::DeployOrder> order = session::ToDeployOrder(
        assignment_.lease().job_id(), attempt, job, temporary_site_name_, std::nullopt);
    if (!order.ok()) return FailedResult(session::FailureFromStatus(order.status()));
    if (!SameThumbprint(order->leaf.Thumbprint(), order->expected_thumbprint)) {
      return FailedResult(session::FailureFromStatus(absl::InvalidArgumentError(absl::StrCat(
          "the certificate's thumbprint is ", order->leaf.Thumbprint(), ", not the expected ",
          order->expected_thumbprint, ": nothing was changed"))));
    }
    leaf_ = order->leaf;
    chain_ = order->chain;
    PlanDeploy();
    return std::nullopt;
  }
  // Inventory: the caller reports it; nothing to check.
  return std::nullopt;
}

void SimulatedJob::PlanDeploy() {
  const std::string site_id = assignment_.spec().deploy().site_id();
  const std::string thumbprint = absl::AsciiStrToUpper(leaf_->Thumbprint());
  pending_steps_.push_back(Step{
      0, "accept_certificate",
      [this, thumbprint]() -> absl::StatusOr<std::string> {
        absl::StatusOr<std::string> temporary = host_.FindSiteByName(temporary_site_name_);
        if (!temporary.ok()) {
          if (host_.HasPersonalCertificate(thumbprint)) {
            return absl::StrCat("certificate ", thumbprint,
                                " is in the personal store with its key already");
          }
          return temporary.status();
        }
        if (absl::Status accepted = host_.AcceptCertificate(*temporary, *leaf_); !accepted.ok()) {
          return accepted;
        }
        return absl::StrCat("certificate ", thumbprint, " ('", leaf_->SubjectText(),
                            "') accepted on temporary site ", *temporary);
      },
      std::nullopt});
  pending_steps_.push_back(
      Step{1, "install_chain",
           [this]() -> absl::StatusOr<std::string> {
             if (absl::Status installed = host_.InstallChain(chain_); !installed.ok()) {
               return installed;
             }
             return absl::StrCat(chain_.size(), " chain certificate(s) installed or present");
           },
           std::nullopt});
  pending_steps_.push_back(
      Step{2, "read_binding",
           [this, site_id]() -> absl::StatusOr<std::string> {
             absl::StatusOr<std::string> current = host_.ReadBinding(site_id);
             if (!current.ok()) return current.status();
             previous_thumbprint_ = *current;
             return current->empty() ? absl::StrCat("site ", site_id, " had no certificate bound")
                                     : absl::StrCat("site ", site_id, " was bound to ", *current);
           },
           std::nullopt});
  pending_steps_.push_back(Step{
      3, "replace_binding",
      [this, site_id, thumbprint]() -> absl::StatusOr<std::string> {
        if (absl::Status replaced = host_.ReplaceBinding(site_id, thumbprint); !replaced.ok()) {
          return replaced;
        }
        return absl::StrCat("site ", site_id, " bound to ", thumbprint);
      },
      std::nullopt});
  pending_steps_.push_back(
      Step{4, "delete_temporary_site",
           [this]() -> absl::StatusOr<std::string> {
             absl::StatusOr<std::string> temporary = host_.FindSiteByName(temporary_site_name_);
             if (absl::IsNotFound(temporary.status()))
               return std::string("temporary site already gone");
             if (!temporary.ok()) return temporary.status();
             if (absl::Status deleted = host_.DeleteSite(*temporary); !deleted.ok()) return deleted;
             return absl::StrCat("temporary site ", *temporary, " deleted");
           },
           std::nullopt});
  pending_steps_.push_back(
      Step{5, "restart",
           []() -> absl::StatusOr<std::string> { return "web server restarted (simulated)"; },
           std::nullopt});
  pending_steps_.push_back(Step{6, "verify",
                                [this, site_id, thumbprint]() -> absl::StatusOr<std::string> {
                                  if (fail_verification_) {
                                    return absl::FailedPreconditionError(absl::StrCat(
                                        "simulated failure (fleet-sim --failure-rate): site ",
                                        site_id, " serves ", BoundText(previous_thumbprint_),
                                        ", not ", thumbprint));
                                  }
                                  return absl::StrCat("site ", site_id, " serves ", thumbprint,
                                                      " (simulated: fleet-sim makes no handshake)");
                                },
                                std::nullopt});
  pending_steps_.push_back(Step{7, "backup", nullptr, std::string("no backup requested")});
}

void SimulatedJob::PlanRollback(std::string reason) {
  pending_steps_.clear();
  rollback_reason_ = std::move(reason);
  if (previous_thumbprint_.empty()) {
    result_ = FailedResult(session::MakeFailure(
        v1::FAILURE_CODE_UNEXPECTED_HOST_STATE,
        absl::StrCat(rollback_reason_,
                     "; the site had no certificate before, so there is nothing to roll back to: "
                     "it needs a person"),
        true));
    return;
  }
  const std::string site_id = assignment_.spec().deploy().site_id();
  pending_steps_.push_back(
      Step{20, "rollback_binding",
           [this, site_id]() -> absl::StatusOr<std::string> {
             if (absl::Status replaced = host_.ReplaceBinding(site_id, previous_thumbprint_);
                 !replaced.ok()) {
               return replaced;
             }
             return absl::StrCat("site ", site_id, " bound back to ", previous_thumbprint_);
           },
           std::nullopt});
  pending_steps_.push_back(
      Step{21, "rollback_restart",
           []() -> absl::StatusOr<std::string> { return "web server restarted (simulated)"; },
           std::nullopt});
  pending_steps_.push_back(Step{22, "rollback_verify",
                                [this, site_id]() -> absl::StatusOr<std::string> {
                                  return absl::StrCat("site ", site_id, " serves ",
                                                      previous_thumbprint_,
                                                      " (simulated: fleet-sim makes no handshake)");
                                },
                                std::nullopt});
  result_.set_outcome(v1::JOB_OUTCOME_ROLLED_BACK);
}

bool SimulatedJob::CanStopBeforeChanges() const {
  if (assignment_.kind() != v1::JOB_KIND_DEPLOY) return true;
  return !pending_steps_.empty() && pending_steps_.front().index <= 3;
}

v1::StepReport SimulatedJob::StartStep() {
  current_step_ = std::move(pending_steps_.front());
  pending_steps_.pop_front();
  current_report_.Clear();
  current_report_.set_step_index(static_cast<uint32_t>(current_step_->index));
  current_report_.set_step(session::ToStepName(current_step_->executor_name));
  session::SetTimestamp(absl::Now(), current_report_.mutable_started_at());
  current_report_.mutable_facts()->insert({"executor_step", current_step_->executor_name});
  current_report_.set_outcome(v1::STEP_OUTCOME_RUNNING);
  return current_report_;
}

v1::StepReport SimulatedJob::FinishStep() {
  Step step = std::move(*current_step_);
  current_step_.reset();
  v1::StepReport report = current_report_;
  if (step.skipped_detail.has_value()) {
    report.set_outcome(session::ToStepOutcomeProto(agent::StepOutcome::kSkipped));
    report.set_detail(*step.skipped_detail);
    *report.mutable_finished_at() = report.started_at();
    reported_steps_.push_back(report);
    return report;
  }
  absl::StatusOr<std::string> detail = step.run();
  session::SetTimestamp(absl::Now(), report.mutable_finished_at());
  if (detail.ok()) {
    report.set_outcome(session::ToStepOutcomeProto(agent::StepOutcome::kSucceeded));
    report.set_detail(*detail);
  } else {
    const std::string message(detail.status().message());
    report.set_outcome(session::ToStepOutcomeProto(agent::StepOutcome::kFailed));
    report.set_detail(message);
    *report.mutable_failure() =
        session::MakeFailure(v1::FAILURE_CODE_UNEXPECTED_HOST_STATE, message, true);
    // What the failure of this step does to the job, as in the executor.
    const int index = step.index;
    if (assignment_.kind() == v1::JOB_KIND_PREPARE) {
      pending_steps_.clear();
      result_ = FailedResult(session::FailureFromStatus(detail.status()));
    } else if (index <= 2) {
      pending_steps_.clear();
      const char* what = index == 0   ? "accepting the certificate failed"
                         : index == 1 ? "installing the chain failed"
                                      : "reading the current binding failed";
      const std::string reason =
          absl::StrCat(what, ": ", message, "; the site's binding was not changed");
      v1::FailureCode code = v1::FAILURE_CODE_UNEXPECTED_HOST_STATE;
      bool retryable = true;
      if (index == 0) {
        code = v1::FAILURE_CODE_WRONG_CERTIFICATE;
        retryable = false;
      } else if (index == 1) {
        code = v1::FAILURE_CODE_IO_ERROR;
      }
      result_ = FailedResult(session::MakeFailure(code, reason, retryable));
    } else if (index < 20) {
      const char* what = index == 3   ? "replacing the binding failed"
                         : index == 4 ? "deleting the temporary site failed"
                         : index == 5 ? "restarting the web server failed"
                                      : "verification failed";
      PlanRollback(absl::StrCat(what, ": ", message));
    } else {
      pending_steps_.clear();
      result_ = FailedResult(session::MakeFailure(
          v1::FAILURE_CODE_UNEXPECTED_HOST_STATE,
          absl::StrCat(rollback_reason_, "; rolling back failed: ", message), true));
    }
  }
  reported_steps_.push_back(report);
  return report;
}

v1::JobResult SimulatedJob::Result() const {
  v1::JobResult result = result_;
  if (assignment_.kind() == v1::JOB_KIND_PREPARE && result.outcome() == v1::JOB_OUTCOME_SUCCEEDED &&
      request_.has_value()) {
    v1::PrepareResult* prepared = result.mutable_prepare();
    prepared->set_csr_pem(request_->ToPem());
    prepared->set_public_key_sha256(request_->public_key().Sha256Fingerprint());
    prepared->set_key_spec(v1::KEY_SPEC_RSA_2048);
    if (absl::StatusOr<std::string> site = host_.FindSiteByName(temporary_site_name_); site.ok()) {
      prepared->set_temporary_site_id(*site);
    }
  } else if (assignment_.kind() == v1::JOB_KIND_DEPLOY && leaf_.has_value()) {
    v1::DeployResult* deployed = result.mutable_deploy();
    deployed->set_previous_thumbprint(previous_thumbprint_);
    if (absl::StatusOr<std::string> bound =
            host_.ReadBinding(assignment_.spec().deploy().site_id());
        bound.ok()) {
      deployed->set_bound_thumbprint(*bound);
    }
    if (result.outcome() == v1::JOB_OUTCOME_SUCCEEDED) {
      deployed->set_restarted(true);
    } else if (result.outcome() == v1::JOB_OUTCOME_ROLLED_BACK) {
      deployed->set_restarted(true);
      const std::string reason = absl::StrCat(
          rollback_reason_, "; rolled back: ", previous_thumbprint_, " is served again");
      deployed->mutable_rollback()->set_reason(reason);
      deployed->mutable_rollback()->set_restored_thumbprint(previous_thumbprint_);
      *result.mutable_failure() =
          session::MakeFailure(v1::FAILURE_CODE_VERIFICATION_FAILED, reason, true);
    }
  }
  session::SetTimestamp(absl::Now(), result.mutable_finished_at());
  return result;
}

v1::JobResult SimulatedJob::StoppedResult(const std::string& reason) const {
  v1::JobResult result;
  result.set_outcome(v1::JOB_OUTCOME_CANCELLED);
  *result.mutable_failure() = session::MakeFailure(
      v1::FAILURE_CODE_CANCELLED,
      absl::StrCat("cancelled before the binding was changed: ", reason), false);
  session::SetTimestamp(absl::Now(), result.mutable_finished_at());
  return result;
}

}  // namespace certfleet::bench
