// The renewal engine: turns the inventory and the renewal policies into
// orders and drives every open order through its steps, one pass at a time.
//
// A pass (RunOnce) does, in order:
//   1. plan: for every active host (all of them every planning_interval,
//      and at once for hosts whose inventory changed), open an order for
//      each binding whose certificate has passed its jittered renewal point
//      (renewal_policy.h) and has none in flight;
//   2. start: move due orders, and failed orders whose retry time came, to
//      csr_requested by queueing a prepare job, keeping at most one order on
//      a host at a time and at most maximum_in_flight orders in flight;
//   3. issue: hand awaiting_issuance orders to their connector ("local"
//      signs at once; "manual" orders wait for `certfleetctl cert upload`);
//   4. deploy: queue the deploy job of issued orders;
//   5. verify: probe what the host serves from the controller and close
//      verified orders as done.
// Job results move orders through AgentService's completion hook
// (TransitionForJobResult), in the same transaction as the job.
//
// Everything the engine knows lives in the store, so a restarted controller
// resumes exactly where it stopped; jitter is derived from the binding, so a
// restart plans the same times and does not cause a burst (and the in-flight
// cap spreads whatever became due while it was down).
//
// Thread safety: thread-safe. RunOnce runs one pass at a time; Start runs
// passes on an own thread every tick_interval and whenever woken.

#ifndef CERTFLEET_CONTROLLER_RENEWAL_RENEWAL_ENGINE_H_
#define CERTFLEET_CONTROLLER_RENEWAL_RENEWAL_ENGINE_H_

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/issuance/issuance_connector.h"
#include "controller/store/store.h"

namespace certfleet::controller::renewal {

struct RenewalEngineOptions {
  // The controller's clock (a fake one in tests).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // How often the engine's thread runs a pass when nothing wakes it.
  absl::Duration tick_interval = absl::Seconds(1);
  // How often every host is planned (hosts whose inventory changed are
  // planned in the next pass).
  absl::Duration planning_interval = absl::Minutes(5);
  // Orders in flight at once across the fleet (csr_requested, issued,
  // deploying, verifying, and awaiting_issuance with a connector that is
  // not "manual").
  int maximum_in_flight = 20;
  // Issuance connectors by IssuanceConnector::name(); not owned, must
  // outlive the engine.
  std::vector<IssuanceConnector*> connectors;
  // Called after a job was queued for `host_id`, to offer it to the
  // connected agent at once. May be empty.
  std::function<void(std::string_view host_id)> job_queued;
  // Limit of the controller's own handshake with a renewed site.
  absl::Duration probe_timeout = absl::Seconds(5);
  // Receives one line per decision ("order X: ..."). Empty: std::clog.
  std::function<void(std::string_view line)> log;
  // Runs at the start of every pass, before planning (the campaign
  // engine's step), so that orders it creates start in the same pass. May
  // be empty.
  std::function<void()> before_pass;
  // Asked before an issued order's deploy is queued: a time after `now`
  // keeps the order issued until a later pass (a campaign's maintenance
  // window is closed). May be empty: deploy at once.
  std::function<std::optional<absl::Time>(const store::OrderRecord& order, absl::Time now)>
      deploy_not_before;
  // Called once an order ended done, rolled back or failed without a retry
  // (for notifications). May be empty.
  std::function<void(const store::OrderRecord& order)> order_finished;
};

// What one pass did, for logs and tests.
struct PassSummary {
  int orders_created = 0;
  int prepares_queued = 0;
  int orders_issued = 0;
  int deploys_queued = 0;
  int orders_done = 0;
  int orders_failed = 0;
  // Store or connector errors met during the pass; the pass goes on with
  // the next order.
  std::vector<std::string> problems;
};

class RenewalEngine {
 public:
  // `store` must outlive the engine.
  RenewalEngine(store::Store& store, RenewalEngineOptions options);
  // Calls Stop.
  ~RenewalEngine();

  RenewalEngine(const RenewalEngine&) = delete;
  RenewalEngine& operator=(const RenewalEngine&) = delete;

  // Starts the engine's thread. Idempotent.
  void Start();
  // Stops the thread after the pass in progress. Idempotent.
  void Stop();

  // Runs a pass soon (an order was created, a certificate uploaded, a job
  // finished). Never blocks.
  void Wake();
  // Plans `host_id` in the next pass (its inventory changed) and wakes.
  void HostChanged(std::string_view host_id);

  // Runs one pass now.
  PassSummary RunOnce();

  // The order transition that the finished `job` with `result` implies, for
  // AgentService to store with the job's completion (order_steps.h). Nullopt
  // for jobs outside an order or orders that moved on.
  absl::StatusOr<std::optional<store::OrderTransition>> TransitionForJobResult(
      const store::JobRecord& job, const store::JobResultRecord& result);

  // Tells the engine that `job` finished and its result was stored (with the
  // transition above): logs the order's new state and wakes the engine for
  // the order's next step.
  void JobCompleted(const store::JobRecord& job);

 private:
  using OrdersByState = std::map<store::OrderState, std::vector<store::OrderRecord>>;

  void Plan(absl::Time now, PassSummary& summary);
  void PlanHost(const store::HostRecord& host, const std::vector<store::PolicyRecord>& policies,
                absl::Time now, PassSummary& summary);
  void StartDueOrders(absl::Time now, PassSummary& summary);
  void IssueOrders(absl::Time now, PassSummary& summary);
  void DeployIssuedOrders(absl::Time now, PassSummary& summary);
  void VerifyDeployedOrders(absl::Time now, PassSummary& summary);

  // Every order in one of `states` (all pages).
  absl::StatusOr<std::vector<store::OrderRecord>> OrdersIn(std::vector<store::OrderState> states);
  absl::StatusOr<OrdersByState> InFlightOrders();
  absl::StatusOr<store::PolicyRecord> PolicyNamed(std::string_view name);
  // notAfter of `thumbprint` on `host_id`; InfiniteFuture when unknown.
  absl::Time ExpiryOf(std::string_view host_id, std::string_view thumbprint);
  // Closes `order` as failed (no retry) because of the controller's own
  // finding.
  void FailOrder(const store::OrderRecord& order, std::string_view code, std::string reason,
                 absl::Time now, PassSummary& summary);
  IssuanceConnector* ConnectorNamed(std::string_view name) const;
  void Log(std::string_view line) const;

  void Loop();

  store::Store& store_;
  const RenewalEngineOptions options_;

  // Serializes passes.
  std::mutex pass_mutex_;
  // When every host was last planned; InfinitePast before the first pass.
  absl::Time last_full_plan_ = absl::InfinitePast();
  // Awaiting orders whose connector failed with a retryable error: not
  // submitted again before this time. Only touched under pass_mutex_.
  std::map<std::string, absl::Time> issuance_backoff_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool stopping_ = false;
  std::set<std::string> changed_hosts_;
  std::thread thread_;
};

}  // namespace certfleet::controller::renewal

#endif  // CERTFLEET_CONTROLLER_RENEWAL_RENEWAL_ENGINE_H_
