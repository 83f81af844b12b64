#include "controller/renewal/renewal_policy.h"

#include <fnmatch.h>

#include <algorithm>
#include <cstdint>
#include <string>

namespace certfleet::controller::renewal {

bool SelectorMatches(const store::HostSelectorRecord& selector, const store::HostRecord& host) {
  for (const auto& [key, value] : selector.labels) {
    auto found = host.labels.find(key);
    if (found == host.labels.end() || found->second != value) return false;
  }
  if (!selector.hostname_pattern.empty() &&
      fnmatch(selector.hostname_pattern.c_str(), host.hostname.c_str(), FNM_CASEFOLD) != 0) {
    return false;
  }
  if (!selector.host_ids.empty() && std::find(selector.host_ids.begin(), selector.host_ids.end(),
                                              host.host_id) == selector.host_ids.end()) {
    return false;
  }
  return true;
}

const store::PolicyRecord* SelectPolicy(const std::vector<store::PolicyRecord>& policies,
                                        const store::HostRecord& host) {
  const store::PolicyRecord* fallback = nullptr;
  for (const store::PolicyRecord& policy : policies) {
    if (policy.name == store::kDefaultPolicyName) {
      fallback = &policy;
      continue;
    }
    if (SelectorMatches(policy.hosts, host)) return &policy;
  }
  return fallback;
}

absl::StatusOr<store::PolicyRecord> PolicyFor(store::PolicyStore& policies,
                                              const store::HostRecord& host) {
  absl::StatusOr<std::vector<store::PolicyRecord>> all = policies.ListPolicies();
  if (!all.ok()) return all.status();
  const store::PolicyRecord* selected = SelectPolicy(*all, host);
  if (selected == nullptr) return policies.GetPolicy(store::kDefaultPolicyName);
  return *selected;
}

absl::Time RenewalPoint(const store::PolicyRecord& policy, absl::Time not_before,
                        absl::Time not_after) {
  if (policy.renew_before.has_value()) return not_after - *policy.renew_before;
  const double fraction = std::clamp(policy.renew_when_remaining_fraction, 0.0, 1.0);
  return not_after - (not_after - not_before) * fraction;
}

absl::Duration JitterOffset(std::string_view key, absl::Duration jitter) {
  if (jitter <= absl::ZeroDuration()) return absl::ZeroDuration();
  // 64-bit FNV-1a: stable across runs, builds and platforms, unlike
  // std::hash.
  uint64_t value = 14695981039346656037ull;
  for (const char character : key) {
    value = (value ^ static_cast<unsigned char>(character)) * 1099511628211ull;
  }
  const int64_t range = absl::ToInt64Seconds(jitter);
  if (range <= 0) return absl::ZeroDuration();
  return absl::Seconds(static_cast<int64_t>(value % static_cast<uint64_t>(range)));
}

absl::Time RenewalDueAt(const store::PolicyRecord& policy, std::string_view binding_id,
                        const store::CertificateRecord& certificate) {
  const absl::Time point = RenewalPoint(policy, certificate.not_before, certificate.not_after);
  if (point <= certificate.not_before) return point;
  const absl::Duration jitter =
      std::min(policy.jitter.value_or(kDefaultJitter), (point - certificate.not_before) / 2);
  const std::string key = std::string(binding_id) + "/" + certificate.thumbprint_sha1;
  return point - JitterOffset(key, jitter);
}

absl::Time NextRetryAt(const store::PolicyRecord& policy, int failed_attempts, absl::Time now,
                       absl::Time expiry) {
  const absl::Duration initial = policy.initial_backoff.value_or(kDefaultInitialBackoff);
  const absl::Duration maximum =
      std::max(initial, policy.maximum_backoff.value_or(kDefaultMaximumBackoff));
  absl::Duration delay = initial;
  for (int attempt = 1; attempt < failed_attempts && delay < maximum; ++attempt) delay *= 2;
  delay = std::min(delay, maximum);
  if (expiry > now && expiry != absl::InfiniteFuture()) delay = std::min(delay, (expiry - now) / 2);
  return now + std::max(delay, kMinimumRetryDelay);
}

}  // namespace certfleet::controller::renewal
