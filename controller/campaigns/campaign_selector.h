// Which bindings a renewal campaign renews: the campaign's selector
// (certfleet.v1.CampaignSelector) applied to one binding, its host and the
// certificate it serves, and the reasons a selected binding is nevertheless
// left out (ExclusionReason, with a sentence for the operator). Pure
// functions: the caller reads the inventory, the open orders and the other
// campaigns, and passes `now` for the expiry condition.
//
// A binding is judged in this order:
//   1. The host selector (labels, hostname pattern, host ids, matched like
//      renewal policies: renewal::SelectorMatches) and, when the binding has
//      a certificate, every certificate condition (issuer substring, CA
//      product, key algorithm, key sizes, signature hashes, expiry window).
//      A failed condition means "not selected": the binding is not shown.
//   2. A binding without a certificate cannot meet a certificate condition:
//      not selected when the selector sets any, otherwise excluded
//      (NO_CERTIFICATE), because the operator asked for every binding of
//      those hosts.
//   3. Exclusions, first match wins: host decommissioned, host excluded by
//      id, no certificate, an order already in flight, the binding in
//      another running campaign, the host's platform unable to use the key
//      or hash the campaign requests.
//
// Thread safety: plain values and free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_CAMPAIGNS_CAMPAIGN_SELECTOR_H_
#define CERTFLEET_CONTROLLER_CAMPAIGNS_CAMPAIGN_SELECTOR_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/campaign.pb.h"
#include "controller/store/records.h"

namespace certfleet::controller::campaigns {

// certfleet.v1.CampaignSelector in the store's spelling of names.
struct SelectionCriteria {
  store::HostSelectorRecord hosts;
  std::vector<std::string> exclude_host_ids;
  // Case-insensitive substring of the certificate's issuer; empty: any.
  std::string issuer_contains;
  // CaProduct.name, compared case-insensitively; empty: any.
  std::string ca_product;
  // KeyAlgorithm name without its prefix ("RSA", "ECDSA"); empty: any.
  std::string key_algorithm;
  // Any of these key sizes; empty: any.
  std::vector<int> key_bits;
  // Any of these SignatureHash names without prefix ("SHA1"); empty: any.
  std::vector<std::string> signature_hashes;
  // notAfter at most this long after `now`; unset: any expiry.
  std::optional<absl::Duration> expiring_within;

  // Whether any condition on the certificate is set.
  bool HasCertificateConditions() const;
};

// The criteria of `selector`. InvalidArgument naming the field for a
// negative expiring_within, a key size of 0, or an unspecified or unknown
// enum value in key_algorithm or signature_hashes.
absl::StatusOr<SelectionCriteria> FromCampaignSelectorProto(const v1::CampaignSelector& selector);

// Which CA product a certificate belongs to (CaProduct.name), or an empty
// string when unknown. The caller decides how (for example by matching the
// certificate's chain against controller/issuance's CaProductCatalogue);
// campaigns only compare the answer with SelectionCriteria::ca_product.
using CaProductOf = std::function<std::string(const store::CertificateRecord& certificate)>;

// One binding a campaign could renew, with what the caller knows about it.
struct BindingCandidate {
  // REQUIRES: not null.
  const store::HostRecord* host = nullptr;
  // REQUIRES: not null.
  const store::BindingRecord* binding = nullptr;
  // The certificate the binding serves, from the host's inventory; null when
  // the binding has none or it is not in the host's stores.
  const store::CertificateRecord* certificate = nullptr;
  // The binding's open order (any trigger); empty when none.
  std::string open_order_id;
  // The other campaign (not completed or aborted) the binding belongs to;
  // empty when none.
  std::string other_campaign_id;
  // What the campaign would request for this binding: the campaign policy's
  // KeySpec and SignatureHash names ("RSA_2048", "SHA256"), else those of
  // the policy that governs the host. Empty: the platform default (RSA_2048,
  // SHA256), as the renewal engine does.
  std::string key_spec;
  std::string signature_hash;
};

enum class Selection { kNotSelected, kSelected, kExcluded };

struct SelectionDecision {
  Selection selection = Selection::kNotSelected;
  // Set when excluded.
  v1::ExclusionReason reason = v1::EXCLUSION_REASON_UNSPECIFIED;
  // Why, in a sentence, when excluded ("web01 is excluded by the campaign").
  std::string detail = {};
};

// Judges `candidate` against `criteria` as of `now` (for expiring_within).
// `ca_product_of` is asked only when criteria.ca_product is set and the
// binding has a certificate; an empty function then means "product
// unknown", which does not match.
SelectionDecision SelectBinding(const SelectionCriteria& criteria,
                                const BindingCandidate& candidate, absl::Time now,
                                const CaProductOf& ca_product_of);

// What in `key_spec` / `signature_hash` (names as in BindingCandidate) the
// host's platform cannot use, from the capabilities its agent reported, as a
// sentence ("web01 (IIS 6.0) cannot use ECDSA_P256 keys"); nullopt when the
// platform can, or when the agent reported no list to judge by. The same
// rule as the renewal engine's order-time check (docs/renewal.md), extended
// to signature hashes.
std::optional<std::string> PlatformLimit(const store::HostRecord& host, std::string_view key_spec,
                                         std::string_view signature_hash);

}  // namespace certfleet::controller::campaigns

#endif  // CERTFLEET_CONTROLLER_CAMPAIGNS_CAMPAIGN_SELECTOR_H_
