// A real TLS server for tests, on 127.0.0.1 and a port the kernel picks. It
// serves a chosen leaf and chain exactly as configured (OpenSSL's automatic
// chain building is off), so that tests can reproduce what a misconfigured
// web server sends: a missing intermediate, an extra root, an old protocol.
// A "silent" server accepts TCP connections and never answers, to test
// timeouts; a "plain HTTP" one answers in clear text, as when a site's TLS
// port is bound to plain HTTP by mistake.
//
// Connections are handled one after another on a background thread until
// Stop() or destruction; each is held until the client closes it.
//
// Thread safety: the accessors may be called from any thread while the
// server runs.

#ifndef CERTFLEET_TESTS_SUPPORT_TLS_TEST_SERVER_H_
#define CERTFLEET_TESTS_SUPPORT_TLS_TEST_SERVER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"
#include "common/crypto/openssl_handles.h"
#include "common/crypto/private_key.h"

namespace certfleet::testing {

// The newest protocol the server agrees to; kTls10 makes it look like IIS 6.
enum class TlsTestVersion { kTls10, kTls12, kTls13 };

struct TlsTestServerOptions {
  // Sent after the leaf, in this order; empty to send the leaf alone.
  std::vector<crypto::Certificate> chain;
  TlsTestVersion maximum_version = TlsTestVersion::kTls13;
};

class TlsTestServer {
 public:
  // Starts serving `leaf` with `key`. Returns InvalidArgument when the key
  // does not match the leaf, Internal when a socket or OpenSSL call fails.
  static absl::StatusOr<std::unique_ptr<TlsTestServer>> Start(
      const crypto::Certificate& leaf, const crypto::PrivateKey& key,
      const TlsTestServerOptions& options = {});

  // Starts a server that completes TCP connections and then never sends a
  // byte, holding every connection open until it stops.
  static absl::StatusOr<std::unique_ptr<TlsTestServer>> StartSilent();

  // Starts a server that answers every connection with a plain-text HTTP
  // 400 response and closes it, so that a TLS handshake fails.
  static absl::StatusOr<std::unique_ptr<TlsTestServer>> StartPlainHttp();

  // Stops the server (see Stop()).
  ~TlsTestServer();
  TlsTestServer(const TlsTestServer&) = delete;
  TlsTestServer& operator=(const TlsTestServer&) = delete;

  // Stops accepting, interrupts the connection in progress, closes every
  // socket and joins the thread. Idempotent.
  void Stop();

  uint16_t port() const { return port_; }

  // The SNI host name of each ClientHello received, in order; nullopt for a
  // ClientHello without SNI. Recorded before the server answers, so it is
  // complete as soon as the client's handshake has finished.
  std::vector<std::optional<std::string>> ServerNamesSeen() const;

  // TCP connections accepted so far.
  int ConnectionsAccepted() const { return connections_accepted_.load(); }

 private:
  enum class Mode { kTls, kSilent, kPlainHttp };

  explicit TlsTestServer(Mode mode) : mode_(mode) {}

  absl::Status Listen();
  void Run();
  void Serve(int connection);
  void AnswerPlainHttp(int connection);
  void RecordServerName(std::optional<std::string> server_name);

  static int OnServerName(SSL* ssl, int* alert, void* server);

  const Mode mode_;
  crypto::SslContextHandle context_;  // Only for Mode::kTls.
  int listener_ = -1;
  int wake_read_ = -1;
  int wake_write_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<int> connections_accepted_{0};
  std::atomic<bool> stopped_{false};

  mutable std::mutex mutex_;
  std::vector<std::optional<std::string>> server_names_seen_;  // Guarded by mutex_.
  int active_connection_ = -1;                                 // Guarded by mutex_.
  std::vector<int> held_connections_;                          // Guarded by mutex_.
};

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_SUPPORT_TLS_TEST_SERVER_H_
