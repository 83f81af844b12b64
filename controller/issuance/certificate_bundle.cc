#include "controller/issuance/certificate_bundle.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/object_inspector.h"
#include "common/io/file.h"

namespace certfleet::controller {
namespace {

bool IsCa(const crypto::Certificate& certificate) {
  const crypto::CertificateRole role = crypto::RoleOf(certificate);
  return role == crypto::CertificateRole::kIntermediate || role == crypto::CertificateRole::kRoot;
}

bool Skipped(const std::string& name) {
  return name.empty() || name.front() == '.' ||
         absl::StartsWith(absl::AsciiStrToLower(name), "readme");
}

}  // namespace

absl::StatusOr<CertificateBundle> CertificateBundle::LoadFolder(
    const std::filesystem::path& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) {
    return absl::NotFoundError(
        absl::StrCat("the certificate bundle folder ", folder.string(), " does not exist"));
  }
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator iterator(folder, error), end; !error && iterator != end;
       iterator.increment(error)) {
    if (!iterator->is_regular_file(error)) continue;
    if (Skipped(iterator->path().filename().string())) continue;
    files.push_back(iterator->path());
  }
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot list the certificate bundle folder ",
                                                      folder.string(), ": ", error.message()));
  }
  std::sort(files.begin(), files.end());

  CertificateBundle bundle;
  for (const std::filesystem::path& path : files) {
    absl::StatusOr<std::string> bytes = io::ReadFile(path, crypto::kMaxInputBytes);
    if (!bytes.ok()) return absl::FailedPreconditionError(std::string(bytes.status().message()));
    absl::StatusOr<crypto::CertificateFile> file = crypto::ReadCertificates(*bytes);
    if (!file.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("bundle file ", path.string(), ": ", file.status().message(),
                       "; the bundle folder holds intermediate and root certificates only"));
    }
    for (const crypto::Certificate& certificate : file->certificates) {
      if (!IsCa(certificate)) {
        return absl::FailedPreconditionError(
            absl::StrCat("bundle file ", path.string(), " holds '", certificate.SubjectText(),
                         "', a ", crypto::RoleName(crypto::RoleOf(certificate)),
                         "; the bundle folder holds intermediate and root certificates only"));
      }
      // IsCa was checked, so Add cannot fail.
      bundle.Add(certificate, path.filename().string()).IgnoreError();
    }
  }
  return bundle;
}

absl::Status CertificateBundle::Add(const crypto::Certificate& certificate,
                                    std::string_view file_name) {
  if (!IsCa(certificate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'", certificate.SubjectText(), "' is a ", crypto::RoleName(crypto::RoleOf(certificate)),
        ", not a CA certificate; a bundle holds intermediates and roots only"));
  }
  for (const BundleEntry& entry : entries_) {
    if (entry.certificate == certificate && entry.file_name == file_name) return absl::OkStatus();
  }
  entries_.push_back(BundleEntry{certificate, std::string(file_name)});
  return absl::OkStatus();
}

std::vector<crypto::Certificate> CertificateBundle::Certificates() const {
  std::vector<crypto::Certificate> certificates;
  for (const BundleEntry& entry : entries_) {
    if (std::find(certificates.begin(), certificates.end(), entry.certificate) ==
        certificates.end()) {
      certificates.push_back(entry.certificate);
    }
  }
  return certificates;
}

std::vector<crypto::Certificate> CertificateBundle::CertificatesFromFile(
    std::string_view file_name) const {
  std::vector<crypto::Certificate> certificates;
  for (const BundleEntry& entry : entries_) {
    if (absl::EqualsIgnoreCase(entry.file_name, std::string(file_name))) {
      certificates.push_back(entry.certificate);
    }
  }
  return certificates;
}

std::string CertificateBundle::FileOf(const crypto::Certificate& certificate) const {
  for (const BundleEntry& entry : entries_) {
    if (entry.certificate == certificate) return entry.file_name;
  }
  return "";
}

}  // namespace certfleet::controller
