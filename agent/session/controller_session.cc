#include "agent/session/controller_session.h"

#include <grpcpp/client_context.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "agent/session/agent_description.h"
#include "agent/session/endpoint_probe.h"
#include "agent/session/inventory_report.h"
#include "agent/session/job_conversion.h"
#include "common/io/file.h"
#include "common/tls/tls_probe.h"

namespace certfleet::agent::session {

namespace v1 = certfleet::v1;

namespace {

// The journal value holding the JobResult the session built for a job, so
// that it can be sent again after a reconnect exactly as it was first sent.
constexpr char kSessionResult[] = "session_result";
constexpr char kStoppedOnRequest[] = "stopped on request";
constexpr size_t kMaxPassphraseBytes = 64 * 1024;

std::string Seconds(absl::Duration duration) {
  return absl::StrCat(std::round(absl::ToDoubleSeconds(duration) * 10) / 10, " s");
}

std::string KindName(v1::JobKind kind) {
  switch (kind) {
    case v1::JOB_KIND_INVENTORY:
      return "inventory";
    case v1::JOB_KIND_PREPARE:
      return "prepare";
    case v1::JOB_KIND_DEPLOY:
      return "deploy";
    default:
      return absl::AsciiStrToLower(absl::StripPrefix(v1::JobKind_Name(kind), "JOB_KIND_"));
  }
}

std::string OutcomeName(v1::JobOutcome outcome) {
  switch (outcome) {
    case v1::JOB_OUTCOME_SUCCEEDED:
      return "succeeded";
    case v1::JOB_OUTCOME_FAILED:
      return "failed";
    case v1::JOB_OUTCOME_ROLLED_BACK:
      return "rolled back";
    case v1::JOB_OUTCOME_CANCELLED:
      return "cancelled";
    default:
      return "unknown";
  }
}

v1::JobOutcome ToOutcome(JobState state) {
  switch (state) {
    case JobState::kSucceeded:
      return v1::JOB_OUTCOME_SUCCEEDED;
    case JobState::kRolledBack:
      return v1::JOB_OUTCOME_ROLLED_BACK;
    case JobState::kFailed:
    case JobState::kRunning:
      return v1::JOB_OUTCOME_FAILED;
  }
  return v1::JOB_OUTCOME_FAILED;
}

v1::KeySpec KeySpecOf(const crypto::PublicKey& key) {
  if (key.algorithm() == crypto::KeyAlgorithm::kRsa) {
    if (key.bits() == 3072) return v1::KEY_SPEC_RSA_3072;
    if (key.bits() == 4096) return v1::KEY_SPEC_RSA_4096;
    return v1::KEY_SPEC_RSA_2048;
  }
  return key.bits() == 384 ? v1::KEY_SPEC_ECDSA_P384 : v1::KEY_SPEC_ECDSA_P256;
}

v1::JobResult FailedResult(v1::Failure failure) {
  v1::JobResult result;
  result.set_outcome(v1::JOB_OUTCOME_FAILED);
  *result.mutable_failure() = std::move(failure);
  return result;
}

// A site that does not answer within this long is reported unreachable; an
// inventory waits for every started site in turn.
constexpr absl::Duration kServedProbeTimeout = absl::Seconds(5);

bool SameThumbprint(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(std::string(a), std::string(b));
}

// Whether a refusal of CompleteJob is final (sending again cannot help).
bool FinalRefusal(grpc::StatusCode code) {
  return code == grpc::StatusCode::FAILED_PRECONDITION || code == grpc::StatusCode::NOT_FOUND ||
         code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::INVALID_ARGUMENT;
}

}  // namespace

struct ControllerSession::Task {
  enum class Kind { kJob, kInventory };
  Kind kind = Kind::kInventory;
  v1::JobAssignment assignment;
  std::string reason;
};

// The job accepted or running: at most one.
struct ControllerSession::CurrentJob {
  std::string job_id;
  uint64_t attempt = 0;
  v1::JobKind kind = v1::JOB_KIND_UNSPECIFIED;
  bool started = false;
  v1::StepName current_step = v1::STEP_NAME_UNSPECIFIED;
  bool cancel_requested = false;
  std::string cancel_reason;
  // The controller said the attempt is no longer current: finish safely and
  // do not report.
  bool stale = false;
};

struct ControllerSession::SessionEnd {
  std::string reason;
  bool welcomed = false;
  absl::Duration lasted;
  std::optional<absl::Duration> go_away_delay;
  bool renewed = false;
  absl::Status fatal;
};

// Forwards every step of the executor as ReportStep.
class ControllerSession::Reporter : public StepReporter {
 public:
  explicit Reporter(ControllerSession& session) : session_(session) {}

  void StepStarted(const StepReport& report) override { Send(report); }
  void StepFinished(const StepReport& report) override { Send(report); }

 private:
  void Send(const StepReport& report) {
    const v1::StepName step = ToStepName(report.step_name);
    {
      std::lock_guard<std::mutex> lock(session_.worker_mutex_);
      CurrentJob* job = session_.current_job_.get();
      if (job == nullptr || job->job_id != report.job_id ||
          job->attempt != static_cast<uint64_t>(report.attempt) || job->stale) {
        return;
      }
      job->current_step = step;
    }
    std::shared_ptr<v1::AgentService::Stub> stub = session_.CurrentStub();
    if (stub == nullptr) return;
    v1::ReportStepRequest request;
    request.set_job_id(report.job_id);
    request.set_attempt(static_cast<uint64_t>(report.attempt));
    v1::StepReport* out = request.mutable_step();
    out->set_step_index(static_cast<uint32_t>(report.step_index));
    out->set_step(step);
    SetTimestamp(report.started, out->mutable_started_at());
    out->set_detail(report.detail);
    out->mutable_facts()->insert({"executor_step", report.step_name});
    if (report.outcome.has_value()) {
      out->set_outcome(ToStepOutcomeProto(*report.outcome));
      if (report.finished.has_value()) SetTimestamp(*report.finished, out->mutable_finished_at());
      if (*report.outcome == StepOutcome::kFailed) {
        *out->mutable_failure() =
            MakeFailure(v1::FAILURE_CODE_UNEXPECTED_HOST_STATE, report.detail, /*retryable=*/true);
      }
    } else {
      out->set_outcome(v1::STEP_OUTCOME_RUNNING);
    }
    v1::ReportStepResponse response;
    grpc::ClientContext context;
    context.set_deadline(session_.RpcDeadline());
    grpc::Status status = stub->ReportStep(&context, request, &response);
    std::lock_guard<std::mutex> lock(session_.worker_mutex_);
    CurrentJob* job = session_.current_job_.get();
    if (job == nullptr || job->job_id != report.job_id) return;
    if (status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      job->stale = true;
      session_.Log(absl::StrCat("job ", report.job_id, " attempt ", report.attempt, " is stale (",
                                status.error_message(),
                                "); finishing it safely without reporting"));
    } else if (status.ok() && response.cancellation_requested() && !job->cancel_requested) {
      job->cancel_requested = true;
      job->cancel_reason = "cancellation requested";
      session_.Log(absl::StrCat("job ", report.job_id, ": the controller asks to cancel it"));
    }
  }

  ControllerSession& session_;
};

absl::StatusOr<std::unique_ptr<ControllerSession>> ControllerSession::Create(AgentConfig config,
                                                                             HostDriver& driver,
                                                                             EventLog log) {
  std::error_code error;
  if (!std::filesystem::exists(config.state_dir, error)) {
    std::filesystem::create_directories(config.state_dir, error);
    if (error) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create the state dir ", config.state_dir.string(), ": ", error.message()));
    }
    std::filesystem::permissions(config.state_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, error);
  }
  const std::string journal_path = (config.state_dir / "journal.db").string();
  absl::StatusOr<std::unique_ptr<JobJournal>> worker_journal = JobJournal::Open(journal_path);
  if (!worker_journal.ok()) return worker_journal.status();
  absl::StatusOr<std::unique_ptr<JobJournal>> session_journal = JobJournal::Open(journal_path);
  if (!session_journal.ok()) return session_journal.status();
  std::string passphrase;
  if (!config.backup_passphrase_file.empty()) {
    absl::StatusOr<std::string> text =
        io::ReadFile(config.backup_passphrase_file, kMaxPassphraseBytes);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("backup.passphrase_file: ", text.status().message()));
    }
    passphrase = std::string(absl::StripTrailingAsciiWhitespace(*text));
    if (passphrase.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "backup.passphrase_file: ", config.backup_passphrase_file.string(), " is empty"));
    }
  }
  return std::unique_ptr<ControllerSession>(
      new ControllerSession(std::move(config), driver, std::move(log), *std::move(worker_journal),
                            *std::move(session_journal), std::move(passphrase)));
}

ControllerSession::ControllerSession(AgentConfig config, HostDriver& driver, EventLog log,
                                     std::unique_ptr<JobJournal> worker_journal,
                                     std::unique_ptr<JobJournal> session_journal,
                                     std::string backup_passphrase)
    : config_(std::move(config)),
      driver_(driver),
      log_(std::move(log)),
      worker_journal_(std::move(worker_journal)),
      session_journal_(std::move(session_journal)),
      backup_passphrase_(std::move(backup_passphrase)),
      platform_(DescribePlatform(driver)),
      capabilities_(DescribeCapabilities(driver)),
      backoff_(config_.reconnect_initial_backoff, config_.reconnect_max_backoff,
               std::random_device{}()),
      random_(std::random_device{}()) {
  reporter_ = std::make_unique<Reporter>(*this);
  ExecutorSettings settings;
  settings.probe_timeout = config_.verify_timeout;
  settings.backup_passphrase = backup_passphrase_;
  settings.stop_requested = [this](std::string_view job_id, int attempt) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return true;
    }
    std::lock_guard<std::mutex> lock(worker_mutex_);
    return current_job_ != nullptr && current_job_->job_id == job_id &&
           current_job_->attempt == static_cast<uint64_t>(attempt) &&
           (current_job_->cancel_requested || current_job_->stale);
  };
  executor_ =
      std::make_unique<RenewalExecutor>(driver_, *worker_journal_, *reporter_, clock_, settings);
}

ControllerSession::~ControllerSession() {
  Stop();
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    worker_stop_ = true;
  }
  worker_wakeup_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void ControllerSession::Log(const std::string& line) const {
  if (log_) log_(line);
}

std::string ControllerSession::host_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return identity_.has_value() ? identity_->host_id : "";
}

int ControllerSession::welcomed_sessions() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return welcomed_sessions_;
}

void ControllerSession::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  stopping_ = true;
  if (current_context_ != nullptr) current_context_->TryCancel();
  stop_wakeup_.notify_all();
}

bool ControllerSession::WaitFor(absl::Duration delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  stop_wakeup_.wait_for(lock, absl::ToChronoMilliseconds(delay), [this] { return stopping_; });
  return !stopping_;
}

absl::Duration ControllerSession::NextBackoff() {
  std::lock_guard<std::mutex> lock(mutex_);
  return backoff_.Next();
}

std::shared_ptr<v1::AgentService::Stub> ControllerSession::CurrentStub() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stub_;
}

std::chrono::system_clock::time_point ControllerSession::RpcDeadline() const {
  return absl::ToChronoTime(absl::Now() + config_.rpc_timeout);
}

absl::Status ControllerSession::Run() {
  if (absl::Status resumed = ResumeAndPrepareResults(); !resumed.ok()) return resumed;
  worker_ = std::thread([this] { WorkerLoop(); });

  absl::Status result = absl::OkStatus();
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
    }
    std::optional<AgentIdentity> identity;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      identity = identity_;
    }
    if (!identity.has_value()) {
      absl::StatusOr<AgentIdentity> loaded =
          LoadOrEnroll(config_, platform_, capabilities_,
                       [this](std::string_view line) { Log(std::string(line)); });
      if (!loaded.ok()) {
        if (absl::IsUnavailable(loaded.status()) || absl::IsDeadlineExceeded(loaded.status())) {
          const absl::Duration delay = NextBackoff();
          Log(absl::StrCat("reconnecting in ", Seconds(delay), " because ",
                           loaded.status().message()));
          if (!WaitFor(delay)) break;
          continue;
        }
        result = loaded.status();
        break;
      }
      std::lock_guard<std::mutex> lock(mutex_);
      identity_ = *loaded;
      identity_renew_at_ = loaded->renew_at;
      identity = *loaded;
    }

    const SessionEnd end = RunOneSession(*identity);
    if (!end.fatal.ok()) {
      result = end.fatal;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
    }
    absl::Duration delay;
    if (end.renewed) {
      delay = absl::ZeroDuration();
    } else if (end.go_away_delay.has_value()) {
      delay = *end.go_away_delay;
    } else {
      if (end.welcomed && end.lasted >= config_.healthy_session) {
        std::lock_guard<std::mutex> lock(mutex_);
        backoff_.Reset();
      }
      delay = NextBackoff();
    }
    Log(absl::StrCat("reconnecting in ", Seconds(delay), " because ", end.reason));
    if (!WaitFor(delay)) break;
  }

  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    worker_stop_ = true;
  }
  worker_wakeup_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (result.ok()) Log("stopped");
  return result;
}

ControllerSession::SessionEnd ControllerSession::RunOneSession(const AgentIdentity& identity) {
  SessionEnd end;
  const absl::Time started = absl::Now();
  std::shared_ptr<grpc::Channel> channel =
      MakeControllerChannel(config_, identity.fleet_ca(), &identity);
  auto stub = std::shared_ptr<v1::AgentService::Stub>(v1::AgentService::NewStub(channel));
  grpc::ClientContext context;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      end.reason = "stopping";
      return end;
    }
    current_context_ = &context;
  }
  Log(absl::StrCat("connecting to the controller at ", config_.controller_address, " as host ",
                   identity.host_id));
  std::unique_ptr<grpc::ClientReaderWriter<v1::AgentMessage, v1::ControllerMessage>> stream =
      stub->Connect(&context);

  // Ends the stream; `cancel` when the stream may still be open (a protocol
  // error), otherwise Finish returns the controller's own status.
  auto finish = [&](std::string why, bool cancel = false) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_context_ = nullptr;
      stub_ = nullptr;
    }
    {
      std::lock_guard<std::mutex> lock(write_mutex_);
      stream_ = nullptr;
    }
    if (cancel) context.TryCancel();
    grpc::Status status = stream->Finish();
    if (why.empty()) {
      why = status.ok()
                ? "the controller ended the session"
                : absl::StrCat(
                      end.welcomed ? "the session ended: " : "no session: ", status.error_message(),
                      " (",
                      absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
                      ")");
    }
    end.reason = why;
    end.lasted = absl::Now() - started;
    if (!end.welcomed && (status.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
                          status.error_code() == grpc::StatusCode::PERMISSION_DENIED)) {
      std::string advice = "enroll again with a new join token after moving " +
                           IdentityFile(config_.state_dir).string() + " away";
      if (identity.certificate.NotAfter() < absl::Now()) {
        advice = absl::StrCat("the agent identity expired at ",
                              absl::FormatTime(identity.certificate.NotAfter()), "; ", advice);
      }
      end.fatal = absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                               absl::StrCat("the controller refuses this agent's identity: ",
                                            status.error_message(), "; ", advice));
    }
    return end;
  };

  // A controller that accepts the stream but never answers Hello must not
  // hold the agent forever: after rpc_timeout the stream is cancelled.
  v1::ControllerMessage first;
  bool answered = false;
  bool timed_out = false;
  {
    std::mutex welcome_mutex;
    std::condition_variable welcome_wakeup;
    bool welcome_done = false;
    std::thread watchdog([&] {
      std::unique_lock<std::mutex> lock(welcome_mutex);
      if (!welcome_wakeup.wait_for(lock, absl::ToChronoMilliseconds(config_.rpc_timeout),
                                   [&] { return welcome_done; })) {
        timed_out = true;
        context.TryCancel();
      }
    });
    answered = stream->Write(BuildHello()) && stream->Read(&first);
    {
      std::lock_guard<std::mutex> lock(welcome_mutex);
      welcome_done = true;
    }
    welcome_wakeup.notify_all();
    watchdog.join();
  }
  if (!answered) {
    return finish(timed_out ? absl::StrCat("the controller did not answer Hello within ",
                                           Seconds(config_.rpc_timeout))
                            : "");
  }
  if (!first.has_welcome()) {
    return finish("the controller did not answer Hello with a Welcome", /*cancel=*/true);
  }
  const v1::Welcome& welcome = first.welcome();
  end.welcomed = true;
  absl::Duration interval = config_.heartbeat_interval;
  if (welcome.has_heartbeat_interval()) {
    const absl::Duration offered = absl::Seconds(welcome.heartbeat_interval().seconds()) +
                                   absl::Nanoseconds(welcome.heartbeat_interval().nanos());
    if (offered > absl::ZeroDuration()) interval = offered;
  }
  const absl::Duration skew = FromTimestamp(welcome.server_time()) - absl::Now();
  bool first_session = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stub_ = stub;
    first_session = welcomed_sessions_ == 0;
    ++welcomed_sessions_;
    if (welcome.has_identity_renew_at()) {
      identity_renew_at_ = std::min(identity_renew_at_, FromTimestamp(welcome.identity_renew_at()));
    }
  }
  {
    std::lock_guard<std::mutex> lock(write_mutex_);
    stream_ = stream.get();
  }
  Log(absl::StrCat("session up as host ", welcome.host_id(), " (heartbeat every ",
                   Seconds(interval), ")"));
  if (absl::AbsDuration(skew) > absl::Minutes(1)) {
    Log(absl::StrCat("warning: this host's clock differs from the controller's by ", Seconds(skew),
                     "; certificate validity depends on it"));
  }
  Reconcile(welcome);
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    if (first_session || inventory_unreported_) {
      auto task = std::make_unique<Task>();
      task->kind = Task::Kind::kInventory;
      task->reason = first_session ? "agent start" : "reconnected";
      tasks_.push_back(std::move(task));
    }
  }
  worker_wakeup_.notify_all();

  {
    std::lock_guard<std::mutex> lock(heartbeat_mutex_);
    heartbeat_stop_ = false;
    last_heard_ = absl::Now();
  }
  std::thread heartbeat(
      [this, interval, &context, channel] { HeartbeatLoop(interval, &context, channel); });
  v1::ControllerMessage message;
  while (stream->Read(&message)) {
    {
      std::lock_guard<std::mutex> lock(heartbeat_mutex_);
      last_heard_ = absl::Now();
    }
    Handle(message, end);
  }
  {
    std::lock_guard<std::mutex> lock(heartbeat_mutex_);
    heartbeat_stop_ = true;
  }
  heartbeat_wakeup_.notify_all();
  heartbeat.join();
  bool renewed = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    renewed = identity_renewed_;
    identity_renewed_ = false;
  }
  if (renewed) {
    end.renewed = true;
    return finish("the agent identity was renewed");
  }
  std::string reason;
  if (end.go_away_delay.has_value()) reason = end.reason;
  return finish(reason);
}

void ControllerSession::HeartbeatLoop(absl::Duration interval, grpc::ClientContext* context,
                                      const std::shared_ptr<grpc::Channel>& channel) {
  std::uniform_real_distribution<double> jitter(0.0, 0.1);
  while (true) {
    absl::Duration wait;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      wait = interval * (1.0 + jitter(random_));
    }
    {
      std::unique_lock<std::mutex> lock(heartbeat_mutex_);
      if (heartbeat_wakeup_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                                     [this] { return heartbeat_stop_; })) {
        return;
      }
      const absl::Duration silent = absl::Now() - last_heard_;
      if (silent > 3 * interval) {
        Log(absl::StrCat("no message from the controller for ", Seconds(silent),
                         "; dropping the session"));
        context->TryCancel();
        return;
      }
    }
    v1::AgentMessage message;
    v1::Heartbeat* heartbeat = message.mutable_heartbeat();
    SetTimestamp(absl::Now(), heartbeat->mutable_sent_at());
    {
      std::lock_guard<std::mutex> lock(worker_mutex_);
      if (current_job_ != nullptr && current_job_->started) {
        v1::RunningJob* running = heartbeat->add_running_jobs();
        running->set_job_id(current_job_->job_id);
        running->set_attempt(current_job_->attempt);
        running->set_current_step(current_job_->current_step);
      }
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      heartbeat->set_inventory_content_hash(last_inventory_hash_);
    }
    if (!Write(message)) return;
    // A renewed identity takes effect on a new stream: end this one.
    if (MaybeRenewIdentity(channel)) {
      context->TryCancel();
      return;
    }
  }
}

bool ControllerSession::MaybeRenewIdentity(const std::shared_ptr<grpc::Channel>& channel) {
  std::optional<AgentIdentity> current;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const absl::Time now = absl::Now();
    if (stopping_ || !identity_.has_value() || now < identity_renew_at_ ||
        now < next_renewal_try_) {
      return false;
    }
    current = identity_;
  }
  Log("renewing the agent identity (its renew point has passed)");
  absl::StatusOr<AgentIdentity> renewed = RenewAgentIdentity(config_, *current, channel);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!renewed.ok()) {
    next_renewal_try_ = absl::Now() + absl::Minutes(1);
    Log(absl::StrCat("identity renewal failed, trying again in a minute: ",
                     renewed.status().message()));
    return false;
  }
  identity_ = *renewed;
  identity_renew_at_ = renewed->renew_at;
  identity_renewed_ = true;
  Log(absl::StrCat("identity renewed: certificate ", renewed->certificate.Sha256Fingerprint(),
                   " valid until ", absl::FormatTime(renewed->certificate.NotAfter()),
                   "; reconnecting with it"));
  return true;
}

bool ControllerSession::Write(const v1::AgentMessage& message) {
  std::lock_guard<std::mutex> lock(write_mutex_);
  if (stream_ == nullptr) return false;
  return stream_->Write(message);
}

v1::AgentMessage ControllerSession::BuildHello() {
  v1::AgentMessage message;
  v1::Hello* hello = message.mutable_hello();
  hello->set_agent_version(kAgentVersion);
  *hello->mutable_platform() = platform_;
  *hello->mutable_capabilities() = capabilities_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hello->set_inventory_content_hash(last_inventory_hash_);
  }
  SetTimestamp(absl::Now(), hello->mutable_sent_at());
  std::vector<JobRecord> records;
  if (absl::StatusOr<std::vector<JobRecord>> unfinished = session_journal_->UnfinishedJobs();
      unfinished.ok()) {
    records = *unfinished;
  }
  if (absl::StatusOr<std::vector<JobRecord>> unreported = session_journal_->UnreportedJobs();
      unreported.ok()) {
    records.insert(records.end(), unreported->begin(), unreported->end());
  }
  for (const JobRecord& record : records) {
    v1::JobState* state = hello->add_journal();
    state->set_job_id(record.job_id);
    state->set_attempt(static_cast<uint64_t>(record.attempt));
    state->set_kind(ToJobKind(record.kind));
    if (absl::StatusOr<std::vector<StepRecord>> steps =
            session_journal_->Steps(record.job_id, record.attempt);
        steps.ok()) {
      for (const StepRecord& step : *steps) {
        v1::StepReport* report = state->add_steps();
        report->set_step_index(static_cast<uint32_t>(step.index));
        report->set_step(ToStepName(step.name));
        report->set_outcome(step.outcome.has_value() ? ToStepOutcomeProto(*step.outcome)
                                                     : v1::STEP_OUTCOME_RUNNING);
        SetTimestamp(step.started, report->mutable_started_at());
        if (step.finished.has_value()) SetTimestamp(*step.finished, report->mutable_finished_at());
        report->set_detail(step.detail);
      }
    }
    if (record.state != JobState::kRunning) {
      absl::StatusOr<std::optional<std::string>> stored =
          session_journal_->GetValue(record.job_id, record.attempt, kSessionResult);
      if (stored.ok() && stored->has_value()) {
        state->mutable_result()->ParseFromString(**stored);
      }
    }
  }
  return message;
}

void ControllerSession::Reconcile(const v1::Welcome& welcome) {
  for (const v1::JobReconciliation& reconciliation : welcome.reconciliations()) {
    const std::string& job_id = reconciliation.job_id();
    const uint64_t attempt = reconciliation.attempt();
    const int journal_attempt = static_cast<int>(attempt);
    const std::string decision = absl::AsciiStrToLower(absl::StripPrefix(
        v1::ReconciliationDecision_Name(reconciliation.decision()), "RECONCILIATION_DECISION_"));
    {
      // The job still running here: only flag it; the worker finishes it.
      std::lock_guard<std::mutex> lock(worker_mutex_);
      if (current_job_ != nullptr && current_job_->job_id == job_id &&
          current_job_->attempt == attempt) {
        if (reconciliation.decision() == v1::RECONCILIATION_DECISION_CANCELLED) {
          current_job_->cancel_requested = true;
          current_job_->cancel_reason = reconciliation.reason();
        } else if (reconciliation.decision() != v1::RECONCILIATION_DECISION_RESUME) {
          current_job_->stale = true;
        }
        Log(absl::StrCat("job ", job_id, " attempt ", attempt, " (running): ", decision, ", ",
                         reconciliation.reason()));
        continue;
      }
    }
    absl::StatusOr<JobRecord> record = session_journal_->GetJob(job_id, journal_attempt);
    if (!record.ok() || record->state == JobState::kRunning) continue;
    if (reconciliation.decision() == v1::RECONCILIATION_DECISION_RESUME) {
      absl::StatusOr<std::optional<std::string>> stored =
          session_journal_->GetValue(job_id, journal_attempt, kSessionResult);
      v1::JobResult result;
      if (!stored.ok() || !stored->has_value() || !result.ParseFromString(**stored)) {
        continue;  // The worker is about to send it.
      }
      Log(absl::StrCat("sending the result of job ", job_id, " attempt ", attempt, " again"));
      SendResult(session_journal_.get(), job_id, attempt, result);
      continue;
    }
    if (reconciliation.decision() == v1::RECONCILIATION_DECISION_CANCELLED) {
      // As for a JobCancellation: acknowledge, and report the attempt as
      // cancelled, with what the host-side work had come to.
      Log(absl::StrCat("job ", job_id, " attempt ", attempt, ": cancelled (",
                       reconciliation.reason(), "); reporting it cancelled"));
      SendCancellationAcknowledgement(job_id, attempt, v1::CANCELLATION_OUTCOME_ALREADY_FINISHED,
                                      absl::StrCat("the job had ended: ", record->detail));
      v1::JobResult result;
      absl::StatusOr<std::optional<std::string>> stored =
          session_journal_->GetValue(job_id, journal_attempt, kSessionResult);
      if (stored.ok() && stored->has_value()) result.ParseFromString(**stored);
      result.set_outcome(v1::JOB_OUTCOME_CANCELLED);
      *result.mutable_failure() =
          MakeFailure(v1::FAILURE_CODE_CANCELLED,
                      absl::StrCat("cancelled while the agent was away (", reconciliation.reason(),
                                   "); the job had ended ",
                                   std::string(JobStateName(record->state)), ": ", record->detail),
                      false);
      if (!result.has_finished_at()) SetTimestamp(record->updated, result.mutable_finished_at());
      SendResult(session_journal_.get(), job_id, attempt, result);
      continue;
    }
    Log(absl::StrCat("job ", job_id, " attempt ", attempt, ": ", decision, " (",
                     reconciliation.reason(), "); no longer reported"));
    (void)session_journal_->MarkResultReported(job_id, journal_attempt);
  }
}

void ControllerSession::Handle(const v1::ControllerMessage& message, SessionEnd& end) {
  if (message.has_job_assignment()) {
    HandleAssignment(message.job_assignment());
  } else if (message.has_job_cancellation()) {
    HandleCancellation(message.job_cancellation());
  } else if (message.has_inventory_request()) {
    Log(absl::StrCat("the controller asks for the inventory (",
                     message.inventory_request().reason(), ")"));
    {
      std::lock_guard<std::mutex> lock(worker_mutex_);
      auto task = std::make_unique<Task>();
      task->kind = Task::Kind::kInventory;
      task->reason = absl::StrCat("controller request: ", message.inventory_request().reason());
      tasks_.push_back(std::move(task));
    }
    worker_wakeup_.notify_all();
  } else if (message.has_identity_renewal_hint()) {
    const v1::IdentityRenewalHint& hint = message.identity_renewal_hint();
    std::lock_guard<std::mutex> lock(mutex_);
    identity_renew_at_ = std::min(
        identity_renew_at_, hint.has_renew_at() ? FromTimestamp(hint.renew_at()) : absl::Now());
    next_renewal_try_ = absl::InfinitePast();
    Log(absl::StrCat("the controller asks to renew the identity (", hint.reason(), ")"));
  } else if (message.has_go_away()) {
    const v1::GoAway& go_away = message.go_away();
    const absl::Duration after = absl::Seconds(go_away.reconnect_after().seconds()) +
                                 absl::Nanoseconds(go_away.reconnect_after().nanos());
    const absl::Duration jitter = absl::Seconds(go_away.reconnect_jitter().seconds()) +
                                  absl::Nanoseconds(go_away.reconnect_jitter().nanos());
    std::lock_guard<std::mutex> lock(mutex_);
    std::uniform_real_distribution<double> fraction(0.0, 1.0);
    end.go_away_delay = after + jitter * fraction(random_);
    end.reason = absl::StrCat("the controller is going away (", go_away.reason(), ")");
  }
}

void ControllerSession::HandleAssignment(const v1::JobAssignment& assignment) {
  const std::string& job_id = assignment.lease().job_id();
  const uint64_t attempt = assignment.lease().attempt();
  const bool supported =
      (assignment.kind() == v1::JOB_KIND_PREPARE && assignment.spec().has_prepare()) ||
      (assignment.kind() == v1::JOB_KIND_DEPLOY && assignment.spec().has_deploy()) ||
      (assignment.kind() == v1::JOB_KIND_INVENTORY);
  if (!supported) {
    Log(absl::StrCat("job ", job_id, " (", KindName(assignment.kind()),
                     ") rejected: this agent cannot run it"));
    SendAssignmentAcknowledgement(
        job_id, attempt, v1::ASSIGNMENT_DECISION_REJECTED_UNSUPPORTED,
        absl::StrCat("this agent runs inventory, prepare and deploy jobs, not ",
                     KindName(assignment.kind())));
    return;
  }
  std::string busy_with;
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    if (current_job_ != nullptr) {
      busy_with = current_job_->job_id;
    } else {
      current_job_ = std::make_unique<CurrentJob>();
      current_job_->job_id = job_id;
      current_job_->attempt = attempt;
      current_job_->kind = assignment.kind();
      auto task = std::make_unique<Task>();
      task->kind = Task::Kind::kJob;
      task->assignment = assignment;
      tasks_.push_back(std::move(task));
    }
  }
  if (!busy_with.empty()) {
    SendAssignmentAcknowledgement(job_id, attempt, v1::ASSIGNMENT_DECISION_REJECTED_BUSY,
                                  absl::StrCat("job ", busy_with, " is running on this host"));
    return;
  }
  SendAssignmentAcknowledgement(job_id, attempt, v1::ASSIGNMENT_DECISION_ACCEPTED, "");
  Log(absl::StrCat("job ", job_id, " attempt ", attempt, " (", KindName(assignment.kind()),
                   ") accepted"));
  worker_wakeup_.notify_all();
}

void ControllerSession::HandleCancellation(const v1::JobCancellation& cancellation) {
  const std::string& job_id = cancellation.job_id();
  const uint64_t attempt = cancellation.attempt();
  Log(absl::StrCat("the controller cancels job ", job_id, " attempt ", attempt, " (",
                   cancellation.reason(), ")"));
  bool removed_before_start = false;
  bool known = false;
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    if (current_job_ != nullptr && current_job_->job_id == job_id &&
        current_job_->attempt == attempt) {
      known = true;
      if (!current_job_->started) {
        removed_before_start = true;
        current_job_.reset();
        std::erase_if(tasks_, [&](const std::unique_ptr<Task>& task) {
          return task->kind == Task::Kind::kJob && task->assignment.lease().job_id() == job_id;
        });
      } else {
        current_job_->cancel_requested = true;
        current_job_->cancel_reason = cancellation.reason();
      }
    }
  }
  if (removed_before_start) {
    SendCancellationAcknowledgement(job_id, attempt,
                                    v1::CANCELLATION_OUTCOME_STOPPED_BEFORE_CHANGES,
                                    "the job had not started");
    v1::JobResult result;
    result.set_outcome(v1::JOB_OUTCOME_CANCELLED);
    *result.mutable_failure() =
        MakeFailure(v1::FAILURE_CODE_CANCELLED,
                    absl::StrCat("cancelled before it started: ", cancellation.reason()), false);
    SetTimestamp(absl::Now(), result.mutable_finished_at());
    SendResult(nullptr, job_id, attempt, result);
    return;
  }
  if (known) return;  // Acknowledged by the worker when the job ends.
  absl::StatusOr<JobRecord> record = session_journal_->GetJob(job_id, static_cast<int>(attempt));
  if (record.ok() && record->state != JobState::kRunning) {
    SendCancellationAcknowledgement(job_id, attempt, v1::CANCELLATION_OUTCOME_ALREADY_FINISHED,
                                    absl::StrCat("the job had finished: ", record->detail));
    return;
  }
  SendCancellationAcknowledgement(job_id, attempt, v1::CANCELLATION_OUTCOME_UNKNOWN_JOB,
                                  "this agent does not run that job");
}

void ControllerSession::SendAssignmentAcknowledgement(const std::string& job_id, uint64_t attempt,
                                                      v1::AssignmentDecision decision,
                                                      const std::string& reason) {
  v1::AgentMessage message;
  v1::JobAssignmentAcknowledgement* acknowledgement =
      message.mutable_job_assignment_acknowledgement();
  acknowledgement->set_job_id(job_id);
  acknowledgement->set_attempt(attempt);
  acknowledgement->set_decision(decision);
  acknowledgement->set_reason(reason);
  Write(message);
}

void ControllerSession::SendCancellationAcknowledgement(const std::string& job_id, uint64_t attempt,
                                                        v1::CancellationOutcome outcome,
                                                        const std::string& detail) {
  v1::AgentMessage message;
  v1::JobCancellationAcknowledgement* acknowledgement =
      message.mutable_job_cancellation_acknowledgement();
  acknowledgement->set_job_id(job_id);
  acknowledgement->set_attempt(attempt);
  acknowledgement->set_outcome(outcome);
  acknowledgement->set_detail(detail);
  Write(message);
}

void ControllerSession::SendResult(JobJournal* journal, const std::string& job_id, uint64_t attempt,
                                   const v1::JobResult& result) {
  std::shared_ptr<v1::AgentService::Stub> stub = CurrentStub();
  if (stub == nullptr) {
    Log(absl::StrCat("the result of job ", job_id,
                     " is kept for the next session: not connected to the controller"));
    return;
  }
  v1::CompleteJobRequest request;
  request.set_job_id(job_id);
  request.set_attempt(attempt);
  *request.mutable_result() = result;
  v1::CompleteJobResponse response;
  grpc::ClientContext context;
  context.set_deadline(RpcDeadline());
  grpc::Status status = stub->CompleteJob(&context, request, &response);
  if (!status.ok() && !FinalRefusal(status.error_code())) {
    Log(absl::StrCat("the result of job ", job_id,
                     " is kept for the next session: ", status.error_message()));
    return;
  }
  if (status.ok()) {
    Log(absl::StrCat("the controller has the result of job ", job_id, " attempt ", attempt,
                     response.newly_recorded() ? "" : " (already recorded)"));
  } else {
    Log(absl::StrCat("the controller refused the result of job ", job_id, " attempt ", attempt,
                     ": ", status.error_message(), "; it is no longer reported"));
  }
  if (journal != nullptr) {
    absl::Status marked = journal->MarkResultReported(job_id, static_cast<int>(attempt));
    if (!marked.ok() && !absl::IsNotFound(marked)) {
      Log(absl::StrCat("journal: ", marked.message()));
    }
  }
}

void ControllerSession::WorkerLoop() {
  while (true) {
    std::unique_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(worker_mutex_);
      auto ready = [this] { return worker_stop_ || !tasks_.empty(); };
      if (next_inventory_at_ == absl::InfiniteFuture() ||
          next_inventory_at_ == absl::InfinitePast()) {
        worker_wakeup_.wait(lock, ready);
      } else {
        worker_wakeup_.wait_until(lock, absl::ToChronoTime(next_inventory_at_), ready);
      }
      if (worker_stop_) return;
      if (!tasks_.empty()) {
        task = std::move(tasks_.front());
        tasks_.pop_front();
      } else if (absl::Now() >= next_inventory_at_) {
        task = std::make_unique<Task>();
        task->kind = Task::Kind::kInventory;
        task->reason = "periodic";
      } else {
        continue;
      }
    }
    if (task->kind == Task::Kind::kJob) {
      RunJob(task->assignment);
    } else {
      (void)ReportInventory(task->reason);
    }
  }
}

absl::StatusOr<std::string> ControllerSession::ReportInventory(const std::string& reason) {
  const absl::Time now = absl::Now();
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    next_inventory_at_ = now + config_.inventory_interval;
  }
  absl::StatusOr<HostInventory> scan = driver_.ScanInventory();
  v1::ReportInventoryRequest request;
  *request.mutable_inventory() = scan.ok() ? ToHostInventoryProto(*scan, platform_, now)
                                           : ScanFailureReport(scan.status(), platform_, now);
  if (scan.ok()) {
    for (v1::ServedProbe& served : ProbeServedBindings(
             driver_, *scan, std::min(config_.verify_timeout, kServedProbeTimeout))) {
      *request.mutable_inventory()->add_served() = std::move(served);
    }
  }
  const std::string hash = request.inventory().content_hash();
  if (!scan.ok()) Log(absl::StrCat("inventory scan failed: ", scan.status().message()));
  std::shared_ptr<v1::AgentService::Stub> stub = CurrentStub();
  if (stub == nullptr) {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    inventory_unreported_ = true;
    return absl::UnavailableError("not connected to the controller");
  }
  v1::ReportInventoryResponse response;
  grpc::ClientContext context;
  context.set_deadline(RpcDeadline());
  grpc::Status status = stub->ReportInventory(&context, request, &response);
  if (!status.ok()) {
    {
      std::lock_guard<std::mutex> lock(worker_mutex_);
      inventory_unreported_ = true;
    }
    Log(absl::StrCat("inventory report (", reason, ") failed: ", status.error_message()));
    return FromGrpcStatus(status, "reporting the inventory");
  }
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    inventory_unreported_ = false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    last_inventory_hash_ = hash;
  }
  const std::string disposition = absl::AsciiStrToLower(absl::StripPrefix(
      v1::InventoryDisposition_Name(response.disposition()), "INVENTORY_DISPOSITION_"));
  Log(absl::StrCat("inventory reported (", reason, "): ", request.inventory().sites_size(),
                   " sites, ", request.inventory().bindings_size(), " TLS bindings, ",
                   request.inventory().certificates_size(), " certificates; ", disposition));
  return hash;
}

void ControllerSession::RunJob(const v1::JobAssignment& assignment) {
  const std::string job_id = assignment.lease().job_id();
  const uint64_t attempt = assignment.lease().attempt();
  const int journal_attempt = static_cast<int>(attempt);
  bool cancelled_before_start = false;
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    if (current_job_ == nullptr || current_job_->job_id != job_id) return;  // Cancelled.
    current_job_->started = true;
    cancelled_before_start = current_job_->cancel_requested;
  }
  Log(absl::StrCat("job ", job_id, " attempt ", attempt, " (", KindName(assignment.kind()),
                   ") started"));
  v1::JobResult result;
  if (cancelled_before_start) {
    result.set_outcome(v1::JOB_OUTCOME_CANCELLED);
    *result.mutable_failure() =
        MakeFailure(v1::FAILURE_CODE_CANCELLED, "cancelled before it started", false);
  } else if (assignment.kind() == v1::JOB_KIND_PREPARE) {
    result = RunPrepare(job_id, journal_attempt, assignment.spec().prepare());
  } else if (assignment.kind() == v1::JOB_KIND_DEPLOY) {
    result = RunDeploy(job_id, journal_attempt, assignment.spec().deploy());
  } else {
    result = RunInventoryJob();
  }
  if (!result.has_finished_at()) SetTimestamp(absl::Now(), result.mutable_finished_at());

  CurrentJob finished;
  {
    std::lock_guard<std::mutex> lock(worker_mutex_);
    if (current_job_ != nullptr) finished = *current_job_;
    // The host is free: the controller may offer the next job as soon as
    // it has this result.
    current_job_.reset();
  }
  bool stopping = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping = stopping_;
  }
  const bool stopped_on_request = result.outcome() == v1::JOB_OUTCOME_FAILED &&
                                  absl::StartsWith(result.failure().message(), kStoppedOnRequest);
  if (finished.cancel_requested && !cancelled_before_start) {
    v1::CancellationOutcome outcome = v1::CANCELLATION_OUTCOME_ALREADY_FINISHED;
    if (stopped_on_request || assignment.kind() != v1::JOB_KIND_DEPLOY) {
      if (result.outcome() != v1::JOB_OUTCOME_SUCCEEDED || stopped_on_request ||
          assignment.kind() == v1::JOB_KIND_PREPARE) {
        result.set_outcome(v1::JOB_OUTCOME_CANCELLED);
        *result.mutable_failure() = MakeFailure(
            v1::FAILURE_CODE_CANCELLED,
            absl::StrCat("cancelled before the binding was changed: ", finished.cancel_reason),
            false);
        outcome = v1::CANCELLATION_OUTCOME_STOPPED_BEFORE_CHANGES;
      }
    } else if (result.outcome() == v1::JOB_OUTCOME_ROLLED_BACK) {
      outcome = v1::CANCELLATION_OUTCOME_ROLLED_BACK;
    }
    SendCancellationAcknowledgement(job_id, attempt, outcome, result.failure().message());
  } else if (stopped_on_request && stopping) {
    *result.mutable_failure() = MakeFailure(
        v1::FAILURE_CODE_CANCELLED,
        "the agent was stopped before the binding was changed; the site keeps its certificate",
        true);
  }

  const bool journaled = assignment.kind() != v1::JOB_KIND_INVENTORY &&
                         worker_journal_->GetJob(job_id, journal_attempt).ok();
  if (journaled) {
    absl::Status stored = worker_journal_->SetValue(job_id, journal_attempt, kSessionResult,
                                                    result.SerializeAsString());
    if (!stored.ok()) Log(absl::StrCat("journal: ", stored.message()));
  }
  std::string detail = result.failure().message();
  Log(absl::StrCat("job ", job_id, " attempt ", attempt, " finished: ",
                   OutcomeName(result.outcome()), detail.empty() ? "" : " (" + detail + ")"));
  if (finished.stale) {
    Log(absl::StrCat("job ", job_id, " attempt ", attempt,
                     " is stale; its result is not reported"));
    if (journaled) (void)worker_journal_->MarkResultReported(job_id, journal_attempt);
  } else {
    SendResult(journaled ? worker_journal_.get() : nullptr, job_id, attempt, result);
  }
  if (assignment.kind() != v1::JOB_KIND_INVENTORY && !cancelled_before_start) {
    (void)ReportInventory(absl::StrCat("after job ", job_id));
  }
}

v1::JobResult ControllerSession::RunInventoryJob() {
  v1::JobResult result;
  absl::StatusOr<std::string> hash = ReportInventory("inventory job");
  if (!hash.ok()) return FailedResult(FailureFromStatus(hash.status()));
  result.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
  result.mutable_inventory()->set_content_hash(*hash);
  return result;
}

v1::JobResult ControllerSession::RunPrepare(const std::string& job_id, int attempt,
                                            const v1::PrepareJob& job) {
  absl::StatusOr<PrepareOrder> order = ToPrepareOrder(job_id, attempt, job);
  if (!order.ok()) return FailedResult(FailureFromStatus(order.status()));
  absl::StatusOr<std::string> bound = driver_.ReadBinding(job.site_id());
  if (!bound.ok()) return FailedResult(FailureFromStatus(bound.status()));
  if (!SameThumbprint(*bound, job.expected_current_thumbprint())) {
    return FailedResult(MakeFailure(
        v1::FAILURE_CODE_UNEXPECTED_HOST_STATE,
        absl::StrCat("site ", job.site_id(), " is bound to ",
                     bound->empty() ? std::string("no certificate") : *bound,
                     " but the job expected ",
                     job.expected_current_thumbprint().empty() ? std::string("no certificate")
                                                               : job.expected_current_thumbprint(),
                     "; the inventory is out of date"),
        true));
  }
  absl::StatusOr<crypto::CertificateRequest> request = executor_->Prepare(*order);
  if (absl::IsAlreadyExists(request.status())) {
    absl::StatusOr<JobRecord> record = worker_journal_->GetJob(job_id, attempt);
    if (record.ok()) return ResultFromJournal(*record);
  }
  if (!request.ok()) return FailedResult(FailureFromStatus(request.status()));
  v1::JobResult result;
  result.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
  v1::PrepareResult* prepared = result.mutable_prepare();
  prepared->set_csr_pem(request->ToPem());
  prepared->set_public_key_sha256(request->public_key().Sha256Fingerprint());
  prepared->set_key_spec(KeySpecOf(request->public_key()));
  if (absl::StatusOr<HostInventory> inventory = driver_.ScanInventory(); inventory.ok()) {
    for (const SiteInfo& site : inventory->sites) {
      if (site.name == job.temporary_site_name()) prepared->set_temporary_site_id(site.site_id);
    }
  }
  return result;
}

v1::JobResult ControllerSession::RunDeploy(const std::string& job_id, int attempt,
                                           const v1::DeployJob& job) {
  if (job.has_start_deadline() && absl::Now() > FromTimestamp(job.start_deadline())) {
    return FailedResult(MakeFailure(v1::FAILURE_CODE_TIMEOUT,
                                    "the deploy's start deadline has passed; the host was not "
                                    "touched",
                                    true));
  }
  absl::StatusOr<HostInventory> inventory = driver_.ScanInventory();
  if (!inventory.ok()) return FailedResult(FailureFromStatus(inventory.status()));
  // The executor finds the temporary site by name; a site already deleted
  // by an earlier attempt gets a name no site has, and the executor then
  // looks for the certificate in the personal store instead.
  std::string temporary_site_name =
      absl::StrCat("certfleet-deleted-temporary-site-", job.temporary_site_id());
  for (const SiteInfo& site : inventory->sites) {
    if (site.site_id == job.temporary_site_id()) temporary_site_name = site.name;
  }
  absl::StatusOr<std::string> bound = driver_.ReadBinding(job.site_id());
  if (!bound.ok()) return FailedResult(FailureFromStatus(bound.status()));
  if (!job.previous_thumbprint().empty() && !SameThumbprint(*bound, job.previous_thumbprint()) &&
      !SameThumbprint(*bound, job.expected_thumbprint())) {
    return FailedResult(MakeFailure(
        v1::FAILURE_CODE_UNEXPECTED_HOST_STATE,
        absl::StrCat("site ", job.site_id(), " is bound to ",
                     bound->empty() ? std::string("no certificate") : *bound,
                     ", neither the previous ", job.previous_thumbprint(), " nor the new ",
                     job.expected_thumbprint(), "; someone changed it, the host was not touched"),
        true));
  }
  std::optional<BackupOptions> backup;
  if (job.backup().mode() != v1::BACKUP_MODE_DISABLED && !backup_passphrase_.empty()) {
    BackupOptions options;
    options.folder = !job.backup().destination_folder().empty()
                         ? std::filesystem::path(job.backup().destination_folder())
                     : !config_.backup_folder.empty() ? config_.backup_folder
                                                      : config_.state_dir / "backups";
    options.passphrase = backup_passphrase_;
    options.encryption = job.backup().encryption() == v1::PFX_ENCRYPTION_AES256
                             ? crypto::Pkcs12Encryption::kAes256
                             : crypto::Pkcs12Encryption::kLegacySha1TripleDes;
    options.keep_last = job.backup().keep_last() > 0 ? static_cast<int>(job.backup().keep_last())
                                                     : config_.backup_keep_last;
    backup = std::move(options);
  }
  absl::StatusOr<DeployOrder> order =
      ToDeployOrder(job_id, attempt, job, temporary_site_name, backup);
  if (!order.ok()) return FailedResult(FailureFromStatus(order.status()));
  absl::StatusOr<DeployResult> deployed = executor_->Deploy(*order);
  if (absl::IsAlreadyExists(deployed.status())) {
    absl::StatusOr<JobRecord> record = worker_journal_->GetJob(job_id, attempt);
    if (record.ok()) return ResultFromJournal(*record);
  }
  if (!deployed.ok()) return FailedResult(FailureFromStatus(deployed.status()));

  v1::JobResult result;
  v1::DeployResult* detail = result.mutable_deploy();
  detail->set_previous_thumbprint(deployed->previous_thumbprint);
  if (absl::StatusOr<std::string> now_bound = driver_.ReadBinding(job.site_id()); now_bound.ok()) {
    detail->set_bound_thumbprint(*now_bound);
  }
  switch (deployed->outcome) {
    case JobOutcome::kSucceeded:
      result.set_outcome(v1::JOB_OUTCOME_SUCCEEDED);
      detail->set_restarted(true);
      for (v1::ProbeResult& probe :
           ProbeEndpoints(driver_, job.site_id(), order->expected_thumbprint, {order->trusted_root},
                          config_.verify_timeout)) {
        *detail->add_verification() = std::move(probe);
      }
      if (deployed->backup_path.has_value()) {
        v1::BackupRecord* record = detail->mutable_backup();
        record->set_path(deployed->backup_path->string());
        record->set_encryption(backup->encryption == crypto::Pkcs12Encryption::kAes256
                                   ? v1::PFX_ENCRYPTION_AES256
                                   : v1::PFX_ENCRYPTION_LEGACY_3DES);
        if (absl::StatusOr<std::string> bytes = io::ReadFile(*deployed->backup_path, 1 << 24);
            bytes.ok()) {
          record->set_file_sha256(Sha256Hex(*bytes));
        }
        SetTimestamp(absl::Now(), record->mutable_created_at());
      }
      if (!deployed->reason.empty()) {
        // A succeeded deploy whose backup failed says so.
        *result.mutable_failure() = MakeFailure(v1::FAILURE_CODE_IO_ERROR, deployed->reason, true);
      }
      break;
    case JobOutcome::kRolledBack:
      result.set_outcome(v1::JOB_OUTCOME_ROLLED_BACK);
      detail->set_restarted(true);
      detail->mutable_rollback()->set_reason(deployed->reason);
      detail->mutable_rollback()->set_restored_thumbprint(deployed->previous_thumbprint);
      for (v1::ProbeResult& probe :
           ProbeEndpoints(driver_, job.site_id(), deployed->previous_thumbprint,
                          {order->trusted_root}, config_.verify_timeout)) {
        *detail->mutable_rollback()->add_verification() = std::move(probe);
      }
      *result.mutable_failure() =
          MakeFailure(v1::FAILURE_CODE_VERIFICATION_FAILED, deployed->reason, true);
      break;
    case JobOutcome::kFailed: {
      result.set_outcome(v1::JOB_OUTCOME_FAILED);
      v1::FailureCode code = v1::FAILURE_CODE_UNEXPECTED_HOST_STATE;
      bool retryable = true;
      if (absl::StartsWith(deployed->reason, kStoppedOnRequest)) {
        code = v1::FAILURE_CODE_CANCELLED;
      } else if (absl::StartsWith(deployed->reason, "accepting the certificate")) {
        code = v1::FAILURE_CODE_WRONG_CERTIFICATE;
        retryable = false;
      } else if (absl::StartsWith(deployed->reason, "installing the chain")) {
        code = v1::FAILURE_CODE_IO_ERROR;
      }
      *result.mutable_failure() = MakeFailure(code, deployed->reason, retryable);
      break;
    }
  }
  return result;
}

v1::JobResult ControllerSession::ResultFromJournal(const JobRecord& record) {
  v1::JobResult result;
  result.set_outcome(ToOutcome(record.state));
  SetTimestamp(record.updated, result.mutable_finished_at());
  if (record.state == JobState::kFailed) {
    *result.mutable_failure() =
        MakeFailure(v1::FAILURE_CODE_UNEXPECTED_HOST_STATE, record.detail, true);
  } else if (record.state == JobState::kRolledBack) {
    *result.mutable_failure() =
        MakeFailure(v1::FAILURE_CODE_VERIFICATION_FAILED, record.detail, true);
  }
  if (record.kind == "prepare" && record.state == JobState::kSucceeded) {
    absl::StatusOr<crypto::CertificateRequest> request =
        executor_->PreparedRequest(record.job_id, record.attempt);
    if (request.ok()) {
      v1::PrepareResult* prepared = result.mutable_prepare();
      prepared->set_csr_pem(request->ToPem());
      prepared->set_public_key_sha256(request->public_key().Sha256Fingerprint());
      prepared->set_key_spec(KeySpecOf(request->public_key()));
      if (absl::StatusOr<HostInventory> inventory = driver_.ScanInventory(); inventory.ok()) {
        for (const PendingRequestInfo& pending : inventory->pending_requests) {
          if (pending.request.public_key() == request->public_key()) {
            prepared->set_temporary_site_id(pending.site_id);
          }
        }
      }
    }
  } else if (record.kind == "deploy") {
    v1::DeployResult* deploy = result.mutable_deploy();
    absl::StatusOr<std::optional<std::string>> previous =
        worker_journal_->GetValue(record.job_id, record.attempt, "previous_thumbprint");
    if (previous.ok() && previous->has_value()) deploy->set_previous_thumbprint(**previous);
    absl::StatusOr<std::optional<std::string>> rollback =
        worker_journal_->GetValue(record.job_id, record.attempt, "rollback_reason");
    if (record.state == JobState::kRolledBack && rollback.ok() && rollback->has_value()) {
      deploy->mutable_rollback()->set_reason(**rollback);
      deploy->mutable_rollback()->set_restored_thumbprint(deploy->previous_thumbprint());
    }
    // A deploy finished after a restart: what the site serves now, as a
    // deploy that ran through reports it, so that the controller probes the
    // same endpoints.
    absl::StatusOr<DeployOrder> order =
        executor_->JournaledDeployOrder(record.job_id, record.attempt);
    if (order.ok() && record.state != JobState::kFailed) {
      deploy->set_restarted(true);
      if (absl::StatusOr<std::string> bound = driver_.ReadBinding(order->site_id); bound.ok()) {
        deploy->set_bound_thumbprint(*bound);
      }
      if (record.state == JobState::kSucceeded) {
        for (v1::ProbeResult& probe :
             ProbeEndpoints(driver_, order->site_id, order->expected_thumbprint,
                            {order->trusted_root}, config_.verify_timeout)) {
          *deploy->add_verification() = std::move(probe);
        }
      } else if (record.state == JobState::kRolledBack) {
        for (v1::ProbeResult& probe :
             ProbeEndpoints(driver_, order->site_id, deploy->previous_thumbprint(),
                            {order->trusted_root}, config_.verify_timeout)) {
          *deploy->mutable_rollback()->add_verification() = std::move(probe);
        }
      }
    }
  }
  return result;
}

absl::Status ControllerSession::ResumeAndPrepareResults() {
  absl::StatusOr<std::vector<ResumedJob>> resumed = executor_->ResumeUnfinished();
  if (!resumed.ok()) {
    return absl::Status(resumed.status().code(),
                        absl::StrCat("resuming the journal's unfinished jobs failed: ",
                                     resumed.status().message()));
  }
  for (const ResumedJob& job : *resumed) {
    Log(absl::StrCat("resumed job ", job.job_id, " attempt ", job.attempt, " (", job.kind,
                     ") after a restart: ", std::string(JobStateName(job.state)), " (", job.detail,
                     ")"));
  }
  absl::StatusOr<std::vector<JobRecord>> unreported = worker_journal_->UnreportedJobs();
  if (!unreported.ok()) return unreported.status();
  for (const JobRecord& record : *unreported) {
    absl::StatusOr<std::optional<std::string>> stored =
        worker_journal_->GetValue(record.job_id, record.attempt, kSessionResult);
    if (!stored.ok()) return stored.status();
    if (stored->has_value()) continue;
    const v1::JobResult result = ResultFromJournal(record);
    if (absl::Status saved = worker_journal_->SetValue(record.job_id, record.attempt,
                                                       kSessionResult, result.SerializeAsString());
        !saved.ok()) {
      return saved;
    }
  }
  return absl::OkStatus();
}

}  // namespace certfleet::agent::session
