// Reads certificates from whatever an operator downloaded: PEM or DER, a
// single certificate or a PKCS#7 bundle (.crt, .cer, .pem, .p7b, .p7c), no
// matter what the file is called. Format is never the problem (IIS6.md,
// "Failure causes"); when the bytes are not certificates the error says what
// they are instead (a private key, a CSR, a PKCS#12 file, truncated PEM...).
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_COMMON_CRYPTO_CERTIFICATE_READER_H_
#define CERTFLEET_COMMON_CRYPTO_CERTIFICATE_READER_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"

namespace certfleet::crypto {

// The largest input any parser in the toolkit accepts. Certificate files are a
// few kilobytes; a bundle of a hundred certificates stays far below this.
inline constexpr size_t kMaxInputBytes = 1024 * 1024;

enum class Encoding { kPem, kDer };

enum class Container {
  kCertificate,  // One or more bare certificates (PEM blocks or one DER).
  kPkcs7,        // A PKCS#7 / CMS "certs-only" bundle.
};

struct CertificateFile {
  Encoding encoding = Encoding::kPem;
  Container container = Container::kCertificate;
  // In file order; never empty on success.
  std::vector<Certificate> certificates;
};

// Reads every certificate in `bytes`. Returns InvalidArgument with a message
// a person can act on when the input is empty, larger than kMaxInputBytes,
// truncated or garbled PEM, garbage DER, a PKCS#7 with no certificates, or
// another kind of object (private key, CSR, PKCS#12), naming that object.
absl::StatusOr<CertificateFile> ReadCertificates(std::string_view bytes);

// Reads exactly one certificate; a bundle of several is refused with
// InvalidArgument saying how many it holds.
absl::StatusOr<Certificate> ReadSingleCertificate(std::string_view bytes);

// Writes certificates as concatenated PEM blocks.
std::string ToPemBundle(const std::vector<Certificate>& certificates);

// Writes certificates as a DER PKCS#7 certs-only bundle (.p7b).
absl::StatusOr<std::string> ToPkcs7Der(const std::vector<Certificate>& certificates);

}  // namespace certfleet::crypto

#endif  // CERTFLEET_COMMON_CRYPTO_CERTIFICATE_READER_H_
