// The interface between an order and whatever issues its certificate: the
// controller's own CA ("local"), a person at a CA's portal ("manual"), and
// later an ACME CA. The scheduler hands a connector the order's CSR and what
// the renewal policy asks for; the connector either returns the issued leaf
// with its chain at once, or says the order is pending.
//
// Pending orders are designed for asynchronous CAs. A pending result carries
// an opaque `ticket` (an ACME order URL, say) and `retry_at`; the scheduler
// stores both with the order and calls Poll(request, ticket) at or after
// retry_at, until the result is issued or an error ends the attempt. A
// connector that waits for something outside its control (the manual
// connector waits for `certfleetctl cert upload`) sets retry_at to
// absl::InfiniteFuture(): the order then moves on through the upload path,
// never through Poll.
//
// Errors: InvalidArgument for a request that can never be issued as asked (a
// CSR whose signature does not verify, a weak key, no names);
// FailedPrecondition for a connector that cannot serve this request as
// configured; Unavailable or DeadlineExceeded for failures worth retrying
// later (the CA is unreachable). The scheduler backs off only on the latter.
//
// Thread safety: implementations must allow Submit and Poll from several
// threads at once.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_ISSUANCE_CONNECTOR_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_ISSUANCE_CONNECTOR_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/crypto/certificate.h"
#include "common/crypto/certificate_builder.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/distinguished_name.h"

namespace certfleet::controller {

// What the order and its policy ask a connector for.
struct IssuanceRequest {
  // The order being served; connectors put it in messages and may use it as
  // an idempotency key with the CA.
  std::string order_id = {};
  // The CSR the agent made on its host (the private key stayed there).
  crypto::CertificateRequest request;
  // Subject for the certificate; empty: the CSR's subject.
  crypto::DistinguishedName subject = {};
  // Names for subjectAltName ("www.example.com", "10.0.0.5", or with a
  // "DNS:"/"IP:" prefix); empty: the CSR's DNS names.
  std::vector<std::string> names = {};
  // Requested lifetime; zero: the connector's default. A CA may shorten it.
  absl::Duration validity = absl::ZeroDuration();
  // Signature hash the host can validate (policy.signature_hash).
  crypto::SignatureDigest digest = crypto::SignatureDigest::kSha256;
  // CA product (ca_products.json) the certificate is bought as; empty when
  // the policy names none. Used by the manual connector's instructions.
  std::string ca_product = {};
  // Where the certificate goes, for messages.
  std::string hostname = {};
  std::string site_name = {};
  // The controller's clock at submission.
  absl::Time now = absl::InfinitePast();
};

enum class IssuanceState {
  // The certificate is issued: `leaf` and `chain` are set.
  kIssued,
  // The order waits (for a person or for an asynchronous CA); see `ticket`
  // and `retry_at`.
  kPending,
};

struct IssuanceResult {
  IssuanceState state = IssuanceState::kPending;
  // Set when kIssued.
  std::optional<crypto::Certificate> leaf = {};
  // When kIssued: the intermediates, nearest to the leaf first, then the
  // root, so that the agent can fill the CA and ROOT stores.
  std::vector<crypto::Certificate> chain = {};
  // A sentence for the order's history and the operator: what happened or
  // what the order waits for (with the commands to run, for manual).
  std::string message = {};
  // When kPending: the connector's handle for Poll; empty when Poll has
  // nothing to look up.
  std::string ticket = {};
  // When kPending: the earliest time Poll is worth calling;
  // absl::InfiniteFuture() when only an outside event (an upload) completes
  // the order.
  absl::Time retry_at = absl::InfiniteFuture();
};

class IssuanceConnector {
 public:
  virtual ~IssuanceConnector() = default;

  // The name policies use for this connector: "local", "manual", or a
  // configured ACME connector's name.
  virtual std::string_view name() const = 0;

  // Starts issuance for `request`. Returns the issued certificate or a
  // pending result; errors as described at the top of this file. Submitting
  // the same order again must not leave two orders at the CA (connectors key
  // on request.order_id where the CA allows it).
  virtual absl::StatusOr<IssuanceResult> Submit(const IssuanceRequest& request) = 0;

  // Asks again about an order a previous Submit or Poll left pending with
  // `ticket`. Returns issued, still pending (with a new retry_at), or an
  // error. FailedPrecondition from a connector that never leaves orders
  // pending (local).
  virtual absl::StatusOr<IssuanceResult> Poll(const IssuanceRequest& request,
                                              std::string_view ticket) = 0;
};

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_ISSUANCE_CONNECTOR_H_
