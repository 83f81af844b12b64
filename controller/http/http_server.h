// The controller's HTTP side: the dashboard's static files, the JSON API
// under /api/v1 and /metrics, on one listener (cpp-httplib, a small pool of
// worker threads; optional TLS).
//
// Authentication: with a bearer token, every /api and /metrics request must
// carry "Authorization: Bearer <token>" (compared in constant time), or it
// gets 401 with a JSON error. The dashboard's static files need no token:
// they hold no data, and the page asks for the token itself. A listener that
// is not loopback-only refuses to start without a token.
//
// Thread safety: Start, Shutdown and the destructor from one thread; the
// accessors from any thread. Requests are served on the server's own
// threads; the store must be thread-safe and outlive the server.

#ifndef CERTFLEET_CONTROLLER_HTTP_HTTP_SERVER_H_
#define CERTFLEET_CONTROLLER_HTTP_HTTP_SERVER_H_

#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "controller/http/json_api.h"
#include "controller/store/store.h"

namespace httplib {
class Server;
}

namespace certfleet::controller::http {

struct HttpServerOptions {
  // "ADDRESS:PORT": "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:8443". Port 0
  // picks a free port (see HttpServer::port).
  std::string listen_address = "127.0.0.1:8080";
  // A file holding the bearer token on its first line (surrounding
  // whitespace ignored; at least 16 characters). Empty: no token, allowed
  // only on a loopback address.
  std::filesystem::path token_file;
  // PEM certificate (chain) and private key for HTTPS; both or neither.
  std::filesystem::path tls_certificate_file;
  std::filesystem::path tls_key_file;
  // Threads serving requests.
  int threads = 4;
  ApiOptions api;
};

class HttpServer {
 public:
  // Reads the token and TLS files, binds the address and starts serving.
  // Errors: InvalidArgument for a malformed address, a short or empty token
  // file, or only one of the TLS files; FailedPrecondition for a
  // non-loopback address without a token; NotFound / PermissionDenied for
  // unreadable files (naming them); InvalidArgument when the TLS files are
  // not a matching PEM certificate and key; Unavailable when the address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           store::Store* store);

  // Calls Shutdown.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port.
  int port() const { return port_; }
  bool tls() const { return tls_; }
  bool requires_token() const { return !token_sha256_.empty(); }

  // Where a browser on this machine finds the dashboard:
  // "http://127.0.0.1:8080/" (https with TLS; the unspecified address
  // becomes loopback).
  std::string DashboardUrl() const;

  // Stops accepting, finishes the requests in flight and joins the
  // threads. Idempotent.
  void Shutdown();

 private:
  HttpServer() = default;
  void RegisterHandlers();

  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<JsonApi> api_;
  store::Store* store_ = nullptr;
  ApiOptions api_options_;
  // SHA-256 of the token; empty when none is required.
  std::string token_sha256_;
  std::string url_host_;
  int port_ = 0;
  bool tls_ = false;
  std::thread thread_;
};

// Reads a bearer token file: its first line without surrounding whitespace.
// Errors: NotFound / PermissionDenied naming the file; InvalidArgument when
// the token is empty or shorter than 16 characters.
absl::StatusOr<std::string> ReadTokenFile(const std::filesystem::path& path);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_HTTP_SERVER_H_
