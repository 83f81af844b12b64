#include "tools/iis6-emulator/host_configuration.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "agent/drivers/iis6/metabase.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::iis6_emulator {
namespace {

// emulation.conf holds a few key=value lines; anything larger is not one.
constexpr size_t kMaximumEmulationConfigBytes = size_t{64} * 1024;
// A chain longer than this is a loop or a store full of cross-certificates;
// real chains have one to three CA certificates.
constexpr int kMaximumChainLength = 8;

struct EmulationSettings {
  std::optional<std::string> address;
};

absl::StatusOr<EmulationSettings> ReadEmulationSettings(const std::filesystem::path& path) {
  EmulationSettings settings;
  absl::StatusOr<std::string> contents = io::ReadFile(path, kMaximumEmulationConfigBytes);
  if (absl::IsNotFound(contents.status())) return settings;
  if (!contents.ok()) return contents.status();
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(*contents, '\n')) {
    ++line_number;
    if (const size_t comment = line.find('#'); comment != absl::string_view::npos) {
      line = line.substr(0, comment);
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), " line ", line_number,
                                                     ": expected key=value, found \"",
                                                     std::string(line), "\""));
    }
    const absl::string_view key = absl::StripAsciiWhitespace(line.substr(0, equals));
    const std::string value(absl::StripAsciiWhitespace(line.substr(equals + 1)));
    // Other keys belong to the driver, which shares this file.
    if (key != "address") continue;
    if (!IsIpv4Address(value)) {
      return absl::InvalidArgumentError(absl::StrCat(path.string(), " line ", line_number,
                                                     ": address \"", value,
                                                     "\" is not an IPv4 address"));
    }
    settings.address = value;
  }
  return settings;
}

std::string SiteLabel(const iis6::Site& site) {
  return absl::StrCat("site '", site.name, "' (", site.id, ")");
}

// The certificates of one store folder, by file name.
struct StoreContents {
  std::vector<crypto::Certificate> certificates;
};

// Reads every *.cer of a store folder in file-name order. Files that are not
// certificates are reported in `problems` and skipped; a missing folder is an
// empty store.
StoreContents ReadStore(const std::filesystem::path& folder, std::vector<std::string>& problems) {
  StoreContents store;
  std::error_code error;
  std::vector<std::filesystem::path> files;
  for (std::filesystem::directory_iterator entry(folder, error), end; !error && entry != end;
       entry.increment(error)) {
    if (absl::EndsWithIgnoreCase(entry->path().filename().string(), ".cer")) {
      files.push_back(entry->path());
    }
  }
  std::sort(files.begin(), files.end());
  for (const std::filesystem::path& file : files) {
    absl::StatusOr<std::string> bytes = io::ReadFile(file, crypto::kMaxInputBytes);
    if (!bytes.ok()) {
      problems.push_back(absl::StrCat("skipping ", file.string(), ": ", bytes.status().message()));
      continue;
    }
    absl::StatusOr<crypto::Certificate> certificate = crypto::ReadSingleCertificate(*bytes);
    if (!certificate.ok()) {
      problems.push_back(
          absl::StrCat("skipping ", file.string(), ": ", certificate.status().message()));
      continue;
    }
    store.certificates.push_back(*std::move(certificate));
  }
  return store;
}

// Walks issuer links from `leaf` through `authorities` as CryptoAPI builds a
// chain: at each step the first certificate (in file order) that issued the
// current one, preferring one valid now; stops at a self-issued certificate
// or when no issuer is found.
std::vector<crypto::Certificate> BuildChain(const crypto::Certificate& leaf,
                                            const std::vector<crypto::Certificate>& authorities) {
  std::vector<crypto::Certificate> chain;
  crypto::Certificate current = leaf;
  const absl::Time now = absl::Now();
  while (!current.IsSelfIssued() && static_cast<int>(chain.size()) < kMaximumChainLength) {
    const crypto::Certificate* issuer = nullptr;
    for (const crypto::Certificate& candidate : authorities) {
      if (candidate == leaf || std::find(chain.begin(), chain.end(), candidate) != chain.end()) {
        continue;
      }
      if (!current.IsIssuedBy(candidate)) continue;
      if (issuer == nullptr || (!issuer->IsValidAt(now) && candidate.IsValidAt(now))) {
        issuer = &candidate;
      }
    }
    if (issuer == nullptr) break;
    chain.push_back(*issuer);
    current = *issuer;
  }
  return chain;
}

// Store names are folder names under stores/; anything but letters and
// digits could leave that folder.
bool IsPlainStoreName(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char character) {
    return std::isalnum(static_cast<unsigned char>(character)) != 0;
  });
}

// Finds the certificate and key a site's SSLCertHash names, as IIS 6 does at
// start-up. Returns FailedPrecondition with a sentence for the log when IIS
// could not complete a handshake with it.
absl::StatusOr<TlsIdentity> FindIdentity(const HostLayout& layout, const iis6::Site& site,
                                         const std::vector<crypto::Certificate>& authorities) {
  if (site.ssl_cert_hash.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        SiteLabel(site), " has SecureBindings but no SSLCertHash: IIS 6 would fail the handshake"));
  }
  const std::string store_name = site.ssl_store_name.empty()
                                     ? std::string(iis6::MetaBase::kPersonalStoreName)
                                     : site.ssl_store_name;
  if (!IsPlainStoreName(store_name)) {
    return absl::FailedPreconditionError(absl::StrCat(SiteLabel(site), " names the store \"",
                                                      store_name, "\", which is not a store name"));
  }
  const std::string thumbprint = absl::AsciiStrToUpper(site.ssl_cert_hash);
  const std::filesystem::path folder = layout.StoreFolder(store_name);
  const std::filesystem::path certificate_file = folder / absl::StrCat(thumbprint, ".cer");
  absl::StatusOr<std::string> certificate_bytes =
      io::ReadFile(certificate_file, crypto::kMaxInputBytes);
  if (absl::IsNotFound(certificate_bytes.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        SiteLabel(site), " is bound to certificate ", thumbprint, ", which is not in the ",
        store_name, " store (no ", certificate_file.string(), ")"));
  }
  if (!certificate_bytes.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(SiteLabel(site), " is bound to certificate ", thumbprint,
                     ", which cannot be read: ", certificate_bytes.status().message()));
  }
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(*certificate_bytes);
  if (!certificate.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        SiteLabel(site), ": ", certificate_file.string(), " ", certificate.status().message()));
  }
  if (certificate->Thumbprint() != thumbprint) {
    return absl::FailedPreconditionError(
        absl::StrCat(SiteLabel(site), ": ", certificate_file.string(), " holds certificate ",
                     certificate->Thumbprint(), ", not ", thumbprint, " as its name says"));
  }
  const std::filesystem::path key_file = folder / absl::StrCat(thumbprint, ".key");
  absl::StatusOr<std::string> key_bytes = io::ReadFile(key_file, crypto::kMaxInputBytes);
  if (absl::IsNotFound(key_bytes.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat(SiteLabel(site), " is bound to certificate ", thumbprint, " ('",
                     certificate->SubjectText(), "'), which has no private key in the ", store_name,
                     " store (no ", key_file.string(), "): IIS 6 would fail the handshake"));
  }
  if (!key_bytes.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        SiteLabel(site), ": cannot read the private key: ", key_bytes.status().message()));
  }
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(*key_bytes);
  if (!key.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(SiteLabel(site), ": ", key_file.string(), " ", key.status().message()));
  }
  if (!(key->public_key() == certificate->public_key())) {
    return absl::FailedPreconditionError(
        absl::StrCat(SiteLabel(site), ": the private key ", key_file.string(),
                     " does not belong to certificate ", thumbprint));
  }
  TlsIdentity identity{.certificate = *certificate, .key = *key, .chain = {}};
  identity.chain = BuildChain(identity.certificate, authorities);
  return identity;
}

// The site's content with an empty host header; problems with its Path are
// recorded in `problems`.
SiteContent ContentOf(const HostLayout& layout, const iis6::Site& site,
                      std::vector<std::string>& problems) {
  SiteContent content{
      .site_id = site.id, .site_name = site.name, .host_header = "", .content_root = std::nullopt};
  if (site.root_path.empty()) {
    problems.push_back(absl::StrCat(SiteLabel(site),
                                    " has no ROOT virtual directory Path: every request gets 404"));
    return content;
  }
  absl::StatusOr<std::filesystem::path> mapped = layout.MapWindowsPath(site.root_path);
  if (!mapped.ok()) {
    problems.push_back(
        absl::StrCat(SiteLabel(site), ": ", mapped.status().message(), ": every request gets 404"));
    return content;
  }
  content.content_root = *std::move(mapped);
  return content;
}

// Collects endpoints by address and port in first-bound order.
class EndpointTable {
 public:
  // Returns the endpoint for this address and port, or nullptr.
  EndpointConfiguration* Find(const std::string& address, std::uint16_t port) {
    auto found = index_.find({address, port});
    return found == index_.end() ? nullptr : &endpoints_[found->second];
  }

  void Add(EndpointConfiguration endpoint) {
    index_[{endpoint.address, endpoint.port}] = endpoints_.size();
    endpoints_.push_back(std::move(endpoint));
  }

  std::vector<EndpointConfiguration> Take() { return std::move(endpoints_); }

 private:
  std::vector<EndpointConfiguration> endpoints_;
  std::map<std::pair<std::string, std::uint16_t>, size_t> index_;
};

// Returns the address a binding listens on, or nullopt (with a problem
// recorded) when its IP is not one the emulator can bind.
std::optional<std::string> BindingAddress(const iis6::Binding& binding,
                                          const std::string& default_address,
                                          const iis6::Site& site, std::string_view attribute,
                                          std::vector<std::string>& problems) {
  if (binding.ip.empty()) return default_address;
  if (!IsIpv4Address(binding.ip)) {
    problems.push_back(absl::StrCat(SiteLabel(site), ": ", std::string(attribute), " \"",
                                    binding.ToString(),
                                    "\" does not name an IPv4 address: not served"));
    return std::nullopt;
  }
  return binding.ip;
}

}  // namespace

std::string_view EndpointProtocolName(EndpointProtocol protocol) {
  return protocol == EndpointProtocol::kTls ? "https" : "http";
}

std::string EndpointConfiguration::AddressText() const { return absl::StrCat(address, ":", port); }

std::string EndpointConfiguration::Describe() const {
  std::vector<std::string> site_labels;
  for (const SiteContent& site : sites) {
    site_labels.push_back(absl::StrCat("'", site.site_name, "' (", site.site_id, ")",
                                       site.host_header.empty() ? "" : " for host ",
                                       site.host_header));
  }
  std::string text = absl::StrCat(std::string(EndpointProtocolName(protocol)), "://", AddressText(),
                                  " for site ", absl::StrJoin(site_labels, ", "));
  if (identity.has_value()) {
    absl::StrAppend(&text, " with certificate ", identity->certificate.Thumbprint(), " '",
                    identity->certificate.SubjectText(), "' and ", identity->chain.size(),
                    " chain certificate(s) from the CA store");
  }
  return text;
}

bool IsIpv4Address(std::string_view text) {
  in_addr parsed{};
  return inet_pton(AF_INET, std::string(text).c_str(), &parsed) == 1;
}

absl::StatusOr<HostConfiguration> LoadHostConfiguration(const HostLayout& layout,
                                                        const LoadOptions& options) {
  HostConfiguration configuration;
  if (options.address_override.has_value()) {
    if (!IsIpv4Address(*options.address_override)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the address \"", *options.address_override, "\" is not an IPv4 address"));
    }
    configuration.default_address = *options.address_override;
  } else {
    absl::StatusOr<EmulationSettings> settings =
        ReadEmulationSettings(layout.EmulationConfigFile());
    if (!settings.ok()) return settings.status();
    configuration.default_address = settings->address.value_or(std::string(kDefaultAddress));
  }

  absl::StatusOr<iis6::MetaBase> metabase = iis6::MetaBase::Load(layout.MetaBaseFile());
  if (!metabase.ok()) return metabase.status();

  StoreContents authorities = ReadStore(layout.StoreFolder("CA"), configuration.problems);
  if (!options.withheld_intermediate_subject.empty()) {
    std::erase_if(authorities.certificates, [&](const crypto::Certificate& certificate) {
      const bool withheld =
          absl::StrContains(certificate.SubjectText(), options.withheld_intermediate_subject);
      if (withheld) {
        configuration.problems.push_back(absl::StrCat("fault injection: CA certificate '",
                                                      certificate.SubjectText(), "' is withheld"));
      }
      return withheld;
    });
  }
  EndpointTable table;
  for (const iis6::Site& site : metabase->Sites()) {
    if (!site.auto_start) {
      configuration.problems.push_back(
          absl::StrCat(SiteLabel(site), " is stopped (ServerAutoStart FALSE): not served"));
      continue;
    }
    // Computed once so that a site's content problem is reported once.
    const SiteContent site_content = ContentOf(layout, site, configuration.problems);
    for (const iis6::Binding& binding : site.server_bindings) {
      std::optional<std::string> address = BindingAddress(
          binding, configuration.default_address, site, "ServerBindings", configuration.problems);
      if (!address.has_value()) continue;
      EndpointConfiguration* existing = table.Find(*address, binding.port);
      if (existing != nullptr && existing->protocol != EndpointProtocol::kHttp) {
        configuration.problems.push_back(absl::StrCat(
            SiteLabel(site), ": ServerBindings \"", binding.ToString(), "\" uses ",
            existing->AddressText(), ", which serves HTTPS for another binding: not served"));
        continue;
      }
      SiteContent content = site_content;
      content.host_header = absl::AsciiStrToLower(binding.host_header);
      if (existing != nullptr) {
        existing->sites.push_back(std::move(content));
        continue;
      }
      table.Add(EndpointConfiguration{.address = *address,
                                      .port = binding.port,
                                      .protocol = EndpointProtocol::kHttp,
                                      .sites = {std::move(content)},
                                      .identity = std::nullopt});
    }

    if (site.secure_bindings.empty()) continue;
    absl::StatusOr<TlsIdentity> identity = FindIdentity(layout, site, authorities.certificates);
    for (const iis6::Binding& binding : site.secure_bindings) {
      if (!identity.ok()) {
        configuration.problems.push_back(absl::StrCat(std::string(identity.status().message()),
                                                      "; not listening on SecureBindings \"",
                                                      binding.ToString(), "\""));
        continue;
      }
      std::optional<std::string> address = BindingAddress(
          binding, configuration.default_address, site, "SecureBindings", configuration.problems);
      if (!address.has_value()) continue;
      EndpointConfiguration* existing = table.Find(*address, binding.port);
      if (existing != nullptr && existing->protocol != EndpointProtocol::kTls) {
        configuration.problems.push_back(absl::StrCat(
            SiteLabel(site), ": SecureBindings \"", binding.ToString(), "\" uses ",
            existing->AddressText(), ", which serves plain HTTP for another binding: not served"));
        continue;
      }
      if (existing != nullptr) {
        if (existing->identity->certificate == identity->certificate) {
          // Same certificate: IIS 6 SP1's SSL host headers; the first site
          // answers requests that name no other.
          existing->sites.push_back(site_content);
          continue;
        }
        configuration.problems.push_back(absl::StrCat(
            SiteLabel(site), ": SecureBindings \"", binding.ToString(), "\" wants certificate ",
            identity->certificate.Thumbprint(), " on ", existing->AddressText(),
            ", which already serves certificate ", existing->identity->certificate.Thumbprint(),
            " for site '", existing->sites.front().site_name, "' (",
            existing->sites.front().site_id,
            "); IIS 6 has no SNI (one certificate per IP:port) and would refuse to start this "
            "binding: not served"));
        continue;
      }
      table.Add(EndpointConfiguration{.address = *address,
                                      .port = binding.port,
                                      .protocol = EndpointProtocol::kTls,
                                      .sites = {site_content},
                                      .identity = *identity});
    }
  }
  configuration.endpoints = table.Take();
  return configuration;
}

}  // namespace certfleet::iis6_emulator
