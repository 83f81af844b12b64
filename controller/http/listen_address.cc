#include "controller/http/listen_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace certfleet::controller::http {

absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text) {
  const auto invalid = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "HTTP listen address '", std::string(text), "' is not ADDRESS:PORT (", std::string(why),
        "); for example 127.0.0.1:8080, [::1]:8080 or 0.0.0.0:8443"));
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return invalid("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.back() != ']' || host.size() < 3) return invalid("unclosed bracket");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return invalid("an IPv6 address needs brackets");
  }
  int port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(std::string(port_text), &port) || port < 0 ||
      port > 65535) {
    return invalid("the port must be 0 to 65535");
  }
  return ListenAddress{std::string(host), port};
}

bool IsLoopbackHost(std::string_view host) {
  if (absl::AsciiStrToLower(std::string(host)) == "localhost") return true;
  const std::string text(host);
  unsigned char bytes[16];
  if (inet_pton(AF_INET, text.c_str(), bytes) == 1) return bytes[0] == 127;
  if (inet_pton(AF_INET6, text.c_str(), bytes) == 1) {
    static constexpr unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return std::memcmp(bytes, kLoopback, sizeof(kLoopback)) == 0;
  }
  return false;
}

std::string HostForUrl(std::string_view host) {
  if (host == "0.0.0.0" || host.empty()) return "127.0.0.1";
  if (host == "::") return "[::1]";
  if (host.find(':') != std::string_view::npos) return absl::StrCat("[", std::string(host), "]");
  return std::string(host);
}

}  // namespace certfleet::controller::http
