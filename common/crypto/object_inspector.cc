#include "common/crypto/object_inspector.h"

#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/pkcs12.h"

namespace certfleet::crypto {
namespace {

bool HasServerAuthOrNoExtendedKeyUsage(X509* certificate) {
  const uint32_t extended_usage = X509_get_extended_key_usage(certificate);
  // UINT32_MAX means the extension is absent: any purpose, servers included.
  return extended_usage == UINT32_MAX || (extended_usage & XKU_SSL_SERVER) != 0;
}

absl::StatusOr<InspectedObject> InspectCertificates(std::string_view bytes) {
  absl::StatusOr<CertificateFile> file = ReadCertificates(bytes);
  if (!file.ok()) return file.status();
  InspectedObject object;
  const bool pkcs7 = file->container == Container::kPkcs7;
  const std::string encoding = file->encoding == Encoding::kPem ? "PEM" : "DER";
  object.format = pkcs7 ? absl::StrCat("PKCS#7 (", encoding, ")") : encoding;
  object.certificates = std::move(file->certificates);
  if (object.certificates.size() == 1 && !pkcs7) {
    object.kind = ObjectKind::kCertificate;
    object.description = RoleName(RoleOf(object.certificates.front()));
  } else {
    object.kind = ObjectKind::kCertificateBundle;
    const size_t count = object.certificates.size();
    object.description =
        absl::StrCat(pkcs7 ? "PKCS#7 bundle" : "PEM bundle", " of ", count,
                     count == 1 ? " certificate" : " certificates");
  }
  return object;
}

std::optional<InspectedObject> InspectKeyOrRequest(std::string_view bytes, bool pem) {
  ClearOpenSslErrors();
  if (pem && (bytes.find("ENCRYPTED PRIVATE KEY") != std::string_view::npos ||
              (bytes.find("PRIVATE KEY-----") != std::string_view::npos &&
               bytes.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos))) {
    InspectedObject object;
    object.kind = ObjectKind::kPrivateKey;
    object.format = "PEM";
    object.description = "encrypted private key";
    object.encrypted = true;
    return object;
  }
  if (absl::StatusOr<CertificateRequest> request = CertificateRequest::Parse(bytes); request.ok()) {
    InspectedObject object;
    object.kind = ObjectKind::kCertificateRequest;
    object.format = pem ? "PEM" : "DER";
    object.description = "certificate signing request (CSR)";
    object.key = request->public_key();
    object.request = *std::move(request);
    return object;
  }
  if (absl::StatusOr<PrivateKey> key = PrivateKey::Parse(bytes); key.ok()) {
    InspectedObject object;
    object.kind = ObjectKind::kPrivateKey;
    object.format = pem ? "PEM" : "DER";
    object.key = key->public_key();
    object.description = absl::StrCat("private key (", object.key->Description(), ")");
    return object;
  }
  if (!pem && LooksLikePkcs12(bytes)) {
    InspectedObject object;
    object.kind = ObjectKind::kPkcs12;
    object.format = "PKCS#12 (DER)";
    object.description = "PKCS#12 archive (encrypted; holds a private key and certificates)";
    object.encrypted = true;
    return object;
  }
  ClearOpenSslErrors();
  return std::nullopt;
}

}  // namespace

CertificateRole RoleOf(const Certificate& certificate) {
  if (certificate.IsCertificateAuthority()) {
    return certificate.IsSelfIssued() && certificate.IsIssuedBy(certificate)
               ? CertificateRole::kRoot
               : CertificateRole::kIntermediate;
  }
  // Old roots are X.509 v1 without basicConstraints, yet self-signed.
  if (certificate.IsSelfIssued() && certificate.IsIssuedBy(certificate) &&
      X509_get_version(certificate.native_handle()) == 0) {
    return CertificateRole::kRoot;
  }
  return HasServerAuthOrNoExtendedKeyUsage(certificate.native_handle())
             ? CertificateRole::kServer
             : CertificateRole::kOtherLeaf;
}

std::string RoleName(CertificateRole role) {
  switch (role) {
    case CertificateRole::kServer:
      return "server certificate";
    case CertificateRole::kOtherLeaf:
      return "end-entity certificate not meant for TLS servers";
    case CertificateRole::kIntermediate:
      return "intermediate CA certificate";
    case CertificateRole::kRoot:
      return "root CA certificate";
  }
  return "certificate";
}

absl::StatusOr<InspectedObject> InspectObject(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("the file is empty");
  if (bytes.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "the file is %d bytes, over the %d-byte limit", bytes.size(), kMaxInputBytes));
  }
  absl::StatusOr<InspectedObject> certificates = InspectCertificates(bytes);
  if (certificates.ok()) return certificates;
  // Not certificates: it may be one of the other objects an operator handles.
  const bool pem = bytes.find("-----BEGIN ") != std::string_view::npos;
  if (std::optional<InspectedObject> other = InspectKeyOrRequest(bytes, pem); other.has_value()) {
    return *std::move(other);
  }
  return absl::InvalidArgumentError(absl::StrCat(
      certificates.status().message(),
      pem ? "" : "; nor is it a CSR, a private key or a PKCS#12 archive"));
}

}  // namespace certfleet::crypto
