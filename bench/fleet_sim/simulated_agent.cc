#include "bench/fleet_sim/simulated_agent.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/session/agent_description.h"
#include "agent/session/enrollment.h"
#include "agent/session/job_conversion.h"

namespace certfleet::bench {
namespace {

namespace session = agent::session;

// Whether a refusal of CompleteJob is final (sending again cannot help), as
// for the real agent.
bool FinalRefusal(grpc::StatusCode code) {
  return code == grpc::StatusCode::FAILED_PRECONDITION || code == grpc::StatusCode::NOT_FOUND ||
         code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::INVALID_ARGUMENT;
}

absl::Duration FromDuration(const google::protobuf::Duration& duration) {
  return absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
}

// The request, answer and context of one unary call, alive until its
// callback has run.
template <typename Request, typename Response>
struct UnaryCall {
  grpc::ClientContext context;
  Request request;
  Response response;
};

void RunAll(std::vector<std::function<void()>>& actions) {
  for (std::function<void()>& action : actions) action();
  actions.clear();
}

}  // namespace

// The job this agent runs: at most one.
struct SimulatedAgent::RunningJob {
  RunningJob(v1::JobAssignment assignment, SimulatedHost& host, const SimulatorPki& pki,
             bool fail_verification, size_t key_index)
      : job(std::move(assignment), host, pki, fail_verification, key_index) {}
  SimulatedJob job;
  bool started = false;
  bool cancel_requested = false;
  std::string cancel_reason;
  // The controller said the attempt is no longer current: finish safely
  // and do not report.
  bool stale = false;
  v1::StepName current_step = v1::STEP_NAME_UNSPECIFIED;

  const std::string& job_id() const { return job.assignment().lease().job_id(); }
  uint64_t attempt() const { return job.assignment().lease().attempt(); }
  v1::JobKind kind() const { return job.assignment().kind(); }
};

// One Connect stream. Holds itself alive until gRPC's OnDone; a hold keeps
// OnDone away until the agent has stopped writing (after the read side
// ended), so that no write can start on a finished call.
class SimulatedAgent::Stream
    : public grpc::ClientBidiReactor<v1::AgentMessage, v1::ControllerMessage> {
 public:
  Stream(std::shared_ptr<SimulatedAgent> agent, std::shared_ptr<v1::AgentService::Stub> stub)
      : agent_(std::move(agent)), stub_(std::move(stub)) {}

  void Begin(std::shared_ptr<Stream> self, const v1::AgentMessage& hello) {
    self_ = std::move(self);
    stub_->async()->Connect(&context_, this);
    AddHold();
    Write(hello);
    StartRead(&incoming_);
    StartCall();
  }

  void Write(const v1::AgentMessage& message) {
    const v1::AgentMessage* start = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (read_side_ended_) return;
      outgoing_.push_back(message);
      if (writing_) return;
      writing_ = true;
      start = &outgoing_.front();
      ++writers_starting_;
    }
    StartWrite(start);
    bool remove_hold = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --writers_starting_;
      remove_hold = read_side_ended_ && writers_starting_ == 0 && !hold_removed_;
      if (remove_hold) hold_removed_ = true;
    }
    if (remove_hold) RemoveHold();
  }

  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override {
    const v1::AgentMessage* next = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      outgoing_.pop_front();
      if (!ok || read_side_ended_ || outgoing_.empty()) {
        writing_ = false;
        if (!ok) outgoing_.clear();
      } else {
        next = &outgoing_.front();
      }
    }
    if (next != nullptr) StartWrite(next);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      agent_->OnMessage(this, incoming_);
      StartRead(&incoming_);
      return;
    }
    agent_->OnStreamBroken(this);
    bool remove_hold = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      read_side_ended_ = true;
      remove_hold = writers_starting_ == 0 && !hold_removed_;
      if (remove_hold) hold_removed_ = true;
    }
    if (remove_hold) RemoveHold();
  }

  void OnDone(const grpc::Status& status) override {
    agent_->OnStreamDone(this, status);
    std::shared_ptr<Stream> self = std::move(self_);
  }

 private:
  std::shared_ptr<SimulatedAgent> agent_;
  std::shared_ptr<v1::AgentService::Stub> stub_;
  std::shared_ptr<Stream> self_;
  grpc::ClientContext context_;
  v1::ControllerMessage incoming_;

  std::mutex mutex_;
  std::deque<v1::AgentMessage> outgoing_;
  bool writing_ = false;
  bool read_side_ended_ = false;
  int writers_starting_ = 0;
  bool hold_removed_ = false;
};

SimulatedAgent::SimulatedAgent(int index, std::string hostname,
                               agent::session::AgentIdentity identity, SimulatedHost host,
                               const SimulatorPki& pki, TaskScheduler& scheduler,
                               FleetStatistics& statistics, const SimulationSettings& settings)
    : index_(index),
      hostname_(std::move(hostname)),
      identity_(std::move(identity)),
      pki_(pki),
      scheduler_(scheduler),
      statistics_(statistics),
      settings_(settings),
      host_(std::move(host)),
      heartbeat_interval_(settings.agent_config.heartbeat_interval),
      backoff_(settings.agent_config.reconnect_initial_backoff,
               settings.agent_config.reconnect_max_backoff, std::random_device{}()),
      random_(std::random_device{}()) {}

SimulatedAgent::~SimulatedAgent() = default;

void SimulatedAgent::Start() {
  Connect();
  // The periodic inventory, at a random phase so that a fleet started
  // together does not report together.
  std::uniform_real_distribution<double> phase(0.0, 1.0);
  absl::Duration first;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    first = settings_.agent_config.inventory_interval * phase(random_);
  }
  std::weak_ptr<SimulatedAgent> weak = weak_from_this();
  scheduler_.RunAfter(first, [weak] {
    if (std::shared_ptr<SimulatedAgent> agent = weak.lock()) agent->PeriodicInventory();
  });
}

void SimulatedAgent::Stop() {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    stream = stream_;
  }
  if (stream != nullptr) stream->Cancel();
}

void SimulatedAgent::Connect() {
  std::shared_ptr<Stream> stream;
  v1::AgentMessage hello;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    generation = ++generation_;
    std::shared_ptr<grpc::Channel> channel =
        session::MakeControllerChannel(settings_.agent_config, identity_.fleet_ca(), &identity_);
    session_stub_ = std::shared_ptr<v1::AgentService::Stub>(v1::AgentService::NewStub(channel));
    stream = std::make_shared<Stream>(shared_from_this(), session_stub_);
    stream_ = stream;
    stub_ = nullptr;
    welcomed_ = false;
    go_away_delay_.reset();
    session_started_ = absl::Now();
    hello = BuildHelloLocked();
    ++live_streams_;
  }
  stream->Begin(stream, hello);
  // A controller that takes the stream but never answers Hello must not
  // hold the agent: the stream is cancelled after the RPC timeout.
  std::weak_ptr<SimulatedAgent> weak = weak_from_this();
  scheduler_.RunAfter(settings_.agent_config.rpc_timeout, [weak, generation] {
    if (std::shared_ptr<SimulatedAgent> agent = weak.lock()) agent->CheckWelcome(generation);
  });
}

void SimulatedAgent::CheckWelcome(uint64_t generation) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_ || welcomed_) return;
    stream = stream_;
  }
  if (stream != nullptr) stream->Cancel();
}

v1::AgentMessage SimulatedAgent::BuildHelloLocked() {
  v1::AgentMessage message;
  v1::Hello* hello = message.mutable_hello();
  hello->set_agent_version(session::kAgentVersion);
  *hello->mutable_platform() = SimulatedHost::Platform();
  *hello->mutable_capabilities() = SimulatedHost::Capabilities();
  hello->set_inventory_content_hash(inventory_hash_);
  session::SetTimestamp(absl::Now(), hello->mutable_sent_at());
  if (job_ != nullptr && job_->started && job_->kind() != v1::JOB_KIND_INVENTORY) {
    v1::JobState* state = hello->add_journal();
    state->set_job_id(job_->job_id());
    state->set_attempt(job_->attempt());
    state->set_kind(job_->kind());
    state->set_order_id(job_->job.assignment().order_id());
    for (const v1::StepReport& step : job_->job.reported_steps()) *state->add_steps() = step;
  }
  for (const v1::JobState& state : unreported_) *hello->add_journal() = state;
  return message;
}

void SimulatedAgent::WriteOnStream(const v1::AgentMessage& message) {
  std::shared_ptr<Stream> stream;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stream = stream_;
  }
  if (stream != nullptr) stream->Write(message);
}

void SimulatedAgent::OnMessage(Stream* stream, const v1::ControllerMessage& message) {
  std::vector<std::function<void()>> actions;
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stream_.get() != stream) return;
    last_heard_ = absl::Now();
    if (message.has_welcome()) {
      if (welcomed_) return;
      welcomed_ = true;
      stub_ = session_stub_;
      const absl::Duration offered = FromDuration(message.welcome().heartbeat_interval());
      heartbeat_interval_ =
          offered > absl::ZeroDuration() ? offered : settings_.agent_config.heartbeat_interval;
      const bool first_session = !ever_welcomed_;
      ever_welcomed_ = true;
      statistics_.SessionWelcomed(first_session);
      ReconcileLocked(message.welcome(), actions);
      const uint64_t generation = generation_;
      actions.push_back([self, generation] {
        std::weak_ptr<SimulatedAgent> weak = self;
        std::uniform_real_distribution<double> jitter(0.0, 0.1);
        absl::Duration wait;
        {
          std::lock_guard<std::mutex> lock(self->mutex_);
          wait = self->heartbeat_interval_ * (1.0 + jitter(self->random_));
        }
        self->scheduler_.RunAfter(wait, [weak, generation] {
          if (std::shared_ptr<SimulatedAgent> agent = weak.lock()) agent->Heartbeat(generation);
        });
      });
      if (first_session || inventory_unreported_) {
        const std::string reason = first_session ? "agent start" : "reconnected";
        actions.push_back([self, reason] { self->ReportInventory(reason, nullptr); });
      }
    } else if (message.has_job_assignment()) {
      statistics_.WorkArrived(index_);
      HandleAssignmentLocked(message.job_assignment(), actions);
    } else if (message.has_job_cancellation()) {
      HandleCancellationLocked(message.job_cancellation(), actions);
    } else if (message.has_inventory_request()) {
      statistics_.WorkArrived(index_);
      const std::string reason =
          absl::StrCat("controller request: ", message.inventory_request().reason());
      actions.push_back([self, reason] { self->ReportInventory(reason, nullptr); });
    } else if (message.has_go_away()) {
      const v1::GoAway& go_away = message.go_away();
      std::uniform_real_distribution<double> fraction(0.0, 1.0);
      go_away_delay_ = FromDuration(go_away.reconnect_after()) +
                       FromDuration(go_away.reconnect_jitter()) * fraction(random_);
    }
    // Heartbeat acknowledgements extend leases the simulator does not
    // track; identity renewal hints are not simulated (see the header).
  }
  RunAll(actions);
}

void SimulatedAgent::OnStreamBroken(Stream* stream) {
  bool was_welcomed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stream_.get() != stream) return;
    was_welcomed = welcomed_;
    stream_ = nullptr;
    stub_ = nullptr;
  }
  statistics_.SessionLost(was_welcomed);
}

void SimulatedAgent::OnStreamDone(Stream* stream, const grpc::Status& status) {
  (void)stream;
  absl::Duration delay;
  bool reconnect = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      reconnect = false;
    } else if (!welcomed_ && (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                              status.error_code() == grpc::StatusCode::PERMISSION_DENIED)) {
      // As the real agent: a refused identity needs a person (here: a new
      // state dir or enrollment), not retries.
      reconnect = false;
      std::cerr << "fleet-sim: " << hostname_
                << ": the controller refuses this agent's identity: " << status.error_message()
                << "\n";
    } else if (go_away_delay_.has_value()) {
      delay = *go_away_delay_;
    } else {
      if (welcomed_ && absl::Now() - session_started_ >= settings_.agent_config.healthy_session) {
        backoff_.Reset();
      }
      delay = backoff_.Next();
    }
    if (!welcomed_) statistics_.ConnectionFailed();
  }
  --live_streams_;
  if (!reconnect) return;
  std::weak_ptr<SimulatedAgent> weak = weak_from_this();
  scheduler_.RunAfter(delay, [weak] {
    if (std::shared_ptr<SimulatedAgent> agent = weak.lock()) agent->Connect();
  });
}

void SimulatedAgent::Heartbeat(uint64_t generation) {
  v1::AgentMessage message;
  std::shared_ptr<Stream> stream;
  absl::Duration next;
  bool silent = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (generation != generation_ || !welcomed_ || stream_ == nullptr) return;
    stream = stream_;
    silent = absl::Now() - last_heard_ > 3 * heartbeat_interval_;
    v1::Heartbeat* heartbeat = message.mutable_heartbeat();
    session::SetTimestamp(absl::Now(), heartbeat->mutable_sent_at());
    if (job_ != nullptr && job_->started) {
      v1::RunningJob* running = heartbeat->add_running_jobs();
      running->set_job_id(job_->job_id());
      running->set_attempt(job_->attempt());
      running->set_current_step(job_->current_step);
    }
    heartbeat->set_inventory_content_hash(inventory_hash_);
    std::uniform_real_distribution<double> jitter(0.0, 0.1);
    next = heartbeat_interval_ * (1.0 + jitter(random_));
  }
  if (silent) {
    stream->Cancel();
    return;
  }
  stream->Write(message);
  std::weak_ptr<SimulatedAgent> weak = weak_from_this();
  scheduler_.RunAfter(next, [weak, generation] {
    if (std::shared_ptr<SimulatedAgent> agent = weak.lock()) agent->Heartbeat(generation);
  });
}

void SimulatedAgent::ReconcileLocked(const v1::Welcome& welcome,
                                     std::vector<std::function<void()>>& actions) {
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  for (const v1::JobReconciliation& reconciliation : welcome.reconciliations()) {
    const std::string& job_id = reconciliation.job_id();
    const uint64_t attempt = reconciliation.attempt();
    if (job_ != nullptr && job_->job_id() == job_id && job_->attempt() == attempt) {
      if (reconciliation.decision() == v1::RECONCILIATION_DECISION_CANCELLED) {
        job_->cancel_requested = true;
        job_->cancel_reason = reconciliation.reason();
      } else if (reconciliation.decision() != v1::RECONCILIATION_DECISION_RESUME) {
        job_->stale = true;
      }
      continue;
    }
    auto found = std::find_if(unreported_.begin(), unreported_.end(), [&](const v1::JobState& s) {
      return s.job_id() == job_id && s.attempt() == attempt;
    });
    if (found == unreported_.end()) continue;
    v1::JobState state = *found;
    switch (reconciliation.decision()) {
      case v1::RECONCILIATION_DECISION_RESUME:
        actions.push_back([self, state] { self->SendResult(state); });
        break;
      case v1::RECONCILIATION_DECISION_CANCELLED: {
        v1::AgentMessage acknowledgement = CancellationAcknowledgement(
            job_id, attempt, v1::CANCELLATION_OUTCOME_ALREADY_FINISHED, "the job had ended");
        state.mutable_result()->set_outcome(v1::JOB_OUTCOME_CANCELLED);
        *state.mutable_result()->mutable_failure() = session::MakeFailure(
            v1::FAILURE_CODE_CANCELLED,
            absl::StrCat("cancelled while the agent was away (", reconciliation.reason(), ")"),
            false);
        *found = state;
        actions.push_back([self, acknowledgement, state] {
          self->WriteOnStream(acknowledgement);
          self->SendResult(state);
        });
        break;
      }
      default:
        unreported_.erase(found);
        break;
    }
  }
}

v1::AgentMessage SimulatedAgent::AssignmentAcknowledgement(const std::string& job_id,
                                                           uint64_t attempt,
                                                           v1::AssignmentDecision decision,
                                                           const std::string& reason) {
  v1::AgentMessage message;
  v1::JobAssignmentAcknowledgement* acknowledgement =
      message.mutable_job_assignment_acknowledgement();
  acknowledgement->set_job_id(job_id);
  acknowledgement->set_attempt(attempt);
  acknowledgement->set_decision(decision);
  acknowledgement->set_reason(reason);
  return message;
}

v1::AgentMessage SimulatedAgent::CancellationAcknowledgement(const std::string& job_id,
                                                             uint64_t attempt,
                                                             v1::CancellationOutcome outcome,
                                                             const std::string& detail) {
  v1::AgentMessage message;
  v1::JobCancellationAcknowledgement* acknowledgement =
      message.mutable_job_cancellation_acknowledgement();
  acknowledgement->set_job_id(job_id);
  acknowledgement->set_attempt(attempt);
  acknowledgement->set_outcome(outcome);
  acknowledgement->set_detail(detail);
  return message;
}

void SimulatedAgent::HandleAssignmentLocked(const v1::JobAssignment& assignment,
                                            std::vector<std::function<void()>>& actions) {
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  const std::string job_id = assignment.lease().job_id();
  const uint64_t attempt = assignment.lease().attempt();
  statistics_.JobReceived(assignment.kind());
  const bool supported =
      (assignment.kind() == v1::JOB_KIND_PREPARE && assignment.spec().has_prepare()) ||
      (assignment.kind() == v1::JOB_KIND_DEPLOY && assignment.spec().has_deploy()) ||
      assignment.kind() == v1::JOB_KIND_INVENTORY;
  v1::AgentMessage acknowledgement;
  if (!supported) {
    statistics_.JobRejected(assignment.kind());
    acknowledgement = AssignmentAcknowledgement(
        job_id, attempt, v1::ASSIGNMENT_DECISION_REJECTED_UNSUPPORTED,
        absl::StrCat("this agent runs inventory, prepare and deploy jobs, not ",
                     v1::JobKind_Name(assignment.kind())));
  } else if (job_ != nullptr) {
    statistics_.JobRejected(assignment.kind());
    acknowledgement =
        AssignmentAcknowledgement(job_id, attempt, v1::ASSIGNMENT_DECISION_REJECTED_BUSY,
                                  absl::StrCat("job ", job_->job_id(), " is running on this host"));
  } else {
    std::uniform_real_distribution<double> roll(0.0, 1.0);
    const bool fail_verification = roll(random_) < settings_.failure_rate;
    const size_t key_index = static_cast<size_t>(index_) * 13 + prepares_++;
    job_ = std::make_unique<RunningJob>(assignment, host_, pki_, fail_verification, key_index);
    acknowledgement =
        AssignmentAcknowledgement(job_id, attempt, v1::ASSIGNMENT_DECISION_ACCEPTED, "");
    actions.push_back([self, job_id, attempt] {
      self->scheduler_.RunAfter(absl::ZeroDuration(),
                                [self, job_id, attempt] { self->AdvanceJob(job_id, attempt); });
    });
  }
  actions.insert(actions.begin(),
                 [self, acknowledgement] { self->WriteOnStream(acknowledgement); });
}

void SimulatedAgent::HandleCancellationLocked(const v1::JobCancellation& cancellation,
                                              std::vector<std::function<void()>>& actions) {
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  const std::string& job_id = cancellation.job_id();
  const uint64_t attempt = cancellation.attempt();
  if (job_ != nullptr && job_->job_id() == job_id && job_->attempt() == attempt) {
    if (job_->started) {
      job_->cancel_requested = true;
      job_->cancel_reason = cancellation.reason();
      return;  // Acknowledged when the job stops.
    }
    const v1::JobKind kind = job_->kind();
    job_.reset();
    v1::JobState state;
    state.set_job_id(job_id);
    state.set_attempt(attempt);
    state.set_kind(kind);
    v1::JobResult* result = state.mutable_result();
    result->set_outcome(v1::JOB_OUTCOME_CANCELLED);
    *result->mutable_failure() = session::MakeFailure(
        v1::FAILURE_CODE_CANCELLED,
        absl::StrCat("cancelled before it started: ", cancellation.reason()), false);
    session::SetTimestamp(absl::Now(), result->mutable_finished_at());
    statistics_.JobFinished(kind, v1::JOB_OUTCOME_CANCELLED);
    v1::AgentMessage acknowledgement = CancellationAcknowledgement(
        job_id, attempt, v1::CANCELLATION_OUTCOME_STOPPED_BEFORE_CHANGES,
        "the job had not started");
    actions.push_back([self, acknowledgement, state] {
      self->WriteOnStream(acknowledgement);
      self->SendResult(state);
    });
    return;
  }
  const bool finished = std::any_of(
      unreported_.begin(), unreported_.end(),
      [&](const v1::JobState& s) { return s.job_id() == job_id && s.attempt() == attempt; });
  v1::AgentMessage acknowledgement =
      finished
          ? CancellationAcknowledgement(job_id, attempt, v1::CANCELLATION_OUTCOME_ALREADY_FINISHED,
                                        "the job had finished")
          : CancellationAcknowledgement(job_id, attempt, v1::CANCELLATION_OUTCOME_UNKNOWN_JOB,
                                        "this agent does not run that job");
  actions.push_back([self, acknowledgement] { self->WriteOnStream(acknowledgement); });
}

void SimulatedAgent::AdvanceJob(std::string job_id, uint64_t attempt) {
  std::vector<std::function<void()>> actions;
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (job_ == nullptr || job_->job_id() != job_id || job_->attempt() != attempt) return;
    if (!job_->started) {
      job_->started = true;
      if (job_->kind() == v1::JOB_KIND_INVENTORY) {
        actions.push_back([self, job_id, attempt] {
          self->ReportInventory(
              "inventory job", [self, job_id, attempt](absl::StatusOr<std::string> hash) {
                std::vector<std::function<void()>> later;
                {
                  std::lock_guard<std::mutex> lock(self->mutex_);
                  if (self->job_ == nullptr || self->job_->job_id() != job_id ||
                      self->job_->attempt() != attempt) {
                    return;
                  }
                  v1::JobResult result;
                  if (hash.ok()) {
                    result.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
                    result.mutable_inventory()->set_content_hash(*hash);
                  } else {
                    result.set_outcome(v1::JOB_OUTCOME_FAILED);
                    *result.mutable_failure() = session::FailureFromStatus(hash.status());
                  }
                  session::SetTimestamp(absl::Now(), result.mutable_finished_at());
                  self->FinishJobLocked(std::move(result), later);
                }
                RunAll(later);
              });
        });
      } else if (std::optional<v1::JobResult> ended = job_->job.Begin(); ended.has_value()) {
        session::SetTimestamp(absl::Now(), ended->mutable_finished_at());
        FinishJobLocked(*std::move(ended), actions);
      }
      if (job_ == nullptr || job_->kind() == v1::JOB_KIND_INVENTORY) {
        // Finished, or waiting for the inventory report.
      } else {
        actions.push_back([self, job_id, attempt] { self->AdvanceJob(job_id, attempt); });
      }
    } else if ((job_->cancel_requested || job_->stale) && job_->job.CanStopBeforeChanges()) {
      FinishJobLocked(
          job_->job.StoppedResult(job_->stale ? "the attempt is stale" : job_->cancel_reason),
          actions);
    } else if (job_->job.HasNextStep()) {
      const v1::StepReport report = job_->job.StartStep();
      job_->current_step = report.step();
      actions.push_back([self, job_id, attempt, report] {
        self->SendStepReport(job_id, attempt, report, [self, job_id, attempt] {
          self->scheduler_.RunAfter(self->settings_.step_delay,
                                    [self, job_id, attempt] { self->FinishStep(job_id, attempt); });
        });
      });
    } else {
      FinishJobLocked(job_->job.Result(), actions);
    }
  }
  RunAll(actions);
}

void SimulatedAgent::FinishStep(std::string job_id, uint64_t attempt) {
  v1::StepReport report;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (job_ == nullptr || job_->job_id() != job_id || job_->attempt() != attempt) return;
    report = job_->job.FinishStep();
  }
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  SendStepReport(job_id, attempt, report,
                 [self, job_id, attempt] { self->AdvanceJob(job_id, attempt); });
}

void SimulatedAgent::SendStepReport(const std::string& job_id, uint64_t attempt,
                                    const v1::StepReport& report, std::function<void()> next) {
  std::shared_ptr<v1::AgentService::Stub> stub;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stub = stub_;
    if (job_ != nullptr && job_->stale) stub = nullptr;
  }
  if (stub == nullptr) {  // Not connected: the real agent skips the report.
    next();
    return;
  }
  auto call = std::make_shared<UnaryCall<v1::ReportStepRequest, v1::ReportStepResponse>>();
  call->request.set_job_id(job_id);
  call->request.set_attempt(attempt);
  *call->request.mutable_step() = report;
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + settings_.agent_config.rpc_timeout));
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  stub->async()->ReportStep(
      &call->context, &call->request, &call->response,
      [self, call, job_id, attempt, next = std::move(next)](grpc::Status status) {
        {
          std::lock_guard<std::mutex> lock(self->mutex_);
          RunningJob* job = self->job_.get();
          if (job != nullptr && job->job_id() == job_id && job->attempt() == attempt) {
            if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
              job->stale = true;
            } else if (status.ok() && call->response.cancellation_requested() &&
                       !job->cancel_requested) {
              job->cancel_requested = true;
              job->cancel_reason = "cancellation requested";
            }
          }
        }
        if (!status.ok()) self->statistics_.RpcFailed();
        next();
      });
}

void SimulatedAgent::FinishJobLocked(v1::JobResult result,
                                     std::vector<std::function<void()>>& actions) {
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  std::unique_ptr<RunningJob> finished = std::move(job_);
  const v1::JobKind kind = finished->kind();
  const std::string job_id = finished->job_id();
  const uint64_t attempt = finished->attempt();
  if (finished->cancel_requested && !finished->stale) {
    v1::CancellationOutcome outcome = v1::CANCELLATION_OUTCOME_ALREADY_FINISHED;
    if (result.outcome() == v1::JOB_OUTCOME_CANCELLED) {
      outcome = v1::CANCELLATION_OUTCOME_STOPPED_BEFORE_CHANGES;
    } else if (kind != v1::JOB_KIND_DEPLOY) {
      result.set_outcome(v1::JOB_OUTCOME_CANCELLED);
      *result.mutable_failure() = session::MakeFailure(
          v1::FAILURE_CODE_CANCELLED,
          absl::StrCat("cancelled before the binding was changed: ", finished->cancel_reason),
          false);
      outcome = v1::CANCELLATION_OUTCOME_STOPPED_BEFORE_CHANGES;
    } else if (result.outcome() == v1::JOB_OUTCOME_ROLLED_BACK) {
      outcome = v1::CANCELLATION_OUTCOME_ROLLED_BACK;
    }
    v1::AgentMessage acknowledgement = CancellationAcknowledgement(
        job_id, attempt, outcome, std::string(result.failure().message()));
    actions.push_back([self, acknowledgement] { self->WriteOnStream(acknowledgement); });
  }
  statistics_.JobFinished(kind, result.outcome());
  if (!finished->stale) {
    v1::JobState state;
    state.set_job_id(job_id);
    state.set_attempt(attempt);
    state.set_kind(kind);
    state.set_order_id(finished->job.assignment().order_id());
    for (const v1::StepReport& step : finished->job.reported_steps()) *state.add_steps() = step;
    *state.mutable_result() = std::move(result);
    // Inventory jobs are not journaled by the real agent.
    if (kind != v1::JOB_KIND_INVENTORY) unreported_.push_back(state);
    actions.push_back([self, state] { self->SendResult(state); });
  }
  if (kind != v1::JOB_KIND_INVENTORY) {
    const std::string reason = absl::StrCat("after job ", job_id);
    actions.push_back([self, reason] { self->ReportInventory(reason, nullptr); });
  }
}

void SimulatedAgent::SendResult(v1::JobState state) {
  std::shared_ptr<v1::AgentService::Stub> stub;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stub = stub_;
  }
  if (stub == nullptr) return;  // Kept for the next session's Hello.
  auto call = std::make_shared<UnaryCall<v1::CompleteJobRequest, v1::CompleteJobResponse>>();
  call->request.set_job_id(state.job_id());
  call->request.set_attempt(state.attempt());
  *call->request.mutable_result() = state.result();
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + settings_.agent_config.rpc_timeout));
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  stub->async()->CompleteJob(
      &call->context, &call->request, &call->response, [self, call](grpc::Status status) {
        if (!status.ok()) self->statistics_.RpcFailed();
        if (!status.ok() && !FinalRefusal(status.error_code())) return;  // Sent again later.
        std::lock_guard<std::mutex> lock(self->mutex_);
        std::erase_if(self->unreported_, [&](const v1::JobState& s) {
          return s.job_id() == call->request.job_id() && s.attempt() == call->request.attempt();
        });
      });
}

void SimulatedAgent::ReportInventory(std::string reason,
                                     std::function<void(absl::StatusOr<std::string>)> done) {
  (void)reason;
  auto call =
      std::make_shared<UnaryCall<v1::ReportInventoryRequest, v1::ReportInventoryResponse>>();
  std::shared_ptr<v1::AgentService::Stub> stub;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stub = stub_;
    if (stub == nullptr) {
      inventory_unreported_ = true;
    } else {
      *call->request.mutable_inventory() = host_.Inventory(absl::Now());
    }
  }
  if (stub == nullptr) {
    if (done) done(absl::UnavailableError("not connected to the controller"));
    return;
  }
  call->context.set_deadline(absl::ToChronoTime(absl::Now() + settings_.agent_config.rpc_timeout));
  std::shared_ptr<SimulatedAgent> self = shared_from_this();
  statistics_.InventoryStarted();
  stub->async()->ReportInventory(
      &call->context, &call->request, &call->response,
      [self, call, done = std::move(done)](grpc::Status status) {
        const std::string hash = call->request.inventory().content_hash();
        {
          std::lock_guard<std::mutex> lock(self->mutex_);
          if (status.ok()) {
            self->inventory_hash_ = hash;
            self->inventory_unreported_ = false;
          } else {
            self->inventory_unreported_ = true;
          }
        }
        self->statistics_.InventoryReported(status.ok());
        if (!done) return;
        if (status.ok()) {
          done(hash);
        } else {
          done(session::FromGrpcStatus(status, "reporting the inventory"));
        }
      });
}

void SimulatedAgent::PeriodicInventory() {
  bool idle = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    idle = job_ == nullptr;
  }
  if (idle) ReportInventory("periodic", nullptr);
  std::weak_ptr<SimulatedAgent> weak = weak_from_this();
  scheduler_.RunAfter(settings_.agent_config.inventory_interval, [weak] {
    if (std::shared_ptr<SimulatedAgent> agent = weak.lock()) agent->PeriodicInventory();
  });
}

}  // namespace certfleet::bench
