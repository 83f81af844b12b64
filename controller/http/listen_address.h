// The HTTP listener's address: "HOST:PORT" with HOST an IPv4 address, a
// bracketed IPv6 address ("[::1]:8080") or a name ("localhost"), and whether
// it is loopback-only (which decides whether a bearer token is required).
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_HTTP_LISTEN_ADDRESS_H_
#define CERTFLEET_CONTROLLER_HTTP_LISTEN_ADDRESS_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace certfleet::controller::http {

struct ListenAddress {
  // Without brackets: "127.0.0.1", "::1", "0.0.0.0", "localhost".
  std::string host;
  // 0: any free port.
  int port = 0;
};

// InvalidArgument naming the text when it is not HOST:PORT with a port in
// 0..65535.
absl::StatusOr<ListenAddress> ParseListenAddress(std::string_view text);

// True for 127.0.0.0/8, ::1 and "localhost": only this machine can connect.
bool IsLoopbackHost(std::string_view host);

// "host" for URLs: IPv6 in brackets; the unspecified addresses (0.0.0.0,
// ::) become the loopback address of their family, which reaches them from
// the controller's own machine.
std::string HostForUrl(std::string_view host);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_LISTEN_ADDRESS_H_
