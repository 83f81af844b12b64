// fleet-sim: one process acting as N certfleet agents against a real
// controller (docs/fleet-sim.md). Enrolls (or reuses) N identities, starts
// N sessions at --connect-rate per second, answers the controller's work,
// optionally measures how long admin-triggered work takes to reach an idle
// agent (--measure-dispatch), and writes a JSON report.
//
// Exit status: 0 after a clean run; 1 when the run ended without every
// agent connected or without every dispatch sample; 2 when it could not
// start (bad options, controller unreachable, admin credentials refused,
// pin mismatch, enrollment refused).

#include <grpcpp/create_channel.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "agent/session/agent_config.h"
#include "agent/session/enrollment.h"
#include "bench/fleet_sim/fleet_enrollment.h"
#include "bench/fleet_sim/fleet_statistics.h"
#include "bench/fleet_sim/simulated_agent.h"
#include "bench/fleet_sim/simulated_host.h"
#include "bench/fleet_sim/simulator_pki.h"
#include "bench/fleet_sim/task_scheduler.h"
#include "controller/cli/admin_connection.h"

namespace certfleet::bench {
namespace {

namespace session = agent::session;

struct Options {
  std::string controller;
  std::string controller_ca_sha256;
  std::string data_dir;
  int agents = 0;
  std::string state_dir = "fleet-sim-state";
  std::string name_prefix = "sim";
  int sites_per_host = 1;
  std::string step_delay = "20ms";
  double failure_rate = 0;
  int key_pool = 64;
  double connect_rate = 500;
  int measure_dispatch = 0;
  std::string run_for;
  bool until_signal = false;
  std::string report;
  int setup_threads = 4;
};

std::atomic<bool> signalled{false};

absl::StatusOr<absl::Duration> ParseDurationOption(const std::string& name,
                                                   const std::string& text) {
  absl::Duration duration;
  if (text == "0") return absl::ZeroDuration();
  if (!absl::ParseDuration(text, &duration) || duration < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " ", text, " is not a duration such as 20ms, 60s or 5m"));
  }
  return duration;
}

int Fail(const std::string& message) {
  std::cerr << "fleet-sim: " << message << "\n";
  return 2;
}

void WriteReport(const std::string& path, const FleetStatistics& statistics) {
  if (path.empty()) return;
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << statistics.Report().dump(2) << "\n";
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
}

// Asks the controller for an inventory of `count` random hosts (a few at a
// time) and records how long each took to reach its agent's stream.
void MeasureDispatch(int count, const std::vector<std::shared_ptr<SimulatedAgent>>& agents,
                     v1::AdminService::Stub& admin, FleetStatistics& statistics,
                     std::atomic<int>& failures) {
  constexpr int kConcurrent = 4;
  // Distinct hosts (cycling through a shuffled fleet when COUNT exceeds
  // it), so that two measurements in flight never watch the same agent.
  std::vector<size_t> order(agents.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(std::random_device{}()));
  std::atomic<int> next{0};
  std::vector<std::thread> workers;
  for (int worker = 0; worker < kConcurrent; ++worker) {
    workers.emplace_back([&] {
      for (int sample = next++; sample < count && !signalled.load(); sample = next++) {
        const SimulatedAgent& agent = *agents[order[static_cast<size_t>(sample) % order.size()]];
        v1::RescanHostRequest request;
        request.set_host_id(agent.host_id());
        request.set_reason("fleet-sim dispatch measurement");
        v1::RescanHostResponse response;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        statistics.Watch(agent.index());
        grpc::Status status = admin.RescanHost(&context, request, &response);
        if (!status.ok()) {
          std::cerr << "fleet-sim: RescanHost " << agent.hostname() << ": "
                    << status.error_message() << "\n";
          ++failures;
          continue;
        }
        if (!statistics.WaitForArrival(agent.index(), absl::Now() + absl::Seconds(60))) {
          std::cerr << "fleet-sim: the rescan of " << agent.hostname()
                    << " did not reach its agent within 60 s\n";
          ++failures;
        }
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
}

int Run(const Options& options) {
  absl::StatusOr<absl::Duration> step_delay = ParseDurationOption("step-delay", options.step_delay);
  if (!step_delay.ok()) return Fail(std::string(step_delay.status().message()));
  std::optional<absl::Duration> run_for;
  if (!options.run_for.empty()) {
    absl::StatusOr<absl::Duration> parsed = ParseDurationOption("run-for", options.run_for);
    if (!parsed.ok()) return Fail(std::string(parsed.status().message()));
    run_for = *parsed;
  } else if (!options.until_signal && options.measure_dispatch == 0) {
    run_for = absl::Seconds(60);
  }
  if (options.agents < 1) return Fail("--agents must be at least 1");
  if (options.failure_rate < 0 || options.failure_rate > 1) {
    return Fail("--failure-rate must be between 0 and 1");
  }
  if (options.connect_rate <= 0) return Fail("--connect-rate must be positive");

  SimulationSettings settings;
  session::AgentConfig& config = settings.agent_config;
  config.controller_address = options.controller;
  config.controller_ca_sha256 =
      absl::AsciiStrToUpper(absl::StrReplaceAll(options.controller_ca_sha256, {{":", ""}}));
  config.rpc_timeout = absl::Seconds(30);
  settings.step_delay = *step_delay;
  settings.failure_rate = options.failure_rate;

  // The admin API first: it says plainly when the controller is down or
  // the credentials are wrong.
  cli::AdminConnectionOptions admin_options;
  admin_options.controller = options.controller;
  admin_options.data_dir = options.data_dir;
  absl::StatusOr<std::unique_ptr<v1::AdminService::Stub>> admin =
      cli::ConnectToAdminApi(admin_options);
  if (!admin.ok()) return Fail(std::string(admin.status().message()));
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::GetFleetSummaryRequest request;
    v1::GetFleetSummaryResponse response;
    grpc::Status status = (*admin)->GetFleetSummary(&context, request, &response);
    if (!status.ok()) {
      return Fail(cli::DescribeCallError(status, admin_options, "the admin API check"));
    }
  }
  absl::StatusOr<crypto::Certificate> fleet_ca = session::FetchPinnedControllerCa(config);
  if (!fleet_ca.ok()) return Fail(std::string(fleet_ca.status().message()));

  const std::filesystem::path state_dir(options.state_dir);
  std::cout << "fleet-sim: preparing " << options.key_pool << " pool keys in "
            << (state_dir / "pki").string() << std::endl;
  absl::StatusOr<SimulatorPki> pki =
      SimulatorPki::LoadOrCreate(state_dir / "pki", options.key_pool);
  if (!pki.ok()) return Fail(std::string(pki.status().message()));

  // Identities and hosts, a few at a time.
  std::shared_ptr<grpc::Channel> enrollment_channel =
      session::MakeControllerChannel(config, *fleet_ca, nullptr);
  std::unique_ptr<v1::AgentService::Stub> enrollment_stub =
      v1::AgentService::NewStub(enrollment_channel);
  EnrollmentContext enrollment{.fleet_ca = *fleet_ca,
                               .admin = admin->get(),
                               .enrollment = enrollment_stub.get(),
                               .rpc_timeout = config.rpc_timeout};
  struct Prepared {
    std::string hostname;
    std::optional<EnrolledIdentity> identity;
    std::optional<SimulatedHost> host;
  };
  std::vector<Prepared> prepared(static_cast<size_t>(options.agents));
  std::atomic<int> next{0};
  std::atomic<int> enrolled_now{0};
  std::mutex error_mutex;
  std::string first_error;
  const absl::Time setup_started = absl::Now();
  {
    std::vector<std::thread> workers;
    for (int worker = 0; worker < options.setup_threads; ++worker) {
      workers.emplace_back([&] {
        for (int i = next++; i < options.agents; i = next++) {
          {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (!first_error.empty()) return;
          }
          Prepared& slot = prepared[static_cast<size_t>(i)];
          slot.hostname = absl::StrFormat("%s-%05d", options.name_prefix, i + 1);
          const std::filesystem::path agent_dir = state_dir / "agents" / slot.hostname;
          absl::StatusOr<EnrolledIdentity> identity =
              LoadOrEnrollAgent(enrollment, agent_dir, slot.hostname, i + 1);
          absl::StatusOr<SimulatedHost> host = SimulatedHost::Load(agent_dir / "host.json");
          if (absl::IsNotFound(host.status())) {
            host = SimulatedHost::Create(slot.hostname, i + 1, options.sites_per_host, *pki,
                                         agent_dir / "host.json");
          }
          if (!identity.ok() || !host.ok()) {
            std::lock_guard<std::mutex> lock(error_mutex);
            if (first_error.empty()) {
              first_error = std::string(!identity.ok() ? identity.status().message()
                                                       : host.status().message());
            }
            return;
          }
          if (identity->enrolled_now) ++enrolled_now;
          slot.identity = *std::move(identity);
          slot.host = *std::move(host);
          if ((i + 1) % 1000 == 0) {
            std::cout << "fleet-sim: " << (i + 1) << " identities and hosts ready" << std::endl;
          }
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
  }
  if (!first_error.empty()) return Fail(first_error);
  std::cout << absl::StrFormat("fleet-sim: %d agents ready (%d enrolled now) in %.1f s",
                               options.agents, enrolled_now.load(),
                               absl::ToDoubleSeconds(absl::Now() - setup_started))
            << std::endl;

  FleetStatistics statistics(options.agents);
  statistics.SetEnrolled(options.agents, enrolled_now.load());
  TaskScheduler scheduler(2);
  std::vector<std::shared_ptr<SimulatedAgent>> agents;
  agents.reserve(prepared.size());
  for (size_t i = 0; i < prepared.size(); ++i) {
    agents.push_back(std::make_shared<SimulatedAgent>(
        static_cast<int>(i), prepared[i].hostname, prepared[i].identity->identity,
        *std::move(prepared[i].host), *pki, scheduler, statistics, settings));
  }
  prepared.clear();

  const absl::Time started = absl::Now();
  statistics.ConnectingStarted();
  for (size_t i = 0; i < agents.size(); ++i) {
    std::shared_ptr<SimulatedAgent> agent = agents[i];
    scheduler.RunAt(started + absl::Seconds(static_cast<double>(i) / options.connect_rate),
                    [agent] { agent->Start(); });
  }

  std::atomic<bool> measuring_done{options.measure_dispatch == 0};
  std::atomic<int> dispatch_failures{0};
  std::thread measurer;
  absl::Time last_status = absl::InfinitePast();
  absl::Time idle_since = absl::InfiniteFuture();
  while (!signalled.load()) {
    const absl::Time now = absl::Now();
    if (now - last_status >= absl::Seconds(5)) {
      std::cout << "fleet-sim: " << statistics.StatusLine() << std::endl;
      WriteReport(options.report, statistics);
      last_status = now;
    }
    // Idle: every agent connected, no job running and no inventory report
    // unanswered, for two seconds in a row.
    const bool idle = statistics.connected() == options.agents &&
                      statistics.jobs_in_flight() == 0 && statistics.inventories_in_flight() == 0;
    if (!idle) idle_since = absl::InfiniteFuture();
    if (idle && idle_since == absl::InfiniteFuture()) idle_since = now;
    if (!measurer.joinable() && options.measure_dispatch > 0 && idle &&
        now - idle_since >= absl::Seconds(2)) {
      std::cout << "fleet-sim: every agent connected and idle; measuring dispatch to "
                << options.measure_dispatch << " hosts" << std::endl;
      measurer = std::thread([&] {
        MeasureDispatch(options.measure_dispatch, agents, **admin, statistics, dispatch_failures);
        measuring_done = true;
      });
    }
    if (run_for.has_value() ? now - started >= *run_for
                            : (!options.until_signal && measuring_done.load())) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (measurer.joinable()) measurer.join();

  std::cout << "fleet-sim: stopping" << std::endl;
  for (const std::shared_ptr<SimulatedAgent>& agent : agents) agent->Stop();
  const absl::Time stop_deadline = absl::Now() + absl::Seconds(15);
  while (absl::Now() < stop_deadline) {
    bool live = false;
    for (const std::shared_ptr<SimulatedAgent>& agent : agents) live |= agent->has_live_stream();
    if (!live) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::cout << "fleet-sim: " << statistics.StatusLine() << std::endl;
  WriteReport(options.report, statistics);
  scheduler.Stop();

  int status = 0;
  if (!statistics.all_connected_once()) {
    std::cerr << "fleet-sim: not every agent was connected at once during the run\n";
    status = 1;
  } else if (statistics.dispatch_samples() < options.measure_dispatch) {
    std::cerr << "fleet-sim: only " << statistics.dispatch_samples() << " of "
              << options.measure_dispatch << " dispatch samples (" << dispatch_failures.load()
              << " failed)\n";
    status = 1;
  }
  // Everything is reported and every stream closed. Tearing down ten
  // thousand gRPC channels one by one takes minutes (each destructor
  // contends on gRPC's locks), so the process ends here instead.
  std::cout.flush();
  std::cerr.flush();
  std::_Exit(status);
}

}  // namespace
}  // namespace certfleet::bench

int main(int argc, char** argv) {
  using certfleet::bench::Options;
  // As in the controller and the agent: no lock-order cycle checks on every
  // absl::Mutex (gRPC's included), which Debian's abseil leaves on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Signals go to one thread that waits for them; every other thread
  // (gRPC's included, created later) inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([signals] {
    int received = 0;
    sigwait(&signals, &received);
    certfleet::bench::signalled = true;
  }).detach();

  Options options;
  CLI::App app{"fleet-sim: one process acting as N certfleet agents (docs/fleet-sim.md)"};
  app.add_option("--controller", options.controller, "Controller address 127.0.0.1:PORT")
      ->required();
  app.add_option("--controller-ca-sha256", options.controller_ca_sha256,
                 "SHA-256 fingerprint of the fleet CA (certfleet-controller prints it)")
      ->required();
  app.add_option("--data-dir", options.data_dir,
                 "The controller's data dir (admin/ca.crt, admin/admin.crt, admin/admin.key)")
      ->required();
  app.add_option("--agents", options.agents, "How many agents to simulate")->required();
  app.add_option("--state-dir", options.state_dir, "Identities, hosts and keys kept between runs")
      ->capture_default_str();
  app.add_option("--name-prefix", options.name_prefix, "Hostnames are PREFIX-00001 ...")
      ->capture_default_str();
  app.add_option("--sites-per-host", options.sites_per_host, "IIS sites (SSL bindings) per host")
      ->capture_default_str();
  app.add_option("--step-delay", options.step_delay, "Time each job step takes")
      ->capture_default_str();
  app.add_option("--failure-rate", options.failure_rate,
                 "Share of deploys whose verify step fails (they roll back)")
      ->capture_default_str();
  app.add_option("--key-pool", options.key_pool, "RSA-2048 keys shared by the simulated hosts")
      ->capture_default_str();
  app.add_option("--connect-rate", options.connect_rate, "New connections started per second")
      ->capture_default_str();
  app.add_option("--measure-dispatch", options.measure_dispatch,
                 "Once all are connected and idle: time COUNT admin rescans to their agents");
  auto* run_for = app.add_option("--run-for", options.run_for,
                                 "Run this long (default 60s; with --measure-dispatch: until "
                                 "measured)");
  app.add_flag("--until-signal", options.until_signal, "Run until SIGINT or SIGTERM")
      ->excludes(run_for);
  app.add_option("--report", options.report, "JSON report, rewritten every 5 s and at exit");
  app.add_option("--setup-threads", options.setup_threads,
                 "Threads that enroll and build hosts before the run")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return certfleet::bench::Run(options);
}
