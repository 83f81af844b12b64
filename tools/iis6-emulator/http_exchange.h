// The emulator's HTTP side: parses one request head and answers it with a
// file from the content folder of the site it is for, as IIS 6 serves static
// files. GET only (other methods get 405), HTTP/1.0 and HTTP/1.1, one
// request per connection ("Connection: close"), sites on a shared endpoint
// told apart by Host header.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_HTTP_EXCHANGE_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_HTTP_EXCHANGE_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/iis6-emulator/host_configuration.h"

namespace certfleet::iis6_emulator {

// A request head larger than this is refused (IIS 6's MaxRequestBytes
// default is 16 KiB).
inline constexpr size_t kMaximumRequestHeadBytes = size_t{16} * 1024;
// Files larger than this are not served: the emulator reads a file whole
// into memory, and test content is small.
inline constexpr size_t kMaximumServedFileBytes = size_t{16} * 1024 * 1024;

struct HttpRequest {
  std::string method;
  // The path part of the target, still percent-encoded, without the query.
  std::string path;
  // "HTTP/1.0" or "HTTP/1.1".
  std::string version;
  // The Host header (or an absolute target's host) in lower case, without a
  // port; empty when the request has none (allowed in HTTP/1.0).
  std::string host;
};

struct HttpResponse {
  int status_code = 200;
  std::string content_type = "text/html";
  std::string body;
  // Headers beyond Server, Content-Type, Content-Length and Connection.
  std::vector<std::pair<std::string, std::string>> extra_headers;
  // For the log: which file was served, or why the request was refused.
  std::string detail;

  // The response as sent: status line, headers, blank line, body.
  std::string Serialize() const;
};

// Returns the length of the request head at the start of `buffer`, blank
// line included, or nullopt while the head is incomplete. Accepts bare LF
// line ends as well as CRLF.
std::optional<size_t> FindRequestHeadEnd(std::string_view buffer);

// Parses a request head (request line and headers). Returns InvalidArgument
// for a malformed request line or header, a missing or repeated Host header
// in HTTP/1.1, or a target that is not a path or an absolute http(s) URL;
// Unimplemented (mapped to 505) for an HTTP version other than 1.0 or 1.1.
absl::StatusOr<HttpRequest> ParseRequestHead(std::string_view head);

// Answers the request whose head is `head` on an endpoint serving `sites`:
// 200 with the file, 400 for a malformed request, a path that tries to leave
// the content folder or a host no site answers to, 404 when nothing is
// there (or only a symbolic link out of the folder), 405 for a method other
// than GET, 505 for an unsupported HTTP version.
HttpResponse AnswerRequest(std::string_view head, const std::vector<SiteContent>& sites);

// A response for a request the emulator gives up on before parsing it
// (a head over kMaximumRequestHeadBytes): 400 with `detail` for the log.
HttpResponse BadRequest(std::string detail);

// "text/html", "image/png", ... from the file name's extension;
// "application/octet-stream" when unknown.
std::string ContentTypeFor(std::string_view file_name);

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_HTTP_EXCHANGE_H_
