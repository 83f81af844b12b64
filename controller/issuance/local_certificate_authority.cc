#include "controller/issuance/local_certificate_authority.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::controller {
namespace {

constexpr char kFolderName[] = "local-ca";
constexpr size_t kMaxCredentialBytes = 64 * 1024;
// Certificates start a little in the past so that a host whose clock runs
// slightly behind still accepts them.
const absl::Duration kBackdate = absl::Minutes(5);

struct CredentialPaths {
  std::filesystem::path certificate;
  std::filesystem::path key;
};

struct Credential {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
};

std::string FormatDay(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

bool Exists(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

absl::Status MakePrivateFolder(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", folder.string(), ": ", error.message()));
  }
  if (::chmod(folder.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot restrict ", folder.string(), " to mode 0700"));
  }
  return absl::OkStatus();
}

// A CA key that others can read is a CA anyone on the machine can use:
// refuse to sign with it rather than silently fix the mode, because the key
// may already have been copied.
absl::Status CheckKeyMode(const std::filesystem::path& key_path) {
  struct stat information {};
  if (::stat(key_path.c_str(), &information) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("cannot stat ", key_path.string()));
  }
  const mode_t mode = information.st_mode & 07777;
  if ((mode & 077) != 0) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s has mode %04o: a CA key must be readable by its owner only (0600); check who may "
        "have copied it, then chmod 600 it or move the local-ca folder away to make a new CA",
        key_path.string(), mode));
  }
  return absl::OkStatus();
}

absl::StatusOr<Credential> LoadCredential(const CredentialPaths& paths) {
  absl::StatusOr<std::string> certificate_bytes =
      io::ReadFile(paths.certificate, kMaxCredentialBytes);
  if (!certificate_bytes.ok()) {
    return absl::FailedPreconditionError(std::string(certificate_bytes.status().message()));
  }
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(*certificate_bytes);
  if (!certificate.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.certificate.string(), ": ", certificate.status().message()));
  }
  if (!certificate->IsCertificateAuthority()) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.certificate.string(), " holds '", certificate->SubjectText(),
                     "', which is not a CA certificate (basicConstraints CA:FALSE)"));
  }
  if (!Exists(paths.key)) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.key.string(), " is missing: ", paths.certificate.string(),
                     " cannot sign without its key; restore the key or move the local-ca folder "
                     "away to make a new CA"));
  }
  if (absl::Status status = CheckKeyMode(paths.key); !status.ok()) return status;
  absl::StatusOr<std::string> key_bytes = io::ReadFile(paths.key, kMaxCredentialBytes);
  if (!key_bytes.ok())
    return absl::FailedPreconditionError(std::string(key_bytes.status().message()));
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(*key_bytes);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.key.string(), ": ", key.status().message()));
  }
  if (!(certificate->public_key() == key->public_key())) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.key.string(), " does not hold the key of ", paths.certificate.string(),
                     " ('", certificate->SubjectText(), "'); the files do not belong together"));
  }
  return Credential{*std::move(certificate), *std::move(key)};
}

absl::Status StoreCredential(const CredentialPaths& paths, const Credential& credential) {
  // The key goes first: a certificate without its key on disk would be
  // loaded as a broken pair after a crash, a key alone is simply replaced.
  if (absl::Status status = io::WriteFileAtomically(paths.key, credential.key.ToPem(), 0600);
      !status.ok()) {
    return status;
  }
  return io::WriteFileAtomically(paths.certificate, credential.certificate.ToPem(), 0644);
}

absl::StatusOr<Credential> CreateRoot(const LocalCertificateAuthorityOptions& options,
                                      const CredentialPaths& paths, absl::Time now) {
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Generate(options.key_spec);
  if (!key.ok()) return key.status();
  crypto::CertificateProfile profile;
  profile.subject.common_name = absl::StrCat(options.name, " Root CA");
  profile.subject.organization = options.organization;
  profile.not_before = now - kBackdate;
  profile.not_after = now + options.root_validity;
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  profile.path_length = 1;
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::IssueCertificate(profile, key->public_key(), std::nullopt, *key);
  if (!certificate.ok()) return certificate.status();
  Credential root{*std::move(certificate), *std::move(key)};
  if (absl::Status status = StoreCredential(paths, root); !status.ok()) return status;
  return root;
}

absl::StatusOr<Credential> CreateIntermediate(const LocalCertificateAuthorityOptions& options,
                                              const Credential& root, const CredentialPaths& paths,
                                              absl::Time now) {
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Generate(options.key_spec);
  if (!key.ok()) return key.status();
  crypto::CertificateProfile profile;
  profile.subject.common_name = absl::StrCat(options.name, " Issuing CA");
  profile.subject.organization = options.organization;
  profile.not_before = now - kBackdate;
  profile.not_after = std::min(now + options.intermediate_validity, root.certificate.NotAfter());
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  profile.path_length = 0;
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::IssueCertificate(profile, key->public_key(), root.certificate, root.key);
  if (!certificate.ok()) return certificate.status();
  Credential intermediate{*std::move(certificate), *std::move(key)};
  if (absl::Status status = StoreCredential(paths, intermediate); !status.ok()) return status;
  return intermediate;
}

bool NeedsReissue(const crypto::Certificate& intermediate, absl::Duration leaf_validity,
                  absl::Time now) {
  const absl::Duration lifetime = intermediate.NotAfter() - intermediate.NotBefore();
  const absl::Duration remaining = intermediate.NotAfter() - now;
  return remaining <= lifetime / 3 || remaining <= leaf_validity;
}

absl::Status ValidateOptions(const LocalCertificateAuthorityOptions& options) {
  if (options.data_dir.empty()) {
    return absl::InvalidArgumentError("the local CA needs the controller's data dir");
  }
  for (const auto& [what, duration] :
       {std::pair<const char*, absl::Duration>{"root validity", options.root_validity},
        {"intermediate validity", options.intermediate_validity},
        {"leaf validity", options.leaf_validity}}) {
    if (duration <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the local CA's ", what, " must be positive, not ", absl::FormatDuration(duration)));
    }
  }
  if (options.name.empty()) return absl::InvalidArgumentError("the local CA needs a name");
  return absl::OkStatus();
}

bool IsIpAddress(const std::string& text) {
  unsigned char address[16];
  return inet_pton(AF_INET, text.c_str(), address) == 1 ||
         inet_pton(AF_INET6, text.c_str(), address) == 1;
}

// A common name that can also serve as a DNS subjectAltName: letters, digits,
// '-', '.', and a leading "*." for wildcards, with at least one dot.
bool LooksLikeHostName(const std::string& name) {
  if (name.empty() || name.find('.') == std::string::npos) return false;
  std::string_view rest = name;
  if (rest.starts_with("*.")) rest.remove_prefix(2);
  return std::all_of(rest.begin(), rest.end(), [](char character) {
    return absl::ascii_isalnum(static_cast<unsigned char>(character)) || character == '-' ||
           character == '.';
  });
}

std::string AsAlternativeName(const std::string& name) {
  if (absl::StartsWith(name, "DNS:") || absl::StartsWith(name, "IP:")) return name;
  return absl::StrCat(IsIpAddress(name) ? "IP:" : "DNS:", name);
}

absl::Status CheckRequestKey(const crypto::PublicKey& key) {
  switch (key.algorithm()) {
    case crypto::KeyAlgorithm::kRsa:
      if (key.bits() < 2048) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the CSR's key is ", key.Description(),
            "; the local CA signs RSA keys of 2048 bits or more and ECDSA P-256 or P-384 keys"));
      }
      return absl::OkStatus();
    case crypto::KeyAlgorithm::kEcdsa:
      if (key.bits() < 256) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the CSR's key is ", key.Description(),
            "; the local CA signs ECDSA keys on P-256 or P-384 and RSA keys of 2048 bits or more"));
      }
      return absl::OkStatus();
    case crypto::KeyAlgorithm::kOther:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("the CSR's key is ", key.Description(),
                                                 "; the local CA signs RSA and ECDSA keys only"));
}

}  // namespace

std::filesystem::path LocalCertificateAuthority::FolderIn(const std::filesystem::path& data_dir) {
  return data_dir / kFolderName;
}

LocalCertificateAuthority::LocalCertificateAuthority(LocalCertificateAuthorityOptions options,
                                                     std::filesystem::path folder,
                                                     crypto::Certificate root_certificate,
                                                     crypto::Certificate intermediate_certificate,
                                                     crypto::PrivateKey intermediate_key)
    : options_(std::move(options)),
      folder_(std::move(folder)),
      root_certificate_(std::move(root_certificate)),
      intermediate_certificate_(std::move(intermediate_certificate)),
      intermediate_key_(std::move(intermediate_key)) {}

absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> LocalCertificateAuthority::OpenOrCreate(
    const LocalCertificateAuthorityOptions& options, absl::Time now) {
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  const std::filesystem::path folder = FolderIn(options.data_dir);
  const CredentialPaths root_paths{folder / "root.crt", folder / "root.key"};
  const CredentialPaths intermediate_paths{folder / "intermediate.crt",
                                           folder / "intermediate.key"};

  // Decide from what exists before writing anything, so that a refused
  // folder is left exactly as it was.
  const bool root_exists = Exists(root_paths.certificate);
  const bool intermediate_exists = Exists(intermediate_paths.certificate);
  if (!root_exists && intermediate_exists) {
    return absl::FailedPreconditionError(absl::StrCat(
        root_paths.certificate.string(), " is missing but ",
        intermediate_paths.certificate.string(),
        " exists: the intermediate cannot be checked without its root; restore root.crt and "
        "root.key or move the local-ca folder away to make a new CA"));
  }
  std::optional<Credential> root;
  std::optional<Credential> intermediate;
  if (root_exists) {
    absl::StatusOr<Credential> loaded = LoadCredential(root_paths);
    if (!loaded.ok()) return loaded.status();
    if (!loaded->certificate.IsSelfIssued() ||
        !loaded->certificate.IsIssuedBy(loaded->certificate)) {
      return absl::FailedPreconditionError(absl::StrCat(
          root_paths.certificate.string(), " holds '", loaded->certificate.SubjectText(),
          "', which is not a self-signed root (its issuer is '", loaded->certificate.IssuerText(),
          "')"));
    }
    if (loaded->certificate.NotAfter() <= now) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the local CA's root in ", root_paths.certificate.string(), " expired on ",
          FormatDay(loaded->certificate.NotAfter()),
          "; move the local-ca folder away to make a new CA (agents receive the new root with "
          "their next certificate)"));
    }
    root = *std::move(loaded);
  }
  if (intermediate_exists) {
    absl::StatusOr<Credential> loaded = LoadCredential(intermediate_paths);
    if (!loaded.ok()) return loaded.status();
    if (!loaded->certificate.IsIssuedBy(root->certificate)) {
      return absl::FailedPreconditionError(absl::StrCat(
          intermediate_paths.certificate.string(), " holds '", loaded->certificate.SubjectText(),
          "', which was not issued by the root in ", root_paths.certificate.string(), " ('",
          root->certificate.SubjectText(), "'); the files do not belong together"));
    }
    intermediate = *std::move(loaded);
  }

  if (absl::Status status = MakePrivateFolder(folder); !status.ok()) return status;
  if (!root.has_value()) {
    absl::StatusOr<Credential> created = CreateRoot(options, root_paths, now);
    if (!created.ok()) return created.status();
    root = *std::move(created);
  }
  if (!intermediate.has_value() ||
      NeedsReissue(intermediate->certificate, options.leaf_validity, now)) {
    absl::StatusOr<Credential> created =
        CreateIntermediate(options, *root, intermediate_paths, now);
    if (!created.ok()) return created.status();
    intermediate = *std::move(created);
  }
  return std::unique_ptr<LocalCertificateAuthority>(new LocalCertificateAuthority(
      options, folder, root->certificate, intermediate->certificate, intermediate->key));
}

absl::StatusOr<IssuanceResult> LocalCertificateAuthority::Submit(const IssuanceRequest& request) {
  const crypto::CertificateRequest& csr = request.request;
  if (request.now == absl::InfinitePast() || request.now == absl::InfiniteFuture()) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", request.order_id, ": the issuance request carries no time"));
  }
  if (absl::Status status = csr.VerifySignature(); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "order ", request.order_id, ": the local CA refuses the CSR: ", status.message(),
        " (the CSR was altered after its host signed it)"));
  }
  if (absl::Status status = CheckRequestKey(csr.public_key()); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", request.order_id, ": ", status.message()));
  }
  if (request.digest == crypto::SignatureDigest::kSha1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "order ", request.order_id,
        ": the local CA does not issue SHA-1 certificates; use SHA-256 (IIS 6 hosts need "
        "KB938397 for it)"));
  }

  crypto::CertificateProfile profile;
  profile.subject = request.subject.empty() ? csr.Subject() : request.subject;
  std::vector<std::string> names = request.names;
  if (names.empty()) names = csr.DnsNames();
  for (std::string& name : names) name = AsAlternativeName(name);
  if (LooksLikeHostName(profile.subject.common_name)) {
    const std::string common_name = AsAlternativeName(profile.subject.common_name);
    if (std::find(names.begin(), names.end(), common_name) == names.end()) {
      names.insert(names.begin(), common_name);
    }
  }
  if (names.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", request.order_id, ": nothing to certify: the CSR ('",
                     csr.SubjectText(), "') names no host and the order gives no names"));
  }
  profile.alternative_names = std::move(names);
  profile.usage = crypto::CertificateUsage::kTlsServer;
  profile.digest = request.digest;
  const absl::Duration validity =
      request.validity > absl::ZeroDuration() ? request.validity : options_.leaf_validity;
  profile.not_before = request.now - kBackdate;
  profile.not_after = std::min(request.now + validity, intermediate_certificate_.NotAfter());
  if (profile.not_after <= request.now) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the local CA's intermediate in ", (folder_ / "intermediate.crt").string(), " expired on ",
        FormatDay(intermediate_certificate_.NotAfter()), "; restart the controller to reissue it"));
  }

  absl::StatusOr<crypto::Certificate> leaf = crypto::IssueFromRequest(
      csr, std::move(profile), intermediate_certificate_, intermediate_key_);
  if (!leaf.ok()) {
    return absl::Status(leaf.status().code(),
                        absl::StrCat("order ", request.order_id,
                                     ": the local CA could not sign: ", leaf.status().message()));
  }
  IssuanceResult result;
  result.state = IssuanceState::kIssued;
  result.message =
      absl::StrCat("issued at once by the local CA '", intermediate_certificate_.SubjectText(),
                   "': serial ", leaf->SerialHex(), ", valid until ", FormatDay(leaf->NotAfter()));
  result.leaf = *std::move(leaf);
  result.chain = Chain();
  return result;
}

absl::StatusOr<IssuanceResult> LocalCertificateAuthority::Poll(const IssuanceRequest& request,
                                                               std::string_view /*ticket*/) {
  return absl::FailedPreconditionError(
      absl::StrCat("order ", request.order_id,
                   ": the local CA issues at once and never leaves an order pending; submit it "
                   "again instead of polling"));
}

}  // namespace certfleet::controller
