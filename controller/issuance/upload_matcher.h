// Matches what an operator uploads after a manual issuance (`certfleetctl cert
// upload FILE`) to the order it answers, by public key, with no order id
// needed; and when it answers none, says exactly what the file is instead
// (IIS6.md, "Failure causes"): an intermediate or root, a certificate from
// another issuer, an older certificate of a known host, the answer to another
// site's pending request, or not a certificate at all.
//
// These are pure functions over plain values: the caller (the admin service)
// gathers the candidates from the store and applies the outcome. Files are
// read whatever their format (PEM, DER, PKCS#7); a bundle's leaf is picked
// and the CA certificates beside it are kept as its chain. A file holding a
// private key is refused outright: private keys never leave their host.
//
// The enums mirror certfleet.v1.Diagnosis / DiagnosisKind / FileFormat one to
// one, so that the service layer converts without judgement.
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_UPLOAD_MATCHER_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_UPLOAD_MATCHER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/private_key.h"

namespace certfleet::controller {

// Same meanings as certfleet.v1.FileFormat.
enum class UploadFormat { kPem, kDer, kPkcs7, kPkcs12, kUnknown };

// "pem", "der", "pkcs7", "pkcs12", "unknown".
std::string UploadFormatName(UploadFormat format);

// Same meanings as certfleet.v1.DiagnosisKind.
enum class DiagnosisKind {
  kIntermediateCertificate,
  kRootCertificate,
  kOtherIssuer,
  kOlderCertificateOfSameHost,
  kAnswersOtherSiteRequest,
  kAnswersNoRequest,
  kExpired,
  kNotACertificate,
  kOrderAlreadyClosed,
};

// "intermediate_certificate", "root_certificate", "other_issuer", ...
std::string DiagnosisKindName(DiagnosisKind kind);

// Where an order is, as far as an upload is concerned.
enum class OrderStage {
  // Waiting for its certificate: an upload can complete it.
  kAwaitingIssuance,
  // Has its certificate and is being deployed (issued, deploying, verifying).
  kIssued,
  // Finished one way or another (done, failed, rolled back, cancelled).
  kClosed,
};

// An order whose CSR an upload may answer. The caller passes the open orders
// awaiting issuance, and may add issued and closed ones so that repeated or
// late uploads are recognised.
struct OrderCandidate {
  std::string order_id = {};
  std::string host_id = {};
  std::string hostname = {};
  // The site the order renews (the one whose binding gets the certificate).
  std::string site_id = {};
  std::string site_name = {};
  // The public key of the order's CSR.
  crypto::PublicKey request_key;
  // When the CSR was made.
  absl::Time request_created_at = absl::InfinitePast();
  OrderStage stage = OrderStage::kAwaitingIssuance;
  // For kIssued and kClosed: the thumbprint of the certificate the order got,
  // if any.
  std::string issued_thumbprint = {};
  // For messages about kIssued and kClosed orders: "deploying", "done",
  // "cancelled"...
  std::string state_name = {};
};

// A certificate the fleet's inventory knows (installed in a store or bound to
// a site).
struct InventoryCertificate {
  std::string host_id = {};
  std::string hostname = {};
  // The site it is bound to; empty when it only sits in a store.
  std::string site_id = {};
  std::string site_name = {};
  std::string thumbprint = {};
  crypto::PublicKey public_key;
  absl::Time not_before = absl::InfinitePast();
};

// A pending certificate request seen on a host (IIS 6: the REQUEST store
// placeholder of a site), whether certfleet made it or a person did.
struct PendingRequestRecord {
  std::string host_id = {};
  std::string hostname = {};
  std::string site_id = {};
  std::string site_name = {};
  crypto::PublicKey public_key;
  // The order it belongs to, when certfleet made it.
  std::string order_id = {};
  absl::Time created_at = absl::InfinitePast();
};

struct UploadCandidates {
  std::vector<OrderCandidate> orders = {};
  std::vector<InventoryCertificate> inventory = {};
  std::vector<PendingRequestRecord> pending_requests = {};
  // The CA certificates a leaf for the candidate orders is expected to be
  // issued by (from the orders' CA products and the configured bundle).
  // Empty: unknown, and "another issuer" is never concluded.
  std::vector<crypto::Certificate> expected_issuers = {};
};

struct UploadOptions {
  // The file's name, only to name it in messages; empty: "the file".
  std::string file_name = {};
  // When set, the file must answer this order.
  std::string order_id = {};
  absl::Time now = absl::InfinitePast();
};

// What the file is when it answers no open order. Mirrors certfleet.v1.Diagnosis.
struct UploadDiagnosis {
  DiagnosisKind kind = DiagnosisKind::kNotACertificate;
  // A full sentence naming what the file is and what to do.
  std::string message = {};
  UploadFormat format = UploadFormat::kUnknown;
  // "PKCS#7 bundle of 3 certificates", "server certificate", "certificate
  // signing request (CSR)", "unreadable bytes".
  std::string detected_content = {};
  // The certificate the diagnosis is about (the leaf, or the first
  // certificate of a bundle without one); unset when there is none.
  std::optional<crypto::Certificate> certificate = {};
  // The host, site and order the certificate belongs to, for
  // kAnswersOtherSiteRequest, kOlderCertificateOfSameHost and
  // kOrderAlreadyClosed.
  std::string matched_host_id = {};
  std::string matched_hostname = {};
  std::string matched_site_id = {};
  std::string matched_site_name = {};
  std::string matched_order_id = {};
};

// The file answers an order.
struct UploadAcceptance {
  std::string order_id = {};
  crypto::Certificate leaf;
  // The CA certificates the file carried beside the leaf, in file order
  // (chain completion orders and completes them).
  std::vector<crypto::Certificate> chain = {};
  UploadFormat format = UploadFormat::kUnknown;
  std::string detected_content = {};
  // The order already has exactly this certificate: nothing to change.
  bool already_uploaded = false;
  // Things worth telling the operator that do not stop the upload (an issuer
  // outside the expected chain, a certificate not meant for TLS servers).
  std::vector<std::string> notes = {};
};

// Exactly one of the two is set.
struct UploadOutcome {
  std::optional<UploadAcceptance> accepted = {};
  std::optional<UploadDiagnosis> diagnosis = {};
};

// Reads `bytes` (any format) and finds the order it answers among
// `candidates`: the order whose CSR key is the leaf's key. Returns an
// acceptance (already_uploaded when the order already holds this very
// certificate) or a diagnosis saying what the file is. Returns
// InvalidArgument when the file holds a private key (alone, beside
// certificates, or in a PKCS#12 archive): it is refused, never matched;
// NotFound when options.order_id names no candidate order; ResourceExhausted
// when the file is over crypto::kMaxInputBytes.
absl::StatusOr<UploadOutcome> MatchUpload(std::string_view bytes,
                                          const UploadCandidates& candidates,
                                          const UploadOptions& options);

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_UPLOAD_MATCHER_H_
