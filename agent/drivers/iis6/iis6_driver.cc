#include "agent/drivers/iis6/iis6_driver.h"

#include <algorithm>
#include <random>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/crypto/pkcs12.h"
#include "common/io/file.h"

namespace certfleet::iis6 {
namespace {

using agent::CertificateStore;
using agent::StoredCertificate;

// New site ids in IIS 6's style: ten digits, like 1962875481.
constexpr std::uint32_t kFirstGeneratedSiteId = 1000000000;
constexpr std::uint32_t kLastGeneratedSiteId = 2147483647;
constexpr int kSiteIdDraws = 100;

// Backups are a few kilobytes; this only bounds reading a stray file.
constexpr size_t kMaximumBackupBytes = 1024 * 1024;
constexpr std::string_view kBackupTimeFormat = "%Y%m%dT%H%M%SZ";
constexpr size_t kBackupTimeLength = 16;  // "20240131T235959Z"

std::string FormatDate(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

std::string Describe(const crypto::Certificate& certificate) {
  return absl::StrCat("'", certificate.SubjectText(), "' (thumbprint ", certificate.Thumbprint(),
                      ")");
}

absl::Status RequireRsa(const crypto::PublicKey& key, std::string_view what) {
  if (key.algorithm() == crypto::KeyAlgorithm::kRsa) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("IIS 6 supports RSA keys only (Windows Server 2003's SChannel has no ECDSA): ",
                   std::string(what), " has a ", key.Description(), " key"));
}

bool IsSelfSigned(const crypto::Certificate& certificate) {
  return certificate.IsSelfIssued() && certificate.IsIssuedBy(certificate);
}

// Every chain certificate must be a CA: a server certificate given as "the
// chain" is an operator mix-up that would put a leaf into the CA store.
absl::Status CheckChain(const std::vector<crypto::Certificate>& chain) {
  for (const crypto::Certificate& certificate : chain) {
    if (!certificate.IsCertificateAuthority()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the chain holds ", Describe(certificate),
          ", which is not a CA certificate (no basicConstraints CA:TRUE): only intermediates and "
          "roots belong in the CA and ROOT stores"));
    }
  }
  return absl::OkStatus();
}

// The chain given with a certificate must be its own: the issuer has to be
// found (in the chain or already in the stores), and every certificate of
// the chain has to lie on the path from the certificate to its root. An
// unrelated chain is the classic wrong pick from a vendor's table (another
// product's intermediate), and would put foreign CAs into the stores.
// `pool` holds the chain first, then the CA and ROOT stores.
absl::Status CheckChainCertifies(const crypto::Certificate& certificate,
                                 const std::vector<crypto::Certificate>& chain,
                                 const std::vector<crypto::Certificate>& pool) {
  if (chain.empty()) return absl::OkStatus();
  std::vector<crypto::Certificate> path;
  crypto::Certificate current = certificate;
  while (!IsSelfSigned(current) && path.size() <= pool.size()) {
    auto issuer = std::find_if(pool.begin(), pool.end(), [&](const crypto::Certificate& candidate) {
      return current.IsIssuedBy(candidate) &&
             std::find(path.begin(), path.end(), candidate) == path.end();
    });
    if (issuer == pool.end()) break;
    path.push_back(*issuer);
    current = *issuer;
  }
  if (path.empty() && !IsSelfSigned(certificate)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the chain given with ", Describe(certificate), " does not hold its issuer '",
        certificate.IssuerText(),
        "' (nor do the host's CA and ROOT stores): it is the chain of another product or CA; "
        "give the intermediate that issued this certificate"));
  }
  for (const crypto::Certificate& member : chain) {
    if (std::find(path.begin(), path.end(), member) != path.end()) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "the chain given with ", Describe(certificate), " holds ", Describe(member),
        ", which is not on its path to a root (its issuer is '", certificate.IssuerText(),
        "'): it is the chain of another product or CA; give the intermediate and root that "
        "issued this certificate"));
  }
  return absl::OkStatus();
}

agent::SiteEndpoint ToEndpoint(const Binding& binding, const std::string& address) {
  return agent::SiteEndpoint{address, binding.port, binding.host_header};
}

bool IsRetryOf(const std::optional<PendingRequest>& request,
               const crypto::Certificate& certificate) {
  return !request.has_value() || request->key.public_key() == certificate.public_key();
}

// A backup file name of `site_id`: "<site_id>-<THUMBPRINT>-<time>.pfx".
struct BackupName {
  std::string thumbprint;
  std::string time;
};

std::optional<BackupName> ParseBackupName(std::string_view file_name, std::string_view site_id) {
  const std::string prefix = absl::StrCat(std::string(site_id), "-");
  constexpr std::string_view kExtension = ".pfx";
  if (!file_name.starts_with(prefix) || !file_name.ends_with(kExtension)) return std::nullopt;
  std::string_view rest = file_name.substr(prefix.size());
  rest.remove_suffix(kExtension.size());
  if (rest.size() != 40 + 1 + kBackupTimeLength || rest[40] != '-') return std::nullopt;
  BackupName name{std::string(rest.substr(0, 40)), std::string(rest.substr(41))};
  if (name.thumbprint.find_first_not_of("0123456789ABCDEF") != std::string::npos) {
    return std::nullopt;
  }
  return name;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Iis6Driver>> Iis6Driver::Open(Iis6DriverSettings settings) {
  std::error_code error;
  if (!std::filesystem::is_directory(settings.host_root, error)) {
    return absl::NotFoundError(
        absl::StrCat(settings.host_root.string(), " is not an IIS 6 host root (no such folder)"));
  }
  std::string address;
  if (settings.address.has_value()) {
    address = *settings.address;
  } else {
    absl::StatusOr<EmulationConfig> config =
        ReadEmulationConfig(HostRoot(settings.host_root).EmulationConfigFile());
    if (config.ok()) {
      address = config->address;
    } else if (absl::IsNotFound(config.status())) {
      address = std::string(kDefaultEmulationAddress);
    } else {
      return absl::FailedPreconditionError(config.status().message());
    }
  }
  return std::unique_ptr<Iis6Driver>(new Iis6Driver(std::move(settings), std::move(address)));
}

Iis6Driver::Iis6Driver(Iis6DriverSettings settings, std::string address)
    : settings_(std::move(settings)),
      host_(settings_.host_root),
      address_(std::move(address)),
      stores_(host_.StoresFolder()) {}

absl::Time Iis6Driver::Now() const { return settings_.clock ? settings_.clock() : absl::Now(); }

absl::StatusOr<MetaBase> Iis6Driver::LoadMetaBase() const {
  absl::StatusOr<MetaBase> metabase = MetaBase::Load(host_.MetaBaseFile());
  if (metabase.ok()) return metabase;
  if (absl::IsNotFound(metabase.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this host has no IIS configuration: ", host_.MetaBaseFile().string(), " does not exist"));
  }
  if (absl::IsInvalidArgument(metabase.status())) {
    // A damaged file is the host's problem, not the caller's input.
    return absl::FailedPreconditionError(
        absl::StrCat("cannot use the IIS configuration: ", metabase.status().message(),
                     " (the file was left untouched)"));
  }
  return metabase.status();
}

absl::Status Iis6Driver::CheckEditable(const MetaBase& metabase) const {
  if (metabase.EditWhileRunningEnabled()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "EnableEditWhileRunning is off at /LM in ", host_.MetaBaseFile().string(),
      ": IIS would not pick up a direct edit and would overwrite it with its in-memory copy; "
      "enable \"direct metabase edit\" in IIS Manager (computer properties) or stop IIS first"));
}

absl::Status Iis6Driver::SaveMetaBase(const MetaBase& metabase) {
  absl::StatusOr<std::filesystem::path> history =
      metabase.Save(host_.MetaBaseFile(), host_.HistoryFolder());
  return history.status();
}

std::string Iis6Driver::Resolve(const Binding& binding) const {
  return binding.ip.empty() ? address_ : binding.ip;
}

absl::StatusOr<agent::HostInventory> Iis6Driver::ScanInventory() {
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<std::vector<PendingRequest>> requests = stores_.ListPendingRequests();
  if (!requests.ok()) return requests.status();

  agent::HostInventory inventory;
  for (const Site& site : metabase->Sites()) {
    agent::SiteInfo info;
    info.site_id = site.id;
    info.name = site.name;
    info.auto_start = site.auto_start;
    info.content_path = site.root_path;
    for (const Binding& binding : site.server_bindings) {
      info.plain_endpoints.push_back(ToEndpoint(binding, binding.ip));
    }
    for (const Binding& binding : site.secure_bindings) {
      info.secure_endpoints.push_back(ToEndpoint(binding, binding.ip));
    }
    info.bound_thumbprint = site.ssl_cert_hash;
    info.has_pending_request =
        std::any_of(requests->begin(), requests->end(),
                    [&](const PendingRequest& request) { return request.site_id == site.id; });
    inventory.sites.push_back(std::move(info));
  }
  for (CertificateStore store :
       {CertificateStore::kPersonal, CertificateStore::kIntermediate, CertificateStore::kRoot}) {
    absl::StatusOr<std::vector<StoredCertificate>> listed = stores_.List(store);
    if (!listed.ok()) return listed.status();
    inventory.certificates.insert(inventory.certificates.end(), listed->begin(), listed->end());
  }
  for (const PendingRequest& request : *requests) {
    inventory.certificates.push_back({CertificateStore::kRequest, request.placeholder, true});
    inventory.pending_requests.push_back({request.site_id, request.request});
  }
  return inventory;
}

absl::StatusOr<std::string> Iis6Driver::DrawSiteId(const MetaBase& metabase) {
  std::random_device device;
  for (int draw = 0; draw < kSiteIdDraws; ++draw) {
    const std::uint32_t number = settings_.random_number ? settings_.random_number() : device();
    const std::uint32_t id =
        kFirstGeneratedSiteId + number % (kLastGeneratedSiteId - kFirstGeneratedSiteId + 1);
    const std::string site_id = absl::StrCat(id);
    if (metabase.FindSite(site_id).ok()) continue;
    // A pending request left behind by a deleted site must not be inherited.
    absl::StatusOr<std::optional<PendingRequest>> orphan = stores_.ReadPendingRequest(site_id);
    std::error_code error;
    if (!orphan.ok() || orphan->has_value() ||
        std::filesystem::exists(stores_.StoreFolder(CertificateStore::kRequest) / site_id, error)) {
      continue;
    }
    return site_id;
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free site id found in ", kSiteIdDraws, " draws"));
}

absl::StatusOr<std::string> Iis6Driver::CreateTemporarySite(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("the temporary site needs a name");
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  for (const Site& site : metabase->Sites()) {
    if (site.name != name) continue;
    if (site.auto_start || !site.secure_bindings.empty() || !site.ssl_cert_hash.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("a site named '", std::string(name), "' exists already (",
                       DescribeSite(site.id, site.name),
                       ") and is not a temporary site (it is started, has a secure binding or a "
                       "certificate); choose another name for the temporary site"));
    }
    return site.id;  // A retry: the site was made before.
  }
  if (absl::Status status = CheckEditable(*metabase); !status.ok()) return status;
  absl::StatusOr<std::string> site_id = DrawSiteId(*metabase);
  if (!site_id.ok()) return site_id.status();
  NewSite site;
  site.name = std::string(name);
  site.server_bindings.push_back(Binding{"", 80, std::string(kTemporaryHostHeader)});
  site.root_path = std::string(kTemporaryContentPath);
  site.auto_start = false;
  if (absl::Status status = metabase->AddSiteWithId(*site_id, site); !status.ok()) return status;
  if (absl::Status status = SaveMetaBase(*metabase); !status.ok()) return status;
  return *site_id;
}

absl::Status Iis6Driver::DeleteSite(std::string_view site_id) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<Site> site = metabase->FindSite(site_id);
  if (absl::IsNotFound(site.status())) return absl::OkStatus();  // Deleted before: a retry.
  if (!site.ok()) return site.status();
  if (absl::Status status = CheckEditable(*metabase); !status.ok()) return status;
  if (absl::Status status = metabase->DeleteSite(site_id); !status.ok()) return status;
  return SaveMetaBase(*metabase);
}

absl::StatusOr<crypto::CertificateRequest> Iis6Driver::CreatePendingRequest(
    std::string_view site_id, const crypto::DistinguishedName& subject,
    const std::vector<std::string>& dns_names, const crypto::KeySpec& key_spec) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  if (key_spec.algorithm != crypto::KeyAlgorithm::kRsa) {
    return absl::InvalidArgumentError(absl::StrCat(
        "IIS 6 supports RSA keys only (Windows Server 2003's SChannel has no ECDSA): the key spec ",
        key_spec.ToString(), " is refused; use rsa2048, rsa3072 or rsa4096"));
  }
  if (subject.common_name.empty()) {
    return absl::InvalidArgumentError("the request's subject needs a common name (CN)");
  }
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<Site> site = metabase->FindSite(site_id);
  if (!site.ok()) return site.status();

  absl::StatusOr<std::optional<PendingRequest>> existing = stores_.ReadPendingRequest(site_id);
  if (!existing.ok()) return existing.status();
  if (existing->has_value()) {
    const PendingRequest& request = **existing;
    const crypto::PublicKey key = request.key.public_key();
    const bool same = request.request.Subject() == subject &&
                      request.request.DnsNames() == dns_names &&
                      key.algorithm() == key_spec.algorithm && key.bits() == key_spec.bits;
    if (same) return request.request;  // A retry: the same request, the same key.
    return absl::FailedPreconditionError(absl::StrCat(
        DescribeSite(site->id, site->name), " already has a pending request for '",
        request.request.SubjectText(), "' (names: ",
        request.request.DnsNames().empty() ? "none"
                                           : absl::StrJoin(request.request.DnsNames(), ", "),
        "; key ", key.Description(), "; made ", FormatDate(request.created()),
        "), not for the subject, names and key asked now; clear it before making a new one"));
  }
  absl::StatusOr<PendingRequest> created =
      stores_.CreatePendingRequest(site_id, subject, dns_names, key_spec, Now());
  if (!created.ok()) return created.status();
  return created->request;
}

absl::Status Iis6Driver::ClearPendingRequest(std::string_view site_id) {
  return stores_.RemovePendingRequest(site_id);
}

absl::StatusOr<DiagnosisInput> Iis6Driver::BuildDiagnosisInput(
    const MetaBase& metabase, const Site& site, const std::optional<PendingRequest>& request,
    const std::vector<crypto::Certificate>& chain) const {
  DiagnosisInput input;
  input.site_id = site.id;
  input.site_name = site.name;
  const std::vector<Site> sites = metabase.Sites();
  auto name_of = [&](const std::string& site_id) {
    for (const Site& candidate : sites) {
      if (candidate.id == site_id) return candidate.name;
    }
    return std::string();
  };
  auto known = [&](const PendingRequest& pending) {
    return KnownPendingRequest{"",
                               pending.site_id,
                               name_of(pending.site_id),
                               pending.request.SubjectText(),
                               pending.key.public_key(),
                               pending.created()};
  };
  if (request.has_value()) input.site_request = known(*request);

  absl::StatusOr<std::vector<PendingRequest>> requests = stores_.ListPendingRequests();
  if (!requests.ok()) return requests.status();
  for (const PendingRequest& other : *requests) {
    if (other.site_id != site.id) input.other_requests.push_back(known(other));
  }

  absl::StatusOr<std::vector<StoredCertificate>> personal =
      stores_.List(CertificateStore::kPersonal);
  if (!personal.ok()) return personal.status();
  for (const StoredCertificate& stored : *personal) {
    std::string location = "in the MY store";
    for (const Site& bound : sites) {
      if (bound.ssl_cert_hash == stored.certificate.Thumbprint()) {
        absl::StrAppend(&location, ", bound to ", DescribeSite(bound.id, bound.name));
      }
    }
    input.installed.push_back({stored.certificate, location});
  }

  input.expected_issuers = chain;
  for (CertificateStore store : {CertificateStore::kIntermediate, CertificateStore::kRoot}) {
    absl::StatusOr<std::vector<StoredCertificate>> listed = stores_.List(store);
    if (!listed.ok()) return listed.status();
    for (const StoredCertificate& stored : *listed) {
      input.expected_issuers.push_back(stored.certificate);
    }
  }
  return input;
}

absl::Status Iis6Driver::AcceptCertificate(std::string_view site_id,
                                           const crypto::Certificate& certificate,
                                           const std::vector<crypto::Certificate>& chain) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  if (absl::Status status = CheckChain(chain); !status.ok()) return status;
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<std::optional<PendingRequest>> request = stores_.ReadPendingRequest(site_id);
  if (!request.ok()) return request.status();

  // A retry: the certificate was accepted before (perhaps by a run that
  // crashed before removing the placeholder or before the site was deleted).
  absl::StatusOr<bool> installed = stores_.HasPrivateKey(certificate.Thumbprint());
  if (!installed.ok()) return installed.status();
  if (*installed && IsRetryOf(*request, certificate)) {
    if (absl::Status status = InstallChain(chain); !status.ok()) return status;
    if (request->has_value()) return stores_.AcceptPendingRequest(site_id, certificate);
    return absl::OkStatus();
  }

  absl::StatusOr<Site> site = metabase->FindSite(site_id);
  if (!site.ok()) return site.status();
  absl::StatusOr<DiagnosisInput> input = BuildDiagnosisInput(*metabase, *site, *request, chain);
  if (!input.ok()) return input.status();
  const CertificateDiagnosis diagnosis = DiagnoseIssuedCertificate(certificate, *input);
  if (!diagnosis.accepted()) return absl::FailedPreconditionError(diagnosis.message);

  if (certificate.NotAfter() < Now()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the certificate ", Describe(certificate), " answers the pending request of ",
                     DescribeSite(site->id, site->name), " but expired on ",
                     FormatDate(certificate.NotAfter()), "; have the CA issue a new one"));
  }
  if (absl::Status status = CheckChainCertifies(certificate, chain, input->expected_issuers);
      !status.ok()) {
    return status;
  }

  // The chain first: once the certificate is in MY and the placeholder is
  // gone, the retry check above treats the step as done.
  if (absl::Status status = InstallChain(chain); !status.ok()) return status;
  return stores_.AcceptPendingRequest(site_id, certificate);
}

absl::Status Iis6Driver::InstallChain(const std::vector<crypto::Certificate>& chain) {
  if (absl::Status status = CheckChain(chain); !status.ok()) return status;
  for (const crypto::Certificate& certificate : chain) {
    const CertificateStore store =
        IsSelfSigned(certificate) ? CertificateStore::kRoot : CertificateStore::kIntermediate;
    if (absl::Status status = stores_.AddCertificate(store, certificate); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Iis6Driver::ReadBinding(std::string_view site_id) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<Site> site = metabase->FindSite(site_id);
  if (!site.ok()) return site.status();
  return site->ssl_cert_hash;
}

absl::Status Iis6Driver::ReplaceBinding(std::string_view site_id, std::string_view thumbprint) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  absl::StatusOr<std::string> normalized = NormalizeThumbprint(thumbprint);
  if (!normalized.ok()) return normalized.status();
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<Site> site = metabase->FindSite(site_id);
  if (!site.ok()) return site.status();
  const std::string site_text = DescribeSite(site->id, site->name);

  absl::StatusOr<std::optional<StoredCertificate>> stored =
      stores_.Find(CertificateStore::kPersonal, *normalized);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the certificate ", *normalized, " is not in the MY store, so IIS does not offer it for ",
        site_text, ": accept it (process the pending request) first"));
  }
  const crypto::Certificate& certificate = (*stored)->certificate;
  if (!(*stored)->has_private_key) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the certificate ", Describe(certificate),
        " is in the MY store without its private key, so IIS cannot serve it on ", site_text,
        ": accept it on the pending request that holds its key, or import it with its key"));
  }
  if (absl::Status status = RequireRsa(certificate.public_key(),
                                       absl::StrCat("the certificate ", Describe(certificate)));
      !status.ok()) {
    return status;
  }

  // No SNI: every started site on the same IP:port must serve this very
  // certificate.
  for (const Binding& binding : site->secure_bindings) {
    const std::string address = Resolve(binding);
    for (const Site& other : metabase->Sites()) {
      if (other.id == site->id || !other.auto_start || other.ssl_cert_hash.empty() ||
          other.ssl_cert_hash == *normalized) {
        continue;
      }
      for (const Binding& other_binding : other.secure_bindings) {
        if (other_binding.port != binding.port || Resolve(other_binding) != address) continue;
        return absl::FailedPreconditionError(absl::StrCat(
            "IIS 6 has no SNI: binding ", *normalized, " to ", site_text, " (secure binding \"",
            binding.ToString(), "\") would put two certificates on ", address, ":", binding.port,
            ", where ", DescribeSite(other.id, other.name), " serves ", other.ssl_cert_hash,
            " (secure binding \"", other_binding.ToString(),
            "\"); give the sites their own IP:port or one certificate that names both"));
      }
    }
  }

  absl::StatusOr<std::optional<PendingRequest>> stale = stores_.ReadPendingRequest(site->id);
  if (!stale.ok()) return stale.status();
  const bool bound =
      site->ssl_cert_hash == *normalized &&
      (site->ssl_store_name.empty() || site->ssl_store_name == MetaBase::kPersonalStoreName);
  if (!bound) {
    if (absl::Status status = CheckEditable(*metabase); !status.ok()) return status;
  }
  // The stale request makes IIS Manager show "certificate pending" instead
  // of "replace"; clear it first, as the procedure does.
  if (stale->has_value()) {
    if (absl::Status status = stores_.RemovePendingRequest(site->id); !status.ok()) return status;
  }
  if (bound) return absl::OkStatus();
  if (absl::Status status = metabase->SetCertificate(site->id, *normalized); !status.ok()) {
    return status;
  }
  return SaveMetaBase(*metabase);
}

absl::Status Iis6Driver::Restart() { return RestartWebService(host_, settings_.restart); }

absl::StatusOr<std::vector<agent::SiteEndpoint>> Iis6Driver::SecureEndpoints(
    std::string_view site_id) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  absl::StatusOr<MetaBase> metabase = LoadMetaBase();
  if (!metabase.ok()) return metabase.status();
  absl::StatusOr<Site> site = metabase->FindSite(site_id);
  if (!site.ok()) return site.status();
  std::vector<agent::SiteEndpoint> endpoints;
  for (const Binding& binding : site->secure_bindings) {
    endpoints.push_back(ToEndpoint(binding, Resolve(binding)));
  }
  return endpoints;
}

absl::StatusOr<std::filesystem::path> Iis6Driver::Backup(std::string_view site_id,
                                                         std::string_view thumbprint,
                                                         const agent::BackupOptions& options) {
  if (absl::Status status = CheckSiteId(site_id); !status.ok()) return status;
  absl::StatusOr<std::string> normalized = NormalizeThumbprint(thumbprint);
  if (!normalized.ok()) return normalized.status();
  if (options.folder.empty()) return absl::InvalidArgumentError("the backup folder is not set");
  if (options.passphrase.empty()) {
    return absl::InvalidArgumentError(
        "the backup passphrase is empty: a PFX holding a private key must be encrypted");
  }
  if (options.keep_last < 1) {
    return absl::InvalidArgumentError(absl::StrCat("keep_last is ", options.keep_last,
                                                   ": at least the newest backup must be kept"));
  }
  absl::StatusOr<std::optional<StoredCertificate>> stored =
      stores_.Find(CertificateStore::kPersonal, *normalized);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value() || !(*stored)->has_private_key) {
    return absl::FailedPreconditionError(absl::StrCat("cannot back up ", *normalized,
                                                      ": it is not in the MY store with its "
                                                      "private key"));
  }
  const crypto::Certificate certificate = (*stored)->certificate;
  absl::StatusOr<crypto::PrivateKey> key = stores_.ReadPrivateKey(*normalized);
  if (!key.ok()) return key.status();

  // The chain as Windows exports it with "include all certificates in the
  // certification path": walk issuer links through CA and ROOT.
  std::vector<crypto::Certificate> candidates;
  for (CertificateStore store : {CertificateStore::kIntermediate, CertificateStore::kRoot}) {
    absl::StatusOr<std::vector<StoredCertificate>> listed = stores_.List(store);
    if (!listed.ok()) return listed.status();
    for (const StoredCertificate& entry : *listed) candidates.push_back(entry.certificate);
  }
  std::vector<crypto::Certificate> chain;
  crypto::Certificate current = certificate;
  while (!IsSelfSigned(current) && chain.size() < candidates.size()) {
    auto issuer = std::find_if(candidates.begin(), candidates.end(),
                               [&](const crypto::Certificate& c) { return current.IsIssuedBy(c); });
    if (issuer == candidates.end()) break;
    chain.push_back(*issuer);
    current = *issuer;
  }

  // Existing backups of this site, newest first.
  std::error_code error;
  const bool folder_exists = std::filesystem::is_directory(options.folder, error);
  if (!folder_exists) {
    if (absl::Status status = CreatePrivateFolder(options.folder); !status.ok()) return status;
  }
  std::vector<std::pair<BackupName, std::filesystem::path>> backups;
  for (const std::filesystem::directory_entry& entry :
       std::filesystem::directory_iterator(options.folder, error)) {
    std::optional<BackupName> name = ParseBackupName(entry.path().filename().string(), site_id);
    if (name.has_value()) backups.emplace_back(*std::move(name), entry.path());
  }
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot list the backup folder ", options.folder.string(), ": ", error.message()));
  }
  auto prune = [&](std::vector<std::pair<BackupName, std::filesystem::path>>& all) {
    std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) {
      return a.first.time != b.first.time ? a.first.time > b.first.time : a.second > b.second;
    });
    for (size_t index = static_cast<size_t>(options.keep_last); index < all.size(); ++index) {
      std::error_code ignored;
      std::filesystem::remove(all[index].second, ignored);
    }
  };

  // A retry finds the backup it wrote before; one that no longer opens with
  // this passphrase does not count.
  for (const auto& [name, path] : backups) {
    if (name.thumbprint != *normalized) continue;
    absl::StatusOr<std::string> bytes = io::ReadFile(path, kMaximumBackupBytes);
    if (!bytes.ok()) continue;
    absl::StatusOr<crypto::Pkcs12Contents> contents =
        crypto::ImportPkcs12(*bytes, options.passphrase);
    if (contents.ok() && contents->certificate == certificate) {
      prune(backups);
      return path;
    }
  }

  absl::StatusOr<std::string> pfx =
      crypto::ExportPkcs12(*key, certificate, chain, options.passphrase, options.encryption,
                           certificate.Subject().common_name);
  if (!pfx.ok()) return pfx.status();
  const std::string time =
      absl::FormatTime(std::string(kBackupTimeFormat), Now(), absl::UTCTimeZone());
  const std::filesystem::path path =
      options.folder / absl::StrCat(std::string(site_id), "-", *normalized, "-", time, ".pfx");
  if (absl::Status status = io::WriteFileAtomically(path, *pfx, 0600); !status.ok()) {
    return status;
  }
  backups.emplace_back(BackupName{*normalized, time}, path);
  prune(backups);
  return path;
}

}  // namespace certfleet::iis6
