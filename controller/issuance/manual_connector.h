// The "manual" issuance connector: the order waits for a person. The operator
// prints the CSR with `certfleetctl orders csr ORDER`, submits it at the CA's
// portal, and uploads what the CA returns with `certfleetctl cert upload
// FILE`; the upload is matched to its order by public key (upload_matcher.h),
// so Submit only says what to do and Poll never finds anything new.
//
// Thread safety: stateless; Submit and Poll may be called from several
// threads at once.

#ifndef CERTFLEET_CONTROLLER_ISSUANCE_MANUAL_CONNECTOR_H_
#define CERTFLEET_CONTROLLER_ISSUANCE_MANUAL_CONNECTOR_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controller/issuance/issuance_connector.h"

namespace certfleet::controller {

class ManualConnector final : public IssuanceConnector {
 public:
  std::string_view name() const override { return "manual"; }

  // Returns kPending with retry_at absl::InfiniteFuture() and a message
  // telling the operator to run `certfleetctl orders csr ORDER`, submit the
  // CSR at the CA (naming the CA product when the order has one) and run
  // `certfleetctl cert upload FILE`. Returns InvalidArgument when the CSR's
  // signature does not verify: a CA would refuse it, so no one should be
  // asked to submit it.
  absl::StatusOr<IssuanceResult> Submit(const IssuanceRequest& request) override;

  // Returns the same pending result as Submit: only an upload completes a
  // manual order.
  absl::StatusOr<IssuanceResult> Poll(const IssuanceRequest& request,
                                      std::string_view ticket) override;

  // The operator's instructions for `request`, as in Submit's message.
  static std::string Instructions(const IssuanceRequest& request);
};

}  // namespace certfleet::controller

#endif  // CERTFLEET_CONTROLLER_ISSUANCE_MANUAL_CONNECTOR_H_
