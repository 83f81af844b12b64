#include "controller/http/http_server.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/io/file.h"
#include "controller/http/embedded_assets.h"
#include "controller/http/listen_address.h"
#include "controller/http/prometheus_metrics.h"

namespace certfleet::controller::http {
namespace {

constexpr size_t kMinimumTokenLength = 16;
constexpr size_t kMaximumTokenFileBytes = 4096;

std::string Sha256(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

// Headers every answer carries: nothing is cached (the data changes), the
// browser does not guess content types, and the page runs only what the
// controller serves.
void SetCommonHeaders(httplib::Response& response) {
  response.set_header("Cache-Control", "no-store");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
}

void Send(const HttpResponse& answer, httplib::Response& response) {
  SetCommonHeaders(response);
  response.status = answer.status;
  for (const auto& [name, value] : answer.headers) response.set_header(name, value);
  if (!answer.chunks) {
    response.set_content(answer.body, answer.content_type);
    return;
  }
  // The first part is sent as the first chunk, then what the source gives
  // until it returns an empty chunk.
  struct Stream {
    std::string first;
    ChunkSource next;
  };
  auto stream = std::make_shared<Stream>(Stream{answer.body, answer.chunks});
  response.set_chunked_content_provider(
      answer.content_type, [stream](size_t /*offset*/, httplib::DataSink& sink) {
        if (!stream->first.empty()) {
          std::string first = std::move(stream->first);
          stream->first.clear();
          return sink.write(first.data(), first.size());
        }
        absl::StatusOr<std::string> chunk = stream->next();
        if (!chunk.ok()) return false;  // Aborts the transfer: the client sees it truncated.
        if (chunk->empty()) {
          sink.done();
          return true;
        }
        return sink.write(chunk->data(), chunk->size());
      });
}

HttpRequest ToRequest(const httplib::Request& request) {
  HttpRequest converted;
  converted.path = request.path;
  for (const auto& [name, value] : request.params) converted.parameters.emplace(name, value);
  return converted;
}

std::string_view Trim(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool IsProtected(std::string_view path) {
  return path == "/metrics" || path == "/api" || path.starts_with("/api/");
}

}  // namespace

absl::StatusOr<std::string> ReadTokenFile(const std::filesystem::path& path) {
  absl::StatusOr<std::string> content = io::ReadFile(path, kMaximumTokenFileBytes);
  if (!content.ok()) {
    return absl::Status(
        content.status().code(),
        absl::StrCat("cannot read the HTTP token file: ", std::string(content.status().message())));
  }
  std::string_view token = *content;
  token = token.substr(0, token.find('\n'));
  token = Trim(token);
  if (token.size() < kMinimumTokenLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("the HTTP token file ", path.string(), " holds ",
                     token.empty() ? std::string("no token")
                                   : absl::StrCat("a token of ", token.size(), " characters"),
                     "; use at least ", kMinimumTokenLength,
                     " random characters, e.g. openssl rand -hex 32 > ", path.string()));
  }
  return std::string(token);
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              store::Store* store) {
  absl::StatusOr<ListenAddress> address = ParseListenAddress(options.listen_address);
  if (!address.ok()) return address.status();

  std::unique_ptr<HttpServer> server(new HttpServer());
  server->store_ = store;
  server->api_options_ = options.api;
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(options.token_file);
    if (!token.ok()) return token.status();
    server->token_sha256_ = Sha256(*token);
  } else if (!IsLoopbackHost(address->host)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the HTTP listener ", options.listen_address,
                     " is reachable from other machines, so it needs a bearer token: pass "
                     "--http-token-file FILE (a file with at least ",
                     kMinimumTokenLength, " random characters), or listen on 127.0.0.1"));
  }

  const bool has_certificate = !options.tls_certificate_file.empty();
  const bool has_key = !options.tls_key_file.empty();
  if (has_certificate != has_key) {
    return absl::InvalidArgumentError(
        "HTTPS needs both a certificate file and a key file (--http-tls-cert and "
        "--http-tls-key); only one was given");
  }
  if (has_certificate) {
    // Read both first so that a missing or unreadable file is named.
    for (const std::filesystem::path& file : {options.tls_certificate_file, options.tls_key_file}) {
      absl::StatusOr<std::string> content = io::ReadFile(file, 1024 * 1024);
      if (!content.ok()) {
        return absl::Status(
            content.status().code(),
            absl::StrCat("cannot read an HTTPS file: ", std::string(content.status().message())));
      }
    }
    auto tls_server = std::make_unique<httplib::SSLServer>(options.tls_certificate_file.c_str(),
                                                           options.tls_key_file.c_str());
    if (!tls_server->is_valid()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "HTTPS cannot use ", options.tls_certificate_file.string(), " and ",
          options.tls_key_file.string(),
          ": they must be a PEM certificate (chain) and the PEM private key that matches it"));
    }
    server->server_ = std::move(tls_server);
    server->tls_ = true;
  } else {
    server->server_ = std::make_unique<httplib::Server>();
  }

  const int threads = std::max(1, options.threads);
  server->server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Answers are written as headers then body; without TCP_NODELAY a small
  // body waits for the client's delayed ACK (40 ms on Linux).
  server->server_->set_tcp_nodelay(true);
  server->server_->set_keep_alive_max_count(100);
  server->server_->set_read_timeout(30, 0);
  server->server_->set_write_timeout(30, 0);
  server->server_->set_payload_max_length(64 * 1024);
  server->api_ = std::make_unique<JsonApi>(store, options.api);
  server->RegisterHandlers();

  if (address->port == 0) {
    server->port_ = server->server_->bind_to_any_port(address->host);
  } else {
    server->port_ =
        server->server_->bind_to_port(address->host, address->port) ? address->port : -1;
  }
  if (server->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen for HTTP on ", options.listen_address,
                                               ": the address is in use or not on this machine"));
  }
  server->url_host_ = HostForUrl(address->host);
  httplib::Server* raw = server->server_.get();
  auto listen_returned = std::make_shared<std::atomic<bool>>(false);
  server->thread_ = std::thread([raw, listen_returned] {
    raw->listen_after_bind();
    listen_returned->store(true);
  });
  // httplib's stop() does nothing until the accept loop has started, so a
  // server stopped right after Start would otherwise never end. The loop
  // starts at once; this waits for it (or for its failure).
  while (!raw->is_running() && !listen_returned->load()) absl::SleepFor(absl::Milliseconds(1));
  if (listen_returned->load()) {
    return absl::UnavailableError(
        absl::StrCat("the HTTP listener on ", options.listen_address, " stopped at once"));
  }
  return server;
}

HttpServer::~HttpServer() { Shutdown(); }

std::string HttpServer::DashboardUrl() const {
  return absl::StrCat(tls_ ? "https" : "http", "://", url_host_, ":", port_, "/");
}

void HttpServer::Shutdown() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

void HttpServer::RegisterHandlers() {
  server_->set_pre_routing_handler([this](const httplib::Request& request,
                                          httplib::Response& response) {
    if (token_sha256_.empty() || !IsProtected(request.path)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string header = request.get_header_value("Authorization");
    constexpr std::string_view kScheme = "Bearer ";
    bool accepted = false;
    if (header.size() > kScheme.size() &&
        absl::AsciiStrToLower(header.substr(0, kScheme.size())) == "bearer ") {
      // Comparing digests of equal length in constant time reveals
      // neither the token nor its length.
      const std::string presented = Sha256(Trim(std::string_view(header).substr(kScheme.size())));
      accepted = CRYPTO_memcmp(presented.data(), token_sha256_.data(), presented.size()) == 0;
    }
    if (accepted) return httplib::Server::HandlerResponse::Unhandled;
    HttpResponse answer = ErrorResponse(absl::UnauthenticatedError(
        header.empty() ? "this controller requires an API token: send "
                         "'Authorization: Bearer <token>' (the token is in the file given "
                         "to --http-token-file)"
                       : "the API token was refused"));
    answer.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"certfleet\"");
    Send(answer, response);
    return httplib::Server::HandlerResponse::Handled;
  });

  server_->Get(".*", [this](const httplib::Request& request, httplib::Response& response) {
    const std::string& path = request.path;
    if (path == "/metrics") {
      const absl::Time now = api_options_.clock();
      absl::StatusOr<int64_t> agents = api_->AgentsConnected();
      absl::StatusOr<std::string> page = agents.ok()
                                             ? RenderPrometheusMetrics(*store_, now, *agents)
                                             : absl::StatusOr<std::string>(agents.status());
      if (!page.ok()) {
        Send(ErrorResponse(page.status()), response);
        return;
      }
      HttpResponse answer;
      answer.content_type = "text/plain; version=0.0.4; charset=utf-8";
      answer.body = *std::move(page);
      Send(answer, response);
      return;
    }
    if (path == "/api" || path.starts_with("/api/")) {
      Send(api_->Handle(ToRequest(request)), response);
      return;
    }
    std::string_view name;
    if (path == "/" || path == "/index.html") {
      name = "index.html";
    } else if (path.starts_with("/static/")) {
      name = std::string_view(path).substr(std::string_view("/static/").size());
    }
    const EmbeddedAsset* asset = name.empty() || name.find('/') != std::string_view::npos
                                     ? nullptr
                                     : FindEmbeddedAsset(name);
    SetCommonHeaders(response);
    if (asset == nullptr) {
      response.status = 404;
      response.set_content(absl::StrCat("404 not found: ", path, "\n"),
                           "text/plain; charset=utf-8");
      return;
    }
    response.set_header("Content-Security-Policy",
                        "default-src 'self'; img-src 'self' data:; style-src 'self' "
                        "'unsafe-inline'; script-src 'self'; connect-src 'self'; base-uri 'none'; "
                        "form-action 'self'; frame-ancestors 'none'");
    response.set_content(std::string(asset->content), std::string(asset->content_type));
  });

  const auto method_not_allowed = [](const httplib::Request& request, httplib::Response& response) {
    HttpResponse answer;
    answer.status = 405;
    answer.body = nlohmann::json{{"error",
                                  {{"code", "method_not_allowed"},
                                   {"message", absl::StrCat(request.method,
                                                            " is not allowed: the HTTP API "
                                                            "only reads (GET)")}}}}
                      .dump();
    answer.headers.emplace_back("Allow", "GET, HEAD");
    Send(answer, response);
  };
  server_->Post(".*", method_not_allowed);
  server_->Put(".*", method_not_allowed);
  server_->Delete(".*", method_not_allowed);
  server_->Patch(".*", method_not_allowed);
}

}  // namespace certfleet::controller::http
