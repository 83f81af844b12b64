// The certificate stores of an emulated IIS 6 host (MY, CA, ROOT, REQUEST)
// as folders under <host-root>/stores/, with the semantics CryptoAPI and
// IIS 6's enrollment give them (../shared/docs/IIS6.md, "Certificate
// stores"; layout in docs/iis6-emulated-host.md):
//
//   MY/<THUMBPRINT>.cer + .key        server certificates with their keys
//   CA/<THUMBPRINT>.cer               intermediates
//   ROOT/<THUMBPRINT>.cer             trusted roots
//   REQUEST/<site_id>/request.csr     a site's pending request,
//                    /request.key     its new private key,
//                    /placeholder.cer the self-signed placeholder IIS keeps
//
// Every file is written atomically; folders are 0700 and key files 0600. A
// pending request appears and disappears as a whole (its folder is built
// under a temporary name and renamed), so a crash never leaves half a
// request. Adding a certificate that is already present changes nothing, so
// that every operation can be retried.
//
// Names that become file names (site ids, thumbprints) are checked first:
// nothing a caller passes can reach outside the stores folder.
//
// Thread safety: an object holds only the folder's path; concurrent calls
// are safe for readers, and writers need external synchronization (the
// agent runs one job per host).

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_CERTIFICATE_STORES_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_CERTIFICATE_STORES_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/core/host_driver.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/distinguished_name.h"
#include "common/crypto/private_key.h"

namespace certfleet::iis6 {

// A pending request as the REQUEST store keeps it.
struct PendingRequest {
  std::string site_id;
  crypto::CertificateRequest request;
  crypto::PrivateKey key;
  // Self-signed, same subject and key as the request; its notBefore is when
  // the request was made, which dates the request for the diagnoses.
  crypto::Certificate placeholder;

  absl::Time created() const { return placeholder.NotBefore(); }
};

class CertificateStores {
 public:
  // `stores_folder` is <host-root>/stores; it and the store folders are
  // created (0700) on the first write.
  explicit CertificateStores(std::filesystem::path stores_folder);

  const std::filesystem::path& folder() const { return folder_; }

  // The folder of one store, e.g. <stores>/MY.
  std::filesystem::path StoreFolder(agent::CertificateStore store) const;

  // Every certificate of `store`, ordered by thumbprint. For kRequest these
  // are the placeholders of the pending requests. has_private_key is true
  // for a MY certificate whose key file is present (and matches) and for
  // every complete pending request. A missing store folder is an empty
  // store. Returns FailedPrecondition naming the file when a store file is
  // not a certificate, holds a certificate other than its name says, or a
  // key does not belong to its certificate.
  absl::StatusOr<std::vector<agent::StoredCertificate>> List(agent::CertificateStore store) const;

  // The certificate with `thumbprint` (any case) in MY, CA or ROOT; nullopt
  // when absent. Returns InvalidArgument for a malformed thumbprint or the
  // REQUEST store (whose entries are named by site; use ReadPendingRequest),
  // and List's FailedPrecondition for a damaged entry.
  absl::StatusOr<std::optional<agent::StoredCertificate>> Find(agent::CertificateStore store,
                                                               std::string_view thumbprint) const;

  // Whether MY holds the private key of the certificate `thumbprint`.
  // Returns false when the certificate or its key is absent, and
  // FailedPrecondition when the key file is damaged or belongs to another
  // certificate.
  absl::StatusOr<bool> HasPrivateKey(std::string_view thumbprint) const;

  // The private key of the MY certificate `thumbprint`. Returns NotFound when
  // there is none, FailedPrecondition when the key file is damaged or does
  // not match the certificate.
  absl::StatusOr<crypto::PrivateKey> ReadPrivateKey(std::string_view thumbprint) const;

  // Adds a certificate without a key to CA or ROOT. Present already: OK, no
  // write. Returns InvalidArgument for MY (which needs AddPersonal) or
  // REQUEST.
  absl::Status AddCertificate(agent::CertificateStore store,
                              const crypto::Certificate& certificate);

  // Adds a certificate with its private key to MY: the key first (0600),
  // then the certificate, so that a certificate in MY always has its key
  // once the call has returned. Present already with its key: OK, no write;
  // present without its key: the key is added. Returns InvalidArgument when
  // `key` does not belong to `certificate`.
  absl::Status AddPersonal(const crypto::Certificate& certificate, const crypto::PrivateKey& key);

  // Makes a pending request for `site_id`: a fresh key of `key_spec`, a CSR
  // for `subject` and `dns_names` signed with it, and a self-signed
  // placeholder with the same subject and key, valid from `now` for a year.
  // Returns AlreadyExists when the site has a pending request,
  // InvalidArgument for a malformed site id, a key spec the toolkit cannot
  // generate or a subject OpenSSL refuses.
  absl::StatusOr<PendingRequest> CreatePendingRequest(std::string_view site_id,
                                                      const crypto::DistinguishedName& subject,
                                                      const std::vector<std::string>& dns_names,
                                                      const crypto::KeySpec& key_spec,
                                                      absl::Time now);

  // The pending request of `site_id`; nullopt when there is none. Returns
  // InvalidArgument for a malformed site id and FailedPrecondition naming
  // the file when the request is incomplete or damaged.
  absl::StatusOr<std::optional<PendingRequest>> ReadPendingRequest(std::string_view site_id) const;

  // Every pending request, ordered by site id (numerically). Errors as
  // ReadPendingRequest.
  absl::StatusOr<std::vector<PendingRequest>> ListPendingRequests() const;

  // Removes the pending request of `site_id` (key, CSR, placeholder) as a
  // whole. None there: OK. Returns InvalidArgument for a malformed site id.
  absl::Status RemovePendingRequest(std::string_view site_id);

  // "Process the pending request": puts `certificate` with the pending
  // request's key of `site_id` into MY, then removes the request and its
  // placeholder. When the site has no pending request but the certificate is
  // in MY with its key, OK (a retry). Returns FailedPrecondition when the
  // certificate does not answer the site's pending request (its public key
  // differs) or the site has none. Diagnosing *what* the certificate is
  // instead is certificate_diagnosis.h's job.
  absl::Status AcceptPendingRequest(std::string_view site_id,
                                    const crypto::Certificate& certificate);

 private:
  std::filesystem::path CertificateFile(agent::CertificateStore store,
                                        std::string_view thumbprint) const;
  std::filesystem::path KeyFile(std::string_view thumbprint) const;
  std::filesystem::path RequestFolder(std::string_view site_id) const;
  absl::StatusOr<std::optional<crypto::PrivateKey>> ReadMatchingKey(
      const crypto::Certificate& certificate) const;

  std::filesystem::path folder_;
};

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_CERTIFICATE_STORES_H_
