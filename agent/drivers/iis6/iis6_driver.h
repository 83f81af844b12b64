// The IIS 6 host driver: the agent's HostDriver over an emulated IIS 6 host
// root (docs/iis6-emulated-host.md), faithful to ../shared/docs/IIS6.md.
//
// The host's files are the only state: every call reads MetaBase.xml and the
// stores afresh, so that after a crash or a change made by hand the driver
// sees what IIS would see (level-triggered). Every mutating method first
// checks everything that can be refused and only then writes, so a refusal
// leaves the host exactly as it was; and it looks at what is already done
// before doing it, so a retry finishes the work or does nothing.
//
// IIS 6 rules enforced here:
//   - RSA keys only (no ECDSA): InvalidArgument naming the rule.
//   - No SNI: one certificate per IP:port among started sites, with "All
//     Unassigned" (":443:") standing for the emulation address.
//   - A certificate is bound only from MY, and only with its private key.
//   - A stale pending request on the real site is cleared before "replace".
//   - MetaBase.xml is edited only when EnableEditWhileRunning is on at /LM:
//     otherwise IIS would overwrite the edit with its in-memory copy.
//   - Writes go through MetaBase::Save: atomic, with a history copy.
//
// Thread safety: like every HostDriver, used by one job at a time; methods
// are not thread-safe.

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_IIS6_DRIVER_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_IIS6_DRIVER_H_

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "agent/drivers/iis6/certificate_diagnosis.h"
#include "agent/drivers/iis6/certificate_stores.h"
#include "agent/drivers/iis6/host_root.h"
#include "agent/drivers/iis6/metabase.h"
#include "agent/drivers/iis6/web_service_restart.h"

namespace certfleet::iis6 {

struct Iis6DriverSettings {
  std::filesystem::path host_root;
  // The address "All Unassigned" stands for. When unset, emulation.conf's
  // `address`, else kDefaultEmulationAddress.
  std::optional<std::string> address;
  // How Restart() makes the host serve its configuration. The emulated host
  // uses the emulator's SIGHUP; a managed Windows host a command that runs
  // `iisreset /restart`.
  RestartSettings restart;
  // Draws new site ids (IIS's ten-digit style); std::random_device when
  // empty. Tests pass a deterministic generator.
  std::function<std::uint32_t()> random_number;
  // "Now" for pending requests, expiry checks and backup names; absl::Now
  // when empty.
  std::function<absl::Time()> clock;
};

class Iis6Driver : public agent::HostDriver {
 public:
  // The ServerBindings entry a temporary site gets: IIS refuses a site
  // without one. The site is stopped, so it never listens; the reserved
  // .invalid host header keeps it from ever answering real traffic.
  static constexpr std::string_view kTemporaryHostHeader = "certfleet-temporary.invalid";
  // The temporary site's content folder.
  static constexpr std::string_view kTemporaryContentPath = "C:\\Inetpub\\certfleet-temporary";

  // Opens the host root. Returns NotFound when it is not a folder and
  // FailedPrecondition naming the line when emulation.conf is malformed.
  // MetaBase.xml is not read here: every call reads it afresh.
  static absl::StatusOr<std::unique_ptr<Iis6Driver>> Open(Iis6DriverSettings settings);

  const HostRoot& host_root() const { return host_; }
  // The address "All Unassigned" bindings are reachable on.
  const std::string& address() const { return address_; }

  // The stores of this host, for callers that need more than the
  // HostDriver interface (the inventory command).
  const CertificateStores& stores() const { return stores_; }

  std::string Platform() const override { return "iis6"; }

  // See HostDriver. Sites in MetaBase.xml order; certificates of MY, CA,
  // ROOT and REQUEST (placeholders) in that order. A damaged MetaBase.xml or
  // store file is FailedPrecondition naming the file.
  absl::StatusOr<agent::HostInventory> ScanInventory() override;

  // See HostDriver. The site is stopped (ServerAutoStart FALSE), has no
  // secure binding, one plain binding ":80:" + kTemporaryHostHeader and
  // kTemporaryContentPath as content, and an id that neither MetaBase.xml
  // nor the REQUEST store uses. Returns InvalidArgument for an empty name
  // and FailedPrecondition when a site of that name exists but is not a
  // temporary one (started, or with a secure binding or a certificate): a
  // retry must never adopt a real site.
  absl::StatusOr<std::string> CreateTemporarySite(std::string_view name) override;

  // See HostDriver. The site's keys, certificates and any pending request
  // stay in the stores. Returns InvalidArgument for a malformed site id.
  absl::Status DeleteSite(std::string_view site_id) override;

  // See HostDriver. Returns InvalidArgument for a non-RSA key spec (IIS 6
  // has no ECDSA) and FailedPrecondition when the site has a pending request
  // for another subject, other names or another key spec (clear it first).
  absl::StatusOr<crypto::CertificateRequest> CreatePendingRequest(
      std::string_view site_id, const crypto::DistinguishedName& subject,
      const std::vector<std::string>& dns_names, const crypto::KeySpec& key_spec) override;

  // See HostDriver. Returns InvalidArgument for a malformed site id.
  absl::Status ClearPendingRequest(std::string_view site_id) override;

  // See HostDriver. The chain is installed first, then the certificate with
  // the request's key goes to MY and the placeholder is removed, so that
  // "in MY, no placeholder" implies the whole step is done. It is a retry
  // (OK, and any remaining part is finished) when the certificate is in MY
  // with its key and the site's pending request, if any, is for the same
  // key. Otherwise returns FailedPrecondition with DiagnoseIssuedCertificate's
  // message when the certificate does not answer the site's request,
  // FailedPrecondition when it has expired, InvalidArgument when the chain
  // holds a certificate that is not a CA or not on the certificate's path to
  // its root (another product's intermediate), or lacks the certificate's
  // issuer while the stores lack it too; NotFound for an unknown site.
  absl::Status AcceptCertificate(std::string_view site_id, const crypto::Certificate& certificate,
                                 const std::vector<crypto::Certificate>& chain) override;

  // See HostDriver. Self-signed CAs go to ROOT, other CAs to CA. Returns
  // InvalidArgument, installing nothing, when a certificate is not a CA.
  absl::Status InstallChain(const std::vector<crypto::Certificate>& chain) override;

  // See HostDriver. Returns InvalidArgument for a malformed site id and
  // NotFound for an unknown site.
  absl::StatusOr<std::string> ReadBinding(std::string_view site_id) override;

  // See HostDriver. Also returns InvalidArgument for a malformed thumbprint
  // or a certificate whose key is not RSA, FailedPrecondition when the edit
  // would not be picked up (EnableEditWhileRunning off). Binding the
  // certificate already bound writes nothing.
  absl::Status ReplaceBinding(std::string_view site_id, std::string_view thumbprint) override;

  // See HostDriver and RestartWebService for the errors.
  absl::Status Restart() override;

  // See HostDriver. "All Unassigned" becomes address().
  absl::StatusOr<std::vector<agent::SiteEndpoint>> SecureEndpoints(
      std::string_view site_id) override;

  // See HostDriver. The file is <folder>/<site_id>-<THUMBPRINT>-<UTC time as
  // YYYYMMDDTHHMMSSZ>.pfx, mode 0600, holding the certificate, its key and
  // the chain found in the CA and ROOT stores; a missing folder is created
  // 0700. When a backup of this certificate for this site that opens with
  // the passphrase exists already (a retry), returns it instead of writing
  // another. Returns InvalidArgument for an empty folder or passphrase or a
  // keep_last below 1, FailedPrecondition when the certificate is not in MY
  // with its key.
  absl::StatusOr<std::filesystem::path> Backup(std::string_view site_id,
                                               std::string_view thumbprint,
                                               const agent::BackupOptions& options) override;

 private:
  Iis6Driver(Iis6DriverSettings settings, std::string address);

  absl::Time Now() const;
  // MetaBase.xml as IIS would read it; FailedPrecondition when it cannot.
  absl::StatusOr<MetaBase> LoadMetaBase() const;
  // FailedPrecondition when IIS would not pick up a direct edit.
  absl::Status CheckEditable(const MetaBase& metabase) const;
  absl::Status SaveMetaBase(const MetaBase& metabase);
  // The address a binding is reached on: its IP, or address() when empty.
  std::string Resolve(const Binding& binding) const;
  absl::StatusOr<DiagnosisInput> BuildDiagnosisInput(
      const MetaBase& metabase, const Site& site, const std::optional<PendingRequest>& request,
      const std::vector<crypto::Certificate>& chain) const;
  absl::StatusOr<std::string> DrawSiteId(const MetaBase& metabase);

  Iis6DriverSettings settings_;
  HostRoot host_;
  std::string address_;
  CertificateStores stores_;
};

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_IIS6_DRIVER_H_
