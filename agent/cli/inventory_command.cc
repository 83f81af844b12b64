#include "agent/cli/inventory_command.h"

#include <cmath>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/drivers/iis6/iis6_driver.h"

namespace certfleet::agent::cli {
namespace {

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// Whole days until `not_after`, rounded down; negative once expired.
int64_t DaysLeft(absl::Time not_after, absl::Time now) {
  return static_cast<int64_t>(std::floor(absl::ToDoubleHours(not_after - now) / 24.0));
}

std::string DescribeExpiry(const crypto::Certificate& certificate, absl::Time now) {
  const int64_t days = DaysLeft(certificate.NotAfter(), now);
  const std::string date =
      absl::FormatTime("%Y-%m-%d", certificate.NotAfter(), absl::UTCTimeZone());
  if (days < 0) return absl::StrCat("expired ", date, " (", -days, " days ago)");
  return absl::StrCat("expires ", date, " (", days, " days left)");
}

std::string BindingText(const SiteEndpoint& endpoint) {
  return absl::StrCat(endpoint.address, ":", endpoint.port, ":", endpoint.host_header);
}

const StoredCertificate* FindInStore(const HostInventory& inventory, CertificateStore store,
                                     const std::string& thumbprint) {
  for (const StoredCertificate& stored : inventory.certificates) {
    if (stored.store == store && stored.certificate.Thumbprint() == thumbprint) return &stored;
  }
  return nullptr;
}

// The placeholder of a pending request, which dates it.
const StoredCertificate* PlaceholderOf(const HostInventory& inventory,
                                       const PendingRequestInfo& request) {
  for (const StoredCertificate& stored : inventory.certificates) {
    if (stored.store == CertificateStore::kRequest &&
        stored.certificate.public_key() == request.request.public_key()) {
      return &stored;
    }
  }
  return nullptr;
}

const PendingRequestInfo* RequestOf(const HostInventory& inventory, const std::string& site_id) {
  for (const PendingRequestInfo& request : inventory.pending_requests) {
    if (request.site_id == site_id) return &request;
  }
  return nullptr;
}

nlohmann::json EndpointsJson(const std::vector<SiteEndpoint>& endpoints) {
  nlohmann::json list = nlohmann::json::array();
  for (const SiteEndpoint& endpoint : endpoints) {
    list.push_back({{"address", endpoint.address},
                    {"port", endpoint.port},
                    {"host_header", endpoint.host_header},
                    {"binding", BindingText(endpoint)}});
  }
  return list;
}

nlohmann::json CertificateJson(const crypto::Certificate& certificate, absl::Time now) {
  return {{"thumbprint", certificate.Thumbprint()},
          {"subject", certificate.SubjectText()},
          {"issuer", certificate.IssuerText()},
          {"dns_names", certificate.DnsNames()},
          {"serial", certificate.SerialHex()},
          {"not_before", FormatUtc(certificate.NotBefore())},
          {"not_after", FormatUtc(certificate.NotAfter())},
          {"days_left", DaysLeft(certificate.NotAfter(), now)},
          {"key", certificate.public_key().Description()},
          {"signature_algorithm", certificate.SignatureAlgorithm()},
          {"certificate_authority", certificate.IsCertificateAuthority()}};
}

nlohmann::json RequestJson(const HostInventory& inventory, const PendingRequestInfo& request) {
  nlohmann::json json = {{"site_id", request.site_id},
                         {"subject", request.request.SubjectText()},
                         {"dns_names", request.request.DnsNames()},
                         {"key", request.request.public_key().Description()},
                         {"public_key_sha256", request.request.public_key().Sha256Fingerprint()},
                         {"created", nullptr}};
  if (const StoredCertificate* placeholder = PlaceholderOf(inventory, request)) {
    json["created"] = FormatUtc(placeholder->certificate.NotBefore());
  }
  return json;
}

void PrintText(const HostInventory& inventory, const std::string& host_root,
               const std::string& address, absl::Time now, std::ostream& out) {
  out << "IIS 6 host " << host_root << " (\"All Unassigned\" is " << address << ")\n";
  for (const SiteInfo& site : inventory.sites) {
    out << "\nSite " << site.site_id << " \"" << site.name << "\" ("
        << (site.auto_start ? "started" : "stopped") << ")\n";
    if (!site.content_path.empty()) out << "  content      " << site.content_path << "\n";
    for (const SiteEndpoint& endpoint : site.plain_endpoints) {
      out << "  http         " << BindingText(endpoint) << "\n";
    }
    for (const SiteEndpoint& endpoint : site.secure_endpoints) {
      out << "  https        " << BindingText(endpoint) << "\n";
    }
    if (site.bound_thumbprint.empty()) {
      out << "  certificate  none\n";
    } else if (const StoredCertificate* bound =
                   FindInStore(inventory, CertificateStore::kPersonal, site.bound_thumbprint)) {
      out << "  certificate  " << site.bound_thumbprint << " '" << bound->certificate.SubjectText()
          << "' " << DescribeExpiry(bound->certificate, now)
          << (bound->has_private_key ? "" : ", WITHOUT its private key") << "\n";
    } else {
      out << "  certificate  " << site.bound_thumbprint
          << " NOT IN THE MY STORE (IIS cannot serve it)\n";
    }
    if (const PendingRequestInfo* request = RequestOf(inventory, site.site_id)) {
      out << "  pending      '" << request->request.SubjectText() << "' ("
          << request->request.public_key().Description() << ")";
      if (const StoredCertificate* placeholder = PlaceholderOf(inventory, *request)) {
        out << " made " << FormatUtc(placeholder->certificate.NotBefore());
      }
      out << "\n";
    }
  }
  for (CertificateStore store : {CertificateStore::kPersonal, CertificateStore::kIntermediate,
                                 CertificateStore::kRoot, CertificateStore::kRequest}) {
    std::vector<const StoredCertificate*> entries;
    for (const StoredCertificate& stored : inventory.certificates) {
      if (stored.store == store) entries.push_back(&stored);
    }
    out << "\nStore " << StoreName(store) << " (" << entries.size() << ")\n";
    for (const StoredCertificate* stored : entries) {
      out << "  " << stored->certificate.Thumbprint() << " '" << stored->certificate.SubjectText()
          << "' " << DescribeExpiry(stored->certificate, now);
      if (store == CertificateStore::kPersonal) {
        out << (stored->has_private_key ? ", private key" : ", no private key");
      }
      out << "\n";
    }
  }
}

}  // namespace

nlohmann::json InventoryToJson(const HostInventory& inventory, const std::string& host_root,
                               const std::string& address, absl::Time now) {
  nlohmann::json sites = nlohmann::json::array();
  for (const SiteInfo& site : inventory.sites) {
    nlohmann::json json = {{"id", site.site_id},
                           {"name", site.name},
                           {"auto_start", site.auto_start},
                           {"content_path", site.content_path},
                           {"plain_bindings", EndpointsJson(site.plain_endpoints)},
                           {"secure_bindings", EndpointsJson(site.secure_endpoints)},
                           {"bound_thumbprint", site.bound_thumbprint},
                           {"certificate", nullptr},
                           {"pending_request", nullptr}};
    if (!site.bound_thumbprint.empty()) {
      const StoredCertificate* bound =
          FindInStore(inventory, CertificateStore::kPersonal, site.bound_thumbprint);
      if (bound != nullptr) {
        json["certificate"] = CertificateJson(bound->certificate, now);
        json["certificate"]["has_private_key"] = bound->has_private_key;
      }
      json["certificate_in_store"] = bound != nullptr;
    }
    if (const PendingRequestInfo* request = RequestOf(inventory, site.site_id)) {
      json["pending_request"] = RequestJson(inventory, *request);
    }
    sites.push_back(std::move(json));
  }
  nlohmann::json stores = nlohmann::json::object();
  for (CertificateStore store : {CertificateStore::kPersonal, CertificateStore::kIntermediate,
                                 CertificateStore::kRoot, CertificateStore::kRequest}) {
    nlohmann::json list = nlohmann::json::array();
    for (const StoredCertificate& stored : inventory.certificates) {
      if (stored.store != store) continue;
      nlohmann::json json = CertificateJson(stored.certificate, now);
      json["has_private_key"] = stored.has_private_key;
      list.push_back(std::move(json));
    }
    stores[std::string(StoreName(store))] = std::move(list);
  }
  nlohmann::json requests = nlohmann::json::array();
  for (const PendingRequestInfo& request : inventory.pending_requests) {
    requests.push_back(RequestJson(inventory, request));
  }
  return {{"platform", "iis6"},
          {"host_root", host_root},
          {"address", address},
          {"scanned_at", FormatUtc(now)},
          {"sites", std::move(sites)},
          {"stores", std::move(stores)},
          {"pending_requests", std::move(requests)}};
}

void RegisterInventoryCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InventoryOptions>();
  auto json = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "inventory",
      "Print what the driver sees on a host (sites, bindings, certificates, pending requests, "
      "stores), offline");
  command->add_option("--host-root", options->host_root, "The emulated IIS 6 host root")
      ->required();
  command->add_flag("--json", *json, "Print one JSON object instead of text");
  command->callback([options, json, &exit_code] {
    options->format = *json ? InventoryFormat::kJson : InventoryFormat::kText;
    options->now = absl::Now();
    exit_code = RunInventory(*options, std::cout, std::cerr);
  });
}

int RunInventory(const InventoryOptions& options, std::ostream& out, std::ostream& error) {
  iis6::Iis6DriverSettings settings;
  settings.host_root = options.host_root;
  absl::StatusOr<std::unique_ptr<iis6::Iis6Driver>> driver =
      iis6::Iis6Driver::Open(std::move(settings));
  if (!driver.ok()) {
    error << "certfleet-agent: cannot open the host " << options.host_root << ": "
          << driver.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<HostInventory> inventory = (*driver)->ScanInventory();
  if (!inventory.ok()) {
    error << "certfleet-agent: cannot read the host " << options.host_root << ": "
          << inventory.status().message() << "\n";
    return 1;
  }
  if (options.format == InventoryFormat::kJson) {
    out << InventoryToJson(*inventory, options.host_root, (*driver)->address(), options.now).dump(2)
        << "\n";
  } else {
    PrintText(*inventory, options.host_root, (*driver)->address(), options.now, out);
  }
  return 0;
}

}  // namespace certfleet::agent::cli
