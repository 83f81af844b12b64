// iis6-emulator: serves what an emulated IIS 6 host root binds, over real TLS
// and plain HTTP, until SIGTERM or SIGINT; SIGHUP rereads the host root.
// See docs/iis6-emulator.md.

#include <signal.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/iis6-emulator/emulator.h"
#include "tools/iis6-emulator/event_log.h"
#include "tools/iis6-emulator/host_configuration.h"
#include "tools/iis6-emulator/tls_server_context.h"

int main(int argc, char** argv) {
  // Blocked before anything else so that a SIGHUP or SIGTERM sent while the
  // emulator starts waits for the signalfd instead of killing the process.
  sigset_t signals;
  sigemptyset(&signals);
  for (int signal_number : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, signal_number);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  namespace emulator = certfleet::iis6_emulator;
  CLI::App app{
      "iis6-emulator: serves the TLS and HTTP bindings of an emulated IIS 6 host root "
      "(MetaBase.xml and certificate stores) as IIS 6 would. SIGHUP rereads the host root, "
      "SIGTERM or SIGINT stops."};
  std::string host_root;
  std::optional<std::string> address;
  std::optional<std::string> log_file;
  std::string maximum_tls = "1.2";
  int maximum_connections = 256;
  int idle_timeout_seconds = 30;
  std::string withheld_intermediate;
  double reload_delay_seconds = 0;
  app.add_option("--host-root", host_root, "The emulated host's root folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--address", address,
                 "IPv4 address for \"All Unassigned\" bindings (overrides emulation.conf)")
      ->check(CLI::ValidIPV4);
  app.add_option("--log-file", log_file, "Append the event log to this file instead of stderr");
  app.add_option("--max-tls", maximum_tls, "Newest TLS version offered: 1.0, 1.2 or 1.3")
      ->check(CLI::IsMember({"1.0", "1.2", "1.3"}))
      ->capture_default_str();
  app.add_option("--max-connections", maximum_connections,
                 "Connections open at once before accepting pauses")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--idle-timeout", idle_timeout_seconds,
                 "Seconds a connection may stay idle before it is closed")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  app.add_option("--withhold-intermediate", withheld_intermediate,
                 "Fault injection for tests: never send a CA-store certificate whose subject "
                 "contains this text, so renewed sites serve an incomplete chain");
  app.add_option("--reload-delay", reload_delay_seconds,
                 "Fault injection for tests: reload this many seconds after SIGHUP instead of at "
                 "once, so that a test can act while the agent waits in its restart step")
      ->check(CLI::Range(0.0, 3600.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? 0 : 2;
  }

  std::unique_ptr<emulator::EventLog> log;
  if (log_file.has_value()) {
    absl::StatusOr<std::unique_ptr<emulator::EventLog>> opened =
        emulator::EventLog::ToFile(*log_file);
    if (!opened.ok()) {
      std::cerr << "iis6-emulator: " << opened.status().message() << "\n";
      return 1;
    }
    log = *std::move(opened);
  } else {
    log = emulator::EventLog::ToStandardError();
  }

  emulator::EmulatorOptions options;
  options.host_root = host_root;
  options.address = address;
  options.withheld_intermediate_subject = withheld_intermediate;
  options.reload_delay = absl::Seconds(reload_delay_seconds);
  options.maximum_tls_version = *emulator::ParseTlsVersion(maximum_tls);
  options.maximum_connections = maximum_connections;
  options.idle_timeout = absl::Seconds(idle_timeout_seconds);
  options.signal_handling = emulator::SignalHandling::kProcessSignals;
  absl::StatusOr<std::unique_ptr<emulator::Emulator>> started =
      emulator::Emulator::Start(options, *log);
  if (!started.ok()) {
    const std::string message(started.status().message());
    log->Write(message);
    if (log_file.has_value()) std::cerr << "iis6-emulator: " << message << "\n";
    return 1;
  }
  const absl::Status finished = (*started)->Run();
  started->reset();
  return finished.ok() ? 0 : 1;
}
