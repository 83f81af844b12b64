// Renewal policies applied to one certificate: which policy governs a host,
// when its certificate is due, and when a failed renewal is retried. Pure
// functions of their arguments, so that the scheduler, the admin API and the
// tests agree on every date.
//
// Timing rules (docs/renewal.md):
//   - The renewal point is not_after - renew_before when the policy sets
//     renew_before, otherwise the moment when renew_when_remaining_fraction
//     of the lifetime remains (default one third).
//   - Jitter only ever moves the due time earlier, never past the renewal
//     point and never before not_before. The offset is a hash of the binding
//     and the certificate, so it is the same after a restart: a restarted
//     controller finds exactly the orders it would have created anyway.
//   - Retries back off exponentially (initial_backoff doubling up to
//     maximum_backoff) but never beyond half the time left before expiry,
//     so that several retries still fit before the certificate expires.

#ifndef CERTFLEET_CONTROLLER_RENEWAL_RENEWAL_POLICY_H_
#define CERTFLEET_CONTROLLER_RENEWAL_RENEWAL_POLICY_H_

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/policy_store.h"
#include "controller/store/records.h"

namespace certfleet::controller::renewal {

inline constexpr absl::Duration kDefaultJitter = absl::Hours(6);
inline constexpr absl::Duration kDefaultInitialBackoff = absl::Minutes(5);
inline constexpr absl::Duration kDefaultMaximumBackoff = absl::Hours(6);
// Retries are never planned closer together than this, even right before
// expiry.
inline constexpr absl::Duration kMinimumRetryDelay = absl::Minutes(1);

// Whether `selector` selects `host`: every label equal, the host name glob
// (case-insensitive) and the host id list, each when set.
bool SelectorMatches(const store::HostSelectorRecord& selector, const store::HostRecord& host);

// The policy that governs `host` among `policies` (as ListPolicies returns
// them: highest priority first): the first non-default one whose selector
// matches, otherwise the one named "default". Null when there is neither.
const store::PolicyRecord* SelectPolicy(const std::vector<store::PolicyRecord>& policies,
                                        const store::HostRecord& host);

// SelectPolicy over the store's policies. NotFound when the default policy
// is missing.
absl::StatusOr<store::PolicyRecord> PolicyFor(store::PolicyStore& policies,
                                              const store::HostRecord& host);

// When a certificate valid from `not_before` to `not_after` reaches the
// renewal point of `policy`, before jitter.
absl::Time RenewalPoint(const store::PolicyRecord& policy, absl::Time not_before,
                        absl::Time not_after);

// A stable offset in [0, jitter) derived from `key`; zero for a jitter that
// is not positive.
absl::Duration JitterOffset(std::string_view key, absl::Duration jitter);

// When the scheduler opens an order for `certificate` bound at
// `binding_id`: the renewal point moved earlier by the binding's jitter
// offset (at most half of the time between not_before and the renewal
// point, so that short-lived certificates keep most of their life).
absl::Time RenewalDueAt(const store::PolicyRecord& policy, std::string_view binding_id,
                        const store::CertificateRecord& certificate);

// When to retry an order that has failed `failed_attempts` times (1 after
// the first failure), deciding at `now`, for a certificate that expires at
// `expiry` (absl::InfiniteFuture() when unknown).
absl::Time NextRetryAt(const store::PolicyRecord& policy, int failed_attempts, absl::Time now,
                       absl::Time expiry);

}  // namespace certfleet::controller::renewal

#endif  // CERTFLEET_CONTROLLER_RENEWAL_RENEWAL_POLICY_H_
