// One client connection of the emulator, driven by the event loop: a
// non-blocking TLS handshake (on secure endpoints), one HTTP request, one
// response, then close, like an IIS 6 answer with "Connection: close".
//
// The connection never blocks: Advance does what the socket allows and says
// whether to wait for it to become readable or writable, or to close it.
//
// Thread safety: a Connection belongs to the event loop thread.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_CONNECTION_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_CONNECTION_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/crypto/openssl_handles.h"
#include "tools/iis6-emulator/event_log.h"
#include "tools/iis6-emulator/host_configuration.h"
#include "tools/iis6-emulator/tls_server_context.h"

namespace certfleet::iis6_emulator {

// What one listener serves. A listener and each of its connections share it,
// so that a reload changes what new connections get while connections in
// progress finish with what they started with.
struct EndpointService {
  EndpointConfiguration configuration;
  // Set exactly for TLS endpoints.
  std::shared_ptr<const TlsServerContext> tls;
};

class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  // What the event loop should wait for before calling Advance again.
  enum class Interest { kReadable, kWritable, kClose };

  // Takes ownership of `descriptor`, a connected non-blocking socket from
  // `peer` ("127.0.0.1:40312"), accepted on the endpoint `service` describes.
  // Returns Internal (and closes the socket) when a TLS session cannot be
  // created.
  static absl::StatusOr<std::unique_ptr<Connection>> Create(
      int descriptor, std::string peer, std::shared_ptr<const EndpointService> service,
      EventLog& log);

  // Closes the socket.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Makes as much progress as the socket allows without blocking and returns
  // what to wait for next. kClose means the exchange is over (answered, or
  // the client left, or it failed; the log says which) and the connection
  // should be destroyed.
  Interest Advance();

  // Logs that the connection is closed for being idle too long.
  void LogIdleTimeout() const;

  int descriptor() const { return descriptor_; }
  Clock::time_point last_activity() const { return last_activity_; }

 private:
  enum class Phase { kHandshake, kReading, kWriting };
  enum class Outcome { kTransferred, kWantRead, kWantWrite, kClosed, kFailed };

  Connection(int descriptor, std::string peer, std::shared_ptr<const EndpointService> service,
             crypto::SslHandle session, EventLog& log);

  // Reads into `buffer`; on kTransferred, `count` bytes arrived.
  Outcome Receive(char* buffer, size_t capacity, size_t& count);
  // Writes from output_ at output_offset_; on kTransferred, `count` bytes left.
  Outcome Send(size_t& count);
  // Turns a TLS failure into a reason for the log.
  std::string TlsFailure(int result) const;
  // Starts writing the answer to the request head at the front of input_.
  void Respond(size_t head_length);
  // Ends the exchange politely: close_notify for TLS, FIN for plain HTTP.
  void Finish();
  std::string Where() const;

  const int descriptor_;
  const std::string peer_;
  const std::shared_ptr<const EndpointService> service_;
  crypto::SslHandle session_;  // Null for plain HTTP.
  EventLog& log_;
  Phase phase_;
  std::string input_;
  std::string output_;
  size_t output_offset_ = 0;
  std::string last_failure_;
  Clock::time_point last_activity_;
};

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_CONNECTION_H_
