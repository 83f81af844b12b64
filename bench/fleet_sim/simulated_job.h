// One job attempt on a simulated host, as the real agent runs it
// (agent/session/controller_session.cc with agent/executor/
// renewal_executor.cc): the same checks before the first step, the same
// steps with the same names and indexes, and the same JobResult.
//
//   inventory: no steps; the result carries the reported content hash
//              (the caller sends the inventory).
//   prepare:   create_temporary_site (0), create_pending_request (1); the
//              CSR is made with a key of the simulator's pool.
//   deploy:    accept_certificate (0), install_chain (1), read_binding (2),
//              replace_binding (3), delete_temporary_site (4), restart (5),
//              verify (6), backup (7, skipped: no passphrase). When the
//              verify step is chosen to fail (--failure-rate), the deploy
//              rolls back by itself as the real executor does:
//              rollback_binding (20), rollback_restart (21),
//              rollback_verify (22), outcome ROLLED_BACK.
//
// The verify step does not handshake (a simulated host serves nothing), and
// the deploy result reports no verification endpoint, so the controller's
// own probe has nothing to contact; the order's history says so ("the agent
// reported no endpoint for the controller to probe").
//
// The caller drives it step by step (StartStep, then FinishStep after the
// step's delay), and may stop it between steps (cancellation, stale
// attempt).
//
// Thread safety: not thread-safe; the owning agent serializes access
// (the host it changes is the agent's).

#ifndef CERTFLEET_BENCH_FLEET_SIM_SIMULATED_JOB_H_
#define CERTFLEET_BENCH_FLEET_SIM_SIMULATED_JOB_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/fleet_sim/simulated_host.h"
#include "bench/fleet_sim/simulator_pki.h"
#include "certfleet/v1/agent.pb.h"

namespace certfleet::bench {

class SimulatedJob {
 public:
  // `host` and `pki` must outlive the job. `fail_verification` makes a
  // deploy's verify step fail; `key_index` picks the pool key of a prepare.
  SimulatedJob(v1::JobAssignment assignment, SimulatedHost& host, const SimulatorPki& pki,
               bool fail_verification, size_t key_index);

  const v1::JobAssignment& assignment() const { return assignment_; }

  // The checks the real agent makes before the first step. Returns the
  // job's result when it ends there (unexpected binding, start deadline
  // passed, unreadable certificate); nullopt when steps follow.
  std::optional<v1::JobResult> Begin();

  // Whether a step remains.
  bool HasNextStep() const { return !pending_steps_.empty(); }

  // Whether stopping now leaves the host's bindings as they were (before a
  // deploy's replace_binding).
  bool CanStopBeforeChanges() const;

  // The next step's RUNNING report. REQUIRES: HasNextStep().
  v1::StepReport StartStep();

  // Runs the started step on the host and returns its final report (with a
  // failure when it failed). REQUIRES: StartStep() was called.
  v1::StepReport FinishStep();

  // The result once no step remains (or `Stop` was not needed).
  v1::JobResult Result() const;

  // The result of stopping before changes: CANCELLED with `reason`.
  v1::JobResult StoppedResult(const std::string& reason) const;

  // The steps reported so far (for the journal in Hello).
  const std::vector<v1::StepReport>& reported_steps() const { return reported_steps_; }

 private:
  struct Step {
    int index;
    std::string executor_name;
    // Runs the step; the detail on success.
    std::function<absl::StatusOr<std::string>()> run;
    // A step recorded as skipped with this detail (no run).
    std::optional<std::string> skipped_detail;
  };

  void PlanPrepare();
  void PlanDeploy();
  void PlanRollback(std::string reason);

  v1::JobAssignment assignment_;
  SimulatedHost& host_;
  const SimulatorPki& pki_;
  const bool fail_verification_;
  const size_t key_index_;

  std::deque<Step> pending_steps_;
  std::optional<Step> current_step_;
  v1::StepReport current_report_;
  std::vector<v1::StepReport> reported_steps_;
  int steps_finished_ = 0;

  // What the steps found, for the result.
  v1::JobResult result_;
  std::optional<crypto::CertificateRequest> request_;
  std::string temporary_site_id_;
  std::string temporary_site_name_;
  std::optional<crypto::Certificate> leaf_;
  std::vector<crypto::Certificate> chain_;
  std::string previous_thumbprint_;
  std::string rollback_reason_;
};

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_SIMULATED_JOB_H_
