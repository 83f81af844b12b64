#include "controller/http/json_api.h"

#include <algorithm>
#include <initializer_list>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "controller/campaigns/wave_progress.h"
#include "controller/http/api_json.h"
#include "controller/http/certificate_csv.h"

// Returns from the calling function when `expression` (an absl::Status) is
// not OK.
#define CERTFLEET_HTTP_RETURN_IF_ERROR(expression) \
  do {                                             \
    absl::Status http_status_ = (expression);      \
    if (!http_status_.ok()) return http_status_;   \
  } while (false)

// Evaluates `expression` (an absl::StatusOr<T>); returns its status when not
// OK, otherwise moves its value into `lhs` (which may be a declaration).
#define CERTFLEET_HTTP_ASSIGN_OR_RETURN(lhs, expression)                                      \
  CERTFLEET_HTTP_ASSIGN_OR_RETURN_IMPL(CERTFLEET_HTTP_CONCAT(http_status_or_, __LINE__), lhs, \
                                       expression)
#define CERTFLEET_HTTP_ASSIGN_OR_RETURN_IMPL(status_or, lhs, expression) \
  auto status_or = (expression);                                         \
  if (!status_or.ok()) return std::move(status_or).status();             \
  lhs = std::move(status_or).value()
#define CERTFLEET_HTTP_CONCAT_INNER(a, b) a##b
#define CERTFLEET_HTTP_CONCAT(a, b) CERTFLEET_HTTP_CONCAT_INNER(a, b)

namespace certfleet::controller::http {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "/api/v1/";
constexpr int kExpiryTimelineDays = 90;
constexpr int kDefaultFailureLimit = 20;
constexpr int kMaximumFailureLimit = 200;
// Pages the CSV export reads at a time.
constexpr int kExportPageSize = 1000;

HttpResponse JsonResponse(const json& body) {
  HttpResponse response;
  response.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return response;
}

// ----- Query parameters ------------------------------------------------------

// InvalidArgument naming the first parameter `resource` does not take.
absl::Status CheckParameters(const HttpRequest& request, std::string_view resource,
                             std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : request.parameters) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      return absl::InvalidArgumentError(
          absl::StrCat("unknown parameter '", name, "' for ", std::string(resource),
                       names.empty() ? " (it takes no parameters)"
                                     : absl::StrCat("; it takes: ", absl::StrJoin(names, ", "))));
    }
  }
  return absl::OkStatus();
}

// The value of a parameter given at most once.
absl::StatusOr<std::optional<std::string>> Single(const HttpRequest& request,
                                                  std::string_view name) {
  auto [first, last] = request.parameters.equal_range(std::string(name));
  if (first == last) return std::optional<std::string>();
  if (std::next(first) != last) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameter '", std::string(name), "' is given more than once"));
  }
  return std::optional<std::string>(first->second);
}

// Every value of a repeatable parameter, also split at commas.
std::vector<std::string> Multiple(const HttpRequest& request, std::string_view name) {
  std::vector<std::string> values;
  auto [first, last] = request.parameters.equal_range(std::string(name));
  for (auto entry = first; entry != last; ++entry) {
    for (absl::string_view value : absl::StrSplit(entry->second, ',', absl::SkipWhitespace())) {
      values.emplace_back(absl::StripAsciiWhitespace(value));
    }
  }
  return values;
}

absl::StatusOr<std::optional<bool>> Boolean(const HttpRequest& request, std::string_view name) {
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> value, Single(request, name));
  if (!value.has_value()) return std::optional<bool>();
  if (*value == "true") return std::optional<bool>(true);
  if (*value == "false") return std::optional<bool>(false);
  return absl::InvalidArgumentError(absl::StrCat("parameter '", std::string(name),
                                                 "' must be true or false, not '", *value, "'"));
}

absl::StatusOr<std::optional<int>> Integer(const HttpRequest& request, std::string_view name,
                                           int minimum) {
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> value, Single(request, name));
  if (!value.has_value()) return std::optional<int>();
  int number = 0;
  if (!absl::SimpleAtoi(*value, &number) || number < minimum) {
    return absl::InvalidArgumentError(absl::StrCat("parameter '", std::string(name),
                                                   "' must be a whole number of at least ", minimum,
                                                   ", not '", *value, "'"));
  }
  return std::optional<int>(number);
}

// page_size (default 100, at most 1000; larger is capped) and page_token.
absl::StatusOr<store::PageRequest> Paging(const HttpRequest& request) {
  store::PageRequest page;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<int> size, Integer(request, "page_size", 1));
  page.page_size = std::min(size.value_or(store::kDefaultPageSize), store::kMaximumPageSize);
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> token, Single(request, "page_token"));
  page.page_token = token.value_or("");
  return page;
}

// "30d", "12h", "90m", "2w", "3600s".
absl::StatusOr<absl::Duration> ParseWithin(std::string_view text) {
  const auto invalid = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("expiring_within must be a whole number with a unit s, m, h, d or w (like "
                     "30d or 12h), not '",
                     std::string(text), "'"));
  };
  if (text.size() < 2) return invalid();
  int64_t amount = 0;
  if (!absl::SimpleAtoi(std::string(text.substr(0, text.size() - 1)), &amount) || amount < 0 ||
      amount > 100 * 366 * 24 * 3600LL) {
    return invalid();
  }
  absl::Duration unit;
  switch (text.back()) {
    case 's':
      unit = absl::Seconds(1);
      break;
    case 'm':
      unit = absl::Minutes(1);
      break;
    case 'h':
      unit = absl::Hours(1);
      break;
    case 'd':
      unit = absl::Hours(24);
      break;
    case 'w':
      unit = absl::Hours(24 * 7);
      break;
    default:
      return invalid();
  }
  const absl::Duration within = unit * amount;
  if (within > absl::Hours(24 * 366 * 100)) return invalid();
  return within;
}

template <typename Item>
json PageJson(const store::Page<Item>& page, json items) {
  return {{"items", std::move(items)},
          {"next_page_token", page.next_page_token},
          {"total_size", page.total_size}};
}

// ----- Names the records do not carry ----------------------------------------

// Host and site names by id, read once per request.
class Names {
 public:
  explicit Names(store::Store* store) : store_(store) {}

  // The host's name, or "" for an unknown host.
  std::string Hostname(const std::string& host_id) {
    auto found = hostnames_.find(host_id);
    if (found != hostnames_.end()) return found->second;
    absl::StatusOr<store::HostRecord> host = store_->hosts().GetHost(host_id);
    std::string name = host.ok() ? host->hostname : "";
    hostnames_.emplace(host_id, name);
    return name;
  }

  // The site's name, or "" when the host's inventory has no such site.
  std::string SiteName(const std::string& host_id, const std::string& site_id) {
    auto found = sites_.find(host_id);
    if (found == sites_.end()) {
      std::map<std::string, std::string> names;
      absl::StatusOr<std::vector<store::SiteRecord>> sites = store_->inventory().ListSites(host_id);
      if (sites.ok()) {
        for (const store::SiteRecord& site : *sites) names[site.site_id] = site.name;
      }
      found = sites_.emplace(host_id, std::move(names)).first;
    }
    auto name = found->second.find(site_id);
    return name == found->second.end() ? "" : name->second;
  }

 private:
  store::Store* store_;
  std::map<std::string, std::string> hostnames_;
  std::map<std::string, std::map<std::string, std::string>> sites_;
};

json StepReference(const store::JobRecord& job,
                   const std::optional<store::StepReportRecord>& step) {
  json answer = {{"job_id", job.job_id},  {"kind", std::string(store::ToString(job.kind))},
                 {"step", nullptr},       {"outcome", nullptr},
                 {"started_at", nullptr}, {"detail", nullptr}};
  if (step.has_value()) {
    answer["step"] = step->step;
    answer["outcome"] = std::string(store::ToString(step->outcome));
    answer["started_at"] = Rfc3339(step->started_at);
    answer["detail"] = step->detail;
  }
  return answer;
}

// The order's latest job with its attempts and steps, if it has one.
absl::StatusOr<std::optional<store::JobRecord>> LatestJob(store::Store& store,
                                                          const std::string& order_id) {
  store::JobQuery query;
  query.order_id = order_id;
  query.page.page_size = 1;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::JobRecord> page, store.jobs().ListJobs(query));
  if (page.items.empty()) return std::optional<store::JobRecord>();
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::JobRecord job,
                                  store.jobs().GetJob(page.items.front().job_id));
  return std::optional<store::JobRecord>(std::move(job));
}

bool IsFailedOrder(const store::OrderRecord& order) {
  return order.state == store::OrderState::kFailed || order.state == store::OrderState::kRolledBack;
}

// An order as the orders resource lists it.
absl::StatusOr<json> OrderJson(store::Store& store, Names& names, const store::OrderRecord& order) {
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<store::JobRecord> job,
                                  LatestJob(store, order.order_id));
  std::optional<store::StepReportRecord> step;
  if (job.has_value()) step = CurrentStep(*job);
  json current_step = job.has_value() ? StepReference(*job, step) : json(nullptr);
  json failure = nullptr;
  if (IsFailedOrder(order)) {
    std::string reason = order.last_failure.has_value() ? order.last_failure->message : "";
    if (reason.empty() && !order.history.empty()) reason = order.history.back().reason;
    failure = {{"step", step.has_value() ? json(step->step) : json(nullptr)},
               {"job_kind",
                job.has_value() ? json(std::string(store::ToString(job->kind))) : json(nullptr)},
               {"code", order.last_failure.has_value() ? order.last_failure->code : ""},
               {"reason", reason}};
  }
  const std::string site_name = names.SiteName(order.host_id, order.site_id);
  return json{{"order_id", order.order_id},
              {"host_id", order.host_id},
              {"hostname", names.Hostname(order.host_id)},
              {"site_id", order.site_id},
              {"site", site_name.empty() ? order.site_id : site_name},
              {"binding_id", order.binding_id},
              {"state", std::string(store::ToString(order.state))},
              {"open", order.open},
              {"trigger", std::string(store::ToString(order.trigger))},
              {"policy", order.policy_name},
              {"connector", order.connector},
              {"subject_alternative_names", order.subject_alternative_names},
              {"previous_thumbprint", order.previous_thumbprint},
              {"issued_thumbprint", order.issued_thumbprint},
              {"attempts", order.attempts},
              {"failed_attempts", order.failed_attempts},
              {"next_attempt_at", OptionalTime(order.next_attempt_at)},
              {"created_at", Rfc3339(order.created_at)},
              {"updated_at", Rfc3339(order.updated_at)},
              {"created_by", order.created_by},
              {"current_step", current_step},
              {"failure", failure}};
}

absl::StatusOr<std::vector<store::OrderState>> ParseOrderStates(
    const std::vector<std::string>& names) {
  std::vector<store::OrderState> states;
  for (const std::string& name : names) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::OrderState state, store::ParseOrderState(name));
    states.push_back(state);
  }
  return states;
}

// The certificates resource's filters, shared with the CSV export.
absl::StatusOr<store::CertificateQuery> CertificateQueryFrom(const HttpRequest& request,
                                                             absl::Time now) {
  store::CertificateQuery query;
  query.include_bindings = true;
  query.scope = store::CertificateScope::kBound;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> within,
                                  Single(request, "expiring_within"));
  if (within.has_value()) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(absl::Duration duration, ParseWithin(*within));
    query.not_after_before = now + duration;
  }
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> host_id, Single(request, "host_id"));
  query.host_id = host_id.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> issuer, Single(request, "issuer"));
  query.issuer_contains = issuer.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> subject, Single(request, "subject"));
  query.subject_contains = subject.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> thumbprint,
                                  Single(request, "thumbprint"));
  query.thumbprint = thumbprint.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> scope, Single(request, "scope"));
  if (scope.has_value()) {
    if (*scope == "bound") {
      query.scope = store::CertificateScope::kBound;
    } else if (*scope == "server") {
      query.scope = store::CertificateScope::kServer;
    } else if (*scope == "all") {
      query.scope = store::CertificateScope::kAll;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("scope must be bound, server or all, not '", *scope, "'"));
    }
  }
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> sort, Single(request, "sort"));
  if (sort.has_value()) {
    if (*sort == "not_after") {
      query.sort_key = store::CertificateSortKey::kNotAfter;
    } else if (*sort == "hostname") {
      query.sort_key = store::CertificateSortKey::kHostname;
    } else if (*sort == "subject") {
      query.sort_key = store::CertificateSortKey::kSubject;
    } else if (*sort == "issuer") {
      query.sort_key = store::CertificateSortKey::kIssuer;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("sort must be not_after, hostname, subject or issuer, not '", *sort, "'"));
    }
  }
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> order, Single(request, "order"));
  if (order.has_value()) {
    if (*order == "asc") {
      query.direction = store::SortDirection::kAscending;
    } else if (*order == "desc") {
      query.direction = store::SortDirection::kDescending;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("order must be asc or desc, not '", *order, "'"));
    }
  }
  return query;
}

const std::initializer_list<std::string_view> kCertificateFilters = {
    "expiring_within", "host_id", "issuer", "subject", "thumbprint", "scope", "sort", "order"};

// ----- Campaigns ---------------------------------------------------------------

// The engine's names without their prefix: WAVE_STATE_SOAKING -> "soaking".
std::string WaveStateName(v1::WaveState state) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::WaveState_Name(state), "WAVE_STATE_"));
}

std::string_view TargetProgressName(campaigns::TargetProgress progress) {
  switch (progress) {
    case campaigns::TargetProgress::kPending:
      return "pending";
    case campaigns::TargetProgress::kInFlight:
      return "in_flight";
    case campaigns::TargetProgress::kDone:
      return "done";
    case campaigns::TargetProgress::kFailed:
      return "failed";
    case campaigns::TargetProgress::kRolledBack:
      return "rolled_back";
    case campaigns::TargetProgress::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

json TimestampJson(bool present, const google::protobuf::Timestamp& timestamp) {
  if (!present) return nullptr;
  return Rfc3339(absl::FromUnixSeconds(timestamp.seconds()) + absl::Nanoseconds(timestamp.nanos()));
}

json ProgressJson(const v1::CampaignProgress& progress) {
  return {{"total", progress.total()},         {"pending", progress.pending()},
          {"in_flight", progress.in_flight()}, {"done", progress.done()},
          {"failed", progress.failed()},       {"rolled_back", progress.rolled_back()},
          {"cancelled", progress.cancelled()}};
}

// A campaign as both campaign resources show it: the stored record with the
// engine's description of its waves (without targets).
json CampaignJson(const store::CampaignRecord& campaign, const v1::Campaign& described) {
  json waves = json::array();
  json current_wave = nullptr;
  for (const v1::CampaignWave& wave : described.waves()) {
    if (current_wave.is_null() &&
        (wave.state() == v1::WAVE_STATE_RUNNING || wave.state() == v1::WAVE_STATE_SOAKING)) {
      current_wave = wave.index();
    }
    waves.push_back({{"number", wave.index()},
                     {"size", wave.progress().total()},
                     {"state", WaveStateName(wave.state())},
                     {"progress", ProgressJson(wave.progress())},
                     {"started_at", TimestampJson(wave.has_started_at(), wave.started_at())},
                     {"finished_at", TimestampJson(wave.has_finished_at(), wave.finished_at())}});
  }
  const v1::FailureBudget& budget = described.spec().failure_budget();
  const v1::CampaignProgress& progress = described.progress();
  return {
      {"campaign_id", campaign.campaign_id},
      {"name", campaign.name},
      {"description", campaign.description},
      {"state", std::string(store::ToString(campaign.state))},
      {"pause_reason", campaign.state == store::CampaignState::kPaused
                           ? json(std::string(store::ToString(campaign.pause_reason)))
                           : json(nullptr)},
      {"state_reason", campaign.state_reason},
      {"created_at", Rfc3339(campaign.created_at)},
      {"started_at", OptionalTime(campaign.started_at)},
      {"finished_at", OptionalTime(campaign.finished_at)},
      {"updated_at", Rfc3339(campaign.updated_at)},
      {"created_by", campaign.created_by},
      {"targets", ProgressJson(progress)},
      {"current_wave", current_wave},
      {"wave_count", described.waves_size()},
      {"failures", progress.failed() + progress.rolled_back()},
      {"failure_budget",
       {{"max_failures", budget.has_max_failures() ? json(budget.max_failures()) : json(nullptr)},
        {"max_failure_percent",
         budget.has_max_failure_percent() ? json(budget.max_failure_percent()) : json(nullptr)}}},
      {"waves", waves}};
}

// One target of a campaign: where its renewal is (by the same rule as the
// engine's progress counts) and its order.
json CampaignTargetJson(const store::CampaignTargetRecord& target) {
  json order_id = nullptr;
  json order_state = nullptr;
  json last_failure = nullptr;
  if (target.order.has_value()) {
    const store::OrderRecord& order = *target.order;
    order_id = order.order_id;
    order_state = std::string(store::ToString(order.state));
    if (IsFailedOrder(order)) last_failure = FailureJson(order.last_failure);
  }
  return {{"host_id", target.host_id},
          {"hostname", target.hostname},
          {"site_id", target.site_id},
          {"site", target.site_name.empty() ? target.site_id : target.site_name},
          {"binding_id", target.binding_id},
          {"state",
           std::string(TargetProgressName(campaigns::ProgressOf(campaigns::StatusOf(target))))},
          {"order_id", order_id},
          {"order_state", order_state},
          {"last_failure", last_failure}};
}

}  // namespace

HttpResponse ErrorResponse(const absl::Status& status) {
  HttpResponse response;
  std::string code;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      response.status = 400;
      code = "invalid_argument";
      break;
    case absl::StatusCode::kUnauthenticated:
      response.status = 401;
      code = "unauthenticated";
      break;
    case absl::StatusCode::kNotFound:
      response.status = 404;
      code = "not_found";
      break;
    case absl::StatusCode::kUnavailable:
      response.status = 503;
      code = "unavailable";
      break;
    default:
      response.status = 500;
      code = "internal";
      break;
  }
  response.body =
      json{{"error", {{"code", code}, {"message", std::string(status.message())}}}}.dump(
          -1, ' ', false, json::error_handler_t::replace);
  return response;
}

JsonApi::JsonApi(store::Store* store, ApiOptions options)
    : store_(store), options_(std::move(options)) {}

HttpResponse JsonApi::Handle(const HttpRequest& request) const {
  absl::StatusOr<HttpResponse> response = Route(request);
  if (!response.ok()) return ErrorResponse(response.status());
  return *std::move(response);
}

absl::StatusOr<int64_t> JsonApi::AgentsConnected() const {
  if (options_.agents_connected) return options_.agents_connected();
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::FleetCounts counts,
                                  store_->inventory().CountFleet(options_.clock()));
  return counts.agents_online;
}

absl::StatusOr<HttpResponse> JsonApi::Route(const HttpRequest& request) const {
  const std::string_view path = request.path;
  const auto not_found = [&] {
    return absl::NotFoundError(absl::StrCat(
        "no resource at ", std::string(path),
        "; the API serves /api/v1/summary, hosts, certificates, certificates.csv, orders, "
        "failures, jobs and campaigns (docs/http-api.md)"));
  };
  if (!path.starts_with(kPrefix)) return not_found();
  const std::vector<std::string> parts =
      absl::StrSplit(std::string(path.substr(kPrefix.size())), '/');
  if (parts.size() == 1) {
    const std::string& resource = parts[0];
    if (resource == "summary") return Summary(request);
    if (resource == "hosts") return ListHosts(request);
    if (resource == "certificates") return ListCertificates(request);
    if (resource == "certificates.csv") return ExportCertificates(request);
    if (resource == "orders") return ListOrders(request);
    if (resource == "failures") return ListFailures(request);
    if (resource == "jobs") return ListJobs(request);
    if (resource == "campaigns") return ListCampaigns(request);
  } else if (parts.size() == 2 && !parts[1].empty()) {
    if (parts[0] == "hosts") return GetHost(request, parts[1]);
    if (parts[0] == "orders") return GetOrder(request, parts[1]);
    if (parts[0] == "jobs") return GetJob(request, parts[1]);
    if (parts[0] == "campaigns") return GetCampaign(request, parts[1]);
  }
  return not_found();
}

absl::StatusOr<HttpResponse> JsonApi::Summary(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/summary", {}));
  // Whole seconds, so that generated_at and the timeline's starts read well.
  const absl::Time now = absl::FromUnixSeconds(absl::ToUnixSeconds(options_.clock()));
  store::InventoryStore& inventory = store_->inventory();
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::FleetCounts fleet, inventory.CountFleet(now));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::ServedStatusCounts served,
                                  inventory.CountBindingsByServedStatus());
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(
      std::vector<store::ExpiryTimelineBucket> timeline,
      inventory.CountBoundCertificatesByExpiry(now, absl::Hours(24), kExpiryTimelineDays));
  using StateCounts = std::map<store::OrderState, int64_t>;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(StateCounts by_state, store_->orders().CountOrdersByState());
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(int64_t open_orders, store_->orders().CountOpenOrders());
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(int64_t agents_connected, AgentsConnected());

  json orders_by_state = json::object();
  for (store::OrderState state : {store::OrderState::kDue, store::OrderState::kCsrRequested,
                                  store::OrderState::kAwaitingIssuance, store::OrderState::kIssued,
                                  store::OrderState::kDeploying, store::OrderState::kVerifying,
                                  store::OrderState::kDone, store::OrderState::kFailed,
                                  store::OrderState::kRolledBack, store::OrderState::kCancelled}) {
    auto found = by_state.find(state);
    orders_by_state[std::string(store::ToString(state))] =
        found == by_state.end() ? 0 : found->second;
  }
  json expiry_timeline = json::array();
  for (const store::ExpiryTimelineBucket& bucket : timeline) {
    expiry_timeline.push_back({{"start", Rfc3339(bucket.start)}, {"count", bucket.count}});
  }
  const store::ExpiryBucketCounts& buckets = fleet.certificates_by_expiry;
  return JsonResponse({
      {"generated_at", Rfc3339(now)},
      {"hosts",
       {{"total", fleet.hosts},
        {"online", fleet.agents_online},
        {"offline", fleet.agents_offline},
        {"inventory_failures", fleet.hosts_with_inventory_failure}}},
      {"agents_connected", agents_connected},
      {"certificates_by_expiry",
       {{"expired", buckets.expired},
        {"under_7_days", buckets.under_7_days},
        {"under_30_days", buckets.under_30_days},
        {"under_90_days", buckets.under_90_days},
        {"later", buckets.later}}},
      {"served",
       {{"matches", served.matches},
        {"mismatch", served.mismatch},
        {"incomplete_chain", served.incomplete_chain},
        {"unreachable", served.unreachable},
        {"not_probed", served.not_probed}}},
      {"orders_by_state", orders_by_state},
      {"orders_in_progress", open_orders},
      {"expiry_timeline_bucket", "day"},
      {"expiry_timeline", expiry_timeline},
  });
}

absl::StatusOr<HttpResponse> JsonApi::ListHosts(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(
      request, "/api/v1/hosts", {"online", "label", "name", "page_size", "page_token"}));
  store::HostQuery query;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.page, Paging(request));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<bool> online, Boolean(request, "online"));
  if (online.has_value()) {
    query.connectivity = *online ? store::Connectivity::kOnline : store::Connectivity::kOffline;
  }
  auto [first, last] = request.parameters.equal_range("label");
  for (auto entry = first; entry != last; ++entry) {
    const size_t equals = entry->second.find('=');
    if (equals == std::string::npos || equals == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("label must be key=value, not '", entry->second, "'"));
    }
    query.selector.labels[entry->second.substr(0, equals)] = entry->second.substr(equals + 1);
  }
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> name, Single(request, "name"));
  query.selector.hostname_pattern = name.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::HostRecord> page,
                                  store_->hosts().ListHosts(query));
  json items = json::array();
  for (const store::HostRecord& host : page.items) items.push_back(HostJson(host));
  return JsonResponse(PageJson(page, std::move(items)));
}

absl::StatusOr<HttpResponse> JsonApi::GetHost(const HttpRequest& request,
                                              const std::string& host_id) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/hosts/{host_id}", {}));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::HostRecord host, store_->hosts().GetHost(host_id));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::vector<store::SiteRecord> sites,
                                  store_->inventory().ListSites(host_id));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::vector<store::BindingRecord> bindings,
                                  store_->inventory().ListBindings(host_id));
  json answer = HostJson(host);
  json site_list = json::array();
  for (const store::SiteRecord& site : sites) {
    json entry = SiteJson(site);
    json site_bindings = json::array();
    for (const store::BindingRecord& binding : bindings) {
      if (binding.site_id == site.site_id) site_bindings.push_back(BindingJson(binding));
    }
    entry["bindings"] = site_bindings;
    site_list.push_back(std::move(entry));
  }
  json binding_list = json::array();
  for (const store::BindingRecord& binding : bindings) binding_list.push_back(BindingJson(binding));
  answer["sites"] = site_list;
  answer["bindings"] = binding_list;
  return JsonResponse(answer);
}

absl::StatusOr<HttpResponse> JsonApi::ListCertificates(const HttpRequest& request) const {
  std::initializer_list<std::string_view> allowed = {
      "expiring_within", "host_id",   "issuer",     "subject",   "thumbprint", "scope", "sort",
      "order",           "page_size", "page_token", "total_size"};
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/certificates", allowed));
  const absl::Time now = options_.clock();
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::CertificateQuery query,
                                  CertificateQueryFrom(request, now));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.page, Paging(request));
  // total_size=false skips counting every match, the dearest part of a
  // large listing (docs/http-api.md, Performance).
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<bool> total_size, Boolean(request, "total_size"));
  query.count_total_size = total_size.value_or(true);
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::CertificateRecord> page,
                                  store_->inventory().ListCertificates(query));
  json items = json::array();
  for (const store::CertificateRecord& certificate : page.items) {
    items.push_back(CertificateJson(certificate, now));
  }
  json answer = PageJson(page, std::move(items));
  if (!query.count_total_size) answer["total_size"] = nullptr;
  return JsonResponse(answer);
}

absl::StatusOr<HttpResponse> JsonApi::ExportCertificates(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(
      CheckParameters(request, "/api/v1/certificates.csv", kCertificateFilters));
  const absl::Time now = options_.clock();
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::CertificateQuery query,
                                  CertificateQueryFrom(request, now));
  query.count_total_size = false;
  query.page.page_size = kExportPageSize;
  // The first page is read now, so that a bad filter is a 400 rather than
  // a broken transfer; the rest is read page by page while it is sent.
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::CertificateRecord> first,
                                  store_->inventory().ListCertificates(query));
  HttpResponse response;
  response.content_type = "text/csv; charset=utf-8";
  response.headers.emplace_back("Content-Disposition",
                                "attachment; filename=\"certfleet-certificates.csv\"");
  response.body = CertificateCsvHeader();
  for (const store::CertificateRecord& certificate : first.items) {
    response.body += CertificateCsvLine(certificate, now);
  }
  if (first.next_page_token.empty()) return response;
  struct ExportState {
    store::CertificateQuery query;
    bool done = false;
  };
  auto state = std::make_shared<ExportState>();
  state->query = query;
  state->query.page.page_token = first.next_page_token;
  store::Store* store = store_;
  response.chunks = [state, store, now]() -> absl::StatusOr<std::string> {
    if (state->done) return std::string();
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::CertificateRecord> page,
                                    store->inventory().ListCertificates(state->query));
    std::string chunk;
    for (const store::CertificateRecord& certificate : page.items) {
      chunk += CertificateCsvLine(certificate, now);
    }
    state->query.page.page_token = page.next_page_token;
    state->done = page.next_page_token.empty();
    return chunk;
  };
  return response;
}

absl::StatusOr<HttpResponse> JsonApi::ListOrders(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(
      request, "/api/v1/orders", {"state", "host_id", "open", "page_size", "page_token"}));
  store::OrderQuery query;
  query.sort_key = store::OrderSortKey::kUpdatedAt;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.page, Paging(request));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.states, ParseOrderStates(Multiple(request, "state")));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> host_id, Single(request, "host_id"));
  query.host_id = host_id.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<bool> open, Boolean(request, "open"));
  if (open.has_value() && !*open) {
    return absl::InvalidArgumentError(
        "open=false is not a filter; list closed orders with state=done,failed,rolled_back,"
        "cancelled");
  }
  query.open_only = open.value_or(false);
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::OrderRecord> page,
                                  store_->orders().ListOrders(query));
  Names names(store_);
  json items = json::array();
  for (const store::OrderRecord& order : page.items) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(json item, OrderJson(*store_, names, order));
    items.push_back(std::move(item));
  }
  return JsonResponse(PageJson(page, std::move(items)));
}

absl::StatusOr<HttpResponse> JsonApi::GetOrder(const HttpRequest& request,
                                               const std::string& order_id) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/orders/{order_id}", {}));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::OrderRecord order, store_->orders().GetOrder(order_id));
  Names names(store_);
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(json answer, OrderJson(*store_, names, order));
  json history = json::array();
  for (const store::OrderStateChange& change : order.history) {
    history.push_back(OrderStateChangeJson(change));
  }
  answer["history"] = history;
  answer["last_failure"] = FailureJson(order.last_failure);
  store::JobQuery query;
  query.order_id = order.order_id;
  query.page.page_size = store::kMaximumPageSize;
  json jobs = json::array();
  while (true) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::JobRecord> page,
                                    store_->jobs().ListJobs(query));
    for (const store::JobRecord& listed : page.items) {
      CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::JobRecord job, store_->jobs().GetJob(listed.job_id));
      jobs.push_back(JobJson(job, names.Hostname(job.host_id)));
    }
    if (page.next_page_token.empty()) break;
    query.page.page_token = page.next_page_token;
  }
  answer["jobs"] = jobs;
  return JsonResponse(answer);
}

absl::StatusOr<HttpResponse> JsonApi::ListFailures(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/failures", {"limit"}));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<int> asked, Integer(request, "limit", 1));
  const int limit = std::min(asked.value_or(kDefaultFailureLimit), kMaximumFailureLimit);
  Names names(store_);

  struct Failure {
    absl::Time at;
    json item;
  };
  std::vector<Failure> failures;
  std::vector<std::string> failed_order_ids;

  store::OrderQuery orders;
  orders.states = {store::OrderState::kFailed, store::OrderState::kRolledBack};
  orders.sort_key = store::OrderSortKey::kUpdatedAt;
  orders.page.page_size = limit;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::OrderRecord> order_page,
                                  store_->orders().ListOrders(orders));
  for (const store::OrderRecord& order : order_page.items) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(json listed, OrderJson(*store_, names, order));
    const json& failure = listed["failure"];
    json step = nullptr;
    if (!listed["current_step"].is_null()) {
      step = {{"kind", listed["current_step"]["kind"]}, {"step", failure["step"]}};
    }
    failed_order_ids.push_back(order.order_id);
    failures.push_back(
        {order.updated_at,
         {{"type", "order"},
          {"at", Rfc3339(order.updated_at)},
          {"order_id", order.order_id},
          {"job_id",
           listed["current_step"].is_null() ? json(nullptr) : listed["current_step"]["job_id"]},
          {"host_id", order.host_id},
          {"hostname", listed["hostname"]},
          {"site_id", order.site_id},
          {"site", listed["site"]},
          {"state", listed["state"]},
          {"step", step},
          {"code", failure["code"]},
          {"reason", failure["reason"]}}});
  }

  store::JobQuery jobs;
  jobs.statuses = {store::JobStatus::kFailed, store::JobStatus::kRolledBack};
  jobs.page.page_size = limit;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::JobRecord> job_page,
                                  store_->jobs().ListJobs(jobs));
  for (const store::JobRecord& listed : job_page.items) {
    // A failed job of a failed order is already told by the order's entry.
    if (std::find(failed_order_ids.begin(), failed_order_ids.end(), listed.order_id) !=
        failed_order_ids.end()) {
      continue;
    }
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::JobRecord job, store_->jobs().GetJob(listed.job_id));
    const std::optional<store::StepReportRecord> step = CurrentStep(job);
    std::string reason;
    std::string code;
    if (job.result.has_value() && job.result->failure.has_value()) {
      reason = job.result->failure->message;
      code = job.result->failure->code;
    }
    if (reason.empty() && step.has_value() && step->failure.has_value()) {
      reason = step->failure->message;
    }
    std::string site_id;
    std::string site;
    if (!job.order_id.empty()) {
      absl::StatusOr<store::OrderRecord> order = store_->orders().GetOrder(job.order_id);
      if (order.ok()) {
        site_id = order->site_id;
        site = names.SiteName(order->host_id, order->site_id);
        if (site.empty()) site = site_id;
      }
    }
    const absl::Time at = job.finished_at.value_or(job.created_at);
    failures.push_back({at,
                        {{"type", "job"},
                         {"at", Rfc3339(at)},
                         {"order_id", job.order_id.empty() ? json(nullptr) : json(job.order_id)},
                         {"job_id", job.job_id},
                         {"host_id", job.host_id},
                         {"hostname", names.Hostname(job.host_id)},
                         {"site_id", site_id.empty() ? json(nullptr) : json(site_id)},
                         {"site", site.empty() ? json(nullptr) : json(site)},
                         {"state", std::string(store::ToString(job.status))},
                         {"step",
                          {{"kind", std::string(store::ToString(job.kind))},
                           {"step", step.has_value() ? json(step->step) : json(nullptr)}}},
                         {"code", code},
                         {"reason", reason}}});
  }
  std::stable_sort(failures.begin(), failures.end(),
                   [](const Failure& left, const Failure& right) { return left.at > right.at; });
  if (failures.size() > static_cast<size_t>(limit)) failures.resize(limit);
  json items = json::array();
  for (Failure& failure : failures) items.push_back(std::move(failure.item));
  return JsonResponse({{"items", items}});
}

absl::StatusOr<HttpResponse> JsonApi::ListJobs(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(
      CheckParameters(request, "/api/v1/jobs",
                      {"host_id", "order_id", "kind", "state", "page_size", "page_token"}));
  store::JobQuery query;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.page, Paging(request));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> host_id, Single(request, "host_id"));
  query.host_id = host_id.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> order_id, Single(request, "order_id"));
  query.order_id = order_id.value_or("");
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::optional<std::string> kind, Single(request, "kind"));
  if (kind.has_value()) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.kind, store::ParseJobKind(*kind));
  }
  for (const std::string& name : Multiple(request, "state")) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::JobStatus status, store::ParseJobStatus(name));
    query.statuses.push_back(status);
  }
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::JobRecord> page,
                                  store_->jobs().ListJobs(query));
  Names names(store_);
  json items = json::array();
  for (const store::JobRecord& job : page.items) {
    items.push_back(JobJson(job, names.Hostname(job.host_id)));
  }
  return JsonResponse(PageJson(page, std::move(items)));
}

absl::StatusOr<HttpResponse> JsonApi::GetJob(const HttpRequest& request,
                                             const std::string& job_id) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/jobs/{job_id}", {}));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::JobRecord job, store_->jobs().GetJob(job_id));
  Names names(store_);
  json answer = JobJson(job, names.Hostname(job.host_id));
  if (!answer.contains("attempts")) answer["attempts"] = json::array();
  return JsonResponse(answer);
}

absl::StatusOr<HttpResponse> JsonApi::ListCampaigns(const HttpRequest& request) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(
      CheckParameters(request, "/api/v1/campaigns", {"state", "page_size", "page_token"}));
  CERTFLEET_HTTP_RETURN_IF_ERROR(CampaignsAvailable());
  store::CampaignQuery query;
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(query.page, Paging(request));
  for (const std::string& name : Multiple(request, "state")) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::CampaignState state, store::ParseCampaignState(name));
    query.states.push_back(state);
  }
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::Page<store::CampaignRecord> page,
                                  store_->campaigns().ListCampaigns(query));
  json items = json::array();
  for (const store::CampaignRecord& campaign : page.items) {
    CERTFLEET_HTTP_ASSIGN_OR_RETURN(v1::Campaign described, options_.describe_campaign(campaign));
    items.push_back(CampaignJson(campaign, described));
  }
  return JsonResponse(PageJson(page, std::move(items)));
}

absl::StatusOr<HttpResponse> JsonApi::GetCampaign(const HttpRequest& request,
                                                  const std::string& campaign_id) const {
  CERTFLEET_HTTP_RETURN_IF_ERROR(CheckParameters(request, "/api/v1/campaigns/{campaign_id}", {}));
  CERTFLEET_HTTP_RETURN_IF_ERROR(CampaignsAvailable());
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(store::CampaignRecord campaign,
                                  store_->campaigns().GetCampaign(campaign_id));
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(v1::Campaign described, options_.describe_campaign(campaign));
  // Read after the description, so a target may already be one step further
  // than its wave's counts; the next poll agrees again.
  CERTFLEET_HTTP_ASSIGN_OR_RETURN(std::vector<store::CampaignTargetRecord> targets,
                                  store_->campaigns().ListTargets(campaign_id));
  json answer = CampaignJson(campaign, described);
  for (json& wave : answer["waves"]) wave["targets"] = json::array();
  for (const store::CampaignTargetRecord& target : targets) {
    if (target.wave_index < 0 || static_cast<size_t>(target.wave_index) >= answer["waves"].size()) {
      continue;
    }
    answer["waves"][static_cast<size_t>(target.wave_index)]["targets"].push_back(
        CampaignTargetJson(target));
  }
  return JsonResponse(answer);
}

absl::Status JsonApi::CampaignsAvailable() const {
  if (options_.describe_campaign) return absl::OkStatus();
  return absl::UnavailableError(
      "campaigns are not available: this controller does not run the renewal engine (and with "
      "it the campaign engine)");
}

}  // namespace certfleet::controller::http
