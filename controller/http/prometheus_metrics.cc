#include "controller/http/prometheus_metrics.h"

#include <initializer_list>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "controller/campaigns/wave_progress.h"

namespace certfleet::controller::http {
namespace {

#define CERTFLEET_METRICS_ASSIGN_OR_RETURN(lhs, expression)                                       \
  CERTFLEET_METRICS_ASSIGN_OR_RETURN_IMPL(CERTFLEET_METRICS_CONCAT(metrics_status_or_, __LINE__), \
                                          lhs, expression)
#define CERTFLEET_METRICS_ASSIGN_OR_RETURN_IMPL(status_or, lhs, expression) \
  auto status_or = (expression);                                            \
  if (!status_or.ok()) return std::move(status_or).status();                \
  lhs = std::move(status_or).value()
#define CERTFLEET_METRICS_CONCAT_INNER(a, b) a##b
#define CERTFLEET_METRICS_CONCAT(a, b) CERTFLEET_METRICS_CONCAT_INNER(a, b)

using Labels = std::vector<std::pair<std::string_view, std::string>>;

// Upper bounds of the renewal duration histogram: 10 s to 1 day.
constexpr int64_t kRenewalBucketSeconds[] = {10,   30,   60,   120,   300,   600,
                                             1800, 3600, 7200, 14400, 43200, 86400};

// Builds the page one metric family at a time.
class Page {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    text_.append("# HELP ").append(name).append(" ").append(help).append("\n");
    text_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  }

  void Sample(std::string_view name, const Labels& labels, std::string_view value) {
    text_.append(name);
    if (!labels.empty()) {
      text_.append("{");
      bool first = true;
      for (const auto& [label, label_value] : labels) {
        if (!first) text_.append(",");
        first = false;
        text_.append(label).append("=\"").append(EscapeLabelValue(label_value)).append("\"");
      }
      text_.append("}");
    }
    text_.append(" ").append(value).append("\n");
  }

  void Sample(std::string_view name, const Labels& labels, int64_t value) {
    Sample(name, labels, absl::StrCat(value));
  }

  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string Seconds(absl::Time time) { return absl::StrCat(absl::ToUnixSeconds(time)); }

constexpr store::CampaignState kCampaignStates[] = {
    store::CampaignState::kDraft,    store::CampaignState::kRunning,
    store::CampaignState::kPaused,   store::CampaignState::kCompleted,
    store::CampaignState::kAborting, store::CampaignState::kAborted};

bool IsFinished(store::CampaignState state) {
  return state == store::CampaignState::kCompleted || state == store::CampaignState::kAborted;
}

// Every campaign, newest first.
absl::StatusOr<std::vector<store::CampaignRecord>> AllCampaigns(store::Store& store) {
  std::vector<store::CampaignRecord> campaigns;
  store::CampaignQuery query;
  query.page.page_size = store::kMaximumPageSize;
  while (true) {
    CERTFLEET_METRICS_ASSIGN_OR_RETURN(store::Page<store::CampaignRecord> listed,
                                       store.campaigns().ListCampaigns(query));
    for (store::CampaignRecord& campaign : listed.items) campaigns.push_back(std::move(campaign));
    if (listed.next_page_token.empty()) return campaigns;
    query.page.page_token = listed.next_page_token;
  }
}

// The campaign metrics: campaigns by state, paused ones by reason, and the
// targets of every campaign that is not finished by where their renewal is
// (the rule of the engine's progress counts, campaigns::ProgressOf).
absl::Status AddCampaignMetrics(store::Store& store, Page& page) {
  CERTFLEET_METRICS_ASSIGN_OR_RETURN(std::vector<store::CampaignRecord> campaigns,
                                     AllCampaigns(store));
  page.Family("certfleet_campaigns", "gauge", "Renewal campaigns by state.");
  for (store::CampaignState state : kCampaignStates) {
    int64_t count = 0;
    for (const store::CampaignRecord& campaign : campaigns) count += campaign.state == state;
    page.Sample("certfleet_campaigns", {{"state", std::string(store::ToString(state))}}, count);
  }
  page.Family("certfleet_campaigns_paused", "gauge",
              "Paused renewal campaigns by why they paused: an operator, or failures over the "
              "campaign's failure budget.");
  for (store::CampaignPauseReason reason :
       {store::CampaignPauseReason::kOperator, store::CampaignPauseReason::kFailureBudget}) {
    int64_t count = 0;
    for (const store::CampaignRecord& campaign : campaigns) {
      count += campaign.state == store::CampaignState::kPaused && campaign.pause_reason == reason;
    }
    page.Sample("certfleet_campaigns_paused", {{"reason", std::string(store::ToString(reason))}},
                count);
  }
  page.Family("certfleet_campaign_targets", "gauge",
              "Bindings of each campaign that is not completed or aborted (by name and id), by "
              "where their renewal is: pending, in_flight, done, failed, rolled_back, cancelled.");
  for (const store::CampaignRecord& campaign : campaigns) {
    if (IsFinished(campaign.state)) continue;
    CERTFLEET_METRICS_ASSIGN_OR_RETURN(std::vector<store::CampaignTargetRecord> targets,
                                       store.campaigns().ListTargets(campaign.campaign_id));
    campaigns::ProgressCounts counts;
    for (const store::CampaignTargetRecord& target : targets) {
      counts.Add(campaigns::ProgressOf(campaigns::StatusOf(target)));
    }
    for (const auto& [state, count] : std::initializer_list<std::pair<std::string_view, int>>{
             {"pending", counts.pending},
             {"in_flight", counts.in_flight},
             {"done", counts.done},
             {"failed", counts.failed},
             {"rolled_back", counts.rolled_back},
             {"cancelled", counts.cancelled}}) {
      page.Sample("certfleet_campaign_targets",
                  {{"campaign", campaign.name},
                   {"campaign_id", campaign.campaign_id},
                   {"state", std::string(state)}},
                  count);
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (char character : value) {
    switch (character) {
      case '\\':
        escaped += "\\\\";
        break;
      case '"':
        escaped += "\\\"";
        break;
      case '\n':
        escaped += "\\n";
        break;
      default:
        escaped.push_back(character);
    }
  }
  return escaped;
}

absl::StatusOr<std::string> RenderPrometheusMetrics(store::Store& store, absl::Time now,
                                                    int64_t agents_connected) {
  Page page;

  // Per bound certificate and site: one series per distinct label set.
  std::vector<std::pair<Labels, std::pair<absl::Time, absl::Time>>> certificates;
  {
    std::set<std::vector<std::string>> seen;
    store::CertificateQuery query;
    query.scope = store::CertificateScope::kBound;
    query.include_bindings = true;
    query.count_total_size = false;
    query.page.page_size = store::kMaximumPageSize;
    while (true) {
      CERTFLEET_METRICS_ASSIGN_OR_RETURN(store::Page<store::CertificateRecord> listed,
                                         store.inventory().ListCertificates(query));
      for (const store::CertificateRecord& certificate : listed.items) {
        for (const store::BindingRecord& binding : certificate.bindings) {
          const std::string site = binding.site_name.empty() ? binding.site_id : binding.site_name;
          std::vector<std::string> key = {certificate.hostname, site, certificate.subject,
                                          certificate.thumbprint_sha1};
          if (!seen.insert(key).second) continue;
          certificates.push_back({{{"host", certificate.hostname},
                                   {"site", site},
                                   {"subject", certificate.subject},
                                   {"thumbprint", certificate.thumbprint_sha1}},
                                  {certificate.not_before, certificate.not_after}});
        }
      }
      if (listed.next_page_token.empty()) break;
      query.page.page_token = listed.next_page_token;
    }
  }
  page.Family("certfleet_certificate_not_after_timestamp_seconds", "gauge",
              "Expiry (notAfter) of each bound certificate, as a Unix time, per host and site.");
  for (const auto& [labels, validity] : certificates) {
    page.Sample("certfleet_certificate_not_after_timestamp_seconds", labels,
                Seconds(validity.second));
  }
  page.Family("certfleet_certificate_not_before_timestamp_seconds", "gauge",
              "Start of validity (notBefore) of each bound certificate, as a Unix time, per host "
              "and site.");
  for (const auto& [labels, validity] : certificates) {
    page.Sample("certfleet_certificate_not_before_timestamp_seconds", labels,
                Seconds(validity.first));
  }

  page.Family("certfleet_agents_connected", "gauge",
              "Agents with an open session to this controller.");
  page.Sample("certfleet_agents_connected", {}, agents_connected);

  CERTFLEET_METRICS_ASSIGN_OR_RETURN(store::FleetCounts fleet, store.inventory().CountFleet(now));
  page.Family("certfleet_hosts", "gauge",
              "Hosts of the fleet (not decommissioned) by agent state.");
  page.Sample("certfleet_hosts", {{"state", "online"}}, fleet.agents_online);
  page.Sample("certfleet_hosts", {{"state", "offline"}}, fleet.agents_offline);

  using StateCounts = std::map<store::OrderState, int64_t>;
  CERTFLEET_METRICS_ASSIGN_OR_RETURN(StateCounts orders, store.orders().CountOrdersByState());
  page.Family("certfleet_orders", "gauge", "Renewal orders by state.");
  for (store::OrderState state : {store::OrderState::kDue, store::OrderState::kCsrRequested,
                                  store::OrderState::kAwaitingIssuance, store::OrderState::kIssued,
                                  store::OrderState::kDeploying, store::OrderState::kVerifying,
                                  store::OrderState::kDone, store::OrderState::kFailed,
                                  store::OrderState::kRolledBack, store::OrderState::kCancelled}) {
    auto found = orders.find(state);
    page.Sample("certfleet_orders", {{"state", std::string(store::ToString(state))}},
                found == orders.end() ? 0 : found->second);
  }

  if (absl::Status campaign_metrics = AddCampaignMetrics(store, page); !campaign_metrics.ok()) {
    return campaign_metrics;
  }

  CERTFLEET_METRICS_ASSIGN_OR_RETURN(std::vector<store::JobCountRecord> jobs,
                                     store.jobs().CountJobsByKindAndStatus());
  page.Family("certfleet_jobs_total", "counter",
              "Finished jobs by kind and result (from the store, so it survives restarts).");
  for (store::JobKind kind :
       {store::JobKind::kInventory, store::JobKind::kPrepare, store::JobKind::kDeploy,
        store::JobKind::kRollback, store::JobKind::kProbe, store::JobKind::kCleanup}) {
    for (store::JobStatus result : {store::JobStatus::kSucceeded, store::JobStatus::kFailed,
                                    store::JobStatus::kRolledBack, store::JobStatus::kCancelled}) {
      int64_t count = 0;
      for (const store::JobCountRecord& record : jobs) {
        if (record.kind == kind && record.status == result) count = record.count;
      }
      page.Sample("certfleet_jobs_total",
                  {{"kind", std::string(store::ToString(kind))},
                   {"result", std::string(store::ToString(result))}},
                  count);
    }
  }

  std::vector<absl::Duration> bounds;
  for (int64_t seconds : kRenewalBucketSeconds) bounds.push_back(absl::Seconds(seconds));
  CERTFLEET_METRICS_ASSIGN_OR_RETURN(store::DurationHistogram histogram,
                                     store.orders().HistogramOfDoneOrderDurations(bounds));
  page.Family("certfleet_renewal_duration_seconds", "histogram",
              "Time from creating a renewal order to its done state, for every done order.");
  for (size_t index = 0; index < bounds.size(); ++index) {
    page.Sample("certfleet_renewal_duration_seconds_bucket",
                {{"le", absl::StrCat(kRenewalBucketSeconds[index])}},
                histogram.cumulative_counts[index]);
  }
  page.Sample("certfleet_renewal_duration_seconds_bucket", {{"le", "+Inf"}}, histogram.count);
  page.Sample("certfleet_renewal_duration_seconds_sum", {},
              absl::StrFormat("%.6f", absl::ToDoubleSeconds(histogram.sum)));
  page.Sample("certfleet_renewal_duration_seconds_count", {}, histogram.count);

  page.Family("certfleet_host_last_inventory_timestamp_seconds", "gauge",
              "When the controller last stored an inventory report of the host, as a Unix time.");
  store::HostQuery hosts;
  hosts.page.page_size = store::kMaximumPageSize;
  while (true) {
    CERTFLEET_METRICS_ASSIGN_OR_RETURN(store::Page<store::HostRecord> listed,
                                       store.hosts().ListHosts(hosts));
    for (const store::HostRecord& host : listed.items) {
      if (!host.last_inventory_at.has_value()) continue;
      page.Sample("certfleet_host_last_inventory_timestamp_seconds", {{"host", host.hostname}},
                  Seconds(*host.last_inventory_at));
    }
    if (listed.next_page_token.empty()) break;
    hosts.page.page_token = listed.next_page_token;
  }

  const store::ExpiryBucketCounts& buckets = fleet.certificates_by_expiry;
  page.Family("certfleet_certificates_by_expiry", "gauge",
              "Bound certificates by time left: expired, under 7, 30, 90 days, later.");
  page.Sample("certfleet_certificates_by_expiry", {{"bucket", "expired"}}, buckets.expired);
  page.Sample("certfleet_certificates_by_expiry", {{"bucket", "under_7_days"}},
              buckets.under_7_days);
  page.Sample("certfleet_certificates_by_expiry", {{"bucket", "under_30_days"}},
              buckets.under_30_days);
  page.Sample("certfleet_certificates_by_expiry", {{"bucket", "under_90_days"}},
              buckets.under_90_days);
  page.Sample("certfleet_certificates_by_expiry", {{"bucket", "later"}}, buckets.later);

  CERTFLEET_METRICS_ASSIGN_OR_RETURN(store::ServedStatusCounts served,
                                     store.inventory().CountBindingsByServedStatus());
  page.Family("certfleet_bindings_served", "gauge",
              "Bindings with a certificate by what their latest TLS probe found.");
  page.Sample("certfleet_bindings_served", {{"status", "matches"}}, served.matches);
  page.Sample("certfleet_bindings_served", {{"status", "mismatch"}}, served.mismatch);
  page.Sample("certfleet_bindings_served", {{"status", "incomplete_chain"}},
              served.incomplete_chain);
  page.Sample("certfleet_bindings_served", {{"status", "unreachable"}}, served.unreachable);
  page.Sample("certfleet_bindings_served", {{"status", "not_probed"}}, served.not_probed);
  return page.Take();
}

}  // namespace certfleet::controller::http
