#include "controller/campaigns/campaign_selector.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "certfleet/v1/common.pb.h"
#include "controller/admin/record_conversion.h"
#include "controller/renewal/renewal_policy.h"

namespace certfleet::controller::campaigns {
namespace {

constexpr std::string_view kDefaultKeySpec = "RSA_2048";
constexpr std::string_view kDefaultSignatureHash = "SHA256";

// "KEY_ALGORITHM_RSA" -> "RSA".
std::string WithoutPrefix(const std::string& name, std::string_view prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

bool ContainsIgnoringCase(const std::string& text, const std::string& part) {
  return absl::AsciiStrToLower(text).find(absl::AsciiStrToLower(part)) != std::string::npos;
}

// The web server as people name it, for sentences.
std::string PlatformName(const store::HostRecord& host) {
  if (!host.platform.web_server.empty()) return host.platform.web_server;
  if (!host.platform.driver.empty()) return host.platform.driver;
  return "unknown platform";
}

bool CertificateMatches(const SelectionCriteria& criteria,
                        const store::CertificateRecord& certificate, absl::Time now,
                        const CaProductOf& ca_product_of) {
  if (!criteria.issuer_contains.empty() &&
      !ContainsIgnoringCase(certificate.issuer, criteria.issuer_contains)) {
    return false;
  }
  if (!criteria.key_algorithm.empty() &&
      !absl::EqualsIgnoreCase(certificate.key_algorithm, criteria.key_algorithm)) {
    return false;
  }
  if (!criteria.key_bits.empty() && std::find(criteria.key_bits.begin(), criteria.key_bits.end(),
                                              certificate.key_bits) == criteria.key_bits.end()) {
    return false;
  }
  if (!criteria.signature_hashes.empty() &&
      std::none_of(criteria.signature_hashes.begin(), criteria.signature_hashes.end(),
                   [&](const std::string& hash) {
                     return absl::EqualsIgnoreCase(hash, certificate.signature_hash);
                   })) {
    return false;
  }
  if (criteria.expiring_within.has_value() &&
      certificate.not_after > now + *criteria.expiring_within) {
    return false;
  }
  if (!criteria.ca_product.empty()) {
    if (!ca_product_of) return false;
    const std::string product = ca_product_of(certificate);
    if (product.empty() || !absl::EqualsIgnoreCase(product, criteria.ca_product)) return false;
  }
  return true;
}

SelectionDecision Excluded(v1::ExclusionReason reason, std::string detail) {
  return SelectionDecision{
      .selection = Selection::kExcluded, .reason = reason, .detail = std::move(detail)};
}

}  // namespace

bool SelectionCriteria::HasCertificateConditions() const {
  return !issuer_contains.empty() || !ca_product.empty() || !key_algorithm.empty() ||
         !key_bits.empty() || !signature_hashes.empty() || expiring_within.has_value();
}

absl::StatusOr<SelectionCriteria> FromCampaignSelectorProto(const v1::CampaignSelector& selector) {
  SelectionCriteria criteria;
  criteria.hosts = admin::FromHostSelectorProto(selector.hosts());
  criteria.exclude_host_ids.assign(selector.exclude_host_ids().begin(),
                                   selector.exclude_host_ids().end());
  criteria.issuer_contains = selector.issuer_contains();
  criteria.ca_product = selector.ca_product();
  if (selector.key_algorithm() != v1::KEY_ALGORITHM_UNSPECIFIED) {
    if (!v1::KeyAlgorithm_IsValid(selector.key_algorithm())) {
      return absl::InvalidArgumentError(
          absl::StrCat("selector.key_algorithm: unknown value ", selector.key_algorithm()));
    }
    criteria.key_algorithm =
        WithoutPrefix(v1::KeyAlgorithm_Name(selector.key_algorithm()), "KEY_ALGORITHM_");
  }
  for (const uint32_t bits : selector.key_bits()) {
    if (bits == 0) {
      return absl::InvalidArgumentError("selector.key_bits: a key size must be positive");
    }
    criteria.key_bits.push_back(static_cast<int>(bits));
  }
  for (const int hash : selector.signature_hashes()) {
    if (hash == v1::SIGNATURE_HASH_UNSPECIFIED || !v1::SignatureHash_IsValid(hash)) {
      const std::string value = hash == v1::SIGNATURE_HASH_UNSPECIFIED
                                    ? "SIGNATURE_HASH_UNSPECIFIED"
                                    : absl::StrCat("unknown value ", hash);
      return absl::InvalidArgumentError(
          absl::StrCat("selector.signature_hashes: ", value, " is not a hash to select by"));
    }
    criteria.signature_hashes.push_back(WithoutPrefix(
        v1::SignatureHash_Name(static_cast<v1::SignatureHash>(hash)), "SIGNATURE_HASH_"));
  }
  if (selector.has_expiring_within()) {
    const absl::Duration within = admin::FromDuration(selector.expiring_within());
    if (within < absl::ZeroDuration()) {
      return absl::InvalidArgumentError("selector.expiring_within must not be negative");
    }
    criteria.expiring_within = within;
  }
  return criteria;
}

SelectionDecision SelectBinding(const SelectionCriteria& criteria,
                                const BindingCandidate& candidate, absl::Time now,
                                const CaProductOf& ca_product_of) {
  const store::HostRecord& host = *candidate.host;
  const store::BindingRecord& binding = *candidate.binding;
  if (!renewal::SelectorMatches(criteria.hosts, host)) return {};
  const bool has_certificate =
      !binding.certificate_thumbprint.empty() && candidate.certificate != nullptr;
  if (has_certificate) {
    if (!CertificateMatches(criteria, *candidate.certificate, now, ca_product_of)) return {};
  } else if (criteria.HasCertificateConditions()) {
    return {};
  }

  const std::string site =
      binding.site_name.empty() ? binding.site_id : absl::StrCat("'", binding.site_name, "'");
  if (host.state == store::HostState::kDecommissioned) {
    return Excluded(v1::EXCLUSION_REASON_HOST_DECOMMISSIONED,
                    absl::StrCat(host.hostname, " is decommissioned"));
  }
  if (std::find(criteria.exclude_host_ids.begin(), criteria.exclude_host_ids.end(), host.host_id) !=
      criteria.exclude_host_ids.end()) {
    return Excluded(v1::EXCLUSION_REASON_HOST_EXCLUDED,
                    absl::StrCat(host.hostname, " is excluded by the campaign"));
  }
  if (!has_certificate) {
    return Excluded(
        v1::EXCLUSION_REASON_NO_CERTIFICATE,
        binding.certificate_thumbprint.empty()
            ? absl::StrCat("site ", site, " on ", host.hostname, " has no certificate")
            : absl::StrCat("site ", site, " on ", host.hostname, " names certificate ",
                           binding.certificate_thumbprint, ", which is not in the host's stores"));
  }
  if (!candidate.open_order_id.empty()) {
    return Excluded(v1::EXCLUSION_REASON_ORDER_IN_FLIGHT,
                    absl::StrCat("site ", site, " on ", host.hostname, " already has order ",
                                 candidate.open_order_id, " in flight"));
  }
  if (!candidate.other_campaign_id.empty()) {
    return Excluded(v1::EXCLUSION_REASON_IN_OTHER_CAMPAIGN,
                    absl::StrCat("site ", site, " on ", host.hostname, " belongs to campaign ",
                                 candidate.other_campaign_id));
  }
  if (std::optional<std::string> limit =
          PlatformLimit(host, candidate.key_spec, candidate.signature_hash)) {
    return Excluded(v1::EXCLUSION_REASON_UNSUPPORTED_BY_PLATFORM, *std::move(limit));
  }
  return SelectionDecision{
      .selection = Selection::kSelected, .reason = v1::EXCLUSION_REASON_UNSPECIFIED, .detail = {}};
}

std::optional<std::string> PlatformLimit(const store::HostRecord& host, std::string_view key_spec,
                                         std::string_view signature_hash) {
  v1::HostCapabilities capabilities;
  if (host.capabilities.empty() || !capabilities.ParseFromString(host.capabilities)) {
    return std::nullopt;
  }
  const std::string key_spec_name = std::string(key_spec.empty() ? kDefaultKeySpec : key_spec);
  v1::KeySpec wanted_key = v1::KEY_SPEC_UNSPECIFIED;
  if (capabilities.supported_key_specs_size() > 0 &&
      v1::KeySpec_Parse(absl::StrCat("KEY_SPEC_", absl::AsciiStrToUpper(key_spec_name)),
                        &wanted_key)) {
    const bool supported = std::find(capabilities.supported_key_specs().begin(),
                                     capabilities.supported_key_specs().end(),
                                     wanted_key) != capabilities.supported_key_specs().end();
    if (!supported) {
      return absl::StrCat(host.hostname, " (", PlatformName(host), ") cannot use ", key_spec_name,
                          " keys; choose a key_spec it supports in the campaign's policy");
    }
  }
  const std::string hash_name =
      std::string(signature_hash.empty() ? kDefaultSignatureHash : signature_hash);
  v1::SignatureHash wanted_hash = v1::SIGNATURE_HASH_UNSPECIFIED;
  if (capabilities.supported_signature_hashes_size() > 0 &&
      v1::SignatureHash_Parse(absl::StrCat("SIGNATURE_HASH_", absl::AsciiStrToUpper(hash_name)),
                              &wanted_hash)) {
    const bool supported =
        std::find(capabilities.supported_signature_hashes().begin(),
                  capabilities.supported_signature_hashes().end(),
                  wanted_hash) != capabilities.supported_signature_hashes().end();
    if (!supported) {
      return absl::StrCat(host.hostname, " (", PlatformName(host), ") cannot validate ", hash_name,
                          " signatures; choose a signature_hash it supports in the campaign's "
                          "policy");
    }
  }
  return std::nullopt;
}

}  // namespace certfleet::controller::campaigns
