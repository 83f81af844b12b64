#include "tests/support/tls_test_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certfleet::testing {
namespace {

// A client that neither finishes its handshake nor closes must not hold the
// server thread for ever; tests that need longer are doing something wrong.
constexpr int kConnectionIdleSeconds = 10;

int ProtocolVersionOf(TlsTestVersion version) {
  switch (version) {
    case TlsTestVersion::kTls10:
      return TLS1_VERSION;
    case TlsTestVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsTestVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_3_VERSION;
}

absl::Status SystemError(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsTestServer>> TlsTestServer::Start(
    const crypto::Certificate& leaf, const crypto::PrivateKey& key,
    const TlsTestServerOptions& options) {
  if (!(leaf.public_key() == key.public_key())) {
    return absl::InvalidArgumentError("the test server's key does not match its certificate");
  }
  std::unique_ptr<TlsTestServer> server(new TlsTestServer(Mode::kTls));
  server->context_.reset(SSL_CTX_new(TLS_server_method()));
  SSL_CTX* context = server->context_.get();
  if (context == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", crypto::TakeOpenSslErrors()));
  }
  // Like the probe, the server must be able to speak TLS 1.0 with SHA-1
  // handshake signatures to stand in for IIS 6.
  SSL_CTX_set_min_proto_version(context, TLS1_VERSION);
  SSL_CTX_set_max_proto_version(context, ProtocolVersionOf(options.maximum_version));
  SSL_CTX_set_security_level(context, 0);
  SSL_CTX_set_cipher_list(context, "ALL:@SECLEVEL=0");
  // Send exactly the configured chain, never one OpenSSL completes itself.
  SSL_CTX_set_mode(context, SSL_MODE_NO_AUTO_CHAIN);
  if (SSL_CTX_use_certificate(context, leaf.native_handle()) != 1 ||
      SSL_CTX_use_PrivateKey(context, key.native_handle()) != 1 ||
      SSL_CTX_check_private_key(context) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot load the test server's identity: ", crypto::TakeOpenSslErrors()));
  }
  for (const crypto::Certificate& certificate : options.chain) {
    if (SSL_CTX_add1_chain_cert(context, certificate.native_handle()) != 1) {
      return absl::InternalError(
          absl::StrCat("cannot add a chain certificate: ", crypto::TakeOpenSslErrors()));
    }
  }
  SSL_CTX_set_tlsext_servername_callback(context, &TlsTestServer::OnServerName);
  SSL_CTX_set_tlsext_servername_arg(context, server.get());

  if (absl::Status listening = server->Listen(); !listening.ok()) return listening;
  server->thread_ = std::thread([raw = server.get()] { raw->Run(); });
  return server;
}

absl::StatusOr<std::unique_ptr<TlsTestServer>> TlsTestServer::StartSilent() {
  std::unique_ptr<TlsTestServer> server(new TlsTestServer(Mode::kSilent));
  if (absl::Status listening = server->Listen(); !listening.ok()) return listening;
  server->thread_ = std::thread([raw = server.get()] { raw->Run(); });
  return server;
}

absl::StatusOr<std::unique_ptr<TlsTestServer>> TlsTestServer::StartPlainHttp() {
  std::unique_ptr<TlsTestServer> server(new TlsTestServer(Mode::kPlainHttp));
  if (absl::Status listening = server->Listen(); !listening.ok()) return listening;
  server->thread_ = std::thread([raw = server.get()] { raw->Run(); });
  return server;
}

TlsTestServer::~TlsTestServer() {
  Stop();
  for (int descriptor : {listener_, wake_read_, wake_write_}) {
    if (descriptor >= 0) close(descriptor);
  }
}

absl::Status TlsTestServer::Listen() {
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) return SystemError("pipe2");
  wake_read_ = wake[0];
  wake_write_ = wake[1];

  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listener_ < 0) return SystemError("socket");
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    return SystemError("bind 127.0.0.1:0");
  }
  if (listen(listener_, 16) != 0) return SystemError("listen");
  socklen_t length = sizeof(address);
  if (getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return SystemError("getsockname");
  }
  port_ = ntohs(address.sin_port);
  return absl::OkStatus();
}

void TlsTestServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_.exchange(true)) return;
    // Wakes a blocked SSL_accept or SSL_read on the connection being served.
    if (active_connection_ >= 0) shutdown(active_connection_, SHUT_RDWR);
  }
  if (wake_write_ >= 0) {
    const char byte = 0;
    while (write(wake_write_, &byte, 1) < 0 && errno == EINTR) {
    }
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (int connection : held_connections_) close(connection);
  held_connections_.clear();
}

std::vector<std::optional<std::string>> TlsTestServer::ServerNamesSeen() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return server_names_seen_;
}

void TlsTestServer::RecordServerName(std::optional<std::string> server_name) {
  std::lock_guard<std::mutex> lock(mutex_);
  server_names_seen_.push_back(std::move(server_name));
}

int TlsTestServer::OnServerName(SSL* ssl, int* /*alert*/, void* server) {
  // OpenSSL calls this for every ClientHello, with or without SNI.
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  static_cast<TlsTestServer*>(server)->RecordServerName(
      name != nullptr ? std::optional<std::string>(name) : std::nullopt);
  return SSL_TLSEXT_ERR_OK;
}

void TlsTestServer::Run() {
  // Writing to a client that already left raises SIGPIPE; blocked on this
  // thread it stays harmlessly pending instead of ending the test binary.
  sigset_t sigpipe;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);

  while (!stopped_.load()) {
    pollfd watched[2] = {{.fd = listener_, .events = POLLIN, .revents = 0},
                         {.fd = wake_read_, .events = POLLIN, .revents = 0}};
    if (poll(watched, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (watched[1].revents != 0) return;
    const int connection = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) continue;
    connections_accepted_.fetch_add(1);
    switch (mode_) {
      case Mode::kSilent: {
        std::lock_guard<std::mutex> lock(mutex_);
        held_connections_.push_back(connection);
        break;
      }
      case Mode::kPlainHttp:
        AnswerPlainHttp(connection);
        break;
      case Mode::kTls:
        Serve(connection);
        break;
    }
  }
}

void TlsTestServer::Serve(int connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_.load()) {
      close(connection);
      return;
    }
    active_connection_ = connection;
  }
  const timeval idle = {.tv_sec = kConnectionIdleSeconds, .tv_usec = 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
  setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &idle, sizeof(idle));

  crypto::SslHandle ssl(SSL_new(context_.get()));
  if (ssl != nullptr && SSL_set_fd(ssl.get(), connection) == 1 && SSL_accept(ssl.get()) == 1) {
    // Holds the connection until the client closes it (or sends
    // close_notify), as a web server would between requests.
    char buffer[256];
    while (SSL_read(ssl.get(), buffer, sizeof(buffer)) > 0) {
    }
    SSL_shutdown(ssl.get());
  }
  crypto::ClearOpenSslErrors();
  ssl.reset();
  std::lock_guard<std::mutex> lock(mutex_);
  active_connection_ = -1;
  close(connection);
}

void TlsTestServer::AnswerPlainHttp(int connection) {
  static constexpr char kResponse[] =
      "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  const timeval idle = {.tv_sec = kConnectionIdleSeconds, .tv_usec = 0};
  setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
  // Reads the request first, as a web server would: closing a socket with
  // unread data would send a reset instead of the response.
  char request[4096];
  if (read(connection, request, sizeof(request)) > 0) {
    // A client that has already left cannot be told anything more.
    const ssize_t written = write(connection, kResponse, sizeof(kResponse) - 1);
    static_cast<void>(written);
  }
  close(connection);
}

}  // namespace certfleet::testing
