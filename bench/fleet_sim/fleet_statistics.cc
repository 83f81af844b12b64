#include "bench/fleet_sim/fleet_statistics.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace certfleet::bench {
namespace {

std::string KindName(v1::JobKind kind) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::JobKind_Name(kind), "JOB_KIND_"));
}

double Percentile(std::vector<double> sorted, double fraction) {
  if (sorted.empty()) return 0;
  const size_t rank = static_cast<size_t>(std::ceil(fraction * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double RoundedSeconds(absl::Duration duration) {
  return std::round(absl::ToDoubleSeconds(duration) * 1000) / 1000;
}

}  // namespace

int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (absl::StartsWith(line, "VmRSS:")) {
      int64_t kilobytes = 0;
      std::sscanf(line.c_str(), "VmRSS: %ld", &kilobytes);
      return kilobytes * 1024;
    }
  }
  return 0;
}

double CpuSeconds() {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec +
         (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

FleetStatistics::FleetStatistics(int agents) : agents_(agents) {}

void FleetStatistics::SetEnrolled(int enrolled, int enrolled_this_run) {
  std::lock_guard<std::mutex> lock(mutex_);
  enrolled_ = enrolled;
  enrolled_this_run_ = enrolled_this_run;
}

void FleetStatistics::ConnectingStarted() {
  std::lock_guard<std::mutex> lock(mutex_);
  connecting_started_ = absl::Now();
}

void FleetStatistics::SessionWelcomed(bool first_session_of_agent) {
  const int now_connected = ++connected_;
  std::lock_guard<std::mutex> lock(mutex_);
  ++sessions_;
  if (!first_session_of_agent) ++reconnects_;
  if (now_connected == agents_) {
    const absl::Time now = absl::Now();
    if (!to_all_connected_.has_value() && connecting_started_.has_value()) {
      to_all_connected_ = now - *connecting_started_;
    }
    if (burst_started_.has_value()) {
      last_burst_ = now - *burst_started_;
      burst_started_.reset();
    }
  }
}

void FleetStatistics::SessionLost(bool was_welcomed) {
  if (!was_welcomed) return;
  const int before = connected_--;
  std::lock_guard<std::mutex> lock(mutex_);
  ++streams_lost_;
  if (before == agents_ && !burst_started_.has_value() && to_all_connected_.has_value()) {
    burst_started_ = absl::Now();
  }
}

void FleetStatistics::JobReceived(v1::JobKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++jobs_[kind].received;
}

void FleetStatistics::JobRejected(v1::JobKind kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++jobs_[kind].rejected;
}

void FleetStatistics::JobFinished(v1::JobKind kind, v1::JobOutcome outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (outcome == v1::JOB_OUTCOME_SUCCEEDED) {
    ++jobs_[kind].completed;
    if (kind == v1::JOB_KIND_DEPLOY) ++renewals_done_;
  } else {
    ++jobs_[kind].failed;
  }
}

void FleetStatistics::InventoryReported(bool ok) {
  --inventories_in_flight_;
  std::lock_guard<std::mutex> lock(mutex_);
  if (ok) {
    ++inventories_reported_;
  } else {
    ++inventories_failed_;
  }
}

void FleetStatistics::Watch(int agent) {
  std::lock_guard<std::mutex> lock(mutex_);
  watched_[agent] = absl::Now();
  arrived_.erase(agent);
}

void FleetStatistics::WorkArrived(int agent) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = watched_.find(agent);
    if (found == watched_.end()) return;
    dispatch_milliseconds_.push_back(absl::ToDoubleMilliseconds(absl::Now() - found->second));
    watched_.erase(found);
    arrived_[agent] = true;
  }
  arrival_.notify_all();
}

bool FleetStatistics::WaitForArrival(int agent, absl::Time deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  const bool arrived = arrival_.wait_until(lock, absl::ToChronoTime(deadline),
                                           [&] { return arrived_.count(agent) > 0; });
  arrived_.erase(agent);
  if (!arrived) watched_.erase(agent);
  return arrived;
}

int FleetStatistics::dispatch_samples() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<int>(dispatch_milliseconds_.size());
}

bool FleetStatistics::all_connected_once() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return to_all_connected_.has_value();
}

int FleetStatistics::jobs_in_flight() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t in_flight = 0;
  for (const auto& [kind, counters] : jobs_) {
    in_flight += counters.received - counters.rejected - counters.completed - counters.failed;
  }
  return static_cast<int>(in_flight);
}

std::string FleetStatistics::StatusLine() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t received = 0;
  int64_t finished = 0;
  int64_t failed = 0;
  for (const auto& [kind, counters] : jobs_) {
    received += counters.received - counters.rejected;
    finished += counters.completed + counters.failed;
    failed += counters.failed;
  }
  return absl::StrFormat(
      "connected %d/%d enrolled %d jobs %d/%d failed %d renewals %d inventories %d reconnects %d "
      "dispatch %d rss %.0fMiB cpu %.1fs",
      connected_.load(), agents_, enrolled_, finished, received, failed, renewals_done_,
      inventories_reported_, reconnects_, dispatch_milliseconds_.size(),
      ResidentBytes() / 1048576.0, CpuSeconds());
}

nlohmann::json FleetStatistics::Report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  nlohmann::json received = nlohmann::json::object();
  nlohmann::json completed = nlohmann::json::object();
  nlohmann::json failed = nlohmann::json::object();
  nlohmann::json rejected = nlohmann::json::object();
  for (const auto& [kind, counters] : jobs_) {
    received[KindName(kind)] = counters.received;
    completed[KindName(kind)] = counters.completed;
    failed[KindName(kind)] = counters.failed;
    rejected[KindName(kind)] = counters.rejected;
  }
  std::vector<double> sorted = dispatch_milliseconds_;
  std::sort(sorted.begin(), sorted.end());
  auto rounded = [](double value) { return std::round(value * 100) / 100; };
  nlohmann::json report = {
      {"agents", agents_},
      {"enrolled", enrolled_},
      {"enrolled_this_run", enrolled_this_run_},
      {"connected", connected_.load()},
      {"seconds_to_all_connected", to_all_connected_.has_value()
                                       ? nlohmann::json(RoundedSeconds(*to_all_connected_))
                                       : nlohmann::json(nullptr)},
      {"sessions", sessions_},
      {"reconnects", reconnects_},
      {"streams_lost", streams_lost_},
      {"connection_failures", connection_failures_.load()},
      {"seconds_to_all_reconnected_after_last_drop",
       last_burst_.has_value() ? nlohmann::json(RoundedSeconds(*last_burst_))
                               : nlohmann::json(nullptr)},
      {"jobs_received", received},
      {"jobs_rejected", rejected},
      {"jobs_completed", completed},
      {"jobs_failed", failed},
      {"renewals_done", renewals_done_},
      {"inventories_reported", inventories_reported_},
      {"inventories_failed", inventories_failed_},
      {"rpc_failures", rpc_failures_.load()},
      {"dispatch_latency_ms",
       {{"p50", rounded(Percentile(sorted, 0.50))},
        {"p90", rounded(Percentile(sorted, 0.90))},
        {"p99", rounded(Percentile(sorted, 0.99))},
        {"max", rounded(sorted.empty() ? 0 : sorted.back())},
        {"count", sorted.size()}}},
      {"rss_bytes", ResidentBytes()},
      {"cpu_seconds", std::round(CpuSeconds() * 100) / 100},
      {"seconds_running", RoundedSeconds(absl::Now() - created_)},
  };
  return report;
}

}  // namespace certfleet::bench
