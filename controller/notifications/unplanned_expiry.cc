#include "controller/notifications/unplanned_expiry.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/admin/record_conversion.h"
#include "controller/renewal/renewal_policy.h"
#include "controller/store/list_all.h"

namespace certfleet::controller::notifications {
namespace {

// A renewal that fell due this recently counts as planned: the scheduler
// opens its order on one of its next passes.
constexpr absl::Duration kSchedulerGrace = absl::Hours(1);

std::string BindingKey(std::string_view host_id, std::string_view binding_id) {
  return absl::StrCat(std::string(host_id), "/", std::string(binding_id));
}

}  // namespace

absl::StatusOr<std::vector<UnplannedExpiry>> FindUnplannedExpiries(store::Store& store,
                                                                   absl::Time now,
                                                                   absl::Duration warning) {
  absl::StatusOr<std::vector<store::CertificateRecord>> expiring =
      store::ListAll<store::CertificateRecord>([&](const store::PageRequest& page) {
        store::CertificateQuery query;
        query.not_after_before = now + warning;
        query.scope = store::CertificateScope::kBound;
        query.include_bindings = true;
        query.count_total_size = false;
        query.page = page;
        return store.inventory().ListCertificates(query);
      });
  if (!expiring.ok()) return expiring.status();
  std::vector<UnplannedExpiry> found;
  if (expiring->empty()) return found;

  absl::StatusOr<std::vector<store::OrderRecord>> open_orders =
      store::ListAll<store::OrderRecord>([&](const store::PageRequest& page) {
        store::OrderQuery query;
        query.open_only = true;
        query.page = page;
        return store.orders().ListOrders(query);
      });
  if (!open_orders.ok()) return open_orders.status();
  std::set<std::string> planned;
  for (const store::OrderRecord& order : *open_orders) {
    planned.insert(BindingKey(order.host_id, order.binding_id));
  }
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> in_campaigns =
      store.campaigns().ListBindingsInOpenCampaigns();
  if (!in_campaigns.ok()) return in_campaigns.status();
  for (const auto& [binding_key, campaign_id] : *in_campaigns) planned.insert(binding_key);
  absl::StatusOr<std::vector<store::PolicyRecord>> policies = store.policies().ListPolicies();
  if (!policies.ok()) return policies.status();

  std::map<std::string, std::optional<store::HostRecord>> hosts;
  for (store::CertificateRecord& certificate : *expiring) {
    auto host = hosts.find(certificate.host_id);
    if (host == hosts.end()) {
      absl::StatusOr<store::HostRecord> read = store.hosts().GetHost(certificate.host_id);
      if (!read.ok() && !absl::IsNotFound(read.status())) return read.status();
      host =
          hosts.emplace(certificate.host_id, read.ok() ? std::optional(*read) : std::nullopt).first;
    }
    if (!host->second.has_value()) continue;
    const store::PolicyRecord* policy = renewal::SelectPolicy(*policies, *host->second);
    std::vector<store::BindingRecord> bindings = std::move(certificate.bindings);
    certificate.bindings.clear();
    certificate.der.clear();
    for (store::BindingRecord& binding : bindings) {
      if (planned.contains(BindingKey(certificate.host_id, binding.binding_id))) continue;
      // The scheduler will open an order later (or is about to).
      if (policy != nullptr &&
          renewal::RenewalDueAt(*policy, binding.binding_id, certificate) > now - kSchedulerGrace) {
        continue;
      }
      found.push_back(UnplannedExpiry{.hostname = host->second->hostname,
                                      .binding = std::move(binding),
                                      .certificate = certificate});
    }
  }
  return found;
}

v1::WebhookDelivery UnplannedExpiryDelivery(const UnplannedExpiry& expiry, absl::Time now) {
  v1::WebhookDelivery delivery;
  delivery.set_event(v1::WEBHOOK_EVENT_CERTIFICATE_UNPLANNED_EXPIRY);
  delivery.set_event_id(absl::StrCat("unplanned-expiry-", expiry.certificate.host_id, "-",
                                     expiry.binding.binding_id, "-",
                                     expiry.certificate.thumbprint_sha1));
  const std::string site =
      expiry.binding.site_name.empty() ? expiry.binding.site_id : expiry.binding.site_name;
  const std::string name = expiry.certificate.subject_name.common_name.empty()
                               ? expiry.certificate.subject
                               : expiry.certificate.subject_name.common_name;
  const int64_t days = absl::ToInt64Hours(expiry.certificate.not_after - now) / 24;
  const std::string when = expiry.certificate.not_after <= now
                               ? std::string("has expired")
                               : absl::StrCat("expires in ", days, days == 1 ? " day" : " days");
  delivery.set_summary(absl::StrCat(expiry.hostname, " / ", site, ": ", name, " ", when,
                                    " and no renewal is planned"));
  v1::CertificateRecord* record = delivery.mutable_certificate();
  *record->mutable_certificate() = admin::ToCertificateInfoProto(expiry.certificate);
  record->set_host_id(expiry.certificate.host_id);
  record->set_hostname(expiry.hostname);
  v1::SiteReference* bound = record->add_bound_sites();
  bound->set_site_id(expiry.binding.site_id);
  bound->set_site_name(expiry.binding.site_name);
  bound->set_binding_id(expiry.binding.binding_id);
  return delivery;
}

}  // namespace certfleet::controller::notifications
