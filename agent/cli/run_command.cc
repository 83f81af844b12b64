#include "agent/cli/run_command.h"

#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/drivers/iis6/iis6_driver.h"
#include "agent/session/controller_session.h"

namespace certfleet::agent::cli {
namespace {

// Writes one line per event, prefixed with the UTC time; events come from
// several threads.
class EventWriter {
 public:
  explicit EventWriter(std::ostream& out) : out_(out) {}

  void Write(std::string_view line) {
    std::lock_guard<std::mutex> lock(mutex_);
    out_ << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone())
         << " certfleet-agent: " << line << std::endl;
  }

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

}  // namespace

void RegisterRunCommand(CLI::App& app, int& exit_code) {
  struct RunFlags {
    std::string config_file;
    // Option key -> the values given on the command line.
    std::map<std::string, std::vector<std::string>> values;
  };
  auto flags = std::make_shared<RunFlags>();
  CLI::App* command = app.add_subcommand(
      "run",
      "Run the agent: enroll on first start, keep a session with the controller, run its jobs "
      "and report the inventory, until SIGTERM or SIGINT");
  command
      ->add_option("--config", flags->config_file,
                   "The YAML configuration (/etc/certfleet/agent.yaml)")
      ->required();
  for (const session::ConfigOption& option : session::AgentConfigOptions()) {
    std::vector<std::string>& values = flags->values[option.key];
    CLI::Option* added = command->add_option(
        option.flag, values, absl::StrCat(option.description, " [", option.key, "]"));
    if (!option.repeatable) added->expected(1);
  }
  command->callback([flags, &exit_code] {
    std::vector<session::ConfigOverride> overrides;
    for (const session::ConfigOption& option : session::AgentConfigOptions()) {
      for (const std::string& value : flags->values[option.key]) {
        overrides.push_back({option.key, value});
      }
    }
    exit_code = RunAgent(flags->config_file, overrides, std::cerr);
  });
}

int RunAgent(const std::filesystem::path& config_file,
             const std::vector<session::ConfigOverride>& overrides, std::ostream& error) {
  absl::StatusOr<session::AgentConfig> config = session::LoadAgentConfig(config_file, overrides);
  if (!config.ok()) {
    error << "certfleet-agent: " << config.status().message() << "\n";
    return 1;
  }
  iis6::Iis6DriverSettings settings;
  settings.host_root = config->iis6_host_root;
  if (!config->iis6_address.empty()) settings.address = config->iis6_address;
  settings.restart.timeout = config->iis6_restart_timeout;
  if (!config->iis6_restart_command.empty()) {
    settings.restart.method = iis6::RestartMethod::kCommand;
    settings.restart.command = config->iis6_restart_command;
  }
  absl::StatusOr<std::unique_ptr<iis6::Iis6Driver>> driver =
      iis6::Iis6Driver::Open(std::move(settings));
  if (!driver.ok()) {
    error << "certfleet-agent: cannot open the IIS 6 host root " << config->iis6_host_root.string()
          << " (driver.iis6.host_root): " << driver.status().message() << "\n";
    return 1;
  }

  // SIGTERM and SIGINT are waited for on a thread of their own; every
  // thread started from here on inherits the blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto writer = std::make_shared<EventWriter>(error);
  absl::StatusOr<std::unique_ptr<session::ControllerSession>> agent =
      session::ControllerSession::Create(*config, **driver,
                                         [writer](std::string_view line) { writer->Write(line); });
  if (!agent.ok()) {
    error << "certfleet-agent: " << agent.status().message() << "\n";
    return 1;
  }
  writer->Write(absl::StrCat("starting: host root ", config->iis6_host_root.string(),
                             ", state dir ", config->state_dir.string(), ", controller ",
                             config->controller_address));

  std::atomic<bool> finished = false;
  std::thread signal_waiter([&] {
    const timespec poll = {.tv_sec = 0, .tv_nsec = 200'000'000};
    while (!finished.load()) {
      const int received = sigtimedwait(&signals, nullptr, &poll);
      if (received == SIGTERM || received == SIGINT) {
        writer->Write(absl::StrCat(received == SIGTERM ? "SIGTERM" : "SIGINT",
                                   ": stopping (a running job finishes or stops before changing "
                                   "the binding)"));
        (*agent)->Stop();
        return;
      }
    }
  });
  const absl::Status status = (*agent)->Run();
  finished.store(true);
  signal_waiter.join();
  agent->reset();
  if (!status.ok()) {
    writer->Write(absl::StrCat("stopped: ", status.message()));
    return 1;
  }
  return 0;
}

}  // namespace certfleet::agent::cli
