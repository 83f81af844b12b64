#include "controller/identity/fleet_authority.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::controller {
namespace {

constexpr char kAgentUnit[] = "certfleet-agent";
constexpr char kAdminUnit[] = "certfleet-admin";
constexpr char kHostUriPrefix[] = "certfleet:host:";
constexpr size_t kMaxCredentialBytes = 64 * 1024;

const absl::Duration kCaLifetime = absl::Hours(24 * 3650);
const absl::Duration kServerLifetime = absl::Hours(24 * 365);
const absl::Duration kAdminLifetime = absl::Hours(24 * 365);
// Certificates start a little in the past so that a peer whose clock runs
// slightly behind still accepts them.
const absl::Duration kBackdate = absl::Minutes(5);

struct CredentialPaths {
  std::filesystem::path certificate;
  std::filesystem::path key;
};

absl::Status MakePrivateFolder(const std::filesystem::path& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", folder.string(), ": ", error.message()));
  }
  if (::chmod(folder.c_str(), 0700) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("cannot restrict ", folder.string()));
  }
  return absl::OkStatus();
}

bool Exists(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

struct Credential {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
};

absl::StatusOr<Credential> LoadCredential(const CredentialPaths& paths) {
  absl::StatusOr<std::string> certificate_bytes = io::ReadFile(paths.certificate, kMaxCredentialBytes);
  if (!certificate_bytes.ok()) return certificate_bytes.status();
  absl::StatusOr<crypto::CertificateFile> certificates = crypto::ReadCertificates(*certificate_bytes);
  if (!certificates.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.certificate.string(), ": ", certificates.status().message()));
  }
  absl::StatusOr<std::string> key_bytes = io::ReadFile(paths.key, kMaxCredentialBytes);
  if (!key_bytes.ok()) return key_bytes.status();
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(*key_bytes);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(paths.key.string(), ": ", key.status().message()));
  }
  const crypto::Certificate& leaf = certificates->certificates.front();
  if (!(leaf.public_key() == key->public_key())) {
    return absl::FailedPreconditionError(absl::StrCat(
        paths.key.string(), " does not hold the key of ", paths.certificate.string()));
  }
  return Credential{leaf, *std::move(key)};
}

absl::Status StoreCredential(const CredentialPaths& paths, const std::string& certificate_pem,
                             const crypto::PrivateKey& key) {
  if (absl::Status status = MakePrivateFolder(paths.key.parent_path()); !status.ok()) return status;
  // The key goes first: a certificate without its key on disk would be
  // loaded as a broken pair after a crash, a key alone is simply replaced.
  if (absl::Status status = io::WriteFileAtomically(paths.key, key.ToPem(), 0600); !status.ok()) {
    return status;
  }
  return io::WriteFileAtomically(paths.certificate, certificate_pem, 0644);
}

std::vector<std::string> ServerAlternativeNames(const std::vector<std::string>& extra_names) {
  std::set<std::string> names = {"DNS:localhost", "IP:127.0.0.1", "IP:::1"};
  for (const std::string& name : extra_names) {
    unsigned char address[16];
    const bool is_address = inet_pton(AF_INET, name.c_str(), address) == 1 ||
                            inet_pton(AF_INET6, name.c_str(), address) == 1;
    names.insert(absl::StrCat(is_address ? "IP:" : "DNS:", name));
  }
  return std::vector<std::string>(names.begin(), names.end());
}

std::vector<std::string> Sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

// IPv6 addresses come back from the certificate in their canonical form, so
// the names are compared after the same round trip.
bool SameNames(const crypto::Certificate& certificate, const std::vector<std::string>& wanted) {
  return Sorted(certificate.SubjectAlternativeNames()) == Sorted(wanted);
}

absl::StatusOr<Credential> CreateCertificateAuthority(const CredentialPaths& paths,
                                                      absl::Time now) {
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  if (!key.ok()) return key.status();
  crypto::CertificateProfile profile;
  profile.subject.common_name = "certfleet fleet CA";
  profile.subject.organization = "certfleet";
  profile.not_before = now - kBackdate;
  profile.not_after = now + kCaLifetime;
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  profile.path_length = 0;
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::IssueCertificate(profile, key->public_key(), std::nullopt, *key);
  if (!certificate.ok()) return certificate.status();
  if (absl::Status status = StoreCredential(paths, certificate->ToPem(), *key); !status.ok()) {
    return status;
  }
  return Credential{*std::move(certificate), *std::move(key)};
}

absl::StatusOr<Credential> IssueServerCredential(const Credential& authority,
                                                 const std::vector<std::string>& names,
                                                 const CredentialPaths& paths, absl::Time now) {
  absl::StatusOr<crypto::PrivateKey> key =
      crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
  if (!key.ok()) return key.status();
  crypto::CertificateProfile profile;
  profile.subject.common_name = "certfleet-controller";
  profile.subject.organization = "certfleet";
  profile.alternative_names = names;
  profile.not_before = now - kBackdate;
  profile.not_after = std::min(now + kServerLifetime, authority.certificate.NotAfter());
  profile.usage = crypto::CertificateUsage::kTlsServer;
  absl::StatusOr<crypto::Certificate> certificate = crypto::IssueCertificate(
      profile, key->public_key(), authority.certificate, authority.key);
  if (!certificate.ok()) return certificate.status();
  if (absl::Status status = StoreCredential(paths, certificate->ToPem(), *key); !status.ok()) {
    return status;
  }
  return Credential{*std::move(certificate), *std::move(key)};
}

bool NeedsRenewal(const crypto::Certificate& certificate, absl::Time now) {
  const absl::Duration lifetime = certificate.NotAfter() - certificate.NotBefore();
  return certificate.NotAfter() - now <= lifetime / 3;
}

}  // namespace

std::string AgentHostUri(std::string_view host_id) {
  return absl::StrCat(kHostUriPrefix, std::string(host_id));
}

FleetAuthority::FleetAuthority(FleetAuthorityOptions options, crypto::Certificate ca_certificate,
                               crypto::PrivateKey ca_key, crypto::Certificate server_certificate,
                               crypto::PrivateKey server_key)
    : options_(std::move(options)),
      ca_certificate_(std::move(ca_certificate)),
      ca_key_(std::move(ca_key)),
      server_certificate_(std::move(server_certificate)),
      server_key_(std::move(server_key)) {}

absl::StatusOr<FleetAuthority> FleetAuthority::OpenOrCreate(const FleetAuthorityOptions& options,
                                                            absl::Time now) {
  if (absl::Status status = MakePrivateFolder(options.data_dir); !status.ok()) return status;
  const CredentialPaths ca_paths{options.data_dir / "fleet-ca" / "ca.crt",
                                 options.data_dir / "fleet-ca" / "ca.key"};
  const CredentialPaths server_paths{options.data_dir / "server" / "server.crt",
                                     options.data_dir / "server" / "server.key"};
  const CredentialPaths admin_paths{options.data_dir / "admin" / "admin.crt",
                                    options.data_dir / "admin" / "admin.key"};

  absl::StatusOr<Credential> authority =
      Exists(ca_paths.certificate) ? LoadCredential(ca_paths)
                                   : CreateCertificateAuthority(ca_paths, now);
  if (!authority.ok()) return authority.status();

  const std::vector<std::string> names = ServerAlternativeNames(options.server_names);
  absl::StatusOr<Credential> server = absl::NotFoundError("no server credential yet");
  if (Exists(server_paths.certificate)) {
    server = LoadCredential(server_paths);
    if (!server.ok()) return server.status();
    if (!server->certificate.IsIssuedBy(authority->certificate)) {
      return absl::FailedPreconditionError(absl::StrCat(
          server_paths.certificate.string(), " was not issued by the fleet CA in ",
          ca_paths.certificate.string(), "; move the stale server folder away to reissue it"));
    }
  }
  if (!server.ok() || NeedsRenewal(server->certificate, now) ||
      !SameNames(server->certificate, names)) {
    server = IssueServerCredential(*authority, names, server_paths, now);
    if (!server.ok()) return server.status();
  }

  FleetAuthority fleet(options, authority->certificate, authority->key, server->certificate,
                       server->key);
  if (!Exists(admin_paths.certificate)) {
    absl::StatusOr<crypto::PrivateKey> admin_key =
        crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kEcdsa, 256});
    if (!admin_key.ok()) return admin_key.status();
    absl::StatusOr<crypto::Certificate> admin =
        fleet.IssueAdminCertificate(admin_key->public_key(), "admin", now);
    if (!admin.ok()) return admin.status();
    if (absl::Status status = StoreCredential(admin_paths, admin->ToPem(), *admin_key);
        !status.ok()) {
      return status;
    }
    if (absl::Status status = io::WriteFileAtomically(options.data_dir / "admin" / "ca.crt",
                                                      authority->certificate.ToPem(), 0644);
        !status.ok()) {
      return status;
    }
  }
  return fleet;
}

std::string FleetAuthority::ServerCertificateChainPem() const {
  return server_certificate_.ToPem() + ca_certificate_.ToPem();
}

absl::StatusOr<crypto::Certificate> FleetAuthority::IssueAgentCertificate(
    const crypto::CertificateRequest& request, std::string_view host_id, std::string_view host_name,
    absl::Time now) const {
  if (host_id.empty()) return absl::InvalidArgumentError("an agent certificate needs a host id");
  crypto::CertificateProfile profile;
  profile.subject.common_name = std::string(host_name);
  profile.subject.organizational_unit = kAgentUnit;
  profile.subject.organization = "certfleet";
  profile.alternative_names = {absl::StrCat("URI:", AgentHostUri(host_id))};
  profile.not_before = now - kBackdate;
  profile.not_after = std::min(now + options_.agent_certificate_lifetime, ca_certificate_.NotAfter());
  profile.usage = crypto::CertificateUsage::kTlsClient;
  return crypto::IssueFromRequest(request, profile, ca_certificate_, ca_key_);
}

absl::StatusOr<crypto::Certificate> FleetAuthority::IssueAdminCertificate(
    const crypto::PublicKey& key, std::string_view name, absl::Time now) const {
  crypto::CertificateProfile profile;
  profile.subject.common_name = std::string(name);
  profile.subject.organizational_unit = kAdminUnit;
  profile.subject.organization = "certfleet";
  profile.not_before = now - kBackdate;
  profile.not_after = std::min(now + kAdminLifetime, ca_certificate_.NotAfter());
  profile.usage = crypto::CertificateUsage::kTlsClient;
  return crypto::IssueCertificate(profile, key, ca_certificate_, ca_key_);
}

absl::StatusOr<FleetIdentity> FleetAuthority::Identify(const crypto::Certificate& peer,
                                                       absl::Time now) const {
  if (!peer.IsIssuedBy(ca_certificate_)) {
    return absl::UnauthenticatedError(absl::StrCat("the client certificate '", peer.SubjectText(),
                                                   "' was not issued by this fleet's CA"));
  }
  if (!peer.IsValidAt(now)) {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate '", peer.SubjectText(), "' is not valid now (",
                     absl::FormatTime("%Y-%m-%d %H:%M UTC", peer.NotBefore(), absl::UTCTimeZone()),
                     " to ",
                     absl::FormatTime("%Y-%m-%d %H:%M UTC", peer.NotAfter(), absl::UTCTimeZone()),
                     ")"));
  }
  const crypto::DistinguishedName subject = peer.Subject();
  FleetIdentity identity;
  identity.name = subject.common_name;
  identity.certificate_sha256 = peer.Sha256Fingerprint();
  identity.not_after = peer.NotAfter();
  if (subject.organizational_unit == kAdminUnit) {
    identity.role = FleetRole::kAdmin;
    return identity;
  }
  if (subject.organizational_unit == kAgentUnit) {
    const std::string prefix = absl::StrCat("URI:", kHostUriPrefix);
    for (const std::string& name : peer.SubjectAlternativeNames()) {
      if (name.starts_with(prefix) && name.size() > prefix.size()) {
        identity.role = FleetRole::kAgent;
        identity.host_id = name.substr(prefix.size());
        return identity;
      }
    }
  }
  return absl::UnauthenticatedError(absl::StrCat(
      "the client certificate '", peer.SubjectText(), "' carries no certfleet role"));
}

}  // namespace certfleet::controller
