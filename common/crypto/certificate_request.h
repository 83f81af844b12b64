// PKCS#10 certificate signing requests: made on the host from its own key,
// carried to the controller, submitted to a CA, and matched back to the
// certificate the CA returns by public key.
//
// Thread safety: CertificateRequest is an immutable value.

#ifndef CERTFLEET_COMMON_CRYPTO_CERTIFICATE_REQUEST_H_
#define CERTFLEET_COMMON_CRYPTO_CERTIFICATE_REQUEST_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto/distinguished_name.h"
#include "common/crypto/openssl_handles.h"
#include "common/crypto/private_key.h"

namespace certfleet::crypto {

class CertificateRequest {
 public:
  // Makes a request signed with SHA-256 by `key`. `dns_names` become the
  // subjectAltName extension (omitted when empty). Returns InvalidArgument
  // when the subject is empty or a value is refused by OpenSSL.
  static absl::StatusOr<CertificateRequest> Create(const PrivateKey& key,
                                                   const DistinguishedName& subject,
                                                   const std::vector<std::string>& dns_names);

  // Reads one request from PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE
  // REQUEST") or DER. Returns InvalidArgument saying what the bytes are when
  // they are not a request. Does not check the signature: call
  // VerifySignature.
  static absl::StatusOr<CertificateRequest> Parse(std::string_view bytes);

  std::string ToPem() const;
  std::string ToDer() const;

  DistinguishedName Subject() const;
  std::string SubjectText() const;

  // The requested subjectAltName DNS names, in request order.
  std::vector<std::string> DnsNames() const;

  PublicKey public_key() const;
  std::string SignatureAlgorithm() const;

  // OK when the request is signed by the key it carries; otherwise
  // InvalidArgument("CSR signature does not verify ...").
  absl::Status VerifySignature() const;

  // For code inside common/ only.
  X509_REQ* native_handle() const { return request_.get(); }

 private:
  explicit CertificateRequest(std::shared_ptr<X509_REQ> request) : request_(std::move(request)) {}

  std::shared_ptr<X509_REQ> request_;
};

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_CERTIFICATE_REQUEST_H_
