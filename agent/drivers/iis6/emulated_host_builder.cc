#include "agent/drivers/iis6/emulated_host_builder.h"

#include <algorithm>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "agent/drivers/iis6/certificate_stores.h"
#include "agent/drivers/iis6/host_root.h"
#include "agent/drivers/iis6/metabase.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::iis6 {
namespace {

// IIS 6 writes MetaBase.xml with CRLF line endings.
constexpr char kLineEnd[] = "\r\n";
constexpr absl::Duration kDay = absl::Hours(24);

using Attributes = std::vector<std::pair<std::string, std::string>>;

std::string EscapeAttribute(std::string_view value) {
  return absl::StrReplaceAll(std::string(value),
                             {{"&", "&amp;"}, {"\"", "&quot;"}, {"<", "&lt;"}, {">", "&gt;"}});
}

// One metabase key as IIS writes it: the element name and Location on the
// first line, one attribute per line in IIS's sorted order, two tabs in.
std::string Key(std::string_view type, std::string_view location, Attributes attributes,
                std::string_view children = "") {
  std::sort(attributes.begin(), attributes.end());
  std::string text =
      absl::StrCat("<", std::string(type), "\tLocation =\"", std::string(location), "\"", kLineEnd);
  for (const auto& [name, value] : attributes) {
    absl::StrAppend(&text, "\t\t", name, "=\"", EscapeAttribute(value), "\"", kLineEnd);
  }
  absl::StrAppend(&text, "\t>", kLineEnd, std::string(children), "</", std::string(type), ">",
                  kLineEnd);
  return text;
}

// A <Custom> child: a property IIS's schema does not know, which every tool
// must keep.
std::string Custom(std::string_view name, std::string_view id, std::string_view value) {
  return absl::StrCat("\t<Custom", kLineEnd, "\t\tName=\"", std::string(name), "\"", kLineEnd,
                      "\t\tID=\"", std::string(id), "\"", kLineEnd, "\t\tValue=\"",
                      std::string(value), "\"", kLineEnd, "\t\tType=\"STRING\"", kLineEnd,
                      "\t\tUserType=\"IIS_MD_UT_SERVER\"", kLineEnd, "\t\tAttributes=\"INHERIT\"",
                      kLineEnd, "\t/>", kLineEnd);
}

struct SitePlan {
  std::string id;
  std::string name;
  std::string host_header;     // Of the plain binding; empty answers any host.
  std::string content_path;    // Windows path.
  std::string content_folder;  // Under fs/.
  bool auto_start = true;
  // TLS, when the site has it.
  std::uint16_t https_port = 0;
  crypto::DistinguishedName subject;
  absl::Time not_before;
  absl::Time not_after;
  std::string thumbprint;
  std::string comment;  // An XML comment IIS keeps before the key.
  std::string custom;   // <Custom> children.
};

std::string SiteKeys(const SitePlan& site, std::uint16_t http_port) {
  Attributes server{{"ServerAutoStart", site.auto_start ? "TRUE" : "FALSE"},
                    {"ServerBindings", absl::StrCat(":", http_port, ":", site.host_header)},
                    {"ServerComment", site.name},
                    {"ServerSize", "1"}};
  if (site.id == kDefaultSiteId) server.emplace_back("AppPoolId", "DefaultAppPool");
  if (site.https_port != 0) {
    server.emplace_back("SecureBindings", absl::StrCat(":", site.https_port, ":"));
    server.emplace_back("SSLCertHash", site.thumbprint);
    server.emplace_back("SSLStoreName", "MY");
  }
  const std::string location = absl::StrCat("/LM/W3SVC/", site.id);
  std::string text =
      site.comment.empty() ? std::string() : absl::StrCat("<!-- ", site.comment, " -->", kLineEnd);
  absl::StrAppend(&text, Key("IIsWebServer", location, server, site.custom));
  absl::StrAppend(&text, Key("IIsWebVirtualDir", absl::StrCat(location, "/ROOT"),
                             {{"AccessFlags", "AccessRead | AccessScript"},
                              {"AppFriendlyName", "Default Application"},
                              {"AppIsolated", "2"},
                              {"AppRoot", absl::StrCat(location, "/ROOT")},
                              {"Path", site.content_path}}));
  return text;
}

std::string MetaBaseText(const std::vector<SitePlan>& sites, std::uint16_t http_port) {
  std::string text =
      absl::StrCat("<?xml version =\"1.0\"?>", kLineEnd,
                   "<configuration xmlns=\"urn:microsoft-catalog:XML_Metabase_V64_0\">", kLineEnd,
                   "<MBProperty>", kLineEnd);
  absl::StrAppend(&text, Key("IIS_Global", ".",
                             {{"BINSchemaTimeStamp", "f1d9b3f4c1d2c401"},
                              {"ChangeNumber", "1"},
                              {"HistoryMajorVersionNumber", "1"},
                              {"XMLSchemaTimeStamp", "6b3c5d10c1d2c401"}}));
  absl::StrAppend(&text, Key("IIsComputer", "/LM",
                             {{"EnableEditWhileRunning", "1"},
                              {"EnableHistory", "1"},
                              {"MaxBandwidth", "4294967295"},
                              {"MaxHistoryFiles", "10"}}));
  absl::StrAppend(&text, Key("IIsWebService", "/LM/W3SVC",
                             {{"AccessFlags", "AccessRead | AccessScript"},
                              {"AnonymousUserName", "IUSR_WEB01"},
                              {"AppPoolId", "DefaultAppPool"},
                              {"DefaultDoc", "Default.htm,Default.asp,index.htm,index.html"},
                              {"DownlevelAdminInstance", "1"},
                              {"LogFileDirectory", "C:\\WINDOWS\\system32\\LogFiles"}},
                             Custom("AdminServer", "2115", "2")));
  absl::StrAppend(&text, Key("IIsFilters", "/LM/W3SVC/Filters", {{"FilterLoadOrder", ""}}));
  for (const SitePlan& site : sites) absl::StrAppend(&text, SiteKeys(site, http_port));
  absl::StrAppend(&text, Key("IIsApplicationPools", "/LM/W3SVC/AppPools",
                             {{"AppPoolQueueLength", "1000"}, {"PeriodicRestartTime", "1740"}}));
  absl::StrAppend(&text, Key("IIsApplicationPool", "/LM/W3SVC/AppPools/DefaultAppPool",
                             {{"AppPoolIdentityType", "2"}}));
  absl::StrAppend(&text, "</MBProperty>", kLineEnd, "</configuration>", kLineEnd);
  return text;
}

std::string IndexPage(const SitePlan& site) {
  return absl::StrCat("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", site.name,
                      "</title></head>\n<body><h1>", site.name, "</h1><p>Site ", site.id,
                      " of an emulated IIS 6 host (certfleet).</p></body></html>\n");
}

// True when `inner` is `outer` or lies below it.
bool IsInside(const std::filesystem::path& inner, const std::filesystem::path& outer) {
  std::error_code error;
  const std::filesystem::path a = std::filesystem::weakly_canonical(inner, error);
  const std::filesystem::path b = std::filesystem::weakly_canonical(outer, error);
  auto mismatch = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
  return mismatch.first == b.end() ||
         (std::next(mismatch.first) == b.end() && mismatch.first->empty());
}

absl::Status WritePublic(const std::filesystem::path& path, std::string_view content) {
  return io::WriteFileAtomically(path, content, 0644);
}

absl::StatusOr<crypto::Certificate> IssueCa(const crypto::DistinguishedName& subject,
                                            const crypto::PrivateKey& key,
                                            const std::optional<crypto::Certificate>& issuer,
                                            const crypto::PrivateKey& issuer_key, absl::Time now,
                                            int years, std::optional<int> path_length) {
  crypto::CertificateProfile profile;
  profile.subject = subject;
  profile.not_before = now - kDay;
  profile.not_after = now + years * 365 * kDay;
  profile.usage = crypto::CertificateUsage::kCertificateAuthority;
  profile.path_length = path_length;
  return crypto::IssueCertificate(profile, key.public_key(), issuer, issuer_key);
}

}  // namespace

absl::StatusOr<CertificateIssuer> CreateDemoCertificateAuthority(
    const std::filesystem::path& folder, absl::Time now) {
  std::error_code error;
  if (std::filesystem::exists(folder / "root.key", error)) {
    return absl::AlreadyExistsError(absl::StrCat(
        folder.string(), " already holds a demo CA (root.key); it is never overwritten"));
  }
  const crypto::KeySpec rsa{crypto::KeyAlgorithm::kRsa, 2048};
  absl::StatusOr<crypto::PrivateKey> root_key = crypto::PrivateKey::Generate(rsa);
  if (!root_key.ok()) return root_key.status();
  absl::StatusOr<crypto::PrivateKey> intermediate_key = crypto::PrivateKey::Generate(rsa);
  if (!intermediate_key.ok()) return intermediate_key.status();
  crypto::DistinguishedName root_name;
  root_name.common_name = "certfleet Demo Root CA";
  root_name.organization = "certfleet demo";
  crypto::DistinguishedName intermediate_name = root_name;
  intermediate_name.common_name = "certfleet Demo Intermediate CA";
  absl::StatusOr<crypto::Certificate> root =
      IssueCa(root_name, *root_key, std::nullopt, *root_key, now, 20, std::nullopt);
  if (!root.ok()) return root.status();
  absl::StatusOr<crypto::Certificate> intermediate =
      IssueCa(intermediate_name, *intermediate_key, *root, *root_key, now, 10, 0);
  if (!intermediate.ok()) return intermediate.status();

  if (absl::Status status = CreatePrivateFolder(folder); !status.ok()) return status;
  const std::vector<std::pair<std::string, std::pair<std::string, mode_t>>> files = {
      {"root.key", {root_key->ToPem(), 0600}},
      {"intermediate.key", {intermediate_key->ToPem(), 0600}},
      {"root.crt", {root->ToPem(), 0644}},
      {"intermediate.crt", {intermediate->ToPem(), 0644}},
      {"chain.pem", {crypto::ToPemBundle({*intermediate, *root}), 0644}},
  };
  for (const auto& [name, content] : files) {
    if (absl::Status status = io::WriteFileAtomically(folder / name, content.first, content.second);
        !status.ok()) {
      return status;
    }
  }
  return CertificateIssuer{*intermediate, *intermediate_key, {*root}};
}

absl::StatusOr<EmulatedHost> BuildEmulatedHost(const EmulatedHostOptions& options) {
  if (options.http_port == 0 || options.https_port == 0) {
    return absl::InvalidArgumentError("ports must be between 1 and 65535");
  }
  if (options.https_port == 65535) {
    return absl::InvalidArgumentError(
        "the HTTPS port must leave room for a second one (the next port is used too)");
  }
  if (options.http_port == options.https_port || options.http_port == options.https_port + 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the HTTP port ", options.http_port, " collides with the HTTPS ports ",
                     options.https_port, " and ", options.https_port + 1));
  }
  if (options.address.empty()) return absl::InvalidArgumentError("the address is empty");
  if (options.host_root.empty()) return absl::InvalidArgumentError("the host root is not set");
  if (!options.issuer.has_value() && options.demo_ca_folder.empty()) {
    return absl::InvalidArgumentError(
        "no CA to issue the sites' certificates: give an issuer or a folder for a demo CA");
  }
  if (!options.issuer.has_value() && IsInside(options.demo_ca_folder, options.host_root)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the demo CA folder ", options.demo_ca_folder.string(), " is inside the host root ",
        options.host_root.string(),
        ": a CA's private key must never be on the hosts whose certificates it signs"));
  }
  std::error_code error;
  if (std::filesystem::exists(options.host_root, error) &&
      !std::filesystem::is_empty(options.host_root, error)) {
    return absl::AlreadyExistsError(absl::StrCat(
        options.host_root.string(), " is not empty; an emulated host is made in a new folder"));
  }

  EmulatedHost host;
  host.host_root = options.host_root;
  std::optional<CertificateIssuer> chosen_issuer = options.issuer;
  if (!chosen_issuer.has_value()) {
    absl::StatusOr<CertificateIssuer> demo =
        CreateDemoCertificateAuthority(options.demo_ca_folder, options.now);
    if (!demo.ok()) return demo.status();
    chosen_issuer = *std::move(demo);
    for (const char* name :
         {"root.crt", "root.key", "intermediate.crt", "intermediate.key", "chain.pem"}) {
      host.demo_ca_files.push_back(options.demo_ca_folder / name);
    }
  }

  const CertificateIssuer& issuer = *chosen_issuer;
  const absl::Time now = options.now;
  std::vector<SitePlan> sites(4);
  SitePlan& default_site = sites[0];
  default_site.id = kDefaultSiteId;
  default_site.name = "Default Web Site";
  default_site.content_path = "C:\\Inetpub\\wwwroot";
  default_site.content_folder = "C/Inetpub/wwwroot";

  SitePlan& boutique = sites[1];
  boutique.id = kBoutiqueSiteId;
  boutique.name = "Boutique Zürich";
  boutique.host_header = "www.boutique-zuerich.example.test";
  boutique.content_path = "C:\\Inetpub\\Boutique Zürich";
  boutique.content_folder = "C/Inetpub/Boutique Zürich";
  boutique.https_port = options.https_port;
  boutique.subject.common_name = "www.boutique-zuerich.example.test";
  boutique.subject.organization = "Boutique Zürich AG";
  boutique.subject.locality = "Zürich";
  boutique.subject.country = "CH";
  boutique.not_before = now - 80 * kDay;
  boutique.not_after = now + kSoonExpiring;

  SitePlan& shop = sites[2];
  shop.id = kShopSiteId;
  shop.name = "Shop";
  shop.host_header = "shop.example.test";
  shop.content_path = "D:\\Sites\\Shop";
  shop.content_folder = "D/Sites/Shop";
  shop.https_port = static_cast<std::uint16_t>(options.https_port + 1);
  shop.subject.common_name = "shop.example.test";
  shop.subject.organization = "Example Shop K.K.";
  shop.subject.country = "JP";
  shop.not_before = now - 30 * kDay;
  shop.not_after = now + 335 * kDay;

  SitePlan& intranet = sites[3];
  intranet.id = kIntranetSiteId;
  intranet.name = "Intranet & Wiki";
  intranet.host_header = "intranet.example.test";
  intranet.content_path = "E:\\Intranet";
  intranet.content_folder = "E/Intranet";
  intranet.auto_start = false;
  intranet.comment = "Intranet: stopped since the 2009 migration; ask J. Meier before changing.";
  intranet.custom = Custom("ProjectCode", "60001", "INT-42");

  const HostRoot root(options.host_root);
  CertificateStores stores(root.StoresFolder());
  for (SitePlan& site : sites) {
    if (site.https_port == 0) continue;
    absl::StatusOr<crypto::PrivateKey> key =
        crypto::PrivateKey::Generate({crypto::KeyAlgorithm::kRsa, 2048});
    if (!key.ok()) return key.status();
    crypto::CertificateProfile profile;
    profile.subject = site.subject;
    profile.alternative_names = {site.subject.common_name};
    profile.not_before = site.not_before;
    profile.not_after = site.not_after;
    profile.digest = options.site_signature_digest;
    absl::StatusOr<crypto::Certificate> certificate =
        crypto::IssueCertificate(profile, key->public_key(), issuer.certificate, issuer.key);
    if (!certificate.ok()) return certificate.status();
    if (absl::Status status = stores.AddPersonal(*certificate, *key); !status.ok()) return status;
    site.thumbprint = certificate->Thumbprint();
  }
  host.chain.push_back(issuer.certificate);
  host.chain.insert(host.chain.end(), issuer.chain.begin(), issuer.chain.end());
  for (const crypto::Certificate& certificate : host.chain) {
    const bool root_certificate = certificate.IsSelfIssued() && certificate.IsIssuedBy(certificate);
    if (absl::Status status =
            stores.AddCertificate(root_certificate ? agent::CertificateStore::kRoot
                                                   : agent::CertificateStore::kIntermediate,
                                  certificate);
        !status.ok()) {
      return status;
    }
  }
  // Every store exists, even when empty, as on a Windows machine.
  for (agent::CertificateStore store :
       {agent::CertificateStore::kPersonal, agent::CertificateStore::kIntermediate,
        agent::CertificateStore::kRoot, agent::CertificateStore::kRequest}) {
    if (absl::Status status = CreatePrivateFolder(stores.StoreFolder(store)); !status.ok()) {
      return status;
    }
  }
  if (absl::Status status = CreatePrivateFolder(root.RunFolder()); !status.ok()) return status;

  for (const SitePlan& site : sites) {
    const std::filesystem::path folder = root.FileSystemRoot() / site.content_folder;
    std::filesystem::create_directories(folder, error);
    if (error) {
      return absl::InternalError(
          absl::StrCat("cannot create ", folder.string(), ": ", error.message()));
    }
    if (absl::Status status = WritePublic(folder / "index.html", IndexPage(site)); !status.ok()) {
      return status;
    }
  }

  // Parsing what was generated checks it the way the driver will read it.
  absl::StatusOr<MetaBase> metabase = MetaBase::Parse(MetaBaseText(sites, options.http_port));
  if (!metabase.ok()) {
    return absl::InternalError(
        absl::StrCat("the generated MetaBase.xml does not parse: ", metabase.status().message()));
  }
  std::filesystem::create_directories(root.MetaBaseFile().parent_path(), error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot create ", root.MetaBaseFile().parent_path().string(), ": ", error.message()));
  }
  absl::StatusOr<std::filesystem::path> history =
      metabase->Save(root.MetaBaseFile(), root.HistoryFolder());
  if (!history.ok()) return history.status();

  if (absl::Status status =
          WritePublic(root.EmulationConfigFile(), FormatEmulationConfig({options.address}));
      !status.ok()) {
    return status;
  }

  for (const SitePlan& site : sites) {
    host.sites.push_back({site.id, site.name, site.subject.common_name, site.https_port,
                          site.thumbprint, site.not_after});
  }
  return host;
}

}  // namespace certfleet::iis6
