// AgentService, the API agents call on the controller (proto/certfleet/v1/
// agent.proto), on gRPC's callback API: no thread per agent.
//
// - Enroll needs no client certificate: it checks the join token (by its
//   hash) and the CSR, then creates the host and consumes the token in one
//   store transaction, and issues the agent's client certificate.
// - Every other RPC authenticates the caller with AuthenticateAgent
//   (peer_identity.h) and acts only on the host its certificate names.
// - Connect is a ServerBidiReactor per agent. After Hello/Welcome the session
//   is registered by host id; it leases the host's next queued job (one
//   running job per host) and pushes it as a JobAssignment. Work reaches a
//   session when NotifyJobQueued is called and, at the latest, at the next
//   dispatch sweep: one timer thread for all sessions that also expires
//   lapsed leases.
//
// - ReportInventory converts the report for the caller's own host (the
//   report cannot name a host), refuses malformed or oversized reports with
//   INVALID_ARGUMENT naming the problem (storing nothing), ingests it and
//   answers with the store's disposition; an applied report calls
//   AgentServiceOptions::on_inventory_applied.
//
// Thread safety: thread-safe; gRPC calls the handlers from its callback
// threads. Shutdown must be called before the grpc::Server is shut down and
// before this object is destroyed.

#ifndef CERTFLEET_CONTROLLER_AGENTS_AGENT_SERVICE_H_
#define CERTFLEET_CONTROLLER_AGENTS_AGENT_SERVICE_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "certfleet/v1/agent.grpc.pb.h"
#include "controller/agents/inventory_conversion.h"
#include "controller/identity/fleet_authority.h"
#include "controller/store/store.h"

namespace certfleet::controller::agents {

struct AgentServiceOptions {
  // How often agents send heartbeats (Welcome.heartbeat_interval).
  absl::Duration heartbeat_interval = absl::Seconds(30);
  // How long a lease lasts after it is granted or extended.
  absl::Duration lease_duration = absl::Minutes(5);
  // How often the dispatch sweep runs.
  absl::Duration sweep_interval = absl::Milliseconds(500);
  // Called (from a gRPC thread, after the store committed) when an inventory
  // report of `host_id` was applied, so the renewal scheduler can look at
  // the host's certificates promptly. Must not block. May be empty.
  std::function<void(std::string_view host_id)> on_inventory_applied;
  // Called by the sweep with the hosts it just marked offline because their
  // agent missed three heartbeats (for notifications). May be empty.
  std::function<void(const std::vector<std::string>& host_ids)> on_hosts_silent;
  // Called (from a gRPC thread) with a newly reported job result before it
  // is stored: the order transition the result implies, stored in the same
  // transaction as the job's completion (RenewalEngine's
  // TransitionForJobResult). An error refuses the report, which the agent
  // sends again. May be empty: no order moves.
  std::function<absl::StatusOr<std::optional<store::OrderTransition>>(
      const store::JobRecord& job, const store::JobResultRecord& result)>
      order_transition_for_result;
  // Called (from a gRPC thread, after the store committed) when a job's
  // result was newly recorded. Must not block. May be empty.
  std::function<void(const store::JobRecord& job)> on_job_completed;
  // Limits on one inventory report; larger reports are refused.
  InventoryLimits inventory_limits;
};

class AgentSession;

class AgentServiceImpl final : public certfleet::v1::AgentService::CallbackService {
 public:
  // `authority` and `store` must outlive this object. Starts the dispatch
  // sweep thread.
  AgentServiceImpl(const FleetAuthority& authority, store::Store& store,
                   AgentServiceOptions options);
  ~AgentServiceImpl() override;

  AgentServiceImpl(const AgentServiceImpl&) = delete;
  AgentServiceImpl& operator=(const AgentServiceImpl&) = delete;

  grpc::ServerUnaryReactor* Enroll(grpc::CallbackServerContext* context,
                                   const certfleet::v1::EnrollRequest* request,
                                   certfleet::v1::EnrollResponse* response) override;
  grpc::ServerBidiReactor<certfleet::v1::AgentMessage, certfleet::v1::ControllerMessage>* Connect(
      grpc::CallbackServerContext* context) override;
  grpc::ServerUnaryReactor* ReportInventory(
      grpc::CallbackServerContext* context, const certfleet::v1::ReportInventoryRequest* request,
      certfleet::v1::ReportInventoryResponse* response) override;
  grpc::ServerUnaryReactor* ReportStep(grpc::CallbackServerContext* context,
                                       const certfleet::v1::ReportStepRequest* request,
                                       certfleet::v1::ReportStepResponse* response) override;
  grpc::ServerUnaryReactor* CompleteJob(grpc::CallbackServerContext* context,
                                        const certfleet::v1::CompleteJobRequest* request,
                                        certfleet::v1::CompleteJobResponse* response) override;
  grpc::ServerUnaryReactor* RenewIdentity(grpc::CallbackServerContext* context,
                                          const certfleet::v1::RenewIdentityRequest* request,
                                          certfleet::v1::RenewIdentityResponse* response) override;

  // Tells the service that a job was queued for `host_id`: when the host has
  // a session, it leases and pushes the job now instead of at the next
  // sweep. Does nothing for a host without a session.
  void NotifyJobQueued(std::string_view host_id);

  // Pushes an InventoryRequest with `reason` to the host's session. Returns
  // whether it was sent: false when the host has no welcomed session (the
  // caller may queue an inventory job instead).
  bool RequestInventory(std::string_view host_id, std::string_view reason);

  // Number of open, welcomed sessions (for tests and status pages).
  int SessionCount() const;

  // Stops the sweep thread and ends every session with a GoAway and
  // UNAVAILABLE. New Connect calls are refused afterwards. Idempotent.
  void Shutdown();

 private:
  friend class AgentSession;

  // Session registry. Register returns after ending any previous session of
  // the same host; Unregister returns true when `session` was the host's
  // current session (so the host goes offline).
  void RegisterSession(const std::string& host_id, AgentSession* session);
  bool UnregisterSession(const std::string& host_id, AgentSession* session);

  void SweepLoop();
  void SweepOnce();

  // Ends attempt `attempt` of `job`, which the agent said it cannot run, as
  // failed (not retryable), moving its order on like any result; offering it
  // again would only be refused again.
  void FailUnsupportedJob(const store::JobRecord& job, int64_t attempt, std::string_view reason,
                          absl::Time now);

  const FleetAuthority& authority_;
  store::Store& store_;
  const AgentServiceOptions options_;

  mutable std::mutex sessions_mutex_;
  std::map<std::string, AgentSession*> sessions_;
  bool shutting_down_ = false;

  std::mutex sweep_mutex_;
  std::condition_variable sweep_wakeup_;
  bool stop_sweep_ = false;
  std::thread sweep_thread_;
};

}  // namespace certfleet::controller::agents

#endif  // CERTFLEET_CONTROLLER_AGENTS_AGENT_SERVICE_H_
