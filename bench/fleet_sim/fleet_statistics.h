// What fleet-sim counts while it runs, and how it reports it: one status
// line for the terminal and the JSON report (--report) that bench/run.sh
// reads. Counters are updated by the simulated agents from gRPC and
// scheduler threads.
//
// Connection timing: seconds_to_all_connected is from the first connection
// attempt to the moment every agent had a Welcome at once for the first
// time. A "drop burst" starts when a welcomed stream is lost while every
// agent was connected, and ends when every agent is connected again;
// seconds_to_all_reconnected_after_last_drop is the length of the last
// burst that ended.
//
// Dispatch latency: Watch(agent) marks the moment just before an admin call
// meant to put work on that agent's stream; WorkArrived(agent) (any
// JobAssignment or InventoryRequest) records the time since then.
//
// Thread safety: thread-safe.

#ifndef CERTFLEET_BENCH_FLEET_SIM_FLEET_STATISTICS_H_
#define CERTFLEET_BENCH_FLEET_SIM_FLEET_STATISTICS_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "certfleet/v1/jobs.pb.h"
#include "nlohmann/json.hpp"

namespace certfleet::bench {

class FleetStatistics {
 public:
  explicit FleetStatistics(int agents);

  // Setup.
  void SetEnrolled(int enrolled, int enrolled_this_run);
  void ConnectingStarted();

  // Sessions.
  void SessionWelcomed(bool first_session_of_agent);
  void SessionLost(bool was_welcomed);
  void ConnectionFailed() { ++connection_failures_; }

  // Jobs, by kind.
  void JobReceived(v1::JobKind kind);
  void JobRejected(v1::JobKind kind);
  void JobFinished(v1::JobKind kind, v1::JobOutcome outcome);
  // An inventory report was sent; InventoryReported says how it ended.
  void InventoryStarted() { ++inventories_in_flight_; }
  void InventoryReported(bool ok);
  void RpcFailed() { ++rpc_failures_; }

  // Dispatch latency.
  void Watch(int agent);
  void WorkArrived(int agent);
  // Waits until the watched `agent`'s work arrived or `deadline`; true when
  // it arrived.
  bool WaitForArrival(int agent, absl::Time deadline);
  int dispatch_samples() const;

  int connected() const { return connected_.load(); }
  int agents() const { return agents_; }
  bool all_connected_once() const;
  // Accepted jobs still running somewhere.
  int jobs_in_flight() const;
  // Inventory reports sent and not yet answered.
  int inventories_in_flight() const { return inventories_in_flight_.load(); }

  // "connected 9876/10000 enrolled 10000 jobs 123/456 ..." for stdout.
  std::string StatusLine() const;
  // The JSON report (see docs/fleet-sim.md for the fields).
  nlohmann::json Report() const;

 private:
  struct KindCounters {
    int64_t received = 0;
    int64_t rejected = 0;
    int64_t completed = 0;
    int64_t failed = 0;
  };

  const int agents_;
  const absl::Time created_ = absl::Now();
  std::atomic<int> connected_{0};
  std::atomic<int64_t> connection_failures_{0};
  std::atomic<int64_t> rpc_failures_{0};
  std::atomic<int> inventories_in_flight_{0};

  mutable std::mutex mutex_;
  std::condition_variable arrival_;
  int enrolled_ = 0;
  int enrolled_this_run_ = 0;
  std::optional<absl::Time> connecting_started_;
  std::optional<absl::Duration> to_all_connected_;
  int64_t sessions_ = 0;
  int64_t reconnects_ = 0;
  int64_t streams_lost_ = 0;
  std::optional<absl::Time> burst_started_;
  std::optional<absl::Duration> last_burst_;
  std::map<v1::JobKind, KindCounters> jobs_;
  int64_t renewals_done_ = 0;
  int64_t inventories_reported_ = 0;
  int64_t inventories_failed_ = 0;
  std::map<int, absl::Time> watched_;
  std::map<int, bool> arrived_;
  std::vector<double> dispatch_milliseconds_;
};

// Resident set size of this process in bytes (VmRSS), 0 when unknown.
int64_t ResidentBytes();
// User plus system CPU time of this process in seconds.
double CpuSeconds();

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_FLEET_SIM_FLEET_STATISTICS_H_
