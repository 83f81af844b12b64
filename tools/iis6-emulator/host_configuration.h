// What an emulated IIS 6 host serves, computed from its host root: every
// TCP endpoint (address and port) that a started site binds, with the
// certificate and chain for a secure binding and the content folders for
// plain HTTP. This is the emulator's model of IIS 6's start-up: reading it
// has no side effects, so a reload can compute the next configuration and
// keep the current one when the files turn out to be unreadable.
//
// IIS 6 rules it applies (../shared/docs/IIS6.md):
//   - Only sites with ServerAutoStart TRUE (or absent) are served.
//   - A secure binding serves the certificate SSLCertHash names, found in the
//     store SSLStoreName names (MY when absent) together with its private
//     key, followed by every certificate of the CA store that lies on its
//     chain, walking issuer links. A missing intermediate means an incomplete
//     chain; nothing else completes it.
//   - No SNI: one certificate per address and port. When two sites bind the
//     same address and port with different certificates, the first in file
//     order is served and the other binding is reported as a problem.
//   - Plain HTTP bindings on one address and port share the socket and are
//     told apart by host header.
//   - "All Unassigned" (":443:") means the host's address from
//     emulation.conf, unless the caller overrides it.
//
// Thread safety: free functions without shared state; the results are plain
// values.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_HOST_CONFIGURATION_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_HOST_CONFIGURATION_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"
#include "tools/iis6-emulator/host_layout.h"

namespace certfleet::iis6_emulator {

// The address "All Unassigned" stands for when neither emulation.conf nor the
// caller names one.
inline constexpr std::string_view kDefaultAddress = "127.0.0.1";

enum class EndpointProtocol { kHttp, kTls };

// "http" or "https".
std::string_view EndpointProtocolName(EndpointProtocol protocol);

// A site as one endpoint serves it.
struct SiteContent {
  std::string site_id;
  std::string site_name;
  // Matched against the request's Host header; empty matches any host.
  std::string host_header;
  // The ROOT virtual directory's Path mapped under fs/; nullopt when the
  // site has none or it cannot be mapped (then every request gets 404).
  std::optional<std::filesystem::path> content_root;
};

// The certificate a secure endpoint serves.
struct TlsIdentity {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
  // Certificates from the CA store that chain the leaf, its issuer first.
  std::vector<crypto::Certificate> chain;
};

struct EndpointConfiguration {
  // An IPv4 address in dotted form.
  std::string address;
  std::uint16_t port = 0;
  EndpointProtocol protocol = EndpointProtocol::kHttp;
  // In the order requests are routed: the first site whose host header
  // matches serves the request, else the first with an empty host header.
  std::vector<SiteContent> sites;
  // Set exactly when protocol is kTls.
  std::optional<TlsIdentity> identity;

  // "127.0.0.2:8443".
  std::string AddressText() const;
  // A one-line description for the log: protocol, address, sites and, for
  // TLS, the certificate's thumbprint and subject and the chain length.
  std::string Describe() const;
};

struct HostConfiguration {
  // The address "All Unassigned" was resolved to.
  std::string default_address;
  // In the order MetaBase.xml first binds them.
  std::vector<EndpointConfiguration> endpoints;
  // One sentence per binding or site that is not served and why (stopped
  // site, missing certificate or key, a binding that conflicts with another),
  // and per store file that could not be read. The emulator logs them.
  std::vector<std::string> problems;
};

struct LoadOptions {
  // Replaces emulation.conf's address when set (the --address flag).
  std::optional<std::string> address_override;
  // Fault injection (the --withhold-intermediate flag): CA-store
  // certificates whose subject contains this text are never sent, as if IIS
  // could not use them, so that a renewed site serves an incomplete chain.
  // Empty: none withheld.
  std::string withheld_intermediate_subject = {};
};

// Reads emulation.conf (optional), inetsrv/MetaBase.xml and the stores.
// Problems with single sites and bindings are reported in `problems` and do
// not fail the load: IIS starts the other sites too. Returns an error only when
// the host's configuration as a whole is unreadable: MetaBase.xml missing
// (NotFound) or refused by the metabase parser (its error, naming the file
// and line), emulation.conf unreadable or malformed, or an address that is not
// an IPv4 address (InvalidArgument naming the file and line).
absl::StatusOr<HostConfiguration> LoadHostConfiguration(const HostLayout& layout,
                                                        const LoadOptions& options);

// True when `text` is a dotted IPv4 address such as "127.0.0.2".
bool IsIpv4Address(std::string_view text);

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_HOST_CONFIGURATION_H_
