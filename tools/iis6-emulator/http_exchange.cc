#include "tools/iis6-emulator/http_exchange.h"

#include <array>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/io/file.h"
#include "tools/iis6-emulator/content_resolver.h"
#include "tools/iis6-emulator/string_views.h"

namespace certfleet::iis6_emulator {
namespace {

std::string_view ReasonPhrase(int status_code) {
  switch (status_code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

HttpResponse ErrorResponse(int status_code, std::string detail) {
  HttpResponse response;
  response.status_code = status_code;
  response.body =
      absl::StrCat("<html><head><title>", status_code, " ", std::string(ReasonPhrase(status_code)),
                   "</title></head><body><h1>", status_code, " ",
                   std::string(ReasonPhrase(status_code)), "</h1></body></html>\r\n");
  response.detail = std::move(detail);
  return response;
}

// Removes a ":port" suffix and lower-cases a Host value.
std::string HostWithoutPort(absl::string_view host) {
  if (const size_t colon = host.rfind(':'); colon != absl::string_view::npos) {
    host = host.substr(0, colon);
  }
  return absl::AsciiStrToLower(host);
}

// The site that answers requests for `host`: one bound with that host
// header, else the first bound without one.
const SiteContent* RouteToSite(const std::vector<SiteContent>& sites, const std::string& host) {
  for (const SiteContent& site : sites) {
    if (!site.host_header.empty() && site.host_header == host) return &site;
  }
  for (const SiteContent& site : sites) {
    if (site.host_header.empty()) return &site;
  }
  return nullptr;
}

}  // namespace

std::string HttpResponse::Serialize() const {
  std::string text =
      absl::StrCat("HTTP/1.1 ", status_code, " ", std::string(ReasonPhrase(status_code)),
                   "\r\nServer: Microsoft-IIS/6.0 (certfleet iis6-emulator)"
                   "\r\nContent-Type: ",
                   content_type, "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n");
  for (const auto& [name, value] : extra_headers) absl::StrAppend(&text, name, ": ", value, "\r\n");
  absl::StrAppend(&text, "\r\n", body);
  return text;
}

std::optional<size_t> FindRequestHeadEnd(std::string_view buffer) {
  const size_t crlf = buffer.find("\r\n\r\n");
  const size_t lf = buffer.find("\n\n");
  if (crlf == std::string_view::npos && lf == std::string_view::npos) return std::nullopt;
  if (lf == std::string_view::npos || (crlf != std::string_view::npos && crlf < lf)) {
    return crlf + 4;
  }
  return lf + 2;
}

absl::StatusOr<HttpRequest> ParseRequestHead(std::string_view head) {
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(head), '\n');
  for (absl::string_view& line : lines) {
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
  }
  if (lines.empty() || lines.front().empty()) {
    return absl::InvalidArgumentError("the request has no request line");
  }
  const std::vector<absl::string_view> parts = absl::StrSplit(lines.front(), ' ');
  if (parts.size() != 3 || parts[0].empty() || parts[1].empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed request line \"", std::string(lines.front()), "\""));
  }
  HttpRequest request;
  request.method = std::string(parts[0]);
  request.version = std::string(parts[2]);
  if (request.version != "HTTP/1.0" && request.version != "HTTP/1.1") {
    if (absl::StartsWith(request.version, "HTTP/")) {
      return absl::UnimplementedError(
          absl::StrCat("HTTP version ", request.version, " is not supported"));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("malformed request line \"", std::string(lines.front()), "\""));
  }

  absl::string_view target = parts[1];
  std::optional<std::string> target_host;
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (!absl::StartsWithIgnoreCase(target, scheme)) continue;
    target.remove_prefix(scheme.size());
    const size_t slash = target.find('/');
    target_host = HostWithoutPort(target.substr(0, slash));
    target = slash == absl::string_view::npos ? "/" : target.substr(slash);
    break;
  }
  if (!absl::StartsWith(target, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request target \"", std::string(parts[1]), "\" is not a path"));
  }
  request.path = std::string(target.substr(0, target.find_first_of("?#")));

  int host_headers = 0;
  for (size_t index = 1; index < lines.size(); ++index) {
    const absl::string_view line = lines[index];
    if (line.empty()) continue;
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos || colon == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed header line \"", std::string(line), "\""));
    }
    if (absl::EqualsIgnoreCase(line.substr(0, colon), "host")) {
      ++host_headers;
      request.host = HostWithoutPort(absl::StripAsciiWhitespace(line.substr(colon + 1)));
    }
  }
  if (host_headers > 1) return absl::InvalidArgumentError("the request has several Host headers");
  if (request.version == "HTTP/1.1" && host_headers == 0) {
    return absl::InvalidArgumentError("an HTTP/1.1 request without a Host header");
  }
  // An absolute target's host takes precedence over the Host header (RFC 9112).
  if (target_host.has_value()) request.host = *target_host;
  return request;
}

HttpResponse AnswerRequest(std::string_view head, const std::vector<SiteContent>& sites) {
  absl::StatusOr<HttpRequest> request = ParseRequestHead(head);
  if (absl::IsUnimplemented(request.status())) {
    return ErrorResponse(505, std::string(request.status().message()));
  }
  if (!request.ok()) return ErrorResponse(400, std::string(request.status().message()));
  if (request->method != "GET") {
    HttpResponse response =
        ErrorResponse(405, absl::StrCat("method ", request->method, " is not served"));
    response.extra_headers.emplace_back("Allow", "GET");
    return response;
  }
  const SiteContent* site = RouteToSite(sites, request->host);
  if (site == nullptr) {
    // IIS 6 answers "Bad Request (Invalid Hostname)" when no site has the host.
    return ErrorResponse(400, absl::StrCat("no site answers to host \"", request->host, "\""));
  }
  const std::string site_label = absl::StrCat("site '", site->site_name, "' (", site->site_id, ")");
  if (!site->content_root.has_value()) {
    return ErrorResponse(404, absl::StrCat(site_label, " has no content folder"));
  }
  absl::StatusOr<std::filesystem::path> file =
      ResolveContentFile(*site->content_root, request->path);
  if (absl::IsInvalidArgument(file.status())) {
    return ErrorResponse(400, absl::StrCat(site_label, ": ", file.status().message()));
  }
  if (!file.ok()) {
    // A link out of the folder is answered as if nothing were there, so that
    // a client learns nothing about the rest of the file system.
    return ErrorResponse(404, absl::StrCat(site_label, ": ", file.status().message()));
  }
  absl::StatusOr<std::string> contents = io::ReadFile(*file, kMaximumServedFileBytes);
  if (!contents.ok()) {
    return ErrorResponse(500, absl::StrCat(site_label, ": ", contents.status().message()));
  }
  HttpResponse response;
  response.status_code = 200;
  response.content_type = ContentTypeFor(file->filename().string());
  response.body = *std::move(contents);
  response.detail = absl::StrCat(site_label, " served ", file->string());
  return response;
}

HttpResponse BadRequest(std::string detail) { return ErrorResponse(400, std::move(detail)); }

std::string ContentTypeFor(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 12> kTypes = {{
      {".html", "text/html"},
      {".htm", "text/html"},
      {".txt", "text/plain"},
      {".css", "text/css"},
      {".js", "application/javascript"},
      {".json", "application/json"},
      {".xml", "text/xml"},
      {".png", "image/png"},
      {".gif", "image/gif"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".ico", "image/x-icon"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (absl::EndsWithIgnoreCase(ToAbsl(file_name), ToAbsl(extension))) return std::string(type);
  }
  return "application/octet-stream";
}

}  // namespace certfleet::iis6_emulator
