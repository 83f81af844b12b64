// The TLS side of a secure endpoint: an OpenSSL server context holding the
// bound certificate, its key and exactly the chain IIS 6 would send (OpenSSL's
// own chain completion is off, so a missing intermediate stays missing).
//
// Protocol versions: real IIS 6 speaks SSL 3.0 and TLS 1.0 only. The emulator
// allows TLS 1.0 up to a configurable maximum (TLS 1.2 by default) because
// OpenSSL 3 clients at their default security level refuse TLS 1.0, and
// everything that talks to an emulated host (curl, browsers, the agent's
// probe) should be able to connect; the probe accepts every version anyway.
// SSL 3.0 is not offered: OpenSSL 3 no longer builds it.
//
// This file and connection.cc are the only places in tools/ that call
// OpenSSL directly: the toolkit in common/ has a TLS client (the probe) but no
// server, and the emulator is a test tool. Certificates and keys cross over as
// DER and PEM, never as the toolkit's native handles.
//
// Thread safety: a TlsServerContext is immutable once created; NewSession may
// be called from several threads at once.

#ifndef CERTFLEET_TOOLS_IIS6_EMULATOR_TLS_SERVER_CONTEXT_H_
#define CERTFLEET_TOOLS_IIS6_EMULATOR_TLS_SERVER_CONTEXT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/crypto/openssl_handles.h"
#include "tools/iis6-emulator/host_configuration.h"

namespace certfleet::iis6_emulator {

// The newest TLS version the emulator agrees to; the oldest is always TLS 1.0.
enum class TlsVersion { kTls10, kTls12, kTls13 };

// Parses "1.0", "1.2" or "1.3". Returns InvalidArgument naming the choices.
absl::StatusOr<TlsVersion> ParseTlsVersion(std::string_view text);

// "1.0", "1.2" or "1.3".
std::string_view TlsVersionName(TlsVersion version);

class TlsServerContext {
 public:
  // Builds a server context for `identity`, allowing TLS 1.0 up to
  // `maximum_version`, with OpenSSL's security level 0 so that the SHA-1
  // signatures and older ciphers of TLS 1.0 remain possible. Returns Internal
  // with OpenSSL's reason when the certificate, key or chain is refused.
  static absl::StatusOr<std::shared_ptr<const TlsServerContext>> Create(const TlsIdentity& identity,
                                                                        TlsVersion maximum_version);

  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // Returns a server-side session over the connected, non-blocking socket
  // `descriptor` (which the caller keeps owning), ready for SSL_accept.
  // Returns Internal when OpenSSL cannot allocate it.
  absl::StatusOr<crypto::SslHandle> NewSession(int descriptor) const;

 private:
  explicit TlsServerContext(crypto::SslContextHandle context) : context_(std::move(context)) {}

  crypto::SslContextHandle context_;
};

}  // namespace certfleet::iis6_emulator

#endif  // CERTFLEET_TOOLS_IIS6_EMULATOR_TLS_SERVER_CONTEXT_H_
