// The agent process's life with its controller (certfleet-agent run):
//
//   1. Resume: every job the journal still shows running is finished or
//      rolled back by the executor (ResumeUnfinished) before anything else,
//      so the host is never left bound to an unverified certificate, whether
//      the controller is reachable or not.
//   2. Identity: the one in the state dir, or enrollment with the join token
//      after the controller's CA was checked against the pin
//      (enrollment.h).
//   3. Session: a Connect stream with mutual TLS. Hello carries the agent's
//      version, platform, capabilities and every journaled job whose result
//      the controller has not acknowledged; Welcome's reconciliations say
//      what to do with each (RESUME: send the result; ALREADY_COMPLETED,
//      SUPERSEDED, UNKNOWN_JOB: stop reporting it; CANCELLED: acknowledge
//      and report the attempt cancelled). Heartbeats
//      every Welcome.heartbeat_interval (plus up to 10 % jitter) name the
//      running job. The agent renews its identity (RenewIdentity) when its
//      renew point passes and reconnects with the new one.
//   4. Work: JobAssignments are accepted one at a time (REJECTED_BUSY while
//      a job runs, REJECTED_UNSUPPORTED for kinds other than inventory,
//      prepare and deploy) and run on one worker thread; every step is sent
//      as ReportStep, then CompleteJob, then the journal marks the result
//      reported. A result the controller did not get is sent again after
//      the next Welcome. Inventory is scanned and reported at start, after
//      each job, on InventoryRequest and every inventory.interval.
//   5. Reconnects: on any failure, after exponential backoff with full
//      jitter (reset by a session that lasted session.healthy_session), or
//      after GoAway's delay plus its jitter.
//
// Every event is one readable line through the EventLog.
//
// Thread safety: Run is called once, from one thread, and blocks; Stop may
// be called from any thread (not from a signal handler). The session owns
// one worker thread (jobs, inventory) and, while connected, one heartbeat
// thread.

#ifndef CERTFLEET_AGENT_SESSION_CONTROLLER_SESSION_H_
#define CERTFLEET_AGENT_SESSION_CONTROLLER_SESSION_H_

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "agent/executor/job_journal.h"
#include "agent/executor/renewal_executor.h"
#include "agent/session/agent_config.h"
#include "agent/session/agent_identity.h"
#include "agent/session/enrollment.h"
#include "agent/session/reconnect_backoff.h"
#include "certfleet/v1/agent.grpc.pb.h"

namespace certfleet::agent::session {

class ControllerSession {
 public:
  // `driver` must outlive the session. Opens the journal at
  // STATE_DIR/journal.db (two connections: the worker's and the
  // session's) and reads the backup passphrase file. Errors: the journal's,
  // and the passphrase file's (naming backup.passphrase_file).
  static absl::StatusOr<std::unique_ptr<ControllerSession>> Create(AgentConfig config,
                                                                   HostDriver& driver,
                                                                   EventLog log);

  // Stops and joins every thread.
  ~ControllerSession();

  ControllerSession(const ControllerSession&) = delete;
  ControllerSession& operator=(const ControllerSession&) = delete;

  // Runs until Stop(): resumes unfinished jobs, then connects and reconnects
  // forever. Returns OK after Stop() (the job running then has finished or
  // stopped before changing the binding); returns the error when the agent
  // cannot go on without a person: no identity and no join token, the
  // controller's CA is not the pinned one, the join token is refused, the
  // identity is damaged, expired or of another fleet CA, or the journal
  // fails.
  absl::Status Run();

  // Asks Run to return: cancels the stream, stops the worker after its
  // current job. Idempotent, thread-safe.
  void Stop();

  // The host id once enrolled; empty before.
  std::string host_id() const;

  // How many sessions got a Welcome since Create (for tests and logs).
  int welcomed_sessions() const;

 private:
  class Reporter;
  struct Task;
  struct CurrentJob;
  struct SessionEnd;

  ControllerSession(AgentConfig config, HostDriver& driver, EventLog log,
                    std::unique_ptr<JobJournal> worker_journal,
                    std::unique_ptr<JobJournal> session_journal, std::string backup_passphrase);

  // Connection side (session thread).
  SessionEnd RunOneSession(const AgentIdentity& identity);
  certfleet::v1::AgentMessage BuildHello();
  void Reconcile(const certfleet::v1::Welcome& welcome);
  void Handle(const certfleet::v1::ControllerMessage& message, SessionEnd& end);
  void HandleAssignment(const certfleet::v1::JobAssignment& assignment);
  void HandleCancellation(const certfleet::v1::JobCancellation& cancellation);
  // Sends heartbeats until the session ends; drops the session when the
  // controller has been silent for three intervals, and renews the identity
  // (then ends the stream) once its renew point passes.
  void HeartbeatLoop(absl::Duration interval, grpc::ClientContext* context,
                     const std::shared_ptr<grpc::Channel>& channel);
  // Writes on the current stream; false when there is none or it broke.
  bool Write(const certfleet::v1::AgentMessage& message);
  void SendAssignmentAcknowledgement(const std::string& job_id, uint64_t attempt,
                                     certfleet::v1::AssignmentDecision decision,
                                     const std::string& reason);
  void SendCancellationAcknowledgement(const std::string& job_id, uint64_t attempt,
                                       certfleet::v1::CancellationOutcome outcome,
                                       const std::string& detail);
  // Renews the identity when its renew point passed; true when it did.
  bool MaybeRenewIdentity(const std::shared_ptr<grpc::Channel>& channel);
  // Waits `delay` or until Stop(); false when stopped.
  bool WaitFor(absl::Duration delay);
  absl::Duration NextBackoff();

  // Worker side (worker thread).
  void WorkerLoop();
  void RunJob(const certfleet::v1::JobAssignment& assignment);
  certfleet::v1::JobResult RunPrepare(const std::string& job_id, int attempt,
                                      const certfleet::v1::PrepareJob& job);
  certfleet::v1::JobResult RunDeploy(const std::string& job_id, int attempt,
                                     const certfleet::v1::DeployJob& job);
  certfleet::v1::JobResult RunInventoryJob();
  // Scans and sends ReportInventory; returns the content hash reported.
  absl::StatusOr<std::string> ReportInventory(const std::string& reason);
  // The result of a journaled job finished without the session (resumed
  // after a restart), built from the journal and the host.
  certfleet::v1::JobResult ResultFromJournal(const JobRecord& record);
  // Resumes unfinished jobs and stores a result for each unreported job.
  absl::Status ResumeAndPrepareResults();

  // Shared: sends CompleteJob; marks the result reported in `journal`
  // (when journaled) once the controller has it or refused it for good.
  void SendResult(JobJournal* journal, const std::string& job_id, uint64_t attempt,
                  const certfleet::v1::JobResult& result);
  std::shared_ptr<certfleet::v1::AgentService::Stub> CurrentStub();
  std::chrono::system_clock::time_point RpcDeadline() const;
  void Log(const std::string& line) const;

  const AgentConfig config_;
  HostDriver& driver_;
  const EventLog log_;
  const std::unique_ptr<JobJournal> worker_journal_;
  const std::unique_ptr<JobJournal> session_journal_;
  const std::string backup_passphrase_;
  const certfleet::v1::Platform platform_;
  const certfleet::v1::HostCapabilities capabilities_;
  SystemClock clock_;
  std::unique_ptr<Reporter> reporter_;
  std::unique_ptr<RenewalExecutor> executor_;

  // Connection state.
  mutable std::mutex mutex_;
  std::condition_variable stop_wakeup_;
  bool stopping_ = false;
  grpc::ClientContext* current_context_ = nullptr;
  std::shared_ptr<certfleet::v1::AgentService::Stub> stub_;
  std::optional<AgentIdentity> identity_;
  absl::Time identity_renew_at_ = absl::InfiniteFuture();
  absl::Time next_renewal_try_ = absl::InfinitePast();
  bool identity_renewed_ = false;
  int welcomed_sessions_ = 0;
  std::string last_inventory_hash_;
  ReconnectBackoff backoff_;
  std::mt19937_64 random_;

  // The stream, for writers other than the session thread.
  std::mutex write_mutex_;
  grpc::ClientReaderWriter<certfleet::v1::AgentMessage, certfleet::v1::ControllerMessage>* stream_ =
      nullptr;

  // Heartbeat thread of the current session.
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_wakeup_;
  bool heartbeat_stop_ = false;
  absl::Time last_heard_ = absl::InfinitePast();

  // Worker state.
  std::mutex worker_mutex_;
  std::condition_variable worker_wakeup_;
  bool worker_stop_ = false;
  std::deque<std::unique_ptr<Task>> tasks_;
  std::unique_ptr<CurrentJob> current_job_;
  absl::Time next_inventory_at_ = absl::InfinitePast();
  bool inventory_unreported_ = true;
  std::thread worker_;
};

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_CONTROLLER_SESSION_H_
