#include "bench/fleet_sim/simulated_host.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "agent/drivers/iis6/iis6_driver.h"
#include "agent/session/inventory_report.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/io/file.h"
#include "nlohmann/json.hpp"

namespace certfleet::bench {
namespace {

using agent::CertificateStore;
using agent::PendingRequestInfo;
using agent::SiteEndpoint;
using agent::SiteInfo;
using agent::StoredCertificate;

constexpr size_t kMaxStateBytes = 4 * 1024 * 1024;

bool SameThumbprint(std::string_view first, std::string_view second) {
  return absl::EqualsIgnoreCase(std::string(first), std::string(second));
}

std::string StoreKey(CertificateStore store) { return std::string(agent::StoreName(store)); }

std::optional<CertificateStore> StoreFromKey(const std::string& name) {
  for (CertificateStore store : {CertificateStore::kPersonal, CertificateStore::kIntermediate,
                                 CertificateStore::kRoot, CertificateStore::kRequest}) {
    if (StoreKey(store) == name) return store;
  }
  return std::nullopt;
}

nlohmann::json EndpointsToJson(const std::vector<SiteEndpoint>& endpoints) {
  nlohmann::json list = nlohmann::json::array();
  for (const SiteEndpoint& endpoint : endpoints) {
    list.push_back({{"address", endpoint.address},
                    {"port", endpoint.port},
                    {"host_header", endpoint.host_header}});
  }
  return list;
}

std::vector<SiteEndpoint> EndpointsFromJson(const nlohmann::json& list) {
  std::vector<SiteEndpoint> endpoints;
  for (const nlohmann::json& item : list) {
    endpoints.push_back(SiteEndpoint{.address = item.value("address", ""),
                                     .port = item.value("port", uint16_t{0}),
                                     .host_header = item.value("host_header", "")});
  }
  return endpoints;
}

}  // namespace

v1::Platform SimulatedHost::Platform() {
  v1::Platform platform;
  platform.set_driver("iis6");
  platform.set_web_server("IIS 6.0 (fleet-sim)");
  platform.set_operating_system("Windows Server 2003");
  platform.set_operating_system_version("5.2.3790");
  return platform;
}

v1::HostCapabilities SimulatedHost::Capabilities() {
  v1::HostCapabilities capabilities;
  for (v1::KeySpec spec : {v1::KEY_SPEC_RSA_2048, v1::KEY_SPEC_RSA_3072, v1::KEY_SPEC_RSA_4096}) {
    capabilities.add_supported_key_specs(spec);
  }
  capabilities.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA1);
  capabilities.add_supported_signature_hashes(v1::SIGNATURE_HASH_SHA256);
  capabilities.set_supports_server_name_indication(false);
  capabilities.set_maximum_tls_version("TLS1.0");
  capabilities.set_default_backup_encryption(v1::PFX_ENCRYPTION_LEGACY_3DES);
  return capabilities;
}

absl::StatusOr<SimulatedHost> SimulatedHost::Create(const std::string& hostname, int index,
                                                    int sites, const SimulatorPki& pki,
                                                    std::filesystem::path state_file) {
  SimulatedHost host(std::move(state_file));
  const absl::Time now = absl::Now();
  host.state_.certificates.push_back(StoredCertificate{.store = CertificateStore::kRoot,
                                                       .certificate = pki.ca_certificate(),
                                                       .has_private_key = false});
  for (int site = 1; site <= std::max(1, sites); ++site) {
    const std::string name = site == 1 ? absl::StrCat(hostname, ".sim.test")
                                       : absl::StrCat("www", site, ".", hostname, ".sim.test");
    // Spread over 5..400 days so that a fleet has certificates in and out of
    // any renewal window.
    const int days_left = 5 + (index * 37 + site * 11) % 396;
    const absl::Time not_after = now + absl::Hours(24 * days_left);
    absl::StatusOr<crypto::Certificate> leaf = pki.IssueLeaf(
        name, static_cast<size_t>(index * 7 + site), not_after - absl::Hours(24 * 397), not_after);
    if (!leaf.ok()) return leaf.status();
    SiteInfo info;
    info.site_id = std::to_string(site);
    info.name = site == 1 ? "Default Web Site" : absl::StrCat("Site ", site);
    info.auto_start = true;
    info.content_path = absl::StrCat("C:\\Inetpub\\site", site);
    info.plain_endpoints = {SiteEndpoint{.address = "", .port = 80, .host_header = name}};
    // IIS 6 has no SNI: each site's SSL binding needs its own port.
    info.secure_endpoints = {
        SiteEndpoint{.address = "", .port = static_cast<uint16_t>(442 + site), .host_header = ""}};
    info.bound_thumbprint = leaf->Thumbprint();
    host.state_.sites.push_back(std::move(info));
    host.state_.certificates.push_back(StoredCertificate{
        .store = CertificateStore::kPersonal, .certificate = *leaf, .has_private_key = true});
  }
  if (absl::Status saved = host.Save(); !saved.ok()) return saved;
  return host;
}

absl::StatusOr<SimulatedHost> SimulatedHost::Load(std::filesystem::path state_file) {
  absl::StatusOr<std::string> text = io::ReadFile(state_file, kMaxStateBytes);
  if (!text.ok()) return text.status();
  auto damaged = [&](const std::string& problem) {
    return absl::FailedPreconditionError(
        absl::StrCat("the simulated host ", state_file.string(), " is damaged: ", problem));
  };
  nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return damaged("not a JSON object");
  SimulatedHost host(state_file);
  for (const nlohmann::json& site : json.value("sites", nlohmann::json::array())) {
    SiteInfo info;
    info.site_id = site.value("site_id", "");
    info.name = site.value("name", "");
    info.auto_start = site.value("auto_start", false);
    info.content_path = site.value("content_path", "");
    info.plain_endpoints = EndpointsFromJson(site.value("plain", nlohmann::json::array()));
    info.secure_endpoints = EndpointsFromJson(site.value("secure", nlohmann::json::array()));
    info.bound_thumbprint = site.value("bound_thumbprint", "");
    info.has_pending_request = site.value("has_pending_request", false);
    host.state_.sites.push_back(std::move(info));
  }
  for (const nlohmann::json& stored : json.value("certificates", nlohmann::json::array())) {
    std::optional<CertificateStore> store = StoreFromKey(stored.value("store", ""));
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::ReadSingleCertificate(stored.value("pem", ""));
    if (!store.has_value() || !certificate.ok()) return damaged("unreadable certificate");
    host.state_.certificates.push_back(
        StoredCertificate{.store = *store,
                          .certificate = *certificate,
                          .has_private_key = stored.value("key", false)});
  }
  for (const nlohmann::json& pending : json.value("pending_requests", nlohmann::json::array())) {
    absl::StatusOr<crypto::CertificateRequest> request =
        crypto::CertificateRequest::Parse(pending.value("csr", ""));
    if (!request.ok()) return damaged("unreadable pending request");
    host.state_.pending_requests.push_back(
        PendingRequestInfo{.site_id = pending.value("site_id", ""), .request = *request});
  }
  if (host.state_.sites.empty()) return damaged("no sites");
  return host;
}

absl::Status SimulatedHost::Save() const {
  nlohmann::json sites = nlohmann::json::array();
  for (const SiteInfo& site : state_.sites) {
    sites.push_back({{"site_id", site.site_id},
                     {"name", site.name},
                     {"auto_start", site.auto_start},
                     {"content_path", site.content_path},
                     {"plain", EndpointsToJson(site.plain_endpoints)},
                     {"secure", EndpointsToJson(site.secure_endpoints)},
                     {"bound_thumbprint", site.bound_thumbprint},
                     {"has_pending_request", site.has_pending_request}});
  }
  nlohmann::json certificates = nlohmann::json::array();
  for (const StoredCertificate& stored : state_.certificates) {
    certificates.push_back({{"store", StoreKey(stored.store)},
                            {"pem", stored.certificate.ToPem()},
                            {"key", stored.has_private_key}});
  }
  nlohmann::json pending = nlohmann::json::array();
  for (const PendingRequestInfo& request : state_.pending_requests) {
    pending.push_back({{"site_id", request.site_id}, {"csr", request.request.ToPem()}});
  }
  const nlohmann::json json = {
      {"sites", sites}, {"certificates", certificates}, {"pending_requests", pending}};
  return io::WriteFileAtomically(state_file_, json.dump(1) + "\n", 0600);
}

v1::HostInventory SimulatedHost::Inventory(absl::Time scanned_at) const {
  return agent::session::ToHostInventoryProto(state_, Platform(), scanned_at);
}

SiteInfo* SimulatedHost::FindSite(std::string_view site_id) {
  for (SiteInfo& site : state_.sites) {
    if (site.site_id == site_id) return &site;
  }
  return nullptr;
}

const SiteInfo* SimulatedHost::FindSite(std::string_view site_id) const {
  for (const SiteInfo& site : state_.sites) {
    if (site.site_id == site_id) return &site;
  }
  return nullptr;
}

absl::StatusOr<std::string> SimulatedHost::FindSiteByName(std::string_view name) const {
  for (const SiteInfo& site : state_.sites) {
    if (site.name == name) return site.site_id;
  }
  return absl::NotFoundError(absl::StrCat("the host has no site named '", std::string(name), "'"));
}

std::string SimulatedHost::SiteName(std::string_view site_id) const {
  const SiteInfo* site = FindSite(site_id);
  return site == nullptr ? "" : site->name;
}

bool SimulatedHost::HasPersonalCertificate(std::string_view thumbprint) const {
  for (const StoredCertificate& stored : state_.certificates) {
    if (stored.store == CertificateStore::kPersonal && stored.has_private_key &&
        SameThumbprint(stored.certificate.Thumbprint(), thumbprint)) {
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> SimulatedHost::CreateTemporarySite(std::string_view name) {
  if (absl::StatusOr<std::string> existing = FindSiteByName(name); existing.ok()) return existing;
  int highest = 0;
  for (const SiteInfo& site : state_.sites) {
    int id = 0;
    if (absl::SimpleAtoi(site.site_id, &id)) highest = std::max(highest, id);
  }
  SiteInfo site;
  site.site_id = std::to_string(highest + 1);
  site.name = std::string(name);
  site.auto_start = false;
  site.content_path = "C:\\Inetpub\\certfleet-temporary";
  site.plain_endpoints = {
      SiteEndpoint{.address = "",
                   .port = 80,
                   .host_header = std::string(iis6::Iis6Driver::kTemporaryHostHeader)}};
  state_.sites.push_back(site);
  return site.site_id;
}

absl::Status SimulatedHost::DeleteSite(std::string_view site_id) {
  std::erase_if(state_.sites, [&](const SiteInfo& site) { return site.site_id == site_id; });
  std::erase_if(state_.pending_requests,
                [&](const PendingRequestInfo& pending) { return pending.site_id == site_id; });
  return absl::OkStatus();
}

absl::StatusOr<crypto::CertificateRequest> SimulatedHost::CreatePendingRequest(
    std::string_view site_id, const crypto::DistinguishedName& subject,
    const std::vector<std::string>& dns_names, const crypto::PrivateKey& key) {
  SiteInfo* site = FindSite(site_id);
  if (site == nullptr) {
    return absl::NotFoundError(absl::StrCat("the host has no site ", std::string(site_id)));
  }
  for (const PendingRequestInfo& pending : state_.pending_requests) {
    if (pending.site_id == site_id && pending.request.Subject() == subject &&
        pending.request.DnsNames() == dns_names) {
      return pending.request;  // A retry: the same request again.
    }
  }
  absl::StatusOr<crypto::CertificateRequest> request =
      crypto::CertificateRequest::Create(key, subject, dns_names);
  if (!request.ok()) return request.status();
  // IIS keeps the new key with a self-signed placeholder in the REQUEST
  // store until the answer comes.
  crypto::CertificateProfile placeholder;
  placeholder.subject = subject;
  placeholder.not_before = absl::Now();
  placeholder.not_after = placeholder.not_before + absl::Hours(24 * 365);
  absl::StatusOr<crypto::Certificate> placeholder_certificate =
      crypto::IssueCertificate(placeholder, key.public_key(), std::nullopt, key);
  if (!placeholder_certificate.ok()) return placeholder_certificate.status();
  std::erase_if(state_.pending_requests,
                [&](const PendingRequestInfo& pending) { return pending.site_id == site_id; });
  state_.pending_requests.push_back(
      PendingRequestInfo{.site_id = std::string(site_id), .request = *request});
  state_.certificates.push_back(StoredCertificate{.store = CertificateStore::kRequest,
                                                  .certificate = *placeholder_certificate,
                                                  .has_private_key = true});
  site->has_pending_request = true;
  return request;
}

absl::Status SimulatedHost::AcceptCertificate(std::string_view site_id,
                                              const crypto::Certificate& certificate) {
  if (HasPersonalCertificate(certificate.Thumbprint())) return absl::OkStatus();
  SiteInfo* site = FindSite(site_id);
  auto pending = std::find_if(state_.pending_requests.begin(), state_.pending_requests.end(),
                              [&](const PendingRequestInfo& request) {
                                return request.site_id == site_id &&
                                       request.request.public_key() == certificate.public_key();
                              });
  if (site == nullptr || pending == state_.pending_requests.end()) {
    return absl::FailedPreconditionError(absl::StrCat("certificate ", certificate.Thumbprint(),
                                                      " answers no pending request of site ",
                                                      std::string(site_id)));
  }
  const crypto::PublicKey key = certificate.public_key();
  state_.pending_requests.erase(pending);
  std::erase_if(state_.certificates, [&](const StoredCertificate& stored) {
    return stored.store == CertificateStore::kRequest && stored.certificate.public_key() == key;
  });
  site->has_pending_request = false;
  state_.certificates.push_back(StoredCertificate{
      .store = CertificateStore::kPersonal, .certificate = certificate, .has_private_key = true});
  return absl::OkStatus();
}

absl::Status SimulatedHost::InstallChain(const std::vector<crypto::Certificate>& chain) {
  for (const crypto::Certificate& certificate : chain) {
    const CertificateStore store =
        certificate.IsSelfIssued() ? CertificateStore::kRoot : CertificateStore::kIntermediate;
    const bool present =
        std::any_of(state_.certificates.begin(), state_.certificates.end(),
                    [&](const StoredCertificate& stored) {
                      return stored.store == store && stored.certificate == certificate;
                    });
    if (!present) {
      state_.certificates.push_back(
          StoredCertificate{.store = store, .certificate = certificate, .has_private_key = false});
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SimulatedHost::ReadBinding(std::string_view site_id) const {
  const SiteInfo* site = FindSite(site_id);
  if (site == nullptr) {
    return absl::NotFoundError(absl::StrCat("the host has no site ", std::string(site_id)));
  }
  return site->bound_thumbprint;
}

absl::Status SimulatedHost::ReplaceBinding(std::string_view site_id, std::string_view thumbprint) {
  SiteInfo* site = FindSite(site_id);
  if (site == nullptr) {
    return absl::NotFoundError(absl::StrCat("the host has no site ", std::string(site_id)));
  }
  if (!HasPersonalCertificate(thumbprint)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "certificate ", std::string(thumbprint), " is not in the personal store with its key"));
  }
  site->bound_thumbprint = absl::AsciiStrToUpper(std::string(thumbprint));
  std::erase_if(state_.pending_requests,
                [&](const PendingRequestInfo& pending) { return pending.site_id == site_id; });
  site->has_pending_request = false;
  return Save();
}

}  // namespace certfleet::bench
