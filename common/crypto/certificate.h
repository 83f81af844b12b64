// An X.509 certificate and every fact about it that certfleet uses: the
// thumbprint IIS binds by, names, validity, key and signature details, and
// whether it is a CA.
//
// Reading certificates from files of any format (PEM, DER, PKCS#7) is in
// certificate_reader.h; this class starts from one parsed certificate.
//
// Thread safety: Certificate is an immutable value with shared ownership of
// the underlying OpenSSL object; copies are cheap and const methods may be
// called from several threads at once.

#ifndef CERTFLEET_COMMON_CRYPTO_CERTIFICATE_H_
#define CERTFLEET_COMMON_CRYPTO_CERTIFICATE_H_

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/distinguished_name.h"
#include "common/crypto/openssl_handles.h"
#include "common/crypto/private_key.h"

namespace certfleet::crypto {

class Certificate {
 public:
  // Parses one DER-encoded certificate. Returns InvalidArgument when the bytes
  // are not exactly one certificate (trailing bytes are refused too).
  static absl::StatusOr<Certificate> FromDer(std::string_view der);

  // Takes a reference on `certificate` (which the caller keeps owning).
  static Certificate FromNative(X509* certificate);

  std::string ToDer() const;
  std::string ToPem() const;

  // SHA-1 of the DER, 40 upper-case hex digits: what IIS 6 stores as
  // SSLCertHash and Windows shows as the thumbprint.
  std::string Thumbprint() const;

  // SHA-256 of the DER, 64 upper-case hex digits.
  std::string Sha256Fingerprint() const;

  // RFC 2253 text of the subject and issuer names.
  std::string SubjectText() const;
  std::string IssuerText() const;
  DistinguishedName Subject() const;
  DistinguishedName Issuer() const;

  // Subject alternative names as "DNS:www.example.com", "IP:10.0.0.5",
  // "email:ops@example.com" or "URI:...", in certificate order.
  std::vector<std::string> SubjectAlternativeNames() const;

  // Just the DNS names among the subject alternative names.
  std::vector<std::string> DnsNames() const;

  // Serial number as upper-case hex without separators.
  std::string SerialHex() const;

  absl::Time NotBefore() const;
  absl::Time NotAfter() const;

  // True when `at` lies within [NotBefore, NotAfter].
  bool IsValidAt(absl::Time at) const;

  PublicKey public_key() const;

  // OpenSSL's long name of the signature algorithm, e.g.
  // "sha256WithRSAEncryption" or "ecdsa-with-SHA384".
  std::string SignatureAlgorithm() const;

  // basicConstraints CA:TRUE.
  bool IsCertificateAuthority() const;

  // basicConstraints pathLenConstraint, when present.
  std::optional<int> PathLength() const;

  // Subject and issuer names are equal (a root, or a self-issued cert).
  bool IsSelfIssued() const;

  // True when `issuer`'s subject is this certificate's issuer name and its
  // key verifies this certificate's signature.
  bool IsIssuedBy(const Certificate& issuer) const;

  // For code inside common/ only; the object stays owned by this Certificate.
  X509* native_handle() const { return certificate_.get(); }

  friend bool operator==(const Certificate& a, const Certificate& b);

 private:
  explicit Certificate(std::shared_ptr<X509> certificate)
      : certificate_(std::move(certificate)) {}

  std::shared_ptr<X509> certificate_;
};

// Writes "'<subject>' (SHA-1 <thumbprint>)": how logs and test failures name a
// certificate so that an operator can find it among the files they hold.
std::ostream& operator<<(std::ostream& out, const Certificate& certificate);

// Upper-case hex of `bytes`, two digits a byte, no separators.
std::string HexUpper(std::string_view bytes);

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_CERTIFICATE_H_
