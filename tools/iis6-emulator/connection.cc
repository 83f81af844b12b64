#include "tools/iis6-emulator/connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tools/iis6-emulator/http_exchange.h"

namespace certfleet::iis6_emulator {
namespace {

// Request lines longer than this are cut in the log.
constexpr size_t kMaximumLoggedRequestLine = 200;

}  // namespace

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(
    int descriptor, std::string peer, std::shared_ptr<const EndpointService> service,
    EventLog& log) {
  crypto::SslHandle session;
  if (service->tls != nullptr) {
    absl::StatusOr<crypto::SslHandle> created = service->tls->NewSession(descriptor);
    if (!created.ok()) {
      ::close(descriptor);
      return created.status();
    }
    session = *std::move(created);
  }
  return std::unique_ptr<Connection>(
      new Connection(descriptor, std::move(peer), std::move(service), std::move(session), log));
}

Connection::Connection(int descriptor, std::string peer,
                       std::shared_ptr<const EndpointService> service, crypto::SslHandle session,
                       EventLog& log)
    : descriptor_(descriptor),
      peer_(std::move(peer)),
      service_(std::move(service)),
      session_(std::move(session)),
      log_(log),
      phase_(session_ != nullptr ? Phase::kHandshake : Phase::kReading),
      last_activity_(Clock::now()) {}

Connection::~Connection() {
  // The session refers to the socket, so it goes first.
  session_.reset();
  ::close(descriptor_);
}

std::string Connection::Where() const {
  return absl::StrCat(peer_, " on ",
                      std::string(EndpointProtocolName(service_->configuration.protocol)), "://",
                      service_->configuration.AddressText());
}

void Connection::LogIdleTimeout() const {
  log_.Write(absl::StrCat("closing the idle connection from ", Where()));
}

std::string Connection::TlsFailure(int result) const {
  const int error = SSL_get_error(session_.get(), result);
  if (error == SSL_ERROR_SYSCALL) {
    if (ERR_peek_error() == 0) {
      return errno == 0 ? "the client closed the connection"
                        : absl::StrCat("socket error: ", std::strerror(errno));
    }
  }
  return crypto::TakeOpenSslErrors();
}

Connection::Outcome Connection::Receive(char* buffer, size_t capacity, size_t& count) {
  if (session_ != nullptr) {
    crypto::ClearOpenSslErrors();
    errno = 0;
    const int result = SSL_read_ex(session_.get(), buffer, capacity, &count);
    if (result == 1) return Outcome::kTransferred;
    switch (SSL_get_error(session_.get(), result)) {
      case SSL_ERROR_WANT_READ:
        return Outcome::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Outcome::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Outcome::kClosed;
      case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0 && errno == 0) return Outcome::kClosed;
        [[fallthrough]];
      default:
        last_failure_ = TlsFailure(result);
        return Outcome::kFailed;
    }
  }
  while (true) {
    const ssize_t received = ::recv(descriptor_, buffer, capacity, 0);
    if (received > 0) {
      count = static_cast<size_t>(received);
      return Outcome::kTransferred;
    }
    if (received == 0) return Outcome::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::kWantRead;
    last_failure_ = std::strerror(errno);
    return Outcome::kFailed;
  }
}

Connection::Outcome Connection::Send(size_t& count) {
  const char* data = output_.data() + output_offset_;
  const size_t length = output_.size() - output_offset_;
  if (session_ != nullptr) {
    crypto::ClearOpenSslErrors();
    errno = 0;
    const int result = SSL_write_ex(session_.get(), data, length, &count);
    if (result == 1) return Outcome::kTransferred;
    switch (SSL_get_error(session_.get(), result)) {
      case SSL_ERROR_WANT_READ:
        return Outcome::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Outcome::kWantWrite;
      default:
        last_failure_ = TlsFailure(result);
        return Outcome::kFailed;
    }
  }
  while (true) {
    // MSG_NOSIGNAL: a client that already left must not raise SIGPIPE.
    const ssize_t sent = ::send(descriptor_, data, length, MSG_NOSIGNAL);
    if (sent >= 0) {
      count = static_cast<size_t>(sent);
      return Outcome::kTransferred;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Outcome::kWantWrite;
    last_failure_ = std::strerror(errno);
    return Outcome::kFailed;
  }
}

void Connection::Respond(size_t head_length) {
  const std::string_view head = std::string_view(input_).substr(0, head_length);
  std::string_view request_line = head.substr(0, head.find_first_of("\r\n"));
  if (request_line.size() > kMaximumLoggedRequestLine) {
    request_line = request_line.substr(0, kMaximumLoggedRequestLine);
  }
  const HttpResponse response = AnswerRequest(head, service_->configuration.sites);
  log_.Write(absl::StrCat("\"", std::string(request_line), "\" from ", Where(), ": ",
                          response.status_code, ", ", response.detail));
  output_ = response.Serialize();
  output_offset_ = 0;
  phase_ = Phase::kWriting;
}

void Connection::Finish() {
  if (session_ != nullptr) {
    // One non-blocking attempt to send close_notify; the client has its
    // response either way.
    crypto::ClearOpenSslErrors();
    SSL_shutdown(session_.get());
    crypto::ClearOpenSslErrors();
  } else {
    ::shutdown(descriptor_, SHUT_WR);
  }
}

Connection::Interest Connection::Advance() {
  last_activity_ = Clock::now();
  while (true) {
    switch (phase_) {
      case Phase::kHandshake: {
        crypto::ClearOpenSslErrors();
        errno = 0;
        const int result = SSL_accept(session_.get());
        if (result == 1) {
          log_.Write(absl::StrCat("TLS handshake with ", Where(), ": ",
                                  SSL_get_version(session_.get()), ", ",
                                  SSL_get_cipher_name(session_.get())));
          phase_ = Phase::kReading;
          continue;
        }
        const int error = SSL_get_error(session_.get(), result);
        if (error == SSL_ERROR_WANT_READ) return Interest::kReadable;
        if (error == SSL_ERROR_WANT_WRITE) return Interest::kWritable;
        log_.Write(absl::StrCat("TLS handshake with ", Where(), " failed: ", TlsFailure(result)));
        return Interest::kClose;
      }
      case Phase::kReading: {
        char buffer[4096];
        size_t count = 0;
        switch (Receive(buffer, sizeof(buffer), count)) {
          case Outcome::kTransferred:
            break;
          case Outcome::kWantRead:
            return Interest::kReadable;
          case Outcome::kWantWrite:
            return Interest::kWritable;
          case Outcome::kClosed:
            if (!input_.empty()) {
              log_.Write(
                  absl::StrCat("the client ", Where(), " left before finishing its request"));
            }
            return Interest::kClose;
          case Outcome::kFailed:
            log_.Write(absl::StrCat("reading from ", Where(), " failed: ", last_failure_));
            return Interest::kClose;
        }
        input_.append(buffer, count);
        if (std::optional<size_t> head_length = FindRequestHeadEnd(input_);
            head_length.has_value() && *head_length <= kMaximumRequestHeadBytes) {
          Respond(*head_length);
        } else if (input_.size() > kMaximumRequestHeadBytes) {
          const HttpResponse response = BadRequest(
              absl::StrCat("the request head is over ", kMaximumRequestHeadBytes, " bytes"));
          log_.Write(absl::StrCat("request from ", Where(), ": ", response.status_code, ", ",
                                  response.detail));
          output_ = response.Serialize();
          output_offset_ = 0;
          phase_ = Phase::kWriting;
        }
        continue;
      }
      case Phase::kWriting: {
        if (output_offset_ == output_.size()) {
          Finish();
          return Interest::kClose;
        }
        size_t count = 0;
        switch (Send(count)) {
          case Outcome::kTransferred:
            output_offset_ += count;
            continue;
          case Outcome::kWantRead:
            return Interest::kReadable;
          case Outcome::kWantWrite:
            return Interest::kWritable;
          case Outcome::kClosed:
          case Outcome::kFailed:
            log_.Write(absl::StrCat("writing to ", Where(), " failed: ", last_failure_));
            return Interest::kClose;
        }
        continue;
      }
    }
  }
}

}  // namespace certfleet::iis6_emulator
