#include "tools/iis6-emulator/emulator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <system_error>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/io/file.h"

namespace certfleet::iis6_emulator {
namespace {

// Small files: a pid or a generation number.
constexpr size_t kMaximumRunFileBytes = 64;
constexpr int kEventsPerWait = 64;

std::string ErrnoText() { return std::strerror(errno); }

std::string FormatPeer(const sockaddr_in& address) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address.sin_addr, text, sizeof(text));
  return absl::StrCat(text, ":", ntohs(address.sin_port));
}

std::string KeyText(const std::pair<std::string, std::uint16_t>& key) {
  return absl::StrCat(key.first, ":", key.second);
}

std::string_view SignalName(std::uint32_t signal_number) {
  switch (signal_number) {
    case SIGHUP:
      return "SIGHUP";
    case SIGTERM:
      return "SIGTERM";
    case SIGINT:
      return "SIGINT";
    default:
      return "a signal";
  }
}

}  // namespace

Emulator::Emulator(EmulatorOptions options, EventLog& log)
    : options_(std::move(options)), layout_(options_.host_root), log_(log) {}

absl::StatusOr<std::unique_ptr<Emulator>> Emulator::Start(const EmulatorOptions& options,
                                                          EventLog& log) {
  if (options.host_root.empty()) return absl::InvalidArgumentError("no host root given");
  if (options.maximum_connections < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the connection limit must be at least 1, not ", options.maximum_connections));
  }
  if (options.idle_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the idle timeout must be positive");
  }
  // Absolute, so that the log names real paths whatever the working folder.
  EmulatorOptions absolute_options = options;
  std::error_code error;
  absolute_options.host_root = std::filesystem::absolute(options.host_root, error);
  if (error) absolute_options.host_root = options.host_root;
  std::unique_ptr<Emulator> emulator(new Emulator(std::move(absolute_options), log));
  if (absl::Status initialized = emulator->Initialize(); !initialized.ok()) return initialized;
  return emulator;
}

Emulator::~Emulator() {
  ReleaseResources();
  // Closed only now, so that RequestStop and RequestReload never write to a
  // descriptor number that has been reused.
  for (int descriptor : {control_descriptor_, epoll_descriptor_}) {
    if (descriptor >= 0) ::close(descriptor);
  }
}

absl::Status Emulator::Initialize() {
  std::error_code error;
  if (!std::filesystem::is_directory(layout_.root(), error)) {
    return absl::NotFoundError(
        absl::StrCat("the host root ", layout_.root().string(), " is not a folder"));
  }
  if (absl::Status locked = LockHostRoot(); !locked.ok()) return locked;

  absl::StatusOr<HostConfiguration> configuration = LoadHostConfiguration(
      layout_,
      LoadOptions{.address_override = options_.address,
                  .withheld_intermediate_subject = options_.withheld_intermediate_subject});
  if (!configuration.ok()) {
    return absl::Status(configuration.status().code(),
                        absl::StrCat("cannot start: ", configuration.status().message()));
  }

  epoll_descriptor_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_descriptor_ < 0)
    return absl::InternalError(absl::StrCat("epoll_create1: ", ErrnoText()));
  control_descriptor_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (control_descriptor_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", ErrnoText()));
  epoll_event control_event{.events = EPOLLIN, .data = {.fd = control_descriptor_}};
  if (epoll_ctl(epoll_descriptor_, EPOLL_CTL_ADD, control_descriptor_, &control_event) != 0) {
    return absl::InternalError(absl::StrCat("epoll_ctl: ", ErrnoText()));
  }
  if (options_.signal_handling == SignalHandling::kProcessSignals) {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal_number : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&signals, signal_number);
    sigset_t blocked;
    pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
    for (int signal_number : {SIGHUP, SIGTERM, SIGINT}) {
      if (sigismember(&blocked, signal_number) != 1) {
        return absl::FailedPreconditionError(
            "SIGHUP, SIGTERM and SIGINT must be blocked before the emulator reads them");
      }
    }
    signal_descriptor_ = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
    if (signal_descriptor_ < 0) return absl::InternalError(absl::StrCat("signalfd: ", ErrnoText()));
    epoll_event signal_event{.events = EPOLLIN, .data = {.fd = signal_descriptor_}};
    if (epoll_ctl(epoll_descriptor_, EPOLL_CTL_ADD, signal_descriptor_, &signal_event) != 0) {
      return absl::InternalError(absl::StrCat("epoll_ctl: ", ErrnoText()));
    }
  }

  log_.Write(absl::StrCat("starting on host root ", layout_.root().string(),
                          "; \"All Unassigned\" is ", configuration->default_address,
                          "; TLS 1.0 to ",
                          std::string(TlsVersionName(options_.maximum_tls_version))));
  ApplyConfiguration(*configuration);
  AdvanceGeneration();
  WritePidFile();
  log_.Write(absl::StrCat("serving ", listeners_.size(), " endpoint(s), reload generation ",
                          reload_generation_.load()));
  return absl::OkStatus();
}

absl::Status Emulator::LockHostRoot() {
  const std::filesystem::path run_folder = layout_.RunFolder();
  if (::mkdir(run_folder.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", run_folder.string(), ": ", ErrnoText()));
  }
  lock_descriptor_ = ::open(run_folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (lock_descriptor_ < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot open ", run_folder.string(), ": ", ErrnoText()));
  }
  if (::flock(lock_descriptor_, LOCK_EX | LOCK_NB) != 0) {
    const absl::StatusOr<std::string> pid = io::ReadFile(layout_.PidFile(), kMaximumRunFileBytes);
    return absl::FailedPreconditionError(absl::StrCat(
        "another iis6-emulator already serves the host root ", layout_.root().string(),
        pid.ok() ? absl::StrCat(" (pid ", absl::StripAsciiWhitespace(*pid), ")") : std::string()));
  }
  return absl::OkStatus();
}

void Emulator::ApplyConfiguration(const HostConfiguration& configuration) {
  for (const std::string& problem : configuration.problems) log_.Write(problem);

  std::map<EndpointKey, std::shared_ptr<const EndpointService>> services;
  for (const EndpointConfiguration& endpoint : configuration.endpoints) {
    auto service = std::make_shared<EndpointService>();
    service->configuration = endpoint;
    if (endpoint.identity.has_value()) {
      absl::StatusOr<std::shared_ptr<const TlsServerContext>> context =
          TlsServerContext::Create(*endpoint.identity, options_.maximum_tls_version);
      if (!context.ok()) {
        log_.Write(absl::StrCat("not listening on ", endpoint.AddressText(), ": ",
                                context.status().message()));
        continue;
      }
      service->tls = *std::move(context);
    }
    services.emplace(EndpointKey{endpoint.address, endpoint.port}, std::move(service));
  }

  std::vector<EndpointKey> unbound;
  for (const auto& [key, listener] : listeners_) {
    if (!services.contains(key)) unbound.push_back(key);
  }
  for (const EndpointKey& key : unbound) {
    log_.Write(absl::StrCat("closing the listener on ", KeyText(key),
                            ": no started site binds it any more"));
    CloseListener(key);
  }

  for (auto& [key, service] : services) {
    const std::string description = service->configuration.Describe();
    auto existing = listeners_.find(key);
    if (existing != listeners_.end()) {
      const bool changed = existing->second.service->configuration.Describe() != description;
      log_.Write(absl::StrCat("keeping the listener on ", KeyText(key),
                              changed ? ", now serving " : ", still serving ", description));
      existing->second.service = std::move(service);
      continue;
    }
    if (absl::Status opened = OpenListener(key, service); !opened.ok()) {
      log_.Write(absl::StrCat("not listening on ", KeyText(key), ": ", opened.message()));
      continue;
    }
    log_.Write(absl::StrCat("listening: ", description));
  }
}

absl::Status Emulator::OpenListener(const EndpointKey& key,
                                    std::shared_ptr<const EndpointService> service) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(key.second);
  if (inet_pton(AF_INET, key.first.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(key.first, " is not an IPv4 address"));
  }
  const int descriptor = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (descriptor < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText()));
  const int enable = 1;
  ::setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &enable, sizeof(enable));
  if (::bind(descriptor, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      ::listen(descriptor, SOMAXCONN) != 0) {
    const std::string reason = ErrnoText();
    ::close(descriptor);
    return absl::UnavailableError(absl::StrCat("cannot listen: ", reason));
  }
  epoll_event event{.events = accepting_ ? static_cast<std::uint32_t>(EPOLLIN) : 0u,
                    .data = {.fd = descriptor}};
  if (epoll_ctl(epoll_descriptor_, EPOLL_CTL_ADD, descriptor, &event) != 0) {
    const std::string reason = ErrnoText();
    ::close(descriptor);
    return absl::InternalError(absl::StrCat("epoll_ctl: ", reason));
  }
  listeners_[key] = Listener{.descriptor = descriptor, .service = std::move(service)};
  listener_keys_[descriptor] = key;
  return absl::OkStatus();
}

void Emulator::CloseListener(const EndpointKey& key) {
  auto found = listeners_.find(key);
  if (found == listeners_.end()) return;
  const int descriptor = found->second.descriptor;
  epoll_ctl(epoll_descriptor_, EPOLL_CTL_DEL, descriptor, nullptr);
  ::close(descriptor);
  listener_keys_.erase(descriptor);
  listeners_.erase(found);
}

void Emulator::Reload(std::string_view reason) {
  log_.Write(absl::StrCat("reloading (", std::string(reason), ")"));
  absl::StatusOr<HostConfiguration> configuration = LoadHostConfiguration(
      layout_,
      LoadOptions{.address_override = options_.address,
                  .withheld_intermediate_subject = options_.withheld_intermediate_subject});
  if (configuration.ok()) {
    ApplyConfiguration(*configuration);
  } else {
    log_.Write(absl::StrCat("reload failed, still serving the previous configuration: ",
                            configuration.status().message()));
  }
  // Always: a driver waiting for the reload must see it happen, whatever its
  // outcome.
  AdvanceGeneration();
  log_.Write(absl::StrCat("reload ", configuration.ok() ? "done" : "refused", ", serving ",
                          listeners_.size(), " endpoint(s), reload generation ",
                          reload_generation_.load()));
}

void Emulator::ScheduleReload(std::string_view reason) {
  if (options_.reload_delay <= absl::ZeroDuration()) {
    Reload(reason);
    return;
  }
  if (scheduled_reload_at_.has_value()) {
    log_.Write(absl::StrCat(std::string(reason), ": joins the reload already scheduled"));
    return;
  }
  scheduled_reload_at_ =
      Connection::Clock::now() + absl::ToChronoMilliseconds(options_.reload_delay);
  scheduled_reload_reason_ = std::string(reason);
  log_.Write(absl::StrCat(std::string(reason), ": reloading in ",
                          absl::FormatDuration(options_.reload_delay),
                          " (--reload-delay fault injection)"));
}

void Emulator::RunDueReload() {
  if (!scheduled_reload_at_.has_value() || Connection::Clock::now() < *scheduled_reload_at_) return;
  scheduled_reload_at_.reset();
  Reload(absl::StrCat(scheduled_reload_reason_, ", delayed"));
}

void Emulator::AdvanceGeneration() {
  std::uint64_t previous = reload_generation_.load();
  if (previous == 0) {
    // A new emulator continues the host's count, so that a driver that saw
    // the previous emulator's value sees this one change it.
    absl::StatusOr<std::string> text =
        io::ReadFile(layout_.ReloadGenerationFile(), kMaximumRunFileBytes);
    if (text.ok() && !absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &previous)) previous = 0;
  }
  const std::uint64_t next = previous + 1;
  if (absl::Status written =
          io::WriteFileAtomically(layout_.ReloadGenerationFile(), absl::StrCat(next, "\n"), 0644);
      !written.ok()) {
    log_.Write(absl::StrCat("cannot write the reload generation: ", written.message()));
  }
  reload_generation_.store(next);
}

void Emulator::WritePidFile() {
  if (absl::Status written =
          io::WriteFileAtomically(layout_.PidFile(), absl::StrCat(::getpid(), "\n"), 0644);
      !written.ok()) {
    log_.Write(absl::StrCat("cannot write the pid file: ", written.message()));
    return;
  }
  pid_file_written_ = true;
}

void Emulator::RemovePidFile() {
  if (!pid_file_written_) return;
  pid_file_written_ = false;
  // Only our own: a pid file another process wrote meanwhile is not ours to
  // remove.
  absl::StatusOr<std::string> text = io::ReadFile(layout_.PidFile(), kMaximumRunFileBytes);
  std::int64_t pid = 0;
  if (text.ok() && absl::SimpleAtoi(absl::StripAsciiWhitespace(*text), &pid) && pid == ::getpid()) {
    std::error_code ignored;
    std::filesystem::remove(layout_.PidFile(), ignored);
  }
}

void Emulator::RequestReload() {
  reload_requested_.store(true);
  const std::uint64_t one = 1;
  static_cast<void>(::write(control_descriptor_, &one, sizeof(one)));
}

void Emulator::RequestStop() {
  stop_requested_.store(true);
  const std::uint64_t one = 1;
  static_cast<void>(::write(control_descriptor_, &one, sizeof(one)));
}

void Emulator::HandleControlEvent() {
  std::uint64_t count = 0;
  static_cast<void>(::read(control_descriptor_, &count, sizeof(count)));
  if (stop_requested_.exchange(false)) {
    log_.Write("stop requested: stopping");
    stopping_ = true;
    return;
  }
  if (reload_requested_.exchange(false)) ScheduleReload("requested");
}

void Emulator::HandleSignals() {
  signalfd_siginfo information{};
  while (::read(signal_descriptor_, &information, sizeof(information)) ==
         static_cast<ssize_t>(sizeof(information))) {
    if (information.ssi_signo == SIGHUP) {
      ScheduleReload(SignalName(information.ssi_signo));
      continue;
    }
    log_.Write(
        absl::StrCat("received ", std::string(SignalName(information.ssi_signo)), ": stopping"));
    stopping_ = true;
    return;
  }
}

void Emulator::AcceptConnections(const EndpointKey& key) {
  auto found = listeners_.find(key);
  if (found == listeners_.end()) return;
  const Listener& listener = found->second;
  while (static_cast<int>(connections_.size()) < options_.maximum_connections) {
    sockaddr_in peer{};
    socklen_t peer_length = sizeof(peer);
    const int descriptor = ::accept4(listener.descriptor, reinterpret_cast<sockaddr*>(&peer),
                                     &peer_length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (descriptor < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log_.Write(absl::StrCat("accepting on ", KeyText(key), " failed: ", ErrnoText()));
      }
      break;
    }
    absl::StatusOr<std::unique_ptr<Connection>> connection =
        Connection::Create(descriptor, FormatPeer(peer), listener.service, log_);
    if (!connection.ok()) {
      log_.Write(absl::StrCat("dropping a connection on ", KeyText(key), ": ",
                              connection.status().message()));
      continue;
    }
    // Registered with no events; AdvanceConnection sets what it waits for.
    epoll_event event{.events = 0, .data = {.fd = descriptor}};
    if (epoll_ctl(epoll_descriptor_, EPOLL_CTL_ADD, descriptor, &event) != 0) {
      log_.Write(
          absl::StrCat("dropping a connection on ", KeyText(key), ": epoll_ctl: ", ErrnoText()));
      continue;
    }
    connections_.emplace(descriptor, ConnectionEntry{.connection = *std::move(connection),
                                                     .interest = Connection::Interest::kClose});
    AdvanceConnection(descriptor);
  }
  if (accepting_ && static_cast<int>(connections_.size()) >= options_.maximum_connections) {
    log_.Write(absl::StrCat(connections_.size(),
                            " connections open, the limit: not accepting until one closes"));
    SetAccepting(false);
  }
}

void Emulator::AdvanceConnection(int descriptor) {
  auto found = connections_.find(descriptor);
  if (found == connections_.end()) return;
  ConnectionEntry& entry = found->second;
  const Connection::Interest interest = entry.connection->Advance();
  if (interest == Connection::Interest::kClose) {
    CloseConnection(descriptor);
    return;
  }
  if (interest == entry.interest) return;
  epoll_event event{.events = interest == Connection::Interest::kReadable
                                  ? static_cast<std::uint32_t>(EPOLLIN)
                                  : static_cast<std::uint32_t>(EPOLLOUT),
                    .data = {.fd = descriptor}};
  if (epoll_ctl(epoll_descriptor_, EPOLL_CTL_MOD, descriptor, &event) != 0) {
    log_.Write(absl::StrCat("dropping a connection: epoll_ctl: ", ErrnoText()));
    CloseConnection(descriptor);
    return;
  }
  entry.interest = interest;
}

void Emulator::CloseConnection(int descriptor) {
  // Closing the descriptor removes it from the epoll set as well.
  connections_.erase(descriptor);
  if (!accepting_ && static_cast<int>(connections_.size()) < options_.maximum_connections) {
    log_.Write("below the connection limit again: accepting");
    SetAccepting(true);
  }
}

void Emulator::CloseIdleConnections() {
  const Connection::Clock::time_point now = Connection::Clock::now();
  const auto limit = absl::ToChronoMilliseconds(options_.idle_timeout);
  std::vector<int> idle;
  for (const auto& [descriptor, entry] : connections_) {
    if (now - entry.connection->last_activity() >= limit) idle.push_back(descriptor);
  }
  for (int descriptor : idle) {
    connections_.at(descriptor).connection->LogIdleTimeout();
    CloseConnection(descriptor);
  }
}

int Emulator::MillisecondsUntilNextDeadline() const {
  if (connections_.empty() && !scheduled_reload_at_.has_value()) return -1;
  const auto limit = absl::ToChronoMilliseconds(options_.idle_timeout);
  Connection::Clock::time_point earliest = Connection::Clock::time_point::max();
  for (const auto& [descriptor, entry] : connections_) {
    earliest = std::min(earliest, entry.connection->last_activity() + limit);
  }
  if (scheduled_reload_at_.has_value()) earliest = std::min(earliest, *scheduled_reload_at_);
  const auto remaining =
      std::chrono::ceil<std::chrono::milliseconds>(earliest - Connection::Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(remaining.count(), 0, 60'000));
}

void Emulator::SetAccepting(bool accepting) {
  accepting_ = accepting;
  for (const auto& [key, listener] : listeners_) {
    epoll_event event{.events = accepting ? static_cast<std::uint32_t>(EPOLLIN) : 0u,
                      .data = {.fd = listener.descriptor}};
    epoll_ctl(epoll_descriptor_, EPOLL_CTL_MOD, listener.descriptor, &event);
  }
}

absl::Status Emulator::Run() {
  // SSL writes to a client that already left raise SIGPIPE on this thread;
  // blocked here it stays harmlessly pending instead of ending the process.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);

  absl::Status status = absl::OkStatus();
  epoll_event events[kEventsPerWait];
  while (!stopping_) {
    const int ready =
        epoll_wait(epoll_descriptor_, events, kEventsPerWait, MillisecondsUntilNextDeadline());
    if (ready < 0) {
      if (errno == EINTR) continue;
      status = absl::InternalError(absl::StrCat("epoll_wait: ", ErrnoText()));
      log_.Write(absl::StrCat("stopping: ", status.message()));
      break;
    }
    for (int index = 0; index < ready && !stopping_; ++index) {
      const int descriptor = events[index].data.fd;
      if (descriptor == control_descriptor_) {
        HandleControlEvent();
      } else if (descriptor == signal_descriptor_) {
        HandleSignals();
      } else if (auto listener = listener_keys_.find(descriptor);
                 listener != listener_keys_.end()) {
        // Copied: accepting may not change listeners, but the key must not
        // dangle if it ever does.
        const EndpointKey key = listener->second;
        AcceptConnections(key);
      } else {
        // A connection closed earlier in this batch may have had its
        // descriptor number reused by accept; Advance is harmless then.
        AdvanceConnection(descriptor);
      }
    }
    CloseIdleConnections();
    if (!stopping_) RunDueReload();
  }
  log_.Write(absl::StrCat("stopped; closing ", connections_.size(), " connection(s) and ",
                          listeners_.size(), " listener(s)"));
  ReleaseResources();
  return status;
}

void Emulator::ReleaseResources() {
  connections_.clear();
  std::vector<EndpointKey> keys;
  for (const auto& [key, listener] : listeners_) keys.push_back(key);
  for (const EndpointKey& key : keys) CloseListener(key);
  RemovePidFile();
  // Unlocking last lets another emulator start on this host root only once
  // this one has let go of everything.
  for (int* descriptor : {&signal_descriptor_, &lock_descriptor_}) {
    if (*descriptor >= 0) ::close(*descriptor);
    *descriptor = -1;
  }
}

}  // namespace certfleet::iis6_emulator
