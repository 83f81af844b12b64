// The "local" issuance connector: a two-level CA (root and issuing
// intermediate) kept in the controller's data dir, which signs a server
// certificate from an order's CSR at once. Agents therefore always receive a
// real chain to install (the intermediate into CA, the root into ROOT), in
// labs, tests and fleets that trust an internal CA.
//
// Layout, created on first use and loaded afterwards:
//   <data_dir>/local-ca/             mode 0700
//     root.crt          root.key           self-signed root CA
//     intermediate.crt  intermediate.key   issuing CA, signed by the root
// Keys are PKCS#8 PEM of mode 0600, certificates PEM of mode 0644; every file
// is written atomically, each key before its certificate, so that a crash
// leaves either a usable pair or a key the next start replaces. Files that do
// not belong together are refused, never overwritten.
//
// The key type and lifetimes apply when a certificate is made; an existing
// CA keeps its own (move the folder away to start a new one). The
// intermediate is reissued under the same root, with a new key, when at
// start it has less than a third of its lifetime or less than one leaf
// lifetime left, so that leaves are never cut short by it.
//
// Thread safety: immutable after OpenOrCreate; Submit, Poll and the accessors
// may be called from several threads at once.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_LOCAL_CERTIFICATE_AUTHORITY_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_LOCAL_CERTIFICATE_AUTHORITY_H_

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/private_key.h"
#include "controller/issuance/issuance_connector.h"

namespace certfleet::controller {

struct LocalCertificateAuthorityOptions {
  // The controller's data dir; the CA lives in its "local-ca" folder.
  std::filesystem::path data_dir = {};
  // Key type of the root and the intermediate. RSA 2048 by default because
  // IIS 6 hosts (Windows Server 2003) validate RSA chains only.
  crypto::KeySpec key_spec = {crypto::KeyAlgorithm::kRsa, 2048};
  absl::Duration root_validity = absl::Hours(24 * 365 * 20);
  absl::Duration intermediate_validity = absl::Hours(24 * 365 * 5);
  // Lifetime of server certificates when the order asks for none.
  absl::Duration leaf_validity = absl::Hours(24 * 90);
  // Subjects: "<name> Root CA" and "<name> Issuing CA", O=<organization>.
  std::string name = "certfleet Local";
  std::string organization = "certfleet";
};

class LocalCertificateAuthority final : public IssuanceConnector {
 public:
  // The folder the CA lives in, inside `data_dir`.
  static std::filesystem::path FolderIn(const std::filesystem::path& data_dir);

  // Loads the CA from <data_dir>/local-ca, or creates what is missing (the
  // whole CA, or an intermediate under an existing root), reissuing the
  // intermediate as described above. Returns FailedPrecondition naming the
  // file when existing files do not belong together (a key that is not the
  // certificate's, an intermediate not issued by the root, a certificate that
  // is not a CA, a key readable by others, an intermediate without its
  // root, an expired root); nothing is written then. InvalidArgument for
  // impossible options (non-positive lifetimes, an unsupported key spec);
  // PermissionDenied when the folder cannot be made private.
  static absl::StatusOr<std::unique_ptr<LocalCertificateAuthority>> OpenOrCreate(
      const LocalCertificateAuthorityOptions& options, absl::Time now);

  std::string_view name() const override { return "local"; }

  // Signs a server certificate (serverAuth) for the key in request.request
  // and returns it as kIssued with the chain [intermediate, root]. Subject:
  // request.subject, else the CSR's. Names: request.names, else the CSR's DNS
  // names, plus the common name when it is a host name. Validity: from five
  // minutes before request.now (clock skew) for request.validity, else the
  // configured leaf lifetime, cut at the intermediate's expiry.
  // Returns InvalidArgument when the CSR's signature does not verify (a
  // tampered CSR), its key is weaker than RSA 2048 or not RSA/ECDSA, the
  // digest asked for is SHA-1, or there is no name to certify.
  absl::StatusOr<IssuanceResult> Submit(const IssuanceRequest& request) override;

  // Always FailedPrecondition: the local CA never leaves an order pending.
  absl::StatusOr<IssuanceResult> Poll(const IssuanceRequest& request,
                                      std::string_view ticket) override;

  const crypto::Certificate& root_certificate() const { return root_certificate_; }
  const crypto::Certificate& intermediate_certificate() const { return intermediate_certificate_; }
  // [intermediate, root]: what is sent with every certificate it signs.
  std::vector<crypto::Certificate> Chain() const {
    return {intermediate_certificate_, root_certificate_};
  }
  const std::filesystem::path& folder() const { return folder_; }

 private:
  LocalCertificateAuthority(LocalCertificateAuthorityOptions options, std::filesystem::path folder,
                            crypto::Certificate root_certificate,
                            crypto::Certificate intermediate_certificate,
                            crypto::PrivateKey intermediate_key);

  const LocalCertificateAuthorityOptions options_;
  const std::filesystem::path folder_;
  const crypto::Certificate root_certificate_;
  const crypto::Certificate intermediate_certificate_;
  const crypto::PrivateKey intermediate_key_;
};

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_LOCAL_CERTIFICATE_AUTHORITY_H_
