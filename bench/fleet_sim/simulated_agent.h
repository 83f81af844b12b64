// One simulated agent: its enrolled identity, its own gRPC channel (its own
// client certificate, its own TCP connection: GRPC_ARG_USE_LOCAL_SUBCHANNEL_
// POOL, as the real agent's channel), and the session the real agent keeps
// (agent/session/controller_session.h), on gRPC's callback API:
//
//   - Connect stream: Hello (with the journal of jobs whose result the
//     controller has not acknowledged), Welcome and its reconciliations,
//     heartbeats every Welcome.heartbeat_interval plus up to 10 % jitter,
//     the stream dropped after three silent intervals or when Welcome does
//     not come within the RPC timeout.
//   - Work: JobAssignments acknowledged (ACCEPTED, REJECTED_BUSY while a
//     job runs, REJECTED_UNSUPPORTED for the kinds the real agent does not
//     run: rollback, probe, cleanup), run step by step (simulated_job.h)
//     with --step-delay per step, each step reported at its start and end
//     (ReportStep), then CompleteJob, then an inventory report; cancellations
//     acknowledged and honoured at the next step boundary before the binding
//     changes; InventoryRequests answered with ReportInventory.
//   - Inventory at the first Welcome, after each job, when the controller
//     asks, and every hour.
//   - Reconnects: ReconnectBackoff (agent/session/reconnect_backoff.h) with
//     the real agent's settings, reset after a session of 30 s; after a
//     GoAway, its delay plus its jitter.
//
// Not simulated: identity renewal (identities last 7 days; a run is far
// shorter), backups, the TLS handshakes of verify and of the inventory's
// served probes.
//
// No thread of its own: gRPC's callback threads deliver the stream and the
// answers, the shared TaskScheduler runs the timers. No lock is held while
// calling into gRPC (a reaction may run inline).
//
// Thread safety: thread-safe. Owned through std::shared_ptr (callbacks keep
// it alive).

#ifndef CERTFLEET_BENCH_FLEET_SIM_SIMULATED_AGENT_H_
#define CERTFLEET_BENCH_FLEET_SIM_SIMULATED_AGENT_H_

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "agent/session/agent_config.h"
#include "agent/session/agent_identity.h"
#include "agent/session/reconnect_backoff.h"
#include "bench/fleet_sim/fleet_statistics.h"
#include "bench/fleet_sim/simulated_host.h"
#include "bench/fleet_sim/simulated_job.h"
#include "bench/fleet_sim/simulator_pki.h"
#include "bench/fleet_sim/task_scheduler.h"
#include "certfleet/v1/agent.grpc.pb.h"

namespace certfleet::bench {

struct SimulationSettings {
  // Controller address, pin and server name, and the real agent's session
  // settings (rpc_timeout, heartbeat_interval fallback, reconnect backoff,
  // healthy_session, inventory_interval).
  agent::session::AgentConfig agent_config;
  // Pause inside every job step.
  absl::Duration step_delay = absl::Milliseconds(20);
  // Share of deploys whose verify step fails (then roll back).
  double failure_rate = 0;
};

class SimulatedAgent : public std::enable_shared_from_this<SimulatedAgent> {
 public:
  // Every reference must outlive the agent.
  SimulatedAgent(int index, std::string hostname, agent::session::AgentIdentity identity,
                 SimulatedHost host, const SimulatorPki& pki, TaskScheduler& scheduler,
                 FleetStatistics& statistics, const SimulationSettings& settings);
  ~SimulatedAgent();

  SimulatedAgent(const SimulatedAgent&) = delete;
  SimulatedAgent& operator=(const SimulatedAgent&) = delete;

  // Opens the first session now; reconnects by itself afterwards.
  void Start();

  // Ends the stream and stops reconnecting. Idempotent.
  void Stop();

  // Whether a stream is still open or closing (after Stop: until gRPC has
  // finished with it).
  bool has_live_stream() const { return live_streams_.load() > 0; }

  int index() const { return index_; }
  const std::string& hostname() const { return hostname_; }
  const std::string& host_id() const { return identity_.host_id; }

 private:
  class Stream;
  struct RunningJob;

  // Session.
  void Connect();
  void OnMessage(Stream* stream, const v1::ControllerMessage& message);
  void OnStreamBroken(Stream* stream);
  void OnStreamDone(Stream* stream, const grpc::Status& status);
  void Heartbeat(uint64_t generation);
  void CheckWelcome(uint64_t generation);
  v1::AgentMessage BuildHelloLocked();
  void ReconcileLocked(const v1::Welcome& welcome, std::vector<std::function<void()>>& actions);
  void WriteOnStream(const v1::AgentMessage& message);

  // Work.
  void HandleAssignmentLocked(const v1::JobAssignment& assignment,
                              std::vector<std::function<void()>>& actions);
  void HandleCancellationLocked(const v1::JobCancellation& cancellation,
                                std::vector<std::function<void()>>& actions);
  void AdvanceJob(std::string job_id, uint64_t attempt);
  void FinishStep(std::string job_id, uint64_t attempt);
  void FinishJobLocked(v1::JobResult result, std::vector<std::function<void()>>& actions);
  void SendStepReport(const std::string& job_id, uint64_t attempt, const v1::StepReport& report,
                      std::function<void()> next);
  void SendResult(v1::JobState state);
  void ReportInventory(std::string reason, std::function<void(absl::StatusOr<std::string>)> done);
  void PeriodicInventory();

  static v1::AgentMessage AssignmentAcknowledgement(const std::string& job_id, uint64_t attempt,
                                                    v1::AssignmentDecision decision,
                                                    const std::string& reason);
  static v1::AgentMessage CancellationAcknowledgement(const std::string& job_id, uint64_t attempt,
                                                      v1::CancellationOutcome outcome,
                                                      const std::string& detail);

  const int index_;
  const std::string hostname_;
  const agent::session::AgentIdentity identity_;
  const SimulatorPki& pki_;
  TaskScheduler& scheduler_;
  FleetStatistics& statistics_;
  const SimulationSettings& settings_;
  std::atomic<int> live_streams_{0};

  mutable std::mutex mutex_;
  SimulatedHost host_;
  bool stopping_ = false;
  uint64_t generation_ = 0;
  std::shared_ptr<Stream> stream_;
  // Set from Welcome to the end of the session: unary calls go through it.
  std::shared_ptr<v1::AgentService::Stub> stub_;
  std::shared_ptr<v1::AgentService::Stub> session_stub_;
  bool welcomed_ = false;
  bool ever_welcomed_ = false;
  absl::Time session_started_;
  absl::Time last_heard_;
  absl::Duration heartbeat_interval_;
  std::optional<absl::Duration> go_away_delay_;
  agent::session::ReconnectBackoff backoff_;
  std::mt19937_64 random_;

  std::unique_ptr<RunningJob> job_;
  // Journaled jobs whose result the controller has not acknowledged.
  std::vector<v1::JobState> unreported_;
  std::string inventory_hash_;
  bool inventory_unreported_ = true;
  size_t prepares_ = 0;
};

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_SIMULATED_AGENT_H_
