// The transport-independent shape of one HTTP exchange, shared by the JSON
// API, the metrics page and the server that carries them: what the handlers
// read from a request (path and query parameters) and what they answer
// (status, content type, body or a body produced in chunks).
//
// Thread safety: plain values; a ChunkSource is used by one thread at a time.

#ifndef CERTFLEET_CONTROLLER_HTTP_HTTP_TYPES_H_
#define CERTFLEET_CONTROLLER_HTTP_HTTP_TYPES_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace certfleet::controller::http {

struct HttpRequest {
  // The path without the query string, percent-decoded ("/api/v1/hosts").
  std::string path;
  // Query parameters, decoded; a parameter given twice appears twice.
  std::multimap<std::string, std::string> parameters;
};

// Produces a large body piece by piece: each call returns the next chunk,
// an empty string at the end, or an error (the connection is then closed
// without the final chunk, so the client sees a truncated transfer).
using ChunkSource = std::function<absl::StatusOr<std::string>()>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  // When set, the body is `body` followed by what the source produces,
  // sent with chunked transfer encoding.
  ChunkSource chunks;
  // Extra headers (name, value).
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_HTTP_TYPES_H_
