#include "common/crypto/certificate_reader.h"

#include <openssl/pem.h>
#include <openssl/pkcs7.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/pkcs12.h"

namespace certfleet::crypto {
namespace {

constexpr std::string_view kBegin = "-----BEGIN ";
constexpr std::string_view kDashes = "-----";

struct PemBlock {
  std::string label;
  std::string_view text;  // From BEGIN through END, inclusive.
  int line = 0;           // 1-based line of the BEGIN marker.
};

int LineOf(std::string_view bytes, size_t offset) {
  return 1 + static_cast<int>(std::count(bytes.begin(), bytes.begin() + offset, '\n'));
}

// Splits PEM text into its blocks. Refuses a BEGIN without its END, which is
// what a truncated download or a bad copy and paste looks like.
absl::StatusOr<std::vector<PemBlock>> SplitPem(std::string_view bytes) {
  std::vector<PemBlock> blocks;
  size_t position = 0;
  while ((position = bytes.find(kBegin, position)) != std::string_view::npos) {
    const size_t label_start = position + kBegin.size();
    const size_t label_end = bytes.find(kDashes, label_start);
    const size_t line_end = bytes.find('\n', label_start);
    if (label_end == std::string_view::npos ||
        (line_end != std::string_view::npos && label_end > line_end)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "damaged PEM: the BEGIN line at line ", LineOf(bytes, position), " is incomplete"));
    }
    PemBlock block;
    block.label = std::string(bytes.substr(label_start, label_end - label_start));
    block.line = LineOf(bytes, position);
    const std::string end_marker = "-----END " + block.label + std::string(kDashes);
    const size_t end = bytes.find(end_marker, label_end);
    if (end == std::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "truncated PEM: the '", block.label, "' block that begins at line ", block.line,
          " has no '", end_marker, "' line (the file was cut short or copied incompletely)"));
    }
    block.text = bytes.substr(position, end + end_marker.size() - position);
    blocks.push_back(std::move(block));
    position = end + end_marker.size();
  }
  return blocks;
}

bool IsCertificateLabel(std::string_view label) {
  return label == "CERTIFICATE" || label == "X509 CERTIFICATE" || label == "TRUSTED CERTIFICATE";
}

bool IsRequestLabel(std::string_view label) {
  return label == "CERTIFICATE REQUEST" || label == "NEW CERTIFICATE REQUEST";
}

bool IsPrivateKeyLabel(std::string_view label) {
  return label.ends_with("PRIVATE KEY");
}

absl::Status NotCertificates(std::string_view what) {
  return absl::InvalidArgumentError("this file is " + std::string(what) + ", not a certificate");
}

constexpr std::string_view kRequestInstead =
    "a certificate signing request (CSR); submit it to the CA and use the certificate the CA "
    "returns";
constexpr std::string_view kPrivateKeyInstead =
    "a private key; keep it on its host and never send it anywhere";
constexpr std::string_view kPkcs12Instead =
    "a PKCS#12 (.pfx) archive with a private key; export the certificate alone (PEM or DER)";

absl::StatusOr<std::vector<Certificate>> CertificatesOfPkcs7(PKCS7* bundle) {
  STACK_OF(X509)* certificates = nullptr;
  switch (OBJ_obj2nid(bundle->type)) {
    case NID_pkcs7_signed:
      certificates = bundle->d.sign != nullptr ? bundle->d.sign->cert : nullptr;
      break;
    case NID_pkcs7_signedAndEnveloped:
      certificates =
          bundle->d.signed_and_enveloped != nullptr ? bundle->d.signed_and_enveloped->cert : nullptr;
      break;
    default:
      return absl::InvalidArgumentError(
          "this PKCS#7 file is not a certificate bundle (it is not of the signed-data type)");
  }
  std::vector<Certificate> result;
  for (int i = 0; certificates != nullptr && i < sk_X509_num(certificates); ++i) {
    result.push_back(Certificate::FromNative(sk_X509_value(certificates, i)));
  }
  if (result.empty()) {
    return absl::InvalidArgumentError("the PKCS#7 bundle contains no certificates");
  }
  return result;
}

absl::StatusOr<CertificateFile> ReadPem(std::string_view bytes) {
  absl::StatusOr<std::vector<PemBlock>> blocks = SplitPem(bytes);
  if (!blocks.ok()) return blocks.status();
  CertificateFile file;
  file.encoding = Encoding::kPem;
  bool saw_request = false;
  bool saw_private_key = false;
  std::string other_label;
  for (const PemBlock& block : *blocks) {
    BioHandle bio = MemoryBioFor(block.text);
    if (IsCertificateLabel(block.label)) {
      X509* certificate = block.label == "TRUSTED CERTIFICATE"
                              ? PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr)
                              : PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
      if (certificate == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "damaged PEM: the certificate at line ", block.line,
            " does not decode (bad base64 or not X.509): ", TakeOpenSslErrors()));
      }
      file.certificates.push_back(Certificate::FromNative(certificate));
      X509_free(certificate);
    } else if (block.label == "PKCS7") {
      Pkcs7Handle bundle(PEM_read_bio_PKCS7(bio.get(), nullptr, nullptr, nullptr));
      if (bundle == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "damaged PEM: the PKCS#7 bundle at line ", block.line, " does not decode: ",
            TakeOpenSslErrors()));
      }
      absl::StatusOr<std::vector<Certificate>> certificates = CertificatesOfPkcs7(bundle.get());
      if (!certificates.ok()) return certificates.status();
      file.container = Container::kPkcs7;
      file.certificates.insert(file.certificates.end(), certificates->begin(),
                               certificates->end());
    } else if (IsRequestLabel(block.label)) {
      saw_request = true;
    } else if (IsPrivateKeyLabel(block.label)) {
      saw_private_key = true;
    } else if (other_label.empty()) {
      other_label = block.label;
    }
  }
  if (!file.certificates.empty()) return file;
  if (saw_private_key) return NotCertificates(kPrivateKeyInstead);
  if (saw_request) return NotCertificates(kRequestInstead);
  if (!other_label.empty()) {
    return NotCertificates(absl::StrCat("a PEM '", other_label, "' block"));
  }
  return absl::InvalidArgumentError(
      "no certificate found: the file has no complete '-----BEGIN CERTIFICATE-----' block");
}

absl::StatusOr<CertificateFile> ReadDer(std::string_view bytes) {
  ClearOpenSslErrors();
  CertificateFile file;
  file.encoding = Encoding::kDer;
  if (absl::StatusOr<Certificate> certificate = Certificate::FromDer(bytes); certificate.ok()) {
    file.certificates.push_back(*certificate);
    return file;
  }
  ClearOpenSslErrors();
  const auto* cursor = reinterpret_cast<const unsigned char*>(bytes.data());
  Pkcs7Handle bundle(d2i_PKCS7(nullptr, &cursor, static_cast<long>(bytes.size())));
  if (bundle != nullptr) {
    absl::StatusOr<std::vector<Certificate>> certificates = CertificatesOfPkcs7(bundle.get());
    if (!certificates.ok()) return certificates.status();
    file.container = Container::kPkcs7;
    file.certificates = *std::move(certificates);
    return file;
  }
  ClearOpenSslErrors();
  if (LooksLikePkcs12(bytes)) return NotCertificates(kPkcs12Instead);
  cursor = reinterpret_cast<const unsigned char*>(bytes.data());
  if (X509RequestHandle request(d2i_X509_REQ(nullptr, &cursor, static_cast<long>(bytes.size())));
      request != nullptr) {
    return NotCertificates(kRequestInstead);
  }
  cursor = reinterpret_cast<const unsigned char*>(bytes.data());
  if (EvpPkeyHandle key(d2i_AutoPrivateKey(nullptr, &cursor, static_cast<long>(bytes.size())));
      key != nullptr) {
    return NotCertificates(kPrivateKeyInstead);
  }
  ClearOpenSslErrors();
  const auto first = static_cast<unsigned char>(bytes[0]);
  if (first == 0x30) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "damaged DER: the %d bytes start like ASN.1 but are not a complete certificate or "
        "PKCS#7 bundle (truncated download?)",
        bytes.size()));
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "not a certificate: the %d bytes are neither PEM text nor DER (X.509 or PKCS#7); "
      "the file starts with byte 0x%02X",
      bytes.size(), first));
}

}  // namespace

absl::StatusOr<CertificateFile> ReadCertificates(std::string_view bytes) {
  if (bytes.empty()) return absl::InvalidArgumentError("the file is empty");
  if (bytes.size() > kMaxInputBytes) {
    return absl::InvalidArgumentError(
        absl::StrFormat("the file is %d bytes, over the %d-byte limit for certificate files",
                        bytes.size(), kMaxInputBytes));
  }
  if (bytes.find(kBegin) != std::string_view::npos) return ReadPem(bytes);
  return ReadDer(bytes);
}

absl::StatusOr<Certificate> ReadSingleCertificate(std::string_view bytes) {
  absl::StatusOr<CertificateFile> file = ReadCertificates(bytes);
  if (!file.ok()) return file.status();
  if (file->certificates.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected one certificate but the file holds ", file->certificates.size(),
        "; give the server certificate alone"));
  }
  return file->certificates.front();
}

std::string ToPemBundle(const std::vector<Certificate>& certificates) {
  std::string pem;
  for (const Certificate& certificate : certificates) pem += certificate.ToPem();
  return pem;
}

absl::StatusOr<std::string> ToPkcs7Der(const std::vector<Certificate>& certificates) {
  Pkcs7Handle bundle(PKCS7_new());
  if (PKCS7_set_type(bundle.get(), NID_pkcs7_signed) != 1 ||
      PKCS7_content_new(bundle.get(), NID_pkcs7_data) != 1) {
    return absl::InternalError(absl::StrCat("cannot make a PKCS#7 bundle: ", TakeOpenSslErrors()));
  }
  for (const Certificate& certificate : certificates) {
    if (PKCS7_add_certificate(bundle.get(), certificate.native_handle()) != 1) {
      return absl::InternalError(
          absl::StrCat("cannot add a certificate to PKCS#7: ", TakeOpenSslErrors()));
    }
  }
  unsigned char* buffer = nullptr;
  const int length = i2d_PKCS7(bundle.get(), &buffer);
  if (length <= 0) {
    return absl::InternalError(absl::StrCat("cannot encode PKCS#7: ", TakeOpenSslErrors()));
  }
  std::string der(reinterpret_cast<char*>(buffer), static_cast<size_t>(length));
  OPENSSL_free(buffer);
  return der;
}

}  // namespace certfleet::crypto
