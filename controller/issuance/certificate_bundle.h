// The configured bundle of intermediate and root certificates that chains of
// manually issued certificates are completed from: a folder where operators
// drop what CA vendors publish (CrossTrustOVCA3.crt, COMODO_EV_SSL.p7b,
// AddTrustExternalCARoot.crt, ...) in any format. Certificates are
// remembered with the file they came from, so that the CA product catalogue's
// file names (ca_product_catalogue.h) can be looked up.
//
// Thread safety: a value; const methods may be called from several threads
// at once, Add must not run concurrently with anything else.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_CERTIFICATE_BUNDLE_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_CERTIFICATE_BUNDLE_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/crypto/certificate.h"

namespace certfleet::controller {

struct BundleEntry {
  crypto::Certificate certificate;
  // The file it was read from (its name only, without the folder).
  std::string file_name = {};
};

class CertificateBundle {
 public:
  CertificateBundle() = default;

  // Reads every regular file directly in `folder` (PEM, DER or PKCS#7,
  // whatever the extension); files whose names start with '.' and README
  // files are skipped. Returns NotFound when the folder does not exist, and
  // FailedPrecondition naming the file when a file is not certificates, holds
  // a certificate that is not a CA (a server certificate does not belong in
  // the bundle), or cannot be read. An empty folder is an empty bundle.
  static absl::StatusOr<CertificateBundle> LoadFolder(const std::filesystem::path& folder);

  // Adds a CA certificate as if read from `file_name`. The same certificate
  // may come from several files (a .p7b often repeats a .crt); each file
  // keeps it, Certificates() lists it once. Returns
  // InvalidArgument when `certificate` is not a CA.
  absl::Status Add(const crypto::Certificate& certificate, std::string_view file_name);

  // Every (certificate, file) pair, in the order added (files in name order
  // for a folder).
  const std::vector<BundleEntry>& entries() const { return entries_; }

  // Every distinct certificate, in the order first added.
  std::vector<crypto::Certificate> Certificates() const;

  // The certificates read from `file_name` (compared case-insensitively, as
  // on the Windows machines the names come from); empty when there is none.
  std::vector<crypto::Certificate> CertificatesFromFile(std::string_view file_name) const;

  bool HasFile(std::string_view file_name) const {
    return !CertificatesFromFile(file_name).empty();
  }

  // The first file a certificate of the bundle came from; empty when it is
  // not in the bundle.
  std::string FileOf(const crypto::Certificate& certificate) const;

 private:
  std::vector<BundleEntry> entries_;
};

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_CERTIFICATE_BUNDLE_H_
