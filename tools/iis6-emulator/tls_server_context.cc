#include "tools/iis6-emulator/tls_server_context.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certfleet::iis6_emulator {
namespace {

int ProtocolVersionOf(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return TLS1_VERSION;
    case TlsVersion::kTls12:
      return TLS1_2_VERSION;
    case TlsVersion::kTls13:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

absl::StatusOr<crypto::X509Handle> ToNativeCertificate(const crypto::Certificate& certificate) {
  const std::string der = certificate.ToDer();
  const unsigned char* cursor = reinterpret_cast<const unsigned char*>(der.data());
  crypto::X509Handle native(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
  if (native == nullptr) {
    return absl::InternalError(absl::StrCat("cannot load certificate ", certificate.Thumbprint(),
                                            ": ", crypto::TakeOpenSslErrors()));
  }
  return native;
}

absl::StatusOr<crypto::EvpPkeyHandle> ToNativeKey(const crypto::PrivateKey& key) {
  const std::string pem = key.ToPem();
  crypto::BioHandle bio = crypto::MemoryBioFor(pem);
  crypto::EvpPkeyHandle native(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (native == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot load the private key: ", crypto::TakeOpenSslErrors()));
  }
  return native;
}

}  // namespace

absl::StatusOr<TlsVersion> ParseTlsVersion(std::string_view text) {
  if (text == "1.0") return TlsVersion::kTls10;
  if (text == "1.2") return TlsVersion::kTls12;
  if (text == "1.3") return TlsVersion::kTls13;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown TLS version \"", std::string(text), "\": choose 1.0, 1.2 or 1.3"));
}

std::string_view TlsVersionName(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return "1.0";
    case TlsVersion::kTls12:
      return "1.2";
    case TlsVersion::kTls13:
      return "1.3";
  }
  return "1.2";
}

absl::StatusOr<std::shared_ptr<const TlsServerContext>> TlsServerContext::Create(
    const TlsIdentity& identity, TlsVersion maximum_version) {
  crypto::ClearOpenSslErrors();
  crypto::SslContextHandle context(SSL_CTX_new(TLS_server_method()));
  if (context == nullptr) {
    return absl::InternalError(absl::StrCat("SSL_CTX_new: ", crypto::TakeOpenSslErrors()));
  }
  SSL_CTX_set_min_proto_version(context.get(), TLS1_VERSION);
  SSL_CTX_set_max_proto_version(context.get(), ProtocolVersionOf(maximum_version));
  SSL_CTX_set_security_level(context.get(), 0);
  if (SSL_CTX_set_cipher_list(context.get(), "ALL:!aNULL:!eNULL:@SECLEVEL=0") != 1) {
    return absl::InternalError(
        absl::StrCat("cannot set the cipher list: ", crypto::TakeOpenSslErrors()));
  }
  // Send exactly the chain IIS 6 would send, never one OpenSSL completes.
  SSL_CTX_set_mode(context.get(), SSL_MODE_NO_AUTO_CHAIN | SSL_MODE_ENABLE_PARTIAL_WRITE |
                                      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // Each connection is answered once and closed; there is nothing to resume.
  SSL_CTX_set_session_cache_mode(context.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(context.get(), SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);

  absl::StatusOr<crypto::X509Handle> leaf = ToNativeCertificate(identity.certificate);
  if (!leaf.ok()) return leaf.status();
  absl::StatusOr<crypto::EvpPkeyHandle> key = ToNativeKey(identity.key);
  if (!key.ok()) return key.status();
  if (SSL_CTX_use_certificate(context.get(), leaf->get()) != 1 ||
      SSL_CTX_use_PrivateKey(context.get(), key->get()) != 1 ||
      SSL_CTX_check_private_key(context.get()) != 1) {
    return absl::InternalError(absl::StrCat("cannot use certificate ",
                                            identity.certificate.Thumbprint(),
                                            " with its key: ", crypto::TakeOpenSslErrors()));
  }
  for (const crypto::Certificate& certificate : identity.chain) {
    absl::StatusOr<crypto::X509Handle> native = ToNativeCertificate(certificate);
    if (!native.ok()) return native.status();
    // add0 takes ownership on success.
    if (SSL_CTX_add0_chain_cert(context.get(), native->get()) != 1) {
      return absl::InternalError(absl::StrCat("cannot add chain certificate ",
                                              certificate.Thumbprint(), ": ",
                                              crypto::TakeOpenSslErrors()));
    }
    static_cast<void>(native->release());
  }
  return std::shared_ptr<const TlsServerContext>(new TlsServerContext(std::move(context)));
}

absl::StatusOr<crypto::SslHandle> TlsServerContext::NewSession(int descriptor) const {
  crypto::SslHandle session(SSL_new(context_.get()));
  if (session == nullptr || SSL_set_fd(session.get(), descriptor) != 1) {
    return absl::InternalError(
        absl::StrCat("cannot start a TLS session: ", crypto::TakeOpenSslErrors()));
  }
  SSL_set_accept_state(session.get());
  return session;
}

}  // namespace certfleet::iis6_emulator
