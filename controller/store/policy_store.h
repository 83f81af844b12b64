// Renewal policies by name. The policy named "default" (renew when a third
// of the lifetime remains, RSA 2048, connector "local") exists from the
// first migration on and cannot be deleted.
//
// Thread safety: implementations are thread-safe.

#ifndef CERTFLEET_CONTROLLER_STORE_POLICY_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_POLICY_STORE_H_

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/store/records.h"

namespace certfleet::controller::store {

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;

  // Creates or replaces the policy named policy.name and returns it as
  // stored. InvalidArgument when the name is not lower-case letters, digits
  // and '-', or renew_when_remaining_fraction is not in (0, 1).
  virtual absl::StatusOr<PolicyRecord> SetPolicy(const PolicyRecord& policy) = 0;

  // The policy named `name`. NotFound otherwise.
  virtual absl::StatusOr<PolicyRecord> GetPolicy(std::string_view name) = 0;

  // Every policy, highest priority first, then by name.
  virtual absl::StatusOr<std::vector<PolicyRecord>> ListPolicies() = 0;

  // Deletes a policy. NotFound when there is none of that name;
  // FailedPrecondition for "default".
  virtual absl::Status DeletePolicy(std::string_view name) = 0;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_POLICY_STORE_H_
