#include "agent/drivers/iis6/certificate_stores.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "agent/drivers/iis6/host_root.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::iis6 {
namespace {

using agent::CertificateStore;
using agent::StoredCertificate;

constexpr std::string_view kCertificateExtension = ".cer";
constexpr std::string_view kKeyExtension = ".key";
constexpr std::string_view kRequestFile = "request.csr";
constexpr std::string_view kRequestKeyFile = "request.key";
constexpr std::string_view kPlaceholderFile = "placeholder.cer";

// Private keys are readable by the agent's user only; certificates and CSRs
// are public, but live in 0700 folders anyway.
constexpr mode_t kKeyMode = 0600;
constexpr mode_t kPublicFileMode = 0644;

// How long the placeholder of a pending request is valid. IIS's placeholder
// is never served; a year matches what the Windows enrollment layer writes.
constexpr absl::Duration kPlaceholderLifetime = absl::Hours(24 * 365);

absl::Status ErrnoError(std::string_view action, const std::filesystem::path& path, int error) {
  return absl::InternalError(
      absl::StrCat("cannot ", std::string(action), " ", path.string(), ": ", std::strerror(error)));
}

// Makes a rename or a removal inside `folder` durable.
absl::Status SyncFolder(const std::filesystem::path& folder) {
  const int descriptor = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (descriptor < 0) return ErrnoError("open the folder", folder, errno);
  const int result = ::fsync(descriptor);
  const int error = errno;
  ::close(descriptor);
  if (result != 0) return ErrnoError("flush the folder", folder, error);
  return absl::OkStatus();
}

bool Exists(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// Reads a DER certificate file of a store; a damaged file is a damaged host
// configuration (FailedPrecondition), not bad input from the caller.
absl::StatusOr<crypto::Certificate> ReadCertificateFile(const std::filesystem::path& path) {
  absl::StatusOr<std::string> bytes = io::ReadFile(path, crypto::kMaxInputBytes);
  if (!bytes.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path.string(), ": ", bytes.status().message()));
  }
  // Stores hold DER, but a PEM file copied in by hand is still a certificate.
  absl::StatusOr<crypto::Certificate> certificate = crypto::ReadSingleCertificate(*bytes);
  if (!certificate.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), " is not a certificate: ", certificate.status().message()));
  }
  return *std::move(certificate);
}

absl::StatusOr<crypto::PrivateKey> ReadKeyFile(const std::filesystem::path& path) {
  absl::StatusOr<std::string> bytes = io::ReadFile(path, crypto::kMaxInputBytes);
  if (!bytes.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path.string(), ": ", bytes.status().message()));
  }
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(*bytes);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), " is not a private key: ", key.status().message()));
  }
  return *std::move(key);
}

// The names of the entries of `folder` that do not start with '.' (those
// are temporary files of atomic writes and half-built requests). A missing
// folder has no entries.
absl::StatusOr<std::vector<std::filesystem::directory_entry>> VisibleEntries(
    const std::filesystem::path& folder) {
  std::vector<std::filesystem::directory_entry> entries;
  std::error_code error;
  std::filesystem::directory_iterator iterator(folder, error);
  if (error == std::errc::no_such_file_or_directory) return entries;
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list ", folder.string(), ": ", error.message()));
  }
  for (const std::filesystem::directory_entry& entry : iterator) {
    if (entry.path().filename().string().starts_with(".")) continue;
    entries.push_back(entry);
  }
  return entries;
}

bool IsUpperHexThumbprint(std::string_view name) {
  return name.size() == 40 && name.find_first_not_of("0123456789ABCDEF") == std::string_view::npos;
}

// Makes a fresh hidden folder in `parent` named ".<stem>-XXXXXX".
absl::StatusOr<std::filesystem::path> MakeHiddenFolder(const std::filesystem::path& parent,
                                                       std::string_view stem) {
  std::string pattern = (parent / absl::StrCat(".", std::string(stem), "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return ErrnoError("create a temporary folder in", parent, errno);
  }
  return std::filesystem::path(pattern);
}

// Removes leftovers of a crash in the middle of creating or removing a
// pending request: hidden folders named after the site.
void RemoveLeftovers(const std::filesystem::path& request_store, std::string_view site_id) {
  std::error_code error;
  std::filesystem::directory_iterator iterator(request_store, error);
  if (error) return;
  const std::string prefix = absl::StrCat(".", std::string(site_id), ".");
  std::vector<std::filesystem::path> leftovers;
  for (const std::filesystem::directory_entry& entry : iterator) {
    if (entry.path().filename().string().starts_with(prefix)) leftovers.push_back(entry.path());
  }
  for (const std::filesystem::path& leftover : leftovers) {
    std::filesystem::remove_all(leftover, error);
  }
}

std::string Describe(const crypto::Certificate& certificate) {
  return absl::StrCat("'", certificate.SubjectText(), "' (thumbprint ", certificate.Thumbprint(),
                      ")");
}

}  // namespace

CertificateStores::CertificateStores(std::filesystem::path stores_folder)
    : folder_(std::move(stores_folder)) {}

std::filesystem::path CertificateStores::StoreFolder(CertificateStore store) const {
  return folder_ / std::string(agent::StoreName(store));
}

std::filesystem::path CertificateStores::CertificateFile(CertificateStore store,
                                                         std::string_view thumbprint) const {
  return StoreFolder(store) /
         absl::StrCat(std::string(thumbprint), std::string(kCertificateExtension));
}

std::filesystem::path CertificateStores::KeyFile(std::string_view thumbprint) const {
  return StoreFolder(CertificateStore::kPersonal) /
         absl::StrCat(std::string(thumbprint), std::string(kKeyExtension));
}

std::filesystem::path CertificateStores::RequestFolder(std::string_view site_id) const {
  return StoreFolder(CertificateStore::kRequest) / std::string(site_id);
}

absl::StatusOr<std::optional<crypto::PrivateKey>> CertificateStores::ReadMatchingKey(
    const crypto::Certificate& certificate) const {
  const std::filesystem::path path = KeyFile(certificate.Thumbprint());
  if (!Exists(path)) return std::nullopt;
  absl::StatusOr<crypto::PrivateKey> key = ReadKeyFile(path);
  if (!key.ok()) return key.status();
  if (!(key->public_key() == certificate.public_key())) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), " holds a private key that does not belong to the certificate ",
                     Describe(certificate)));
  }
  return *std::move(key);
}

absl::StatusOr<std::vector<StoredCertificate>> CertificateStores::List(
    CertificateStore store) const {
  std::vector<StoredCertificate> result;
  if (store == CertificateStore::kRequest) {
    absl::StatusOr<std::vector<PendingRequest>> requests = ListPendingRequests();
    if (!requests.ok()) return requests.status();
    for (const PendingRequest& request : *requests) {
      result.push_back({CertificateStore::kRequest, request.placeholder, true});
    }
    return result;
  }
  absl::StatusOr<std::vector<std::filesystem::directory_entry>> entries =
      VisibleEntries(StoreFolder(store));
  if (!entries.ok()) return entries.status();
  for (const std::filesystem::directory_entry& entry : *entries) {
    const std::filesystem::path& path = entry.path();
    if (path.extension() != kCertificateExtension) continue;
    const std::string name = path.stem().string();
    if (!IsUpperHexThumbprint(name)) continue;
    absl::StatusOr<crypto::Certificate> certificate = ReadCertificateFile(path);
    if (!certificate.ok()) return certificate.status();
    if (certificate->Thumbprint() != name) {
      return absl::FailedPreconditionError(
          absl::StrCat(path.string(), " holds the certificate ", Describe(*certificate),
                       ", not the one its name says; a store file is named by its thumbprint"));
    }
    bool has_private_key = false;
    if (store == CertificateStore::kPersonal) {
      absl::StatusOr<std::optional<crypto::PrivateKey>> key = ReadMatchingKey(*certificate);
      if (!key.ok()) return key.status();
      has_private_key = key->has_value();
    }
    result.push_back({store, *std::move(certificate), has_private_key});
  }
  std::sort(result.begin(), result.end(),
            [](const StoredCertificate& a, const StoredCertificate& b) {
              return a.certificate.Thumbprint() < b.certificate.Thumbprint();
            });
  return result;
}

absl::StatusOr<std::optional<StoredCertificate>> CertificateStores::Find(
    CertificateStore store, std::string_view thumbprint) const {
  if (store == CertificateStore::kRequest) {
    return absl::InvalidArgumentError(
        "the REQUEST store is looked up by site id (a pending request), not by thumbprint");
  }
  absl::StatusOr<std::string> normalized = NormalizeThumbprint(thumbprint);
  if (!normalized.ok()) return normalized.status();
  const std::filesystem::path path = CertificateFile(store, *normalized);
  if (!Exists(path)) return std::nullopt;
  absl::StatusOr<crypto::Certificate> certificate = ReadCertificateFile(path);
  if (!certificate.ok()) return certificate.status();
  if (certificate->Thumbprint() != *normalized) {
    return absl::FailedPreconditionError(
        absl::StrCat(path.string(), " holds the certificate ", Describe(*certificate),
                     ", not the one its name says; a store file is named by its thumbprint"));
  }
  StoredCertificate stored{store, *std::move(certificate), false};
  if (store == CertificateStore::kPersonal) {
    absl::StatusOr<std::optional<crypto::PrivateKey>> key = ReadMatchingKey(stored.certificate);
    if (!key.ok()) return key.status();
    stored.has_private_key = key->has_value();
  }
  return stored;
}

absl::StatusOr<bool> CertificateStores::HasPrivateKey(std::string_view thumbprint) const {
  absl::StatusOr<std::optional<StoredCertificate>> stored =
      Find(CertificateStore::kPersonal, thumbprint);
  if (!stored.ok()) return stored.status();
  return stored->has_value() && (*stored)->has_private_key;
}

absl::StatusOr<crypto::PrivateKey> CertificateStores::ReadPrivateKey(
    std::string_view thumbprint) const {
  absl::StatusOr<std::optional<StoredCertificate>> stored =
      Find(CertificateStore::kPersonal, thumbprint);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::NotFoundError(
        absl::StrCat("the certificate ", std::string(thumbprint), " is not in the MY store"));
  }
  absl::StatusOr<std::optional<crypto::PrivateKey>> key = ReadMatchingKey((*stored)->certificate);
  if (!key.ok()) return key.status();
  if (!key->has_value()) {
    return absl::NotFoundError(absl::StrCat("the certificate ", Describe((*stored)->certificate),
                                            " is in the MY store without its private key"));
  }
  return **std::move(key);
}

absl::Status CertificateStores::AddCertificate(CertificateStore store,
                                               const crypto::Certificate& certificate) {
  if (store != CertificateStore::kIntermediate && store != CertificateStore::kRoot) {
    return absl::InvalidArgumentError(
        absl::StrCat("AddCertificate adds to the CA and ROOT stores only, not ",
                     std::string(agent::StoreName(store)),
                     " (MY needs the private key, REQUEST holds pending requests)"));
  }
  const std::filesystem::path path = CertificateFile(store, certificate.Thumbprint());
  if (Exists(path)) {
    absl::StatusOr<crypto::Certificate> present = ReadCertificateFile(path);
    if (present.ok() && *present == certificate) return absl::OkStatus();
    // A damaged or wrong file under this name is repaired by the write below.
  }
  if (absl::Status status = CreatePrivateFolder(StoreFolder(store)); !status.ok()) return status;
  return io::WriteFileAtomically(path, certificate.ToDer(), kPublicFileMode);
}

absl::Status CertificateStores::AddPersonal(const crypto::Certificate& certificate,
                                            const crypto::PrivateKey& key) {
  if (!(key.public_key() == certificate.public_key())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the private key does not belong to the certificate ", Describe(certificate)));
  }
  if (absl::Status status = CreatePrivateFolder(StoreFolder(CertificateStore::kPersonal));
      !status.ok()) {
    return status;
  }
  const std::string thumbprint = certificate.Thumbprint();
  const std::filesystem::path key_path = KeyFile(thumbprint);
  bool key_present = false;
  if (Exists(key_path)) {
    absl::StatusOr<crypto::PrivateKey> present = ReadKeyFile(key_path);
    key_present = present.ok() && present->public_key() == certificate.public_key();
  }
  // The key goes first: a crash between the two writes leaves a key without
  // its certificate (invisible, completed by a retry), never a certificate
  // in MY that IIS would list without a key.
  if (!key_present) {
    if (absl::Status status = io::WriteFileAtomically(key_path, key.ToPem(), kKeyMode);
        !status.ok()) {
      return status;
    }
  }
  const std::filesystem::path certificate_path =
      CertificateFile(CertificateStore::kPersonal, thumbprint);
  if (Exists(certificate_path)) {
    absl::StatusOr<crypto::Certificate> present = ReadCertificateFile(certificate_path);
    if (present.ok() && *present == certificate) return absl::OkStatus();
  }
  return io::WriteFileAtomically(certificate_path, certificate.ToDer(), kPublicFileMode);
}

absl::StatusOr<PendingRequest> CertificateStores::CreatePendingRequest(
    std::string_view site_id, const crypto::DistinguishedName& subject,
    const std::vector<std::string>& dns_names, const crypto::KeySpec& key_spec, absl::Time now) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  const std::filesystem::path final_folder = RequestFolder(site_id);
  if (Exists(final_folder)) {
    return absl::AlreadyExistsError(
        absl::StrCat("site ", std::string(site_id), " already has a pending request"));
  }
  // Everything that can be refused is made before anything is written.
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Generate(key_spec);
  if (!key.ok()) return key.status();
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Create(*key, subject, dns_names);
  if (!request.ok()) return request.status();
  crypto::CertificateProfile profile;
  profile.subject = subject;
  profile.not_before = now;
  profile.not_after = now + kPlaceholderLifetime;
  profile.usage = crypto::CertificateUsage::kTlsServer;
  absl::StatusOr<crypto::Certificate> placeholder =
      crypto::IssueCertificate(profile, key->public_key(), std::nullopt, *key);
  if (!placeholder.ok()) return placeholder.status();

  const std::filesystem::path request_store = StoreFolder(CertificateStore::kRequest);
  if (absl::Status status = CreatePrivateFolder(request_store); !status.ok()) return status;
  RemoveLeftovers(request_store, site_id);
  absl::StatusOr<std::filesystem::path> building =
      MakeHiddenFolder(request_store, absl::StrCat(std::string(site_id), ".new"));
  if (!building.ok()) return building.status();
  auto abandon = [&](absl::Status status) {
    std::error_code ignored;
    std::filesystem::remove_all(*building, ignored);
    return status;
  };
  if (absl::Status status =
          io::WriteFileAtomically(*building / kRequestKeyFile, key->ToPem(), kKeyMode);
      !status.ok()) {
    return abandon(status);
  }
  if (absl::Status status =
          io::WriteFileAtomically(*building / kRequestFile, request->ToPem(), kPublicFileMode);
      !status.ok()) {
    return abandon(status);
  }
  if (absl::Status status = io::WriteFileAtomically(*building / kPlaceholderFile,
                                                    placeholder->ToDer(), kPublicFileMode);
      !status.ok()) {
    return abandon(status);
  }
  // The rename publishes the request as a whole.
  if (::rename(building->c_str(), final_folder.c_str()) != 0) {
    const int error = errno;
    if (error == EEXIST || error == ENOTEMPTY) {
      return abandon(absl::AlreadyExistsError(
          absl::StrCat("site ", std::string(site_id), " already has a pending request")));
    }
    return abandon(ErrnoError("publish the pending request as", final_folder, error));
  }
  if (absl::Status status = SyncFolder(request_store); !status.ok()) return status;
  return PendingRequest{std::string(site_id), *std::move(request), *std::move(key),
                        *std::move(placeholder)};
}

absl::StatusOr<std::optional<PendingRequest>> CertificateStores::ReadPendingRequest(
    std::string_view site_id) const {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  const std::filesystem::path folder = RequestFolder(site_id);
  if (!Exists(folder)) return std::nullopt;
  for (std::string_view name : {kRequestFile, kRequestKeyFile, kPlaceholderFile}) {
    if (!Exists(folder / name)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the pending request of site ", std::string(site_id), " in ",
                       folder.string(), " is incomplete: ", std::string(name), " is missing"));
    }
  }
  absl::StatusOr<std::string> request_bytes =
      io::ReadFile(folder / kRequestFile, crypto::kMaxInputBytes);
  if (!request_bytes.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read ", (folder / kRequestFile).string(), ": ", request_bytes.status().message()));
  }
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Parse(*request_bytes);
  if (!request.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat((folder / kRequestFile).string(),
                     " is not a certificate request: ", request.status().message()));
  }
  absl::StatusOr<crypto::PrivateKey> key = ReadKeyFile(folder / kRequestKeyFile);
  if (!key.ok()) return key.status();
  absl::StatusOr<crypto::Certificate> placeholder = ReadCertificateFile(folder / kPlaceholderFile);
  if (!placeholder.ok()) return placeholder.status();
  if (!(request->public_key() == key->public_key()) ||
      !(placeholder->public_key() == key->public_key())) {
    return absl::FailedPreconditionError(
        absl::StrCat("the pending request of site ", std::string(site_id), " in ", folder.string(),
                     " is inconsistent: its CSR, key and placeholder are not one key pair"));
  }
  return PendingRequest{std::string(site_id), *std::move(request), *std::move(key),
                        *std::move(placeholder)};
}

absl::StatusOr<std::vector<PendingRequest>> CertificateStores::ListPendingRequests() const {
  absl::StatusOr<std::vector<std::filesystem::directory_entry>> entries =
      VisibleEntries(StoreFolder(CertificateStore::kRequest));
  if (!entries.ok()) return entries.status();
  std::vector<std::string> site_ids;
  for (const std::filesystem::directory_entry& entry : *entries) {
    const std::string name = entry.path().filename().string();
    std::error_code error;
    if (!entry.is_directory(error) || !CheckSiteId(name).ok()) continue;
    site_ids.push_back(name);
  }
  std::sort(site_ids.begin(), site_ids.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  std::vector<PendingRequest> requests;
  for (const std::string& site_id : site_ids) {
    absl::StatusOr<std::optional<PendingRequest>> request = ReadPendingRequest(site_id);
    if (!request.ok()) return request.status();
    if (request->has_value()) requests.push_back(**std::move(request));
  }
  return requests;
}

absl::Status CertificateStores::RemovePendingRequest(std::string_view site_id) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  const std::filesystem::path request_store = StoreFolder(CertificateStore::kRequest);
  const std::filesystem::path folder = RequestFolder(site_id);
  if (!Exists(folder)) {
    RemoveLeftovers(request_store, site_id);
    return absl::OkStatus();
  }
  // Renaming first makes the removal atomic: a crash in the middle of
  // deleting the files leaves a hidden leftover, never a damaged request.
  absl::StatusOr<std::filesystem::path> removed =
      MakeHiddenFolder(request_store, absl::StrCat(std::string(site_id), ".removed"));
  if (!removed.ok()) return removed.status();
  if (::rename(folder.c_str(), removed->c_str()) != 0) {
    const int error = errno;
    std::error_code ignored;
    std::filesystem::remove(*removed, ignored);
    return ErrnoError("remove the pending request", folder, error);
  }
  if (absl::Status status = SyncFolder(request_store); !status.ok()) return status;
  std::error_code error;
  std::filesystem::remove_all(*removed, error);
  if (error) {
    return absl::InternalError(absl::StrCat("the pending request of site ", std::string(site_id),
                                            " was removed, but its files in ", removed->string(),
                                            " could not be deleted: ", error.message()));
  }
  return absl::OkStatus();
}

absl::Status CertificateStores::AcceptPendingRequest(std::string_view site_id,
                                                     const crypto::Certificate& certificate) {
  absl::StatusOr<std::optional<PendingRequest>> pending = ReadPendingRequest(site_id);
  if (!pending.ok()) return pending.status();
  if (pending->has_value() && (*pending)->key.public_key() == certificate.public_key()) {
    // Also the retry after a crash between the two steps: AddPersonal then
    // finds the certificate present and only the removal remains.
    if (absl::Status status = AddPersonal(certificate, (*pending)->key); !status.ok()) {
      return status;
    }
    return RemovePendingRequest(site_id);
  }
  absl::StatusOr<std::optional<crypto::PrivateKey>> installed_key = ReadMatchingKey(certificate);
  if (!installed_key.ok()) return installed_key.status();
  const bool installed =
      installed_key->has_value() &&
      Exists(CertificateFile(CertificateStore::kPersonal, certificate.Thumbprint()));
  if (installed) return absl::OkStatus();
  if (!pending->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat("site ", std::string(site_id),
                                                      " has no pending request to accept ",
                                                      Describe(certificate), " on"));
  }
  return absl::FailedPreconditionError(
      absl::StrCat("the certificate ", Describe(certificate),
                   " does not answer the pending request of site ", std::string(site_id), " ('",
                   (*pending)->request.SubjectText(), "'): its public key is not the request's"));
}

}  // namespace certfleet::iis6
