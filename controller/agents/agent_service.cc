#include "controller/agents/agent_service.h"

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_request.h"
#include "controller/agents/peer_identity.h"
#include "controller/agents/status_conversion.h"
#include "controller/identity/join_token.h"
#include "controller/store/ids.h"
#include "controller/store/list_all.h"

namespace certfleet::controller::agents {
namespace {

namespace v1 = ::certfleet::v1;

void SetTimestamp(absl::Time time, google::protobuf::Timestamp* timestamp) {
  const int64_t seconds = absl::ToUnixSeconds(time);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
}

void SetDuration(absl::Duration duration, google::protobuf::Duration* proto) {
  const int64_t seconds = absl::IDivDuration(duration, absl::Seconds(1), &duration);
  proto->set_seconds(seconds);
  proto->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& timestamp) {
  return absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos());
}

store::PlatformRecord ToPlatformRecord(const v1::Platform& platform) {
  store::PlatformRecord record;
  record.driver = platform.driver();
  record.web_server = platform.web_server();
  record.operating_system = platform.operating_system();
  record.operating_system_version = platform.operating_system_version();
  record.remote_address = platform.remote_address();
  record.installed_updates.assign(platform.installed_updates().begin(),
                                  platform.installed_updates().end());
  return record;
}

std::optional<store::FailureRecord> ToFailureRecord(bool present, const v1::Failure& failure) {
  if (!present) return std::nullopt;
  store::FailureRecord record;
  record.code = v1::FailureCode_Name(failure.code());
  record.message = failure.message();
  record.retryable = failure.retryable();
  if (failure.has_diagnosis()) record.diagnosis = failure.diagnosis().SerializeAsString();
  return record;
}

absl::StatusOr<store::StepOutcome> ToStepOutcome(v1::StepOutcome outcome) {
  switch (outcome) {
    case v1::STEP_OUTCOME_RUNNING:
      return store::StepOutcome::kRunning;
    case v1::STEP_OUTCOME_SUCCEEDED:
      return store::StepOutcome::kSucceeded;
    case v1::STEP_OUTCOME_FAILED:
      return store::StepOutcome::kFailed;
    case v1::STEP_OUTCOME_SKIPPED:
      return store::StepOutcome::kSkipped;
    case v1::STEP_OUTCOME_ALREADY_DONE:
      return store::StepOutcome::kAlreadyDone;
    default:
      return absl::InvalidArgumentError("step.outcome: not set or unknown");
  }
}

absl::StatusOr<store::JobOutcome> ToJobOutcome(v1::JobOutcome outcome) {
  switch (outcome) {
    case v1::JOB_OUTCOME_SUCCEEDED:
      return store::JobOutcome::kSucceeded;
    case v1::JOB_OUTCOME_FAILED:
      return store::JobOutcome::kFailed;
    case v1::JOB_OUTCOME_ROLLED_BACK:
      return store::JobOutcome::kRolledBack;
    case v1::JOB_OUTCOME_CANCELLED:
      return store::JobOutcome::kCancelled;
    default:
      return absl::InvalidArgumentError("result.outcome: not set or unknown");
  }
}

v1::JobKind ToProtoJobKind(store::JobKind kind) {
  switch (kind) {
    case store::JobKind::kInventory:
      return v1::JOB_KIND_INVENTORY;
    case store::JobKind::kPrepare:
      return v1::JOB_KIND_PREPARE;
    case store::JobKind::kDeploy:
      return v1::JOB_KIND_DEPLOY;
    case store::JobKind::kRollback:
      return v1::JOB_KIND_ROLLBACK;
    case store::JobKind::kProbe:
      return v1::JOB_KIND_PROBE;
    case store::JobKind::kCleanup:
      return v1::JOB_KIND_CLEANUP;
  }
  return v1::JOB_KIND_UNSPECIFIED;
}

// A join token problem, whatever the store called it, is UNAUTHENTICATED
// with the store's reason.
absl::Status JoinTokenError(const absl::Status& status) {
  if (absl::IsNotFound(status) || absl::IsFailedPrecondition(status)) {
    return absl::UnauthenticatedError(absl::StrCat("join token refused: ", status.message()));
  }
  return status;
}

// About two thirds into [not_before, not_after], with up to 5% of the
// lifetime of jitter either way.
absl::Time RenewAt(absl::Time not_before, absl::Time not_after) {
  const absl::Duration lifetime = not_after - not_before;
  thread_local std::mt19937_64 generator{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(-0.05, 0.05);
  return not_before + lifetime * (2.0 / 3.0 + jitter(generator));
}

// Issues an agent certificate for the CSR; fills the identity record and the
// response fields shared by Enroll and RenewIdentity.
struct IssuedIdentity {
  crypto::Certificate certificate;
  store::AgentIdentityRecord record;
};

absl::StatusOr<IssuedIdentity> IssueIdentity(const FleetAuthority& authority,
                                             const std::string& csr_pem, const std::string& host_id,
                                             const std::string& hostname, absl::Time now) {
  if (csr_pem.empty()) return absl::InvalidArgumentError("csr_pem: empty");
  absl::StatusOr<crypto::CertificateRequest> request = crypto::CertificateRequest::Parse(csr_pem);
  if (!request.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("csr_pem: ", request.status().message()));
  }
  absl::StatusOr<crypto::Certificate> certificate =
      authority.IssueAgentCertificate(*request, host_id, hostname, now);
  if (!certificate.ok()) {
    if (absl::IsInvalidArgument(certificate.status())) {
      return absl::InvalidArgumentError(absl::StrCat("csr_pem: ", certificate.status().message()));
    }
    return certificate.status();
  }
  IssuedIdentity issued{.certificate = *certificate, .record = {}};
  issued.record.certificate_serial = certificate->SerialHex();
  issued.record.certificate_sha256 = certificate->Sha256Fingerprint();
  issued.record.expires_at = certificate->NotAfter();
  return issued;
}

// Decides what the agent must do with one job of its journal.
v1::JobReconciliation Reconcile(store::JobStore& jobs, const std::string& host_id,
                                const v1::JobState& state, absl::Time now,
                                absl::Duration lease_duration) {
  v1::JobReconciliation reconciliation;
  reconciliation.set_job_id(state.job_id());
  reconciliation.set_attempt(state.attempt());
  const int64_t attempt = static_cast<int64_t>(state.attempt());
  absl::StatusOr<store::JobRecord> job = jobs.GetJob(state.job_id());
  if (!job.ok() || job->host_id != host_id) {
    reconciliation.set_decision(v1::RECONCILIATION_DECISION_UNKNOWN_JOB);
    reconciliation.set_reason("the controller does not know this job for this host");
    return reconciliation;
  }
  if (job->status == store::JobStatus::kCancelled || job->cancel_requested_at.has_value()) {
    reconciliation.set_decision(v1::RECONCILIATION_DECISION_CANCELLED);
    reconciliation.set_reason(absl::StrCat("cancelled: ", job->cancel_reason));
    return reconciliation;
  }
  if (job->attempt != attempt) {
    reconciliation.set_decision(v1::RECONCILIATION_DECISION_SUPERSEDED);
    reconciliation.set_reason(
        absl::StrCat("attempt ", attempt, " is stale, current is ", job->attempt));
    return reconciliation;
  }
  if (job->finished_at.has_value()) {
    reconciliation.set_decision(v1::RECONCILIATION_DECISION_ALREADY_COMPLETED);
    reconciliation.set_reason("the controller has this attempt's result");
    return reconciliation;
  }
  absl::StatusOr<store::JobRecord> extended =
      job->status == store::JobStatus::kRunning
          ? jobs.ExtendLease(state.job_id(), attempt, now + lease_duration)
          : absl::StatusOr<store::JobRecord>(
                absl::FailedPreconditionError("the lease expired; the job is queued again"));
  if (!extended.ok()) {
    reconciliation.set_decision(v1::RECONCILIATION_DECISION_SUPERSEDED);
    reconciliation.set_reason(std::string(extended.status().message()));
    return reconciliation;
  }
  reconciliation.set_decision(v1::RECONCILIATION_DECISION_RESUME);
  reconciliation.set_reason("the attempt is current; its lease is renewed");
  v1::Lease* lease = reconciliation.mutable_lease();
  lease->set_job_id(extended->job_id);
  lease->set_attempt(static_cast<uint64_t>(extended->attempt));
  if (extended->lease_granted_at)
    SetTimestamp(*extended->lease_granted_at, lease->mutable_granted_at());
  if (extended->lease_expires_at)
    SetTimestamp(*extended->lease_expires_at, lease->mutable_expires_at());
  return reconciliation;
}

}  // namespace

// One agent's Connect stream. Owned by gRPC: deletes itself in OnDone.
// Its own mutex guards the write queue and the state; the service calls
// OfferWork and Close only while holding the registry mutex, and OnDone
// unregisters under that mutex, so the service never touches a deleted
// session. Lock order: registry mutex, then session mutex.
class AgentSession final : public grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  AgentSession(AgentServiceImpl* service, grpc::CallbackServerContext* context)
      : service_(service) {
    {
      std::lock_guard<std::mutex> lock(service_->sessions_mutex_);
      if (service_->shutting_down_) {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down"));
        return;
      }
    }
    absl::StatusOr<AgentPeer> peer = AuthenticateAgent(
        context->auth_context().get(), service_->authority_, service_->store_.hosts(), absl::Now());
    if (!peer.ok()) {
      Finish(ToGrpcStatus(peer.status()));
      return;
    }
    peer_ = *std::move(peer);
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::lock_guard<std::mutex> lock(mutex_);
      FinishLocked(grpc::Status::OK);
      return;
    }
    absl::Status status = Handle(incoming_);
    std::lock_guard<std::mutex> lock(mutex_);
    if (!status.ok()) {
      FinishLocked(ToGrpcStatus(status));
      return;
    }
    if (!finishing_) StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    write_in_flight_ = false;
    outgoing_.pop_front();
    if (!ok) outgoing_.clear();
    if (!outgoing_.empty()) {
      write_in_flight_ = true;
      StartWrite(&outgoing_.front());
      return;
    }
    if (pending_finish_.has_value()) {
      Finish(*pending_finish_);
      pending_finish_.reset();
    } else if (!ok && !finishing_) {
      finishing_ = true;
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write to the agent failed"));
    }
  }

  void OnDone() override {
    if (registered_ && service_->UnregisterSession(peer_.host_id, this)) {
      // Best effort: the host stays online only until the next presence
      // sweep otherwise.
      (void)service_->store_.hosts().SetPresence(peer_.host_id, store::Presence::kOffline,
                                                 absl::Now());
    }
    delete this;
  }

  // Leases the host's next queued job and pushes it, unless the session is
  // not welcomed yet, is closing, or the host already runs a job. Called
  // with the registry mutex held.
  void OfferWork() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!welcomed_ || finishing_) return;
    store::JobStore& jobs = service_->store_.jobs();
    store::JobQuery query;
    query.host_id = peer_.host_id;
    query.statuses = {store::JobStatus::kRunning};
    query.page.page_size = 1;
    absl::StatusOr<store::Page<store::JobRecord>> running = jobs.ListJobs(query);
    if (!running.ok() || !running->items.empty()) return;
    const absl::Time now = absl::Now();
    absl::StatusOr<std::optional<store::JobRecord>> leased =
        jobs.LeaseNextJob(peer_.host_id, now, now + service_->options_.lease_duration);
    if (!leased.ok() || !leased->has_value()) return;
    const store::JobRecord& job = **leased;
    v1::ControllerMessage message;
    v1::JobAssignment* assignment = message.mutable_job_assignment();
    assignment->mutable_lease()->set_job_id(job.job_id);
    assignment->mutable_lease()->set_attempt(static_cast<uint64_t>(job.attempt));
    SetTimestamp(job.lease_granted_at.value_or(now),
                 assignment->mutable_lease()->mutable_granted_at());
    SetTimestamp(job.lease_expires_at.value_or(now + service_->options_.lease_duration),
                 assignment->mutable_lease()->mutable_expires_at());
    assignment->set_kind(ToProtoJobKind(job.kind));
    assignment->set_order_id(job.order_id);
    if (!job.spec.empty() && !assignment->mutable_spec()->ParseFromString(job.spec)) {
      // A spec the store holds but that does not parse is a controller bug:
      // give the job back rather than send the agent nonsense.
      (void)jobs.ReleaseLease(job.job_id, job.attempt, now, "stored job spec does not parse");
      return;
    }
    EnqueueLocked(std::move(message));
  }

  // Pushes a JobCancellation when the host's running job has a cancellation
  // request that this session has not pushed yet. Called with the registry
  // mutex held, from the dispatch sweep.
  // Pushes the cancellation of `job`, this host's running job whose
  // cancellation was requested, once per attempt.
  void OfferCancellation(const store::JobRecord& job) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!welcomed_ || finishing_) return;
    const std::string key = absl::StrCat(job.job_id, "#", job.attempt);
    if (key == cancellation_sent_) return;
    cancellation_sent_ = key;
    v1::ControllerMessage message;
    v1::JobCancellation* cancellation = message.mutable_job_cancellation();
    cancellation->set_job_id(job.job_id);
    cancellation->set_attempt(static_cast<uint64_t>(job.attempt));
    cancellation->set_reason(job.cancel_reason);
    EnqueueLocked(std::move(message));
  }

  // Queues `message` for the agent; false when the session is not welcomed
  // yet or is closing. Called with the registry mutex held.
  bool Send(v1::ControllerMessage message) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!welcomed_ || finishing_) return false;
    EnqueueLocked(std::move(message));
    return true;
  }

  // Sends a GoAway and ends the stream with UNAVAILABLE. Called with the
  // registry mutex held.
  void Close(const std::string& reason) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finishing_) return;
    v1::ControllerMessage message;
    v1::GoAway* go_away = message.mutable_go_away();
    SetDuration(absl::Seconds(1), go_away->mutable_reconnect_after());
    SetDuration(absl::Seconds(5), go_away->mutable_reconnect_jitter());
    go_away->set_reason(reason);
    EnqueueLocked(std::move(message));
    FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, reason));
  }

 private:
  absl::Status Handle(const v1::AgentMessage& message) {
    const absl::Time now = absl::Now();
    store::HostStore& hosts = service_->store_.hosts();
    if (message.has_hello()) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (welcomed_) return absl::InvalidArgumentError("hello: sent twice on one stream");
      }
      const v1::Hello& hello = message.hello();
      store::AgentDescription description;
      description.agent_version = hello.agent_version();
      description.platform = ToPlatformRecord(hello.platform());
      description.capabilities = hello.capabilities().SerializeAsString();
      absl::StatusOr<store::HostRecord> host =
          hosts.UpdateAgentDescription(peer_.host_id, description, now);
      if (!host.ok()) return host.status();
      absl::Status presence = hosts.SetPresence(peer_.host_id, store::Presence::kOnline, now);
      if (!presence.ok()) return presence;
      v1::ControllerMessage reply;
      v1::Welcome* welcome = reply.mutable_welcome();
      welcome->set_host_id(peer_.host_id);
      SetTimestamp(now, welcome->mutable_server_time());
      SetDuration(service_->options_.heartbeat_interval, welcome->mutable_heartbeat_interval());
      for (const v1::JobState& state : hello.journal()) {
        *welcome->add_reconciliations() = Reconcile(service_->store_.jobs(), peer_.host_id, state,
                                                    now, service_->options_.lease_duration);
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (finishing_) return absl::OkStatus();
        EnqueueLocked(std::move(reply));
        welcomed_ = true;
        registered_ = true;
      }
      service_->RegisterSession(peer_.host_id, this);
      service_->NotifyJobQueued(peer_.host_id);
      return absl::OkStatus();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!welcomed_) return absl::InvalidArgumentError("the first message must be a Hello");
    }
    if (message.has_heartbeat()) {
      absl::Status recorded = hosts.RecordHeartbeat(peer_.host_id, now);
      if (absl::IsFailedPrecondition(recorded)) {
        return absl::PermissionDeniedError(recorded.message());
      }
      v1::ControllerMessage reply;
      v1::HeartbeatAcknowledgement* acknowledgement = reply.mutable_heartbeat_acknowledgement();
      SetTimestamp(now, acknowledgement->mutable_server_time());
      for (const v1::RunningJob& running : message.heartbeat().running_jobs()) {
        absl::StatusOr<store::JobRecord> job = service_->store_.jobs().GetJob(running.job_id());
        if (!job.ok() || job->host_id != peer_.host_id) continue;
        absl::StatusOr<store::JobRecord> extended = service_->store_.jobs().ExtendLease(
            running.job_id(), static_cast<int64_t>(running.attempt()),
            now + service_->options_.lease_duration);
        if (!extended.ok()) continue;
        v1::Lease* lease = acknowledgement->add_leases();
        lease->set_job_id(extended->job_id);
        lease->set_attempt(static_cast<uint64_t>(extended->attempt));
        if (extended->lease_granted_at) {
          SetTimestamp(*extended->lease_granted_at, lease->mutable_granted_at());
        }
        if (extended->lease_expires_at) {
          SetTimestamp(*extended->lease_expires_at, lease->mutable_expires_at());
        }
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (!finishing_) EnqueueLocked(std::move(reply));
      return absl::OkStatus();
    }
    if (message.has_job_assignment_acknowledgement()) {
      const v1::JobAssignmentAcknowledgement& acknowledgement =
          message.job_assignment_acknowledgement();
      if (acknowledgement.decision() != v1::ASSIGNMENT_DECISION_ACCEPTED) {
        absl::StatusOr<store::JobRecord> job =
            service_->store_.jobs().GetJob(acknowledgement.job_id());
        if (job.ok() && job->host_id == peer_.host_id &&
            acknowledgement.decision() == v1::ASSIGNMENT_DECISION_REJECTED_UNSUPPORTED) {
          service_->FailUnsupportedJob(*job, static_cast<int64_t>(acknowledgement.attempt()),
                                       acknowledgement.reason(), now);
        } else if (job.ok() && job->host_id == peer_.host_id) {
          (void)service_->store_.jobs().ReleaseLease(
              acknowledgement.job_id(), static_cast<int64_t>(acknowledgement.attempt()), now,
              absl::StrCat("agent rejected the assignment (",
                           v1::AssignmentDecision_Name(acknowledgement.decision()),
                           "): ", acknowledgement.reason()));
        }
      }
      return absl::OkStatus();
    }
    // Cancellation acknowledgements are informational until cancellation
    // is dispatched; unknown messages from newer agents are ignored.
    return absl::OkStatus();
  }

  void EnqueueLocked(v1::ControllerMessage message) {
    outgoing_.push_back(std::move(message));
    if (!write_in_flight_) {
      write_in_flight_ = true;
      StartWrite(&outgoing_.front());
    }
  }

  void FinishLocked(grpc::Status status) {
    if (finishing_) return;
    finishing_ = true;
    if (write_in_flight_) {
      pending_finish_ = std::move(status);
    } else {
      Finish(std::move(status));
    }
  }

  AgentServiceImpl* const service_;
  AgentPeer peer_;
  v1::AgentMessage incoming_;

  std::mutex mutex_;
  std::deque<v1::ControllerMessage> outgoing_;
  bool write_in_flight_ = false;
  bool finishing_ = false;
  std::optional<grpc::Status> pending_finish_;
  bool welcomed_ = false;
  bool registered_ = false;
  // "job_id#attempt" of the last JobCancellation pushed.
  std::string cancellation_sent_;
};

AgentServiceImpl::AgentServiceImpl(const FleetAuthority& authority, store::Store& store,
                                   AgentServiceOptions options)
    : authority_(authority), store_(store), options_(options) {
  sweep_thread_ = std::thread([this] { SweepLoop(); });
}

AgentServiceImpl::~AgentServiceImpl() { Shutdown(); }

grpc::ServerUnaryReactor* AgentServiceImpl::Enroll(grpc::CallbackServerContext* context,
                                                   const v1::EnrollRequest* request,
                                                   v1::EnrollResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto enroll = [&]() -> absl::Status {
    const absl::Time now = absl::Now();
    if (request->hostname().empty()) return absl::InvalidArgumentError("hostname: empty");
    if (!LooksLikeJoinTokenSecret(request->join_token())) {
      return absl::UnauthenticatedError(
          "join token refused: not a certfleet join token (expected \"cfjoin_...\")");
    }
    const std::string token_hash = HashJoinTokenSecret(request->join_token());
    absl::StatusOr<store::JoinTokenRecord> token =
        store_.join_tokens().ValidateJoinToken(token_hash, request->hostname(), now);
    if (!token.ok()) return JoinTokenError(token.status());

    std::string host_id = store::GenerateId(store::IdKind::kHost);
    absl::StatusOr<store::HostRecord> existing = store_.hosts().GetHostByName(request->hostname());
    if (existing.ok() && existing->state == store::HostState::kDecommissioned) {
      host_id = existing->host_id;
    }
    absl::StatusOr<IssuedIdentity> issued =
        IssueIdentity(authority_, request->csr_pem(), host_id, request->hostname(), now);
    if (!issued.ok()) return issued.status();

    store::HostEnrollment enrollment;
    enrollment.host_id = host_id;
    enrollment.hostname = request->hostname();
    enrollment.join_token_secret_sha256 = token_hash;
    enrollment.labels.insert(request->labels().begin(), request->labels().end());
    enrollment.platform = ToPlatformRecord(request->platform());
    enrollment.capabilities = request->capabilities().SerializeAsString();
    enrollment.agent_version = request->agent_version();
    enrollment.identity = issued->record;
    enrollment.enrolled_at = now;
    absl::StatusOr<store::HostRecord> host = store_.hosts().EnrollHost(enrollment);
    if (!host.ok()) {
      if (absl::IsNotFound(host.status()) ||
          (absl::IsFailedPrecondition(host.status()) &&
           absl::StrContains(host.status().message(), "token"))) {
        return JoinTokenError(host.status());
      }
      return host.status();
    }
    response->set_host_id(host->host_id);
    response->set_client_certificate_pem(issued->certificate.ToPem());
    response->add_chain_pems(authority_.ca_certificate().ToPem());
    SetTimestamp(issued->certificate.NotAfter(), response->mutable_expires_at());
    SetTimestamp(RenewAt(issued->certificate.NotBefore(), issued->certificate.NotAfter()),
                 response->mutable_renew_at());
    return absl::OkStatus();
  };
  reactor->Finish(ToGrpcStatus(enroll()));
  return reactor;
}

grpc::ServerBidiReactor<v1::AgentMessage, v1::ControllerMessage>* AgentServiceImpl::Connect(
    grpc::CallbackServerContext* context) {
  return new AgentSession(this, context);
}

grpc::ServerUnaryReactor* AgentServiceImpl::ReportInventory(
    grpc::CallbackServerContext* context, const v1::ReportInventoryRequest* request,
    v1::ReportInventoryResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto report = [&]() -> absl::Status {
    const absl::Time now = absl::Now();
    absl::StatusOr<AgentPeer> peer =
        AuthenticateAgent(context->auth_context().get(), authority_, store_.hosts(), now);
    if (!peer.ok()) return peer.status();
    if (!request->has_inventory()) {
      return absl::InvalidArgumentError("ReportInventory without an inventory");
    }
    absl::StatusOr<store::InventoryReport> inventory =
        FromHostInventoryProto(peer->host_id, request->inventory(), options_.inventory_limits);
    if (!inventory.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("inventory report of host ", peer->host_id,
                                                     " refused: ", inventory.status().message()));
    }
    absl::StatusOr<store::InventoryIngestResult> result =
        store_.inventory().IngestInventory(*inventory, now);
    if (!result.ok()) return result.status();
    response->set_disposition(ToInventoryDispositionProto(result->disposition));
    response->set_stored_content_hash(result->stored_content_hash);
    if (result->disposition == store::InventoryDisposition::kApplied ||
        result->disposition == store::InventoryDisposition::kUnchanged) {
      for (const store::BindingProbeRecord& probe :
           FromServedProbes(peer->host_id, request->inventory(), now, options_.inventory_limits)) {
        // A binding the report names but the store does not have (the
        // report left it out) is no reason to refuse the inventory.
        if (absl::Status recorded = store_.inventory().RecordBindingProbe(probe);
            !recorded.ok() && !absl::IsNotFound(recorded)) {
          return recorded;
        }
      }
    }
    if (result->disposition == store::InventoryDisposition::kApplied &&
        options_.on_inventory_applied) {
      options_.on_inventory_applied(peer->host_id);
    }
    return absl::OkStatus();
  };
  reactor->Finish(ToGrpcStatus(report()));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::ReportStep(grpc::CallbackServerContext* context,
                                                       const v1::ReportStepRequest* request,
                                                       v1::ReportStepResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto report = [&]() -> absl::Status {
    const absl::Time now = absl::Now();
    absl::StatusOr<AgentPeer> peer =
        AuthenticateAgent(context->auth_context().get(), authority_, store_.hosts(), now);
    if (!peer.ok()) return peer.status();
    absl::StatusOr<store::JobRecord> job = store_.jobs().GetJob(request->job_id());
    if (!job.ok()) return job.status();
    if (job->host_id != peer->host_id) {
      return absl::PermissionDeniedError(
          absl::StrCat("job ", request->job_id(), " belongs to another host"));
    }
    const v1::StepReport& step = request->step();
    absl::StatusOr<store::StepOutcome> outcome = ToStepOutcome(step.outcome());
    if (!outcome.ok()) return outcome.status();
    store::StepSubmission submission;
    submission.job_id = request->job_id();
    submission.attempt = static_cast<int64_t>(request->attempt());
    submission.step.step_index = static_cast<int>(step.step_index());
    submission.step.step = v1::StepName_Name(step.step());
    submission.step.outcome = *outcome;
    submission.step.started_at = step.has_started_at() ? FromTimestamp(step.started_at()) : now;
    if (step.has_finished_at()) submission.step.finished_at = FromTimestamp(step.finished_at());
    submission.step.detail = step.detail();
    submission.step.failure = ToFailureRecord(step.has_failure(), step.failure());
    submission.step.facts.insert(step.facts().begin(), step.facts().end());
    submission.lease_expires_at = now + options_.lease_duration;
    absl::StatusOr<store::StepSubmissionResult> result = store_.jobs().RecordStep(submission);
    if (!result.ok()) return result.status();
    SetTimestamp(result->lease_expires_at, response->mutable_lease_expires_at());
    response->set_cancellation_requested(result->cancellation_requested);
    return absl::OkStatus();
  };
  reactor->Finish(ToGrpcStatus(report()));
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::CompleteJob(grpc::CallbackServerContext* context,
                                                        const v1::CompleteJobRequest* request,
                                                        v1::CompleteJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::string host_id;
  std::optional<store::JobRecord> finished_job;
  auto complete = [&]() -> absl::Status {
    const absl::Time now = absl::Now();
    absl::StatusOr<AgentPeer> peer =
        AuthenticateAgent(context->auth_context().get(), authority_, store_.hosts(), now);
    if (!peer.ok()) return peer.status();
    absl::StatusOr<store::JobRecord> job = store_.jobs().GetJob(request->job_id());
    if (!job.ok()) return job.status();
    if (job->host_id != peer->host_id) {
      return absl::PermissionDeniedError(
          absl::StrCat("job ", request->job_id(), " belongs to another host"));
    }
    const v1::JobResult& result = request->result();
    absl::StatusOr<store::JobOutcome> outcome = ToJobOutcome(result.outcome());
    if (!outcome.ok()) return outcome.status();
    store::JobCompletion completion;
    completion.job_id = request->job_id();
    completion.attempt = static_cast<int64_t>(request->attempt());
    completion.result.outcome = *outcome;
    completion.result.failure = ToFailureRecord(result.has_failure(), result.failure());
    // The agent's clock makes repeats of one result identical.
    if (!result.has_finished_at()) {
      return absl::InvalidArgumentError("result.finished_at: not set");
    }
    completion.result.finished_at = FromTimestamp(result.finished_at());
    completion.result.detail = result.SerializeAsString();
    completion.received_at = now;
    std::optional<store::OrderTransition> order_transition;
    if (options_.order_transition_for_result) {
      absl::StatusOr<std::optional<store::OrderTransition>> implied =
          options_.order_transition_for_result(*job, completion.result);
      if (!implied.ok()) return implied.status();
      order_transition = *std::move(implied);
    }
    absl::StatusOr<store::JobCompletionResult> completed =
        store_.jobs().CompleteJob(completion, order_transition);
    if (!completed.ok()) return completed.status();
    response->set_newly_recorded(completed->newly_recorded);
    host_id = peer->host_id;
    if (completed->newly_recorded) finished_job = completed->job;
    return absl::OkStatus();
  };
  reactor->Finish(ToGrpcStatus(complete()));
  if (finished_job.has_value() && options_.on_job_completed)
    options_.on_job_completed(*finished_job);
  // The host is free again: offer its next job.
  if (!host_id.empty()) NotifyJobQueued(host_id);
  return reactor;
}

grpc::ServerUnaryReactor* AgentServiceImpl::RenewIdentity(grpc::CallbackServerContext* context,
                                                          const v1::RenewIdentityRequest* request,
                                                          v1::RenewIdentityResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto renew = [&]() -> absl::Status {
    const absl::Time now = absl::Now();
    absl::StatusOr<AgentPeer> peer =
        AuthenticateAgent(context->auth_context().get(), authority_, store_.hosts(), now);
    if (!peer.ok()) return peer.status();
    absl::StatusOr<IssuedIdentity> issued =
        IssueIdentity(authority_, request->csr_pem(), peer->host_id, peer->hostname, now);
    if (!issued.ok()) return issued.status();
    absl::StatusOr<store::HostRecord> host =
        store_.hosts().UpdateIdentity(peer->host_id, issued->record);
    if (!host.ok()) return host.status();
    response->set_client_certificate_pem(issued->certificate.ToPem());
    response->add_chain_pems(authority_.ca_certificate().ToPem());
    SetTimestamp(issued->certificate.NotAfter(), response->mutable_expires_at());
    SetTimestamp(RenewAt(issued->certificate.NotBefore(), issued->certificate.NotAfter()),
                 response->mutable_renew_at());
    return absl::OkStatus();
  };
  reactor->Finish(ToGrpcStatus(renew()));
  return reactor;
}

void AgentServiceImpl::FailUnsupportedJob(const store::JobRecord& job, int64_t attempt,
                                          std::string_view reason, absl::Time now) {
  v1::JobResult result;
  result.set_outcome(v1::JOB_OUTCOME_FAILED);
  v1::Failure* failure = result.mutable_failure();
  failure->set_code(v1::FAILURE_CODE_UNSUPPORTED_BY_PLATFORM);
  failure->set_message(absl::StrCat("the agent cannot run ", std::string(store::ToString(job.kind)),
                                    " jobs", reason.empty() ? "" : ": ", std::string(reason)));
  failure->set_retryable(false);
  SetTimestamp(now, result.mutable_finished_at());
  store::JobCompletion completion;
  completion.job_id = job.job_id;
  completion.attempt = attempt;
  completion.result.outcome = store::JobOutcome::kFailed;
  completion.result.failure = ToFailureRecord(true, *failure);
  completion.result.finished_at = now;
  completion.result.detail = result.SerializeAsString();
  completion.received_at = now;
  std::optional<store::OrderTransition> order_transition;
  if (options_.order_transition_for_result) {
    absl::StatusOr<std::optional<store::OrderTransition>> implied =
        options_.order_transition_for_result(job, completion.result);
    if (implied.ok()) order_transition = *std::move(implied);
  }
  absl::StatusOr<store::JobCompletionResult> completed =
      store_.jobs().CompleteJob(completion, order_transition);
  if (completed.ok() && completed->newly_recorded && options_.on_job_completed) {
    options_.on_job_completed(completed->job);
  }
}

void AgentServiceImpl::NotifyJobQueued(std::string_view host_id) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto found = sessions_.find(std::string(host_id));
  if (found != sessions_.end()) found->second->OfferWork();
}

bool AgentServiceImpl::RequestInventory(std::string_view host_id, std::string_view reason) {
  v1::ControllerMessage message;
  message.mutable_inventory_request()->set_reason(std::string(reason));
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto found = sessions_.find(std::string(host_id));
  if (found == sessions_.end()) return false;
  return found->second->Send(std::move(message));
}

int AgentServiceImpl::SessionCount() const {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  return static_cast<int>(sessions_.size());
}

void AgentServiceImpl::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(sweep_mutex_);
    stop_sweep_ = true;
  }
  sweep_wakeup_.notify_all();
  if (sweep_thread_.joinable()) sweep_thread_.join();
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  shutting_down_ = true;
  for (auto& [host_id, session] : sessions_) session->Close("controller shutting down");
}

void AgentServiceImpl::RegisterSession(const std::string& host_id, AgentSession* session) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  if (shutting_down_) {
    session->Close("controller shutting down");
  }
  auto [entry, inserted] = sessions_.try_emplace(host_id, session);
  if (!inserted && entry->second != session) {
    entry->second->Close("replaced by a newer stream from the same host");
    entry->second = session;
  }
}

bool AgentServiceImpl::UnregisterSession(const std::string& host_id, AgentSession* session) {
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  auto found = sessions_.find(host_id);
  if (found == sessions_.end() || found->second != session) return false;
  sessions_.erase(found);
  return true;
}

void AgentServiceImpl::SweepLoop() {
  std::unique_lock<std::mutex> lock(sweep_mutex_);
  while (!stop_sweep_) {
    lock.unlock();
    SweepOnce();
    lock.lock();
    sweep_wakeup_.wait_for(lock, absl::ToChronoMilliseconds(options_.sweep_interval),
                           [this] { return stop_sweep_; });
  }
}

void AgentServiceImpl::SweepOnce() {
  const absl::Time now = absl::Now();
  (void)store_.jobs().ExpireLeases(now);
  // A host whose agent missed three heartbeats is offline even if its
  // stream has not noticed yet; its next heartbeat marks it online again.
  absl::StatusOr<std::vector<std::string>> silent =
      store_.hosts().MarkOfflineSeenBefore(now - 3 * options_.heartbeat_interval);
  if (silent.ok() && !silent->empty() && options_.on_hosts_silent) {
    options_.on_hosts_silent(*silent);
  }
  absl::StatusOr<std::vector<std::string>> hosts = store_.jobs().ListHostsWithQueuedJobs(now);
  if (!hosts.ok()) return;
  for (const std::string& host_id : *hosts) NotifyJobQueued(host_id);
  // Running jobs with a cancellation request reach a connected agent here
  // (JobStore::CancelJob only marks them); each attempt is pushed once per
  // session, and ReportStep answers cancellation_requested as well. One
  // query for the fleet, outside the registry lock: running jobs are few
  // (the renewals in flight), sessions may be 10,000, and a store query per
  // session under the registry lock kept new sessions out for seconds.
  absl::StatusOr<std::vector<store::JobRecord>> running =
      store::ListAll<store::JobRecord>([&](const store::PageRequest& page) {
        store::JobQuery query;
        query.statuses = {store::JobStatus::kRunning};
        query.page = page;
        return store_.jobs().ListJobs(query);
      });
  if (!running.ok()) return;
  std::lock_guard<std::mutex> lock(sessions_mutex_);
  for (const store::JobRecord& job : *running) {
    if (!job.cancel_requested_at.has_value()) continue;
    if (auto session = sessions_.find(job.host_id); session != sessions_.end()) {
      session->second->OfferCancellation(job);
    }
  }
}

}  // namespace certfleet::controller::agents
