// Certificates expiring with nobody about to renew them: the bindings whose
// certificate is in the warning window (notAfter within `warning` of now, or
// already past) while no renewal is planned for them, that is no open order
// on the binding and the binding in no open campaign. Usually a renewal
// that failed for good, a host without a policy or a connector waiting for
// someone; the certificate_unplanned_expiry webhook event tells people.
//
// Each finding has a stable event id per (host, binding, certificate), so
// it is notified once however often the controller looks (the webhook
// queue refuses an id it has seen), and again only for a new certificate.
//
// Thread safety: plain functions; the store is thread-safe.

#ifndef CERTFLEET_CONTROLLER_NOTIFICATIONS_UNPLANNED_EXPIRY_H_
#define CERTFLEET_CONTROLLER_NOTIFICATIONS_UNPLANNED_EXPIRY_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/admin.pb.h"
#include "controller/store/store.h"

namespace certfleet::controller::notifications {

// The warning window of the dashboard's amber bucket.
inline constexpr absl::Duration kDefaultExpiryWarning = absl::Hours(24 * 30);

struct UnplannedExpiry {
  std::string hostname;
  store::BindingRecord binding;
  // With its DER left empty.
  store::CertificateRecord certificate;
};

// Every unplanned expiry as of `now`, soonest first, on hosts that are not
// decommissioned. Returns the store's errors.
absl::StatusOr<std::vector<UnplannedExpiry>> FindUnplannedExpiries(store::Store& store,
                                                                   absl::Time now,
                                                                   absl::Duration warning);

// The webhook delivery for `expiry` as of `now`: its stable event id, a
// one-line summary ("web-07 / Shop: www.example.com expires in 12 days and
// no renewal is planned") and the certificate.
v1::WebhookDelivery UnplannedExpiryDelivery(const UnplannedExpiry& expiry, absl::Time now);

}  // namespace certfleet::controller::notifications

#endif  // CERTFLEET_CONTROLLER_NOTIFICATIONS_UNPLANNED_EXPIRY_H_
