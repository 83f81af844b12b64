#include "agent/cli/init_iis6_host_command.h"

#include <filesystem>
#include <iostream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "agent/drivers/iis6/emulated_host_builder.h"
#include "common/crypto/certificate_reader.h"
#include "common/io/file.h"

namespace certfleet::agent::cli {
namespace {

std::string FormatDate(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d", time, absl::UTCTimeZone());
}

// The CA a previous run left in `folder`, when there is one.
absl::StatusOr<std::optional<iis6::CertificateIssuer>> ReadExistingIssuer(
    const std::filesystem::path& folder) {
  std::error_code error;
  if (!std::filesystem::exists(folder / "intermediate.key", error)) return std::nullopt;
  absl::StatusOr<std::string> certificate_bytes =
      io::ReadFile(folder / "intermediate.crt", crypto::kMaxInputBytes);
  if (!certificate_bytes.ok()) return certificate_bytes.status();
  absl::StatusOr<std::string> key_bytes =
      io::ReadFile(folder / "intermediate.key", crypto::kMaxInputBytes);
  if (!key_bytes.ok()) return key_bytes.status();
  absl::StatusOr<std::string> root_bytes =
      io::ReadFile(folder / "root.crt", crypto::kMaxInputBytes);
  if (!root_bytes.ok()) return root_bytes.status();
  absl::StatusOr<crypto::Certificate> certificate =
      crypto::ReadSingleCertificate(*certificate_bytes);
  if (!certificate.ok()) return certificate.status();
  absl::StatusOr<crypto::PrivateKey> key = crypto::PrivateKey::Parse(*key_bytes);
  if (!key.ok()) return key.status();
  absl::StatusOr<crypto::Certificate> root = crypto::ReadSingleCertificate(*root_bytes);
  if (!root.ok()) return root.status();
  return iis6::CertificateIssuer{*certificate, *key, {*root}};
}

}  // namespace

void RegisterInitIis6HostCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<InitIis6HostOptions>();
  CLI::App* command = app.add_subcommand(
      "init-iis6-host",
      "Make an emulated IIS 6 host: MetaBase.xml with a few sites, certificate stores with a "
      "test CA chain, one site whose certificate expires in 10 days");
  command->add_option("DIR", options->host_root, "The host root to create (new or empty)")
      ->required();
  command
      ->add_option("--address", options->address,
                   "The address \"All Unassigned\" bindings are served on")
      ->capture_default_str();
  command->add_option("--http-port", options->http_port, "Port of every site's HTTP binding")
      ->capture_default_str();
  command
      ->add_option("--https-port", options->https_port,
                   "First of the two consecutive ports of the sites' TLS bindings")
      ->capture_default_str();
  command->add_option("--ca-dir", options->ca_folder,
                      "Folder of the CA that signs the sites' certificates, outside the host; a "
                      "demo CA is made there when it holds none (default: DIR-ca)");
  command
      ->add_option("--signature-hash", options->signature_hash,
                   "How the sites' certificates are signed: sha256, or sha1 for a host "
                   "still waiting for its SHA-256 migration")
      ->check(CLI::IsMember({"sha256", "sha1"}))
      ->capture_default_str();
  command->callback([options, &exit_code] {
    options->now = absl::Now();
    exit_code = RunInitIis6Host(*options, std::cout, std::cerr);
  });
}

int RunInitIis6Host(const InitIis6HostOptions& options, std::ostream& out, std::ostream& error) {
  std::filesystem::path host_root(options.host_root);
  // "DIR/" would otherwise give the CA folder "DIR/-ca", inside the host.
  if (!host_root.has_filename()) host_root = host_root.parent_path();
  const std::filesystem::path ca_folder = options.ca_folder.empty()
                                              ? std::filesystem::path(host_root.string() + "-ca")
                                              : std::filesystem::path(options.ca_folder);
  iis6::EmulatedHostOptions build;
  build.host_root = host_root;
  build.address = options.address;
  build.http_port = options.http_port;
  build.https_port = options.https_port;
  build.now = options.now;
  build.demo_ca_folder = ca_folder;
  build.site_signature_digest = options.signature_hash == "sha1" ? crypto::SignatureDigest::kSha1
                                                                 : crypto::SignatureDigest::kSha256;
  absl::StatusOr<std::optional<iis6::CertificateIssuer>> existing = ReadExistingIssuer(ca_folder);
  if (!existing.ok()) {
    error << "certfleet-agent: cannot use the CA in " << ca_folder.string() << ": "
          << existing.status().message() << "\n";
    return 1;
  }
  build.issuer = *existing;

  absl::StatusOr<iis6::EmulatedHost> host = iis6::BuildEmulatedHost(build);
  if (!host.ok()) {
    error << "certfleet-agent: cannot make an IIS 6 host in " << host_root.string() << ": "
          << host.status().message() << "\n";
    return 1;
  }
  out << "Made an emulated IIS 6 host in " << host_root.string() << " (address " << options.address
      << ")\n";
  for (const iis6::EmulatedSite& site : host->sites) {
    out << "  site " << site.site_id << " \"" << site.name << "\"";
    if (site.https_port != 0) {
      const int64_t days = absl::ToInt64Hours(site.not_after - options.now) / 24;
      out << ": https://" << site.host_name << " on " << options.address << ":" << site.https_port
          << ", certificate " << site.thumbprint << " expires " << FormatDate(site.not_after)
          << " (" << days << " days left)";
    }
    out << "\n";
  }
  if (host->demo_ca_files.empty()) {
    out << "Certificates issued by the CA in " << ca_folder.string() << "\n";
  } else {
    out << "Made a demo CA in " << ca_folder.string()
        << " (its keys stay off the host; keep or delete it)\n";
  }
  out << "Serve it with: iis6-emulator --host-root " << host_root.string() << "\n"
      << "Look at it with: certfleet-agent inventory --host-root " << host_root.string() << "\n";
  return 0;
}

}  // namespace certfleet::agent::cli
