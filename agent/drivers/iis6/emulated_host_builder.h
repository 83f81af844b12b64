// Makes a realistic emulated IIS 6 host root (docs/iis6-emulated-host.md) for
// demos, manual tests and the test suites: a MetaBase.xml laid out as IIS 6
// writes it (IIS_Global, /LM with EnableEditWhileRunning, the web service,
// the Default Web Site and named sites with IIS-style large ids, one with a
// non-ASCII name), content folders under fs/, stores holding a CA chain, one
// site bound to a certificate that expires soon and one to a longer-lived
// certificate, and emulation.conf with the host's address.
//
// The CA's private key never goes into the host root: the caller passes an
// issuer (certificate and key) it keeps itself, or names a folder outside
// the host root where a throwaway demo CA is written.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_EMULATED_HOST_BUILDER_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_EMULATED_HOST_BUILDER_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/private_key.h"

namespace certfleet::iis6 {

// A CA that issues the host's server certificates.
struct CertificateIssuer {
  crypto::Certificate certificate;
  crypto::PrivateKey key;
  // The certificates above `certificate` up to and including its root;
  // empty when `certificate` is itself a root.
  std::vector<crypto::Certificate> chain;
};

struct EmulatedHostOptions {
  // Must not exist, or be an empty folder.
  std::filesystem::path host_root;
  // What "All Unassigned" stands for (emulation.conf).
  std::string address = "127.0.0.2";
  // Every site's plain binding; the sites share it by host header, except
  // the Default Web Site which answers any host.
  std::uint16_t http_port = 8080;
  // The first of two consecutive TLS ports: the soon-expiring site gets
  // https_port, the longer-lived one https_port + 1.
  std::uint16_t https_port = 8443;
  // The CA issuing the sites' certificates. When unset, a demo CA (root and
  // intermediate) is made and written to demo_ca_folder.
  std::optional<CertificateIssuer> issuer;
  std::filesystem::path demo_ca_folder;
  // How the CA signs the sites' certificates; kSha1 makes a host still on
  // SHA-1, as fleets were before their SHA-256 migration.
  crypto::SignatureDigest site_signature_digest = crypto::SignatureDigest::kSha256;
  absl::Time now = absl::Now();
};

struct EmulatedSite {
  std::string site_id;
  std::string name;
  // The DNS name of its certificate; empty for a site without TLS.
  std::string host_name;
  std::uint16_t https_port = 0;
  std::string thumbprint;
  absl::Time not_after;
};

struct EmulatedHost {
  std::filesystem::path host_root;
  // In MetaBase.xml order; the Default Web Site first.
  std::vector<EmulatedSite> sites;
  // The certificates of the chain installed in the CA and ROOT stores.
  std::vector<crypto::Certificate> chain;
  // Files written for a demo CA (empty when the caller gave an issuer).
  std::vector<std::filesystem::path> demo_ca_files;
};

// Ids and names of the sites the builder makes.
inline constexpr char kDefaultSiteId[] = "1";
inline constexpr char kBoutiqueSiteId[] = "1962875481";
inline constexpr char kShopSiteId[] = "1547880923";
inline constexpr char kIntranetSiteId[] = "2012345678";
// The Boutique's certificate has this much time left; the Shop's a year.
inline constexpr absl::Duration kSoonExpiring = absl::Hours(24 * 10);

// Makes a throwaway RSA root and intermediate ("certfleet Demo Root CA",
// "certfleet Demo Intermediate CA") and writes root.crt, root.key,
// intermediate.crt, intermediate.key and chain.pem into `folder` (created
// 0700; keys 0600). Returns the intermediate as issuer. Returns
// AlreadyExists when the folder holds a root.key already (a demo CA is never
// overwritten) and the write's error otherwise.
absl::StatusOr<CertificateIssuer> CreateDemoCertificateAuthority(
    const std::filesystem::path& folder, absl::Time now);

// Builds the host described above. Returns InvalidArgument for a port of 0,
// https_port + 1 overflowing, the HTTP port equal to a TLS port, an empty
// address, neither issuer nor demo_ca_folder set, or a demo_ca_folder inside
// the host root (the CA key must not be on the host); AlreadyExists when the
// host root is a non-empty folder; and the first failing write otherwise.
absl::StatusOr<EmulatedHost> BuildEmulatedHost(const EmulatedHostOptions& options);

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_EMULATED_HOST_BUILDER_H_
