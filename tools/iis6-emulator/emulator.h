// The IIS 6 emulator: serves what an emulated IIS 6 host root binds, the way
// IIS 6 would, so that the agent's verify step is a real TLS handshake
// (docs/iis6-emulator.md, docs/iis6-emulated-host.md).
//
// One event loop thread runs everything: epoll over non-blocking listening
// and connection sockets (no thread per connection), an eventfd for requests
// from other threads, and optionally a signalfd for SIGHUP (reload) and
// SIGTERM/SIGINT (stop). Connections are capped (accepting pauses at the cap)
// and closed after an idle timeout.
//
// Start-up and reload follow the host-root contract: the pid goes to
// run/iis6-emulator.pid, and every reload (also one whose configuration
// turns out unreadable, which keeps the previous one serving) increments
// run/reload-generation, both written atomically, so that a driver waiting
// for a reload never hangs. A reload keeps every listener whose address and
// port are still bound and swaps what it serves to new connections; it
// closes listeners no longer bound and opens new ones. The run/ folder is
// locked (flock) while an emulator serves the host root, so two emulators
// never serve the same host.
//
// Thread safety: Run must be called from one thread, once. RequestReload,
// RequestStop and reload_generation may be called from any thread, also
// while Run is in progress. The destructor must not race with Run.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_EMULATOR_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_EMULATOR_H_

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tools/iis6-emulator/connection.h"
#include "tools/iis6-emulator/event_log.h"
#include "tools/iis6-emulator/host_configuration.h"
#include "tools/iis6-emulator/host_layout.h"
#include "tools/iis6-emulator/tls_server_context.h"

namespace certfleet::iis6_emulator {

// Whether the emulator reacts to process signals itself.
enum class SignalHandling {
  // Only RequestReload and RequestStop control it (tests in-process).
  kRequestsOnly,
  // SIGHUP reloads, SIGTERM and SIGINT stop, read through a signalfd.
  // REQUIRES: the process blocked SIGHUP, SIGTERM and SIGINT in every thread
  // before Start (the executable does so first thing in main).
  kProcessSignals,
};

struct EmulatorOptions {
  std::filesystem::path host_root;
  // Overrides emulation.conf's address for "All Unassigned" bindings.
  std::optional<std::string> address;
  // LoadOptions::withheld_intermediate_subject (fault injection).
  std::string withheld_intermediate_subject;
  // Fault injection (the --reload-delay flag): a reload asked for (SIGHUP or
  // RequestReload) happens only this long after it was asked for, so that a
  // test can act while a driver waits in its restart step. Requests made
  // while one is pending join it. Zero: reload at once.
  absl::Duration reload_delay = absl::ZeroDuration();
  TlsVersion maximum_tls_version = TlsVersion::kTls12;
  // Accepting pauses while this many connections are open.
  int maximum_connections = 256;
  // A connection that makes no progress for this long is closed.
  absl::Duration idle_timeout = absl::Seconds(30);
  SignalHandling signal_handling = SignalHandling::kRequestsOnly;
};

class Emulator {
 public:
  // Locks the host root, reads its configuration, opens a listener for every
  // endpoint it binds (logging each binding that is not served and why),
  // writes run/reload-generation (one more than before, 1 for a new host)
  // and then run/iis6-emulator.pid, so that once the pid file exists the
  // endpoints accept connections. `log` must outlive the emulator.
  // Returns InvalidArgument for invalid options, FailedPrecondition when
  // another emulator serves this host root or the signals are not blocked,
  // LoadHostConfiguration's errors when the configuration is unreadable, and
  // Internal when an OS resource (epoll, eventfd, signalfd) cannot be made.
  // Endpoints that cannot be opened (address not local, port taken) are
  // logged, not errors: IIS starts the other sites.
  static absl::StatusOr<std::unique_ptr<Emulator>> Start(const EmulatorOptions& options,
                                                         EventLog& log);

  // Closes every socket and, when it still holds this process's pid, removes
  // the pid file.
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // Serves until a stop is requested (RequestStop, or SIGTERM/SIGINT with
  // kProcessSignals), then closes every connection and listener, removes the
  // pid file and returns OK. Returns Internal when the event loop itself
  // fails (epoll_wait), after the same clean-up.
  absl::Status Run();

  // Asks the loop to reread the host root, as SIGHUP does. Requests made
  // before the loop reads them coalesce into one reload.
  void RequestReload();

  // Asks the loop to stop; Run then returns.
  void RequestStop();

  // The value last written to run/reload-generation.
  std::uint64_t reload_generation() const { return reload_generation_.load(); }

 private:
  // Address and port of a listener.
  using EndpointKey = std::pair<std::string, std::uint16_t>;

  struct Listener {
    int descriptor = -1;
    std::shared_ptr<const EndpointService> service;
  };

  Emulator(EmulatorOptions options, EventLog& log);

  absl::Status Initialize();
  absl::Status LockHostRoot();
  void ApplyConfiguration(const HostConfiguration& configuration);
  absl::Status OpenListener(const EndpointKey& key, std::shared_ptr<const EndpointService> service);
  void CloseListener(const EndpointKey& key);
  void Reload(std::string_view reason);
  // Reload(reason) now, or when options_.reload_delay has passed.
  void ScheduleReload(std::string_view reason);
  // Runs a scheduled reload whose time has come.
  void RunDueReload();
  void AdvanceGeneration();
  void WritePidFile();
  void RemovePidFile();

  void HandleControlEvent();
  void HandleSignals();
  void AcceptConnections(const EndpointKey& key);
  void AdvanceConnection(int descriptor);
  void CloseConnection(int descriptor);
  void CloseIdleConnections();
  // How long epoll may wait: until the next idle deadline or scheduled
  // reload; -1 when there is neither.
  int MillisecondsUntilNextDeadline() const;
  void SetAccepting(bool accepting);
  void ReleaseResources();

  const EmulatorOptions options_;
  const HostLayout layout_;
  EventLog& log_;

  int epoll_descriptor_ = -1;
  int control_descriptor_ = -1;  // eventfd written by RequestReload/RequestStop.
  int signal_descriptor_ = -1;   // signalfd, with kProcessSignals only.
  int lock_descriptor_ = -1;     // The run/ folder, flock-ed while serving.
  bool pid_file_written_ = false;

  std::atomic<bool> reload_requested_{false};
  std::atomic<bool> stop_requested_{false};
  std::atomic<std::uint64_t> reload_generation_{0};

  // Everything below belongs to the loop thread (or to Start before it).
  bool stopping_ = false;
  bool accepting_ = true;
  std::map<EndpointKey, Listener> listeners_;
  std::unordered_map<int, EndpointKey> listener_keys_;
  struct ConnectionEntry {
    std::unique_ptr<Connection> connection;
    Connection::Interest interest;
  };
  std::unordered_map<int, ConnectionEntry> connections_;
  // Set while a delayed reload waits (EmulatorOptions::reload_delay).
  std::optional<Connection::Clock::time_point> scheduled_reload_at_;
  std::string scheduled_reload_reason_;
};

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_EMULATOR_H_
