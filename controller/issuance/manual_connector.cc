#include "controller/issuance/manual_connector.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace certfleet::controller {
namespace {

IssuanceResult Pending(const IssuanceRequest& request) {
  IssuanceResult result;
  result.state = IssuanceState::kPending;
  result.message = ManualConnector::Instructions(request);
  result.retry_at = absl::InfiniteFuture();
  return result;
}

}  // namespace

std::string ManualConnector::Instructions(const IssuanceRequest& request) {
  std::string where;
  if (!request.hostname.empty()) {
    where = absl::StrCat(
        " (", request.hostname,
        request.site_name.empty() ? "" : absl::StrCat(", site '", request.site_name, "'"), ")");
  }
  const std::string product =
      request.ca_product.empty() ? "" : absl::StrCat(" as product '", request.ca_product, "'");
  return absl::StrCat("order ", request.order_id, where,
                      " waits for an operator: run `certfleetctl orders csr ", request.order_id,
                      "` to print its CSR, submit it at the CA's portal", product,
                      ", then run `certfleetctl cert upload FILE` with the certificate the CA "
                      "returns (PEM, DER or PKCS#7; the order is found by its key)");
}

absl::StatusOr<IssuanceResult> ManualConnector::Submit(const IssuanceRequest& request) {
  if (absl::Status status = request.request.VerifySignature(); !status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("order ", request.order_id, ": ", status.message(),
                     "; a CA would refuse this CSR, so it is not offered for manual issuance"));
  }
  return Pending(request);
}

absl::StatusOr<IssuanceResult> ManualConnector::Poll(const IssuanceRequest& request,
                                                     std::string_view /*ticket*/) {
  return Pending(request);
}

}  // namespace certfleet::controller
