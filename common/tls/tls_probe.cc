#include "common/tls/tls_probe.h"

#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/openssl_handles.h"

namespace certfleet::tls {
namespace {

using Clock = std::chrono::steady_clock;

// A monotonic deadline shared by resolution, connect and handshake, so that
// the probe as a whole stays within the caller's timeout.
class Deadline {
 public:
  // An infinite or huge timeout is capped at a day, which keeps the clock
  // arithmetic from overflowing and is far beyond any useful probe.
  explicit Deadline(absl::Duration timeout)
      : timeout_(std::min(timeout, absl::Hours(24))),
        end_(Clock::now() + absl::ToChronoMilliseconds(timeout_)) {}

  Clock::time_point end() const { return end_; }

  // "300ms", "10s": for messages.
  std::string TimeoutText() const { return absl::FormatDuration(timeout_); }

  // Milliseconds left, rounded up so that poll() never returns early with
  // time still remaining; 0 once the deadline has passed.
  int RemainingMilliseconds() const {
    const auto remaining = end_ - Clock::now();
    if (remaining <= Clock::duration::zero()) return 0;
    return static_cast<int>(
        std::min<int64_t>(std::chrono::ceil<std::chrono::milliseconds>(remaining).count(),
                          std::numeric_limits<int>::max()));
  }

 private:
  absl::Duration timeout_;
  Clock::time_point end_;
};

// Closes the socket on every path out of the probe.
class FileDescriptor {
 public:
  explicit FileDescriptor(int descriptor) : descriptor_(descriptor) {}
  ~FileDescriptor() {
    if (descriptor_ >= 0) close(descriptor_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  FileDescriptor(FileDescriptor&& other) noexcept
      : descriptor_(std::exchange(other.descriptor_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      if (descriptor_ >= 0) close(descriptor_);
      descriptor_ = std::exchange(other.descriptor_, -1);
    }
    return *this;
  }

  int get() const { return descriptor_; }

 private:
  int descriptor_;
};

// OpenSSL writes to the socket with write(), which raises SIGPIPE when the
// server has already closed the connection; the default action would end the
// whole process. A library must not change the process's signal handling, so
// SIGPIPE is blocked for this thread during the probe and a SIGPIPE the probe
// itself caused is consumed before the old mask comes back.
class ScopedSigpipeBlock {
 public:
  ScopedSigpipeBlock() {
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &sigpipe, &previous_mask_);
  }
  ~ScopedSigpipeBlock() {
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        sigset_t sigpipe;
        sigemptyset(&sigpipe);
        sigaddset(&sigpipe, SIGPIPE);
        const struct timespec no_wait = {0, 0};
        while (sigtimedwait(&sigpipe, nullptr, &no_wait) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
  }
  ScopedSigpipeBlock(const ScopedSigpipeBlock&) = delete;
  ScopedSigpipeBlock& operator=(const ScopedSigpipeBlock&) = delete;

 private:
  sigset_t previous_mask_;
  bool was_pending_ = false;
};

struct AddressInfoDeleter {
  void operator()(addrinfo* addresses) const { freeaddrinfo(addresses); }
};
using AddressInfoHandle = std::unique_ptr<addrinfo, AddressInfoDeleter>;

std::string Endpoint(const ProbeOptions& options) {
  return options.host.find(':') != std::string::npos
             ? absl::StrCat("[", options.host, "]:", options.port)
             : absl::StrCat(options.host, ":", options.port);
}

absl::StatusOr<AddressInfoHandle> ResolutionResult(const ProbeOptions& options, int result,
                                                   addrinfo* addresses) {
  AddressInfoHandle owned(addresses);
  if (result != 0) {
    return absl::NotFoundError(
        absl::StrCat("'", options.host, "' does not resolve: ", gai_strerror(result)));
  }
  if (owned == nullptr) {
    return absl::NotFoundError(absl::StrCat("'", options.host, "' resolves to no address"));
  }
  return owned;
}

// Resolves the host within the deadline. Address literals are answered at
// once; names go to getaddrinfo on a helper thread, because getaddrinfo
// cannot be interrupted: when the deadline passes first, the helper finishes
// on its own and throws its answer away.
absl::StatusOr<AddressInfoHandle> Resolve(const ProbeOptions& options, const Deadline& deadline) {
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_NUMERICHOST;
  const std::string service = std::to_string(options.port);

  addrinfo* addresses = nullptr;
  if (getaddrinfo(options.host.c_str(), service.c_str(), &hints, &addresses) == 0) {
    return ResolutionResult(options, 0, addresses);
  }

  struct Resolution {
    std::mutex mutex;
    std::condition_variable done_changed;
    bool done = false;
    bool abandoned = false;
    int result = 0;
    addrinfo* addresses = nullptr;
  };
  auto resolution = std::make_shared<Resolution>();
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  auto resolve = [resolution, host = options.host, service, hints] {
    addrinfo* found = nullptr;
    const int result = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    std::lock_guard<std::mutex> lock(resolution->mutex);
    if (resolution->abandoned) {
      if (found != nullptr) freeaddrinfo(found);
      return;
    }
    resolution->result = result;
    resolution->addresses = found;
    resolution->done = true;
    resolution->done_changed.notify_all();
  };
  try {
    std::thread(std::move(resolve)).detach();
  } catch (const std::system_error& error) {
    return absl::UnavailableError(
        absl::StrCat("cannot start resolving '", options.host, "': ", error.what()));
  }

  std::unique_lock<std::mutex> lock(resolution->mutex);
  if (!resolution->done_changed.wait_until(lock, deadline.end(),
                                           [&resolution] { return resolution->done; })) {
    resolution->abandoned = true;
    return absl::DeadlineExceededError(absl::StrCat(
        "resolving '", options.host, "' did not finish within ", deadline.TimeoutText()));
  }
  return ResolutionResult(options, resolution->result,
                          std::exchange(resolution->addresses, nullptr));
}

// Waits until `descriptor` is ready for `events`. Returns DeadlineExceeded
// when the deadline passes first.
absl::Status WaitFor(int descriptor, short events, const Deadline& deadline,
                     const std::string& waiting_for) {
  while (true) {
    pollfd watched = {.fd = descriptor, .events = events, .revents = 0};
    const int ready = poll(&watched, 1, deadline.RemainingMilliseconds());
    if (ready > 0) return absl::OkStatus();
    if (ready == 0) {
      return absl::DeadlineExceededError(
          absl::StrCat(waiting_for, " did not finish within ", deadline.TimeoutText()));
    }
    if (errno != EINTR) {
      return absl::UnavailableError(absl::StrCat("poll failed: ", std::strerror(errno)));
    }
  }
}

absl::StatusOr<FileDescriptor> ConnectTo(const addrinfo& address, const ProbeOptions& options,
                                         const Deadline& deadline) {
  FileDescriptor socket_descriptor(socket(
      address.ai_family, address.ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, address.ai_protocol));
  if (socket_descriptor.get() < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot create a socket for ", Endpoint(options), ": ", std::strerror(errno)));
  }
  if (connect(socket_descriptor.get(), address.ai_addr, address.ai_addrlen) != 0) {
    if (errno != EINPROGRESS) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", Endpoint(options), ": ", std::strerror(errno)));
    }
    if (absl::Status waited = WaitFor(socket_descriptor.get(), POLLOUT, deadline,
                                      absl::StrCat("connecting to ", Endpoint(options)));
        !waited.ok()) {
      return waited;
    }
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(socket_descriptor.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
      error = errno;
    }
    if (error != 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", Endpoint(options), ": ", std::strerror(error)));
    }
  }
  return socket_descriptor;
}

// Tries every resolved address in turn, as a browser would, and returns the
// first connected socket. The last failure is returned when none connects.
absl::StatusOr<FileDescriptor> Connect(const addrinfo* addresses, const ProbeOptions& options,
                                       const Deadline& deadline) {
  absl::Status last_failure =
      absl::UnavailableError(absl::StrCat("'", options.host, "' resolves to no usable address"));
  for (const addrinfo* address = addresses; address != nullptr; address = address->ai_next) {
    absl::StatusOr<FileDescriptor> connected = ConnectTo(*address, options, deadline);
    if (connected.ok()) return connected;
    if (absl::IsDeadlineExceeded(connected.status())) return connected.status();
    last_failure = connected.status();
  }
  return last_failure;
}

absl::StatusOr<crypto::SslContextHandle> NewClientContext() {
  crypto::SslContextHandle context(SSL_CTX_new(TLS_client_method()));
  if (context == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a TLS context: ", crypto::TakeOpenSslErrors()));
  }
  // The probe observes whatever a server offers, down to the TLS 1.0 and
  // weak keys of IIS 6; judging the certificate is VerifyChain's job, after
  // the handshake. Anonymous suites are left out: they serve no certificate.
  SSL_CTX_set_min_proto_version(context.get(), TLS1_VERSION);
  SSL_CTX_set_security_level(context.get(), 0);
  if (SSL_CTX_set_cipher_list(context.get(), "ALL:!aNULL:@SECLEVEL=0") != 1) {
    return absl::InternalError(
        absl::StrCat("cannot set the cipher list: ", crypto::TakeOpenSslErrors()));
  }
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_NONE, nullptr);
  return context;
}

std::string HandshakeFailure(int result, int ssl_error, int saved_errno) {
  switch (ssl_error) {
    case SSL_ERROR_SSL: {
      std::string errors = crypto::TakeOpenSslErrors();
      // The usual cause, worth saying in words an operator acts on.
      if (errors.find("wrong version number") != std::string::npos) {
        absl::StrAppend(&errors,
                        " (the server did not answer in TLS: the port may serve plain "
                        "HTTP or another protocol)");
      }
      return errors;
    }
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() != 0) return crypto::TakeOpenSslErrors();
      if (result == 0 || saved_errno == 0) {
        return "the server closed the connection during the handshake";
      }
      return std::strerror(saved_errno);
    case SSL_ERROR_ZERO_RETURN:
      return "the server closed the connection during the handshake";
    default:
      return absl::StrCat("unexpected SSL error ", ssl_error);
  }
}

absl::Status Handshake(SSL* ssl, int descriptor, const ProbeOptions& options,
                       const Deadline& deadline) {
  while (true) {
    crypto::ClearOpenSslErrors();
    errno = 0;
    const int result = SSL_connect(ssl);
    if (result == 1) return absl::OkStatus();
    const int saved_errno = errno;
    const int ssl_error = SSL_get_error(ssl, result);
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      if (absl::Status waited =
              WaitFor(descriptor, ssl_error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline,
                      absl::StrCat("the TLS handshake with ", Endpoint(options)));
          !waited.ok()) {
        return waited;
      }
      continue;
    }
    return absl::UnavailableError(
        absl::StrCat("the TLS handshake with ", Endpoint(options),
                     " failed: ", HandshakeFailure(result, ssl_error, saved_errno)));
  }
}

std::vector<crypto::Certificate> ServedChain(SSL* ssl) {
  std::vector<crypto::Certificate> chain;
  // On the client side this stack includes the leaf, in the order sent.
  STACK_OF(X509)* served = SSL_get_peer_cert_chain(ssl);
  if (served == nullptr) return chain;
  for (int i = 0; i < sk_X509_num(served); ++i) {
    chain.push_back(crypto::Certificate::FromNative(sk_X509_value(served, i)));
  }
  return chain;
}

}  // namespace

absl::StatusOr<ProbeResult> ProbeTls(const ProbeOptions& options) {
  if (options.host.empty()) return absl::InvalidArgumentError("the host to probe is empty");
  if (options.port == 0) return absl::InvalidArgumentError("the port to probe is 0");
  if (options.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("the probe timeout must be positive");
  }
  const Deadline deadline(options.timeout);
  ScopedSigpipeBlock sigpipe_block;

  absl::StatusOr<AddressInfoHandle> addresses = Resolve(options, deadline);
  if (!addresses.ok()) return addresses.status();
  absl::StatusOr<FileDescriptor> connection = Connect(addresses->get(), options, deadline);
  if (!connection.ok()) return connection.status();

  absl::StatusOr<crypto::SslContextHandle> context = NewClientContext();
  if (!context.ok()) return context.status();
  crypto::SslHandle ssl(SSL_new(context->get()));
  if (ssl == nullptr || SSL_set_fd(ssl.get(), connection->get()) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot set up the TLS connection: ", crypto::TakeOpenSslErrors()));
  }
  if (options.server_name.has_value() &&
      SSL_set_tlsext_host_name(ssl.get(), options.server_name->c_str()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", *options.server_name, "' cannot be sent as SNI: ", crypto::TakeOpenSslErrors()));
  }
  if (absl::Status handshake = Handshake(ssl.get(), connection->get(), options, deadline);
      !handshake.ok()) {
    return handshake;
  }

  ProbeResult result;
  result.served_chain = ServedChain(ssl.get());
  result.protocol = SSL_get_version(ssl.get());
  result.cipher = SSL_get_cipher_name(ssl.get());
  // One close_notify, without waiting for the server's: the socket is closed
  // right after, and a slow server must not hold the probe.
  SSL_shutdown(ssl.get());
  crypto::ClearOpenSslErrors();
  if (result.served_chain.empty()) {
    return absl::UnavailableError(
        absl::StrCat(Endpoint(options), " completed the handshake without a certificate"));
  }

  crypto::ChainVerificationOptions verification_options;
  verification_options.at = absl::Now();
  verification_options.hostname = options.expected_hostname;
  const std::vector<crypto::Certificate> intermediates(result.served_chain.begin() + 1,
                                                       result.served_chain.end());
  result.verification = crypto::VerifyChain(result.served_chain.front(), intermediates,
                                            options.trusted_roots, verification_options);
  return result;
}

}  // namespace certfleet::tls
