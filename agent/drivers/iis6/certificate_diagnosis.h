// Says what an issued certificate really is when it does not answer the
// pending request it was given for: the automatic form of the "pending
// request cannot be found" causes of ../shared/docs/IIS6.md ("Failure
// causes"). Each verdict comes with a message that names the file for what
// it is (an intermediate, another vendor's certificate, an older certificate
// of this host, the answer to another site's request), never a generic
// error.
//
// The functions are pure: they look only at the inventory they are given, so
// the IIS 6 driver feeds them one host's stores and sites, and the controller
// can feed them the pending requests of the whole fleet (with their host
// names) to say on which host a certificate belongs.
//
// Thread safety: free functions over plain values.

#ifndef CERTFLEET_AGENT_DRIVERS_IIS6_CERTIFICATE_DIAGNOSIS_H_
#define CERTFLEET_AGENT_DRIVERS_IIS6_CERTIFICATE_DIAGNOSIS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"

namespace certfleet::iis6 {

// A pending request, on this host or (for the controller) elsewhere.
struct KnownPendingRequest {
  // Empty for a request on the host the certificate is being accepted on.
  std::string host;
  std::string site_id;
  // The site's ServerComment; may be empty.
  std::string site_name;
  // The request's subject as text, e.g. "CN=www.example.test".
  std::string subject;
  crypto::PublicKey public_key;
  // When the request was made (the placeholder's notBefore on IIS 6).
  absl::Time created;
};

// A certificate whose key the host holds, or which a site is bound to.
struct KnownCertificate {
  crypto::Certificate certificate;
  // Where it is, as a phrase: "in the MY store", "bound to site 1 'Default
  // Web Site'".
  std::string location;
};

struct DiagnosisInput {
  // The site the certificate is being accepted on.
  std::string site_id;
  std::string site_name;
  // That site's pending request; nullopt when it has none.
  std::optional<KnownPendingRequest> site_request;
  // Pending requests of other sites (of this host, or the fleet's).
  std::vector<KnownPendingRequest> other_requests;
  // Certificates installed on the host (MY, bound certificates).
  std::vector<KnownCertificate> installed;
  // The certificates the new one should chain to: the chain given with it
  // and the host's CA and ROOT stores. Empty disables the issuer check.
  std::vector<crypto::Certificate> expected_issuers;
};

enum class CertificateVerdict {
  // The certificate answers the site's pending request: accept it.
  kAnswersRequest,
  // The self-signed placeholder of the pending request itself.
  kPlaceholder,
  // basicConstraints CA:TRUE: an intermediate or a root.
  kCertificateAuthority,
  // Answers the pending request of another site.
  kAnswersOtherRequest,
  // For a key the host already has (an older or the current certificate).
  kOlderCertificate,
  // An end-entity certificate not meant for TLS servers (client, e-mail).
  kNotServerCertificate,
  // Issued by a CA outside the expected chain (another CA or vendor).
  kOtherIssuer,
  // The site has no pending request to answer.
  kNoPendingRequest,
  // A server certificate for a key nobody here knows.
  kUnknownKey,
};

// A short stable name for logs and JSON: "answers_request", "placeholder",
// "certificate_authority", "answers_other_request", "older_certificate",
// "not_server_certificate", "other_issuer", "no_pending_request",
// "unknown_key".
std::string_view CertificateVerdictName(CertificateVerdict verdict);

struct CertificateDiagnosis {
  CertificateVerdict verdict = CertificateVerdict::kAnswersRequest;
  // Empty for kAnswersRequest; otherwise a sentence that names what the
  // certificate is and what to do instead.
  std::string message;

  bool accepted() const { return verdict == CertificateVerdict::kAnswersRequest; }
};

// Decides whether `certificate` answers input.site_request and, when it does
// not, what it is. The checks run from the most specific evidence to the
// least: a key match with the site's own request (or its placeholder), the CA
// flag, a key match with another site's request, a key match with an
// installed certificate, the certificate's purpose, its issuer, and last the
// absence of any request.
CertificateDiagnosis DiagnoseIssuedCertificate(const crypto::Certificate& certificate,
                                               const DiagnosisInput& input);

// "site 1962875481 'Boutique Zürich'" (with " on host H" for another host):
// how the messages name a site.
std::string DescribeSite(std::string_view site_id, std::string_view site_name,
                         std::string_view host = "");

}  // namespace certfleet::iis6

#endif  // CERTFLEET_AGENT_DRIVERS_IIS6_CERTIFICATE_DIAGNOSIS_H_
