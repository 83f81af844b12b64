// The host-side steps of an order: the names a new order requests, the
// prepare and deploy jobs the scheduler sends to the host, and the order
// transition each job result implies. Pure functions of their arguments; the
// RenewalEngine stores what they return.
//
// Result rules (docs/renewal.md, "What a job result does to its order"):
//   prepare succeeded   csr_requested -> awaiting_issuance (CSR, key hash,
//                       temporary site), after checking the CSR's signature
//                       and that its key is the one the agent reported
//   deploy succeeded    deploying -> verifying (the controller then probes)
//   deploy rolled back  deploying -> rolled_back, with the agent's reason
//   anything else       -> failed; retried with backoff when the agent says
//                       the failure is retryable, closed otherwise
// A result for an order that has moved on (cancelled, or a stale job)
// implies no transition.

#ifndef CERTFLEET_CONTROLLER_RENEWAL_ORDER_STEPS_H_
#define CERTFLEET_CONTROLLER_RENEWAL_ORDER_STEPS_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/jobs.pb.h"
#include "certfleet/v1/policy.pb.h"
#include "controller/store/records.h"

namespace certfleet::controller::renewal {

// Who the renewal engine's transitions name as their actor.
inline constexpr std::string_view kSchedulerActor = "scheduler";

// The subject and subjectAltNames a new order requests.
struct RequestedNames {
  store::DistinguishedNameRecord subject;
  // "DNS:www.example.com", "IP:10.0.0.5", as the store keeps them.
  std::vector<std::string> subject_alternative_names;
};

// The names for renewing `current` (null when the binding's certificate is
// not in the inventory) under `subject_template`: every attribute the
// template sets replaces the current one (an empty value removes it); the
// template's subjectAltNames merge with or replace the current ones; the
// common name is added as a DNS name when it looks like a host name. With no
// current certificate and no common name in the template, the common name
// is `fallback_common_name` (the binding's host header or the host name).
RequestedNames RequestedNamesFor(const store::CertificateRecord* current,
                                 const v1::SubjectTemplate& subject_template,
                                 std::string_view fallback_common_name);

// The common name for a certificate-less binding: its first secure
// endpoint's host header, else the host's name.
std::string FallbackCommonName(const store::BindingRecord& binding, const store::HostRecord& host);

// The name of the temporary site the prepare job of `order_id` creates.
std::string TemporarySiteName(std::string_view order_id);

// The prepare job of `order`: a new key and CSR as the pending request of a
// temporary site, the real site untouched.
v1::JobSpec PrepareJobFor(const store::OrderRecord& order);

// The deploy job of `order` (issued), with the restart and backup settings
// of `policy`. InvalidArgument when the order's certificate or chain does
// not parse (the order is then failed rather than sent).
absl::StatusOr<v1::JobSpec> DeployJobFor(const store::OrderRecord& order,
                                         const v1::RenewalPolicy& policy);

// What the finished `job` (with `result`) does to `order`, decided at `now`.
// `retry_at` is when a retryable failure is tried again (NextRetryAt), or
// nullopt when no retry may be planned. Nullopt when the job implies no
// transition: not a prepare or deploy job, or the order is no longer in the
// state the job serves.
std::optional<store::OrderTransition> TransitionForResult(const store::OrderRecord& order,
                                                          const store::JobRecord& job,
                                                          const store::JobResultRecord& result,
                                                          std::optional<absl::Time> retry_at,
                                                          absl::Time now);

}  // namespace certfleet::controller::renewal

#endif  // CERTFLEET_CONTROLLER_RENEWAL_ORDER_STEPS_H_
