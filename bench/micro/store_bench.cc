// Micro-benchmarks of the controller store's hottest queries on SQLite
// (controller/store/sqlite/), against a database file in a mkdtemp folder
// filled once per process with a realistic fleet:
//
// - `--hosts` hosts (default 10,000), each with 3 sites bound to their own
//   leaf certificates and `--certificates-per-host` certificate placements
//   (default 10, so 100,000 in all): the 3 bound leaves, older unbound
//   leaves in MY, the fleet's issuing CA in CA and its root in ROOT; notAfter
//   spread over -30 .. +365 days; one probed binding per host; 90% online.
// - One order on every fifth host in a mix of states (mostly done, some
//   due, failed with a retry, and in flight), a finished inventory job on
//   every second host, and a running campaign with one target per host in
//   10 waves whose first wave has orders.
//
// What is measured is what runs on every inventory report (applying one,
// unchanged and changed), every dashboard poll (the summary's counts, the
// offline hosts, the inventory page, open orders), "expiring within 30
// days", the renewal engine's per-pass reads (controller/renewal/
// renewal_engine.cc: the host walk, a host's bindings and bound
// certificates, a binding's latest order, the in-flight orders, the ready
// orders), job dispatch (create, lease, complete; a lease poll with nothing
// queued; lease expiry; hosts with queued jobs) and the campaign engine's
// per-pass reads (controller/campaigns/campaign_engine.cc).
//
//   build/bin/store_bench [--hosts N] [--certificates-per-host N] [benchmark flags]
//   build/bin/store_bench --hosts 50 --benchmark_min_time=0.01   # the smoke run
//   # Seed a database and keep it, to read query plans with the sqlite3 shell:
//   CERTFLEET_STORE_BENCH_DATABASE=/tmp/fleet.db build/bin/store_bench --benchmark_filter=NONE
//
// Exits non-zero when the fleet cannot be seeded or a benchmark fails.
//
// Thread safety: single-threaded program.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/micro/micro_bench_support.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/sqlite_store.h"

namespace {

namespace store = certfleet::controller::store;
using certfleet::bench::Fail;

constexpr int kSitesPerHost = 3;
constexpr int kCampaignWaves = 10;
constexpr absl::Duration kDay = absl::Hours(24);

int host_count = 10000;
int certificates_per_host = 10;

std::unique_ptr<store::SqliteStore> fleet;
std::vector<std::string> host_ids;
// The time the fleet was seeded around; benchmarks move `clock` forward
// from it so that reports and leases are always newer than the stored ones.
absl::Time seeded_at;
absl::Time clock_now;
std::string campaign_id;
// Which report variant each host's stored inventory is (0 or 1).
std::vector<int> report_variant;

absl::Time Tick() { return clock_now += absl::Seconds(1); }

std::string Thumbprint(int64_t number) { return absl::StrFormat("%040X", number); }

store::CertificateRecord Certificate(int64_t number, store::CertificateStoreName where,
                                     std::string_view kind, absl::Time not_after) {
  store::CertificateRecord certificate;
  certificate.store = where;
  certificate.thumbprint_sha1 = Thumbprint(number);
  certificate.fingerprint_sha256 = absl::StrFormat("%064X", number);
  certificate.subject = absl::StrCat("CN=www", number, ".example.com,O=Example Ltd,C=JP");
  certificate.subject_name.common_name = absl::StrCat("www", number, ".example.com");
  certificate.subject_name.organization = "Example Ltd";
  certificate.subject_name.country = "JP";
  certificate.issuer = "CN=Example Issuing CA,O=Example Ltd,C=JP";
  certificate.issuer_name.common_name = "Example Issuing CA";
  certificate.serial_number = absl::StrFormat("%032X", number);
  certificate.not_after = not_after;
  certificate.not_before = not_after - kDay * 397;
  certificate.subject_alternative_names = {absl::StrCat("DNS:www", number, ".example.com"),
                                           absl::StrCat("DNS:alt", number, ".example.com")};
  certificate.key_algorithm = "RSA";
  certificate.key_bits = 2048;
  certificate.signature_algorithm = "sha256WithRSAEncryption";
  certificate.signature_hash = "SHA256";
  certificate.kind = std::string(kind);
  certificate.is_ca = kind != "LEAF";
  certificate.public_key_sha256 = absl::StrFormat("%064X", number + (int64_t{1} << 40));
  certificate.has_private_key = kind == "LEAF";
  certificate.der = std::string(1300, 'd');
  return certificate;
}

// Host `host`'s inventory. Variant 1 is the same host after binding 1 was
// renewed: a new leaf bound to it, the old one still in MY.
store::InventoryReport Report(int host, int variant, absl::Time scanned_at) {
  store::InventoryReport report;
  report.host_id = host_ids[host];
  report.scanned_at = scanned_at;
  report.content_hash = absl::StrCat("inventory-", host, "-", variant);
  const int64_t first = int64_t{host} * certificates_per_host + 1000;
  auto not_after = [&](int64_t number) {
    // Spread over -30 .. +365 days with a prime stride.
    return seeded_at + kDay * (static_cast<double>((number * 7919) % 395) - 30.5);
  };
  for (int site = 1; site <= kSitesPerHost; ++site) {
    store::SiteRecord record;
    record.site_id = absl::StrCat(1000000000 + site * 7919);
    record.name = absl::StrCat("Site ", site, " of web-", host);
    record.state = "started";
    record.auto_start = true;
    record.content_path = absl::StrCat("D:\\Sites\\site", site);
    record.configuration_location = absl::StrCat("/LM/W3SVC/", record.site_id);
    report.sites.push_back(record);
    store::BindingRecord binding;
    binding.binding_id = record.site_id;
    binding.site_id = record.site_id;
    binding.secure_endpoints = {{"", 443 + site, ""}};
    binding.plain_endpoints = {{"", 80, absl::StrCat("site", site, ".web-", host, ".example.com")}};
    binding.certificate_thumbprint = Thumbprint(first + site - 1);
    report.bindings.push_back(binding);
  }
  for (int index = 0; index < certificates_per_host - 2; ++index) {
    report.certificates.push_back(Certificate(first + index, store::CertificateStoreName::kMy,
                                              "LEAF", not_after(first + index)));
  }
  if (variant == 1) {
    const int64_t renewed = first + (int64_t{1} << 36);
    report.certificates.push_back(
        Certificate(renewed, store::CertificateStoreName::kMy, "LEAF", seeded_at + kDay * 397));
    report.bindings[0].certificate_thumbprint = Thumbprint(renewed);
  }
  report.certificates.push_back(
      Certificate(1, store::CertificateStoreName::kCa, "INTERMEDIATE", seeded_at + kDay * 3650));
  report.certificates.push_back(
      Certificate(2, store::CertificateStoreName::kRoot, "ROOT", seeded_at + kDay * 7300));
  return report;
}

template <typename Item>
using Lister = std::function<absl::StatusOr<store::Page<Item>>(const store::PageRequest&)>;

// Every page of a listing, as the engines walk them.
template <typename Item>
absl::StatusOr<std::vector<Item>> ListAll(const Lister<Item>& list, int page_size) {
  std::vector<Item> all;
  store::PageRequest page{.page_size = page_size, .page_token = {}};
  while (true) {
    absl::StatusOr<store::Page<Item>> found = list(page);
    if (!found.ok()) return found.status();
    for (Item& item : found->items) all.push_back(std::move(item));
    if (found->next_page_token.empty()) return all;
    page.page_token = found->next_page_token;
  }
}

// Moves an order along `states` (due is where it starts).
absl::Status Advance(const std::string& order_id, const std::vector<store::OrderState>& states) {
  store::OrderState from = store::OrderState::kDue;
  for (store::OrderState to : states) {
    store::OrderTransition transition;
    transition.order_id = order_id;
    transition.expected_state = from;
    transition.to = to;
    transition.at = seeded_at - absl::Minutes(10);
    transition.reason = "seeded";
    transition.actor = "bench";
    if (to == store::OrderState::kFailed) {
      transition.failure = store::FailureRecord{.code = "FAILURE_CODE_ISSUANCE",
                                                .message = "the CA did not answer",
                                                .retryable = true,
                                                .diagnosis = {}};
      transition.next_attempt_at = seeded_at - absl::Minutes(1);
    }
    if (to == store::OrderState::kIssued) {
      transition.certificate_pem = std::string(1800, 'c');
      transition.chain_pem = std::string(3600, 'c');
    }
    absl::StatusOr<store::OrderRecord> moved = fleet->orders().TransitionOrder(transition);
    if (!moved.ok()) return moved.status();
    from = to;
  }
  return absl::OkStatus();
}

// The states an order is seeded through, chosen by `number`: mostly done,
// some due or failed (ready for the scheduler), some in flight.
std::vector<store::OrderState> OrderPath(int number) {
  using S = store::OrderState;
  const std::vector<S> done = {S::kCsrRequested, S::kAwaitingIssuance, S::kIssued,
                               S::kDeploying,    S::kVerifying,        S::kDone};
  switch (number % 20) {
    case 0:
    case 1:
      return {};  // Due.
    case 2:
    case 3:
      return {S::kCsrRequested, S::kFailed};
    case 4:
      return {S::kCsrRequested};
    case 5:
      return {S::kCsrRequested, S::kAwaitingIssuance};
    case 6:
      return {S::kCsrRequested, S::kAwaitingIssuance, S::kIssued};
    case 7:
      return {S::kCsrRequested, S::kAwaitingIssuance, S::kIssued, S::kDeploying};
    default:
      return done;
  }
}

absl::Status CreateSeededOrder(int host, int site, int number, const std::string& campaign) {
  store::NewOrder order;
  order.host_id = host_ids[host];
  order.site_id = absl::StrCat(1000000000 + site * 7919);
  order.binding_id = order.site_id;
  order.trigger =
      campaign.empty() ? store::OrderTrigger::kSchedule : store::OrderTrigger::kCampaign;
  order.campaign_id = campaign;
  order.policy_name = std::string(store::kDefaultPolicyName);
  order.connector = "local";
  order.subject.common_name = absl::StrCat("site", site, ".web-", host, ".example.com");
  order.subject_alternative_names = {absl::StrCat("DNS:", order.subject.common_name)};
  order.key_spec = "RSA_2048";
  order.signature_hash = "SHA256";
  order.previous_thumbprint = Thumbprint(int64_t{host} * certificates_per_host + 1000 + site - 1);
  order.created_at = seeded_at - absl::Hours(1) + absl::Seconds(number);
  order.next_attempt_at = order.created_at;
  order.created_by = "scheduler";
  order.reason = "seeded";
  absl::StatusOr<store::OrderRecord> created = fleet->orders().CreateOrder(order);
  if (!created.ok()) return created.status();
  return Advance(created->order_id, OrderPath(number));
}

// A finished inventory job: create, lease, complete.
absl::Status RunInventoryJob(const std::string& host_id, absl::Time at) {
  store::NewJob job;
  job.host_id = host_id;
  job.kind = store::JobKind::kInventory;
  job.spec = std::string(40, 's');
  job.created_at = at;
  job.created_by = "scheduler";
  absl::StatusOr<store::JobRecord> created = fleet->jobs().CreateJob(job, std::nullopt);
  if (!created.ok()) return created.status();
  absl::StatusOr<std::optional<store::JobRecord>> leased =
      fleet->jobs().LeaseNextJob(host_id, at, at + absl::Minutes(5));
  if (!leased.ok()) return leased.status();
  if (!leased->has_value()) return absl::InternalError("the job just queued was not leased");
  store::JobCompletion completion;
  completion.job_id = (*leased)->job_id;
  completion.attempt = (*leased)->attempt;
  completion.result.outcome = store::JobOutcome::kSucceeded;
  completion.result.finished_at = at;
  completion.received_at = at;
  absl::StatusOr<store::JobCompletionResult> completed =
      fleet->jobs().CompleteJob(completion, std::nullopt);
  return completed.status();
}

absl::Status Seed(const std::filesystem::path& database) {
  std::error_code error;
  if (std::filesystem::exists(database, error)) {
    return absl::AlreadyExistsError(
        absl::StrCat(database.string(), " exists; the fleet is seeded into a new database"));
  }
  absl::StatusOr<std::unique_ptr<store::SqliteStore>> opened =
      store::SqliteStore::Open({.path = database.string()});
  if (!opened.ok()) return opened.status();
  fleet = *std::move(opened);
  seeded_at = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  clock_now = seeded_at;
  const absl::Time seeding_started = absl::Now();

  std::vector<store::HostHeartbeat> heartbeats;
  for (int host = 0; host < host_count; ++host) {
    const std::string secret = absl::StrFormat("%064x", host);
    store::NewJoinToken token;
    token.secret_sha256 = secret;
    token.created_at = seeded_at - absl::Hours(2);
    token.expires_at = seeded_at + absl::Hours(2);
    if (absl::StatusOr<store::JoinTokenRecord> created =
            fleet->join_tokens().CreateJoinToken(token);
        !created.ok()) {
      return created.status();
    }
    store::HostEnrollment enrollment;
    enrollment.host_id = store::GenerateId(store::IdKind::kHost);
    enrollment.hostname = absl::StrFormat("web-%05d.example.com", host);
    enrollment.join_token_secret_sha256 = secret;
    enrollment.labels = {{"environment", host % 10 == 0 ? "staging" : "production"},
                         {"region", absl::StrCat("region-", host % 4)}};
    enrollment.platform.driver = "iis6";
    enrollment.platform.web_server = "IIS 6.0";
    enrollment.platform.operating_system = "Windows Server 2003 R2";
    enrollment.agent_version = "0.1.0";
    enrollment.enrolled_at = seeded_at - absl::Hours(1);
    absl::StatusOr<store::HostRecord> enrolled = fleet->hosts().EnrollHost(enrollment);
    if (!enrolled.ok()) return enrolled.status();
    host_ids.push_back(enrolled->host_id);
    absl::StatusOr<store::InventoryIngestResult> ingested =
        fleet->inventory().IngestInventory(Report(host, 0, seeded_at), seeded_at);
    if (!ingested.ok()) return ingested.status();
    report_variant.push_back(0);
    store::BindingProbeRecord probe;
    probe.host_id = enrolled->host_id;
    probe.binding_id = absl::StrCat(1000000000 + 7919);
    probe.endpoint = "10.0.0.5:444";
    probe.probed_at = seeded_at;
    probe.status =
        host % 50 == 0 ? store::ServedStatus::kIncompleteChain : store::ServedStatus::kMatches;
    probe.served_thumbprint = Thumbprint(int64_t{host} * certificates_per_host + 1000);
    if (absl::Status status = fleet->inventory().RecordBindingProbe(probe); !status.ok()) {
      return status;
    }
    if (host % 10 != 9) heartbeats.push_back({enrolled->host_id, seeded_at});
  }
  if (absl::StatusOr<int64_t> beaten = fleet->hosts().RecordHeartbeats(heartbeats); !beaten.ok()) {
    return beaten.status();
  }

  // Scheduled orders for binding 1 of every fifth host.
  int order_number = 0;
  for (int host = 0; host < host_count; host += 5) {
    if (absl::Status status = CreateSeededOrder(host, 1, order_number++, ""); !status.ok()) {
      return status;
    }
  }
  // Finished inventory jobs on every second host.
  for (int host = 0; host < host_count; host += 2) {
    if (absl::Status status = RunInventoryJob(host_ids[host], seeded_at - absl::Minutes(30));
        !status.ok()) {
      return status;
    }
  }
  // A running campaign over binding 2 of every host, its first wave started.
  store::CampaignRecord campaign;
  campaign.campaign_id = store::GenerateId(store::IdKind::kCampaign);
  campaign.name = "sha256-migration";
  campaign.description = "Move every site to SHA-256 certificates";
  campaign.spec = std::string(200, 's');
  campaign.created_at = seeded_at - absl::Hours(1);
  campaign.updated_at = campaign.created_at;
  campaign.created_by = "admin";
  std::vector<store::CampaignTargetRecord> targets;
  const int wave_size = std::max(1, host_count / kCampaignWaves);
  for (int host = 0; host < host_count; ++host) {
    store::CampaignTargetRecord target;
    target.wave_index = std::min(host / wave_size, kCampaignWaves - 1);
    target.host_id = host_ids[host];
    target.site_id = absl::StrCat(1000000000 + 2 * 7919);
    target.binding_id = target.site_id;
    target.planned_thumbprint = Thumbprint(int64_t{host} * certificates_per_host + 1001);
    targets.push_back(target);
  }
  absl::StatusOr<store::CampaignRecord> created =
      fleet->campaigns().CreateCampaign(campaign, targets);
  if (!created.ok()) return created.status();
  campaign_id = created->campaign_id;
  store::CampaignTransition start;
  start.campaign_id = campaign_id;
  start.expected_states = {store::CampaignState::kDraft};
  start.to = store::CampaignState::kRunning;
  start.reason = "started by admin";
  start.at = seeded_at - absl::Minutes(50);
  if (absl::StatusOr<store::CampaignRecord> running = fleet->campaigns().TransitionCampaign(start);
      !running.ok()) {
    return running.status();
  }
  for (int host = 0; host < wave_size && host < host_count; ++host) {
    if (absl::Status status = CreateSeededOrder(host, 2, order_number++, campaign_id);
        !status.ok()) {
      return status;
    }
  }
  std::cerr << "seeded " << host_count << " hosts, " << host_count * certificates_per_host
            << " certificate placements, " << order_number << " orders, " << (host_count + 1) / 2
            << " jobs, a campaign of " << host_count << " targets in "
            << absl::FormatDuration(absl::Now() - seeding_started) << "\n";
  return absl::OkStatus();
}

// Hosts visited round-robin by benchmarks that work on one host.
const std::string& NextHost(int& cursor) {
  cursor = (cursor + 1) % host_count;
  return host_ids[cursor];
}

// ----- Inventory reports ---------------------------------------------------

// A report whose content hash is the stored one: only the times change.
void BM_IngestInventoryUnchanged(benchmark::State& state) {
  int host = 0;
  for (auto _ : state) {
    state.PauseTiming();
    host = (host + 1) % host_count;
    const absl::Time at = Tick();
    store::InventoryReport report = Report(host, report_variant[host], at);
    state.ResumeTiming();
    absl::StatusOr<store::InventoryIngestResult> result =
        fleet->inventory().IngestInventory(report, at);
    if (!result.ok()) return Fail(state, "IngestInventory", result.status());
    if (result->disposition != store::InventoryDisposition::kUnchanged) {
      return Fail(state, "an unchanged report was not read as unchanged");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IngestInventoryUnchanged)->Unit(benchmark::kMicrosecond);

// A report after a renewal: binding 1 now uses a new certificate (a history
// row, the probe dropped, placements and bound flags rewritten). Each host
// alternates between its two variants.
void BM_IngestInventoryChanged(benchmark::State& state) {
  int host = 0;
  for (auto _ : state) {
    state.PauseTiming();
    host = (host + 1) % host_count;
    report_variant[host] ^= 1;
    const absl::Time at = Tick();
    store::InventoryReport report = Report(host, report_variant[host], at);
    state.ResumeTiming();
    absl::StatusOr<store::InventoryIngestResult> result =
        fleet->inventory().IngestInventory(report, at);
    if (!result.ok()) return Fail(state, "IngestInventory", result.status());
    if (result->disposition != store::InventoryDisposition::kApplied) {
      return Fail(state, "a changed report was not applied");
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_IngestInventoryChanged)->Unit(benchmark::kMicrosecond);

// ----- Expiring within 30 days and the dashboard poll -----------------------

// The first page (100) of certificates expiring within 30 days, with the
// total count, as the API and the alerting ask for it.
void BM_ExpiringWithin30Days(benchmark::State& state, store::CertificateScope scope) {
  for (auto _ : state) {
    absl::StatusOr<store::Page<store::CertificateRecord>> page =
        fleet->inventory().ListCertificatesExpiringWithin(clock_now, kDay * 30, scope, {});
    if (!page.ok()) return Fail(state, "ListCertificatesExpiringWithin", page.status());
    state.counters["matches"] = static_cast<double>(page->total_size);
    benchmark::DoNotOptimize(page);
  }
}
BENCHMARK_CAPTURE(BM_ExpiringWithin30Days, bound, store::CertificateScope::kBound)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ExpiringWithin30Days, all_stores, store::CertificateScope::kAll)
    ->Unit(benchmark::kMillisecond);

// The store reads behind GET /api/v1/summary (controller/http/json_api.cc).
void BM_DashboardSummary(benchmark::State& state) {
  store::InventoryStore& inventory = fleet->inventory();
  for (auto _ : state) {
    absl::StatusOr<store::FleetCounts> counts = inventory.CountFleet(clock_now);
    if (!counts.ok()) return Fail(state, "CountFleet", counts.status());
    absl::StatusOr<store::ServedStatusCounts> served = inventory.CountBindingsByServedStatus();
    if (!served.ok()) return Fail(state, "CountBindingsByServedStatus", served.status());
    absl::StatusOr<std::vector<store::ExpiryTimelineBucket>> timeline =
        inventory.CountBoundCertificatesByExpiry(clock_now, kDay, 90);
    if (!timeline.ok()) return Fail(state, "CountBoundCertificatesByExpiry", timeline.status());
    absl::StatusOr<std::map<store::OrderState, int64_t>> by_state =
        fleet->orders().CountOrdersByState();
    if (!by_state.ok()) return Fail(state, "CountOrdersByState", by_state.status());
    absl::StatusOr<int64_t> open = fleet->orders().CountOpenOrders();
    if (!open.ok()) return Fail(state, "CountOpenOrders", open.status());
    benchmark::DoNotOptimize(counts);
    benchmark::DoNotOptimize(timeline);
  }
}
BENCHMARK(BM_DashboardSummary)->Unit(benchmark::kMillisecond);

// The other four requests of a dashboard poll (dashboard.js refresh()).
void BM_DashboardLists(benchmark::State& state) {
  for (auto _ : state) {
    store::HostQuery offline;
    offline.connectivity = store::Connectivity::kOffline;
    offline.page.page_size = 10;
    absl::StatusOr<store::Page<store::HostRecord>> hosts = fleet->hosts().ListHosts(offline);
    if (!hosts.ok()) return Fail(state, "ListHosts (offline)", hosts.status());
    store::CertificateQuery inventory_page;
    inventory_page.scope = store::CertificateScope::kBound;
    inventory_page.include_bindings = true;
    inventory_page.page.page_size = 50;
    absl::StatusOr<store::Page<store::CertificateRecord>> certificates =
        fleet->inventory().ListCertificates(inventory_page);
    if (!certificates.ok()) return Fail(state, "ListCertificates (page)", certificates.status());
    store::OrderQuery open_orders;
    open_orders.open_only = true;
    open_orders.sort_key = store::OrderSortKey::kUpdatedAt;
    open_orders.page.page_size = 50;
    absl::StatusOr<store::Page<store::OrderRecord>> orders =
        fleet->orders().ListOrders(open_orders);
    if (!orders.ok()) return Fail(state, "ListOrders (open)", orders.status());
    store::OrderQuery failures;
    failures.states = {store::OrderState::kFailed, store::OrderState::kRolledBack};
    failures.sort_key = store::OrderSortKey::kUpdatedAt;
    failures.page.page_size = 10;
    absl::StatusOr<store::Page<store::OrderRecord>> failed = fleet->orders().ListOrders(failures);
    if (!failed.ok()) return Fail(state, "ListOrders (failures)", failed.status());
    benchmark::DoNotOptimize(certificates);
  }
}
BENCHMARK(BM_DashboardLists)->Unit(benchmark::kMillisecond);

// Each call of the poll alone, to tell which one costs what.
template <typename Call>
void Repeat(benchmark::State& state, std::string_view what, Call call) {
  for (auto _ : state) {
    auto result = call();
    if (!result.ok()) return Fail(state, what, result.status());
    benchmark::DoNotOptimize(result);
  }
}
void BM_DashboardCountFleet(benchmark::State& state) {
  Repeat(state, "CountFleet", [] { return fleet->inventory().CountFleet(clock_now); });
}
BENCHMARK(BM_DashboardCountFleet)->Unit(benchmark::kMillisecond);
void BM_DashboardCountServed(benchmark::State& state) {
  Repeat(state, "CountBindingsByServedStatus",
         [] { return fleet->inventory().CountBindingsByServedStatus(); });
}
BENCHMARK(BM_DashboardCountServed)->Unit(benchmark::kMillisecond);
void BM_DashboardExpiryTimeline(benchmark::State& state) {
  Repeat(state, "CountBoundCertificatesByExpiry",
         [] { return fleet->inventory().CountBoundCertificatesByExpiry(clock_now, kDay, 90); });
}
BENCHMARK(BM_DashboardExpiryTimeline)->Unit(benchmark::kMillisecond);
void BM_DashboardCountOrders(benchmark::State& state) {
  Repeat(state, "CountOrdersByState and CountOpenOrders", [] {
    absl::StatusOr<std::map<store::OrderState, int64_t>> by_state =
        fleet->orders().CountOrdersByState();
    if (!by_state.ok()) return absl::StatusOr<int64_t>(by_state.status());
    return fleet->orders().CountOpenOrders();
  });
}
BENCHMARK(BM_DashboardCountOrders)->Unit(benchmark::kMillisecond);
void BM_DashboardOfflineHosts(benchmark::State& state) {
  Repeat(state, "ListHosts (offline)", [] {
    store::HostQuery offline;
    offline.connectivity = store::Connectivity::kOffline;
    offline.page.page_size = 10;
    return fleet->hosts().ListHosts(offline);
  });
}
BENCHMARK(BM_DashboardOfflineHosts)->Unit(benchmark::kMillisecond);
void BM_DashboardInventoryPage(benchmark::State& state) {
  Repeat(state, "ListCertificates (page)", [] {
    store::CertificateQuery inventory_page;
    inventory_page.scope = store::CertificateScope::kBound;
    inventory_page.include_bindings = true;
    inventory_page.page.page_size = 50;
    return fleet->inventory().ListCertificates(inventory_page);
  });
}
BENCHMARK(BM_DashboardInventoryPage)->Unit(benchmark::kMillisecond);
void BM_DashboardOpenOrders(benchmark::State& state) {
  Repeat(state, "ListOrders (open)", [] {
    store::OrderQuery open_orders;
    open_orders.open_only = true;
    open_orders.sort_key = store::OrderSortKey::kUpdatedAt;
    open_orders.page.page_size = 50;
    return fleet->orders().ListOrders(open_orders);
  });
}
BENCHMARK(BM_DashboardOpenOrders)->Unit(benchmark::kMillisecond);
void BM_DashboardRecentFailures(benchmark::State& state) {
  Repeat(state, "ListOrders (failures)", [] {
    store::OrderQuery failures;
    failures.states = {store::OrderState::kFailed, store::OrderState::kRolledBack};
    failures.sort_key = store::OrderSortKey::kUpdatedAt;
    failures.page.page_size = 10;
    return fleet->orders().ListOrders(failures);
  });
}
BENCHMARK(BM_DashboardRecentFailures)->Unit(benchmark::kMillisecond);

// ----- The renewal engine's pass -------------------------------------------

// The full planning pass's host walk, 1,000 a page.
void BM_RenewalListAllHosts(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::vector<store::HostRecord>> hosts = ListAll<store::HostRecord>(
        [](const store::PageRequest& page) {
          store::HostQuery query;
          query.page = page;
          return fleet->hosts().ListHosts(query);
        },
        store::kMaximumPageSize);
    if (!hosts.ok()) return Fail(state, "ListHosts", hosts.status());
    benchmark::DoNotOptimize(hosts);
  }
  state.SetItemsProcessed(state.iterations() * host_count);
}
BENCHMARK(BM_RenewalListAllHosts)->Unit(benchmark::kMillisecond);

// What PlanHost reads for one host: its bindings and its bound certificates.
absl::Status PlanHostReads(const std::string& host_id) {
  absl::StatusOr<std::vector<store::BindingRecord>> bindings =
      fleet->inventory().ListBindings(host_id);
  if (!bindings.ok()) return bindings.status();
  absl::StatusOr<std::vector<store::CertificateRecord>> certificates =
      ListAll<store::CertificateRecord>(
          [&](const store::PageRequest& page) {
            store::CertificateQuery query;
            query.host_id = host_id;
            query.scope = store::CertificateScope::kBound;
            query.page = page;
            return fleet->inventory().ListCertificates(query);
          },
          store::kMaximumPageSize);
  if (!certificates.ok()) return certificates.status();
  benchmark::DoNotOptimize(certificates);
  return absl::OkStatus();
}

void BM_RenewalPlanHostReads(benchmark::State& state) {
  int cursor = 0;
  for (auto _ : state) {
    if (absl::Status status = PlanHostReads(NextHost(cursor)); !status.ok()) {
      return Fail(state, "planning reads", status);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RenewalPlanHostReads)->Unit(benchmark::kMicrosecond);

// A due binding's latest order (one row), which decides whether to open one.
void BM_RenewalLatestOrderOfBinding(benchmark::State& state) {
  int cursor = 0;
  for (auto _ : state) {
    store::OrderQuery query;
    query.host_id = NextHost(cursor);
    query.binding_id = absl::StrCat(1000000000 + 7919);
    query.page.page_size = 1;
    absl::StatusOr<store::Page<store::OrderRecord>> latest = fleet->orders().ListOrders(query);
    if (!latest.ok()) return Fail(state, "ListOrders (latest of binding)", latest.status());
    benchmark::DoNotOptimize(latest);
  }
}
BENCHMARK(BM_RenewalLatestOrderOfBinding)->Unit(benchmark::kMicrosecond);

// A whole planning pass's reads: policies, every host, and each host's
// bindings and bound certificates.
void BM_RenewalFullPlanningReads(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::vector<store::PolicyRecord>> policies = fleet->policies().ListPolicies();
    if (!policies.ok()) return Fail(state, "ListPolicies", policies.status());
    absl::StatusOr<std::vector<store::HostRecord>> hosts = ListAll<store::HostRecord>(
        [](const store::PageRequest& page) {
          store::HostQuery query;
          query.page = page;
          return fleet->hosts().ListHosts(query);
        },
        store::kMaximumPageSize);
    if (!hosts.ok()) return Fail(state, "ListHosts", hosts.status());
    for (const store::HostRecord& host : *hosts) {
      if (absl::Status status = PlanHostReads(host.host_id); !status.ok()) {
        return Fail(state, "planning reads", status);
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * host_count);
}
BENCHMARK(BM_RenewalFullPlanningReads)->Unit(benchmark::kMillisecond);

// The in-flight orders every pass starts from (InFlightOrders).
void BM_RenewalInFlightOrders(benchmark::State& state) {
  for (auto _ : state) {
    store::OrderQuery query;
    query.states = {store::OrderState::kCsrRequested, store::OrderState::kAwaitingIssuance,
                    store::OrderState::kIssued, store::OrderState::kDeploying,
                    store::OrderState::kVerifying};
    absl::StatusOr<std::vector<store::OrderRecord>> orders = ListAll<store::OrderRecord>(
        [&](const store::PageRequest& page) {
          query.page = page;
          return fleet->orders().ListOrders(query);
        },
        store::kMaximumPageSize);
    if (!orders.ok()) return Fail(state, "ListOrders (in flight)", orders.status());
    state.counters["orders"] = static_cast<double>(orders->size());
    benchmark::DoNotOptimize(orders);
  }
}
BENCHMARK(BM_RenewalInFlightOrders)->Unit(benchmark::kMillisecond);

// The scheduler's work list: due and failed orders whose time has come.
void BM_RenewalOrdersReadyAt(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::vector<store::OrderRecord>> ready =
        fleet->orders().ListOrdersReadyAt(clock_now, 100);
    if (!ready.ok()) return Fail(state, "ListOrdersReadyAt", ready.status());
    state.counters["orders"] = static_cast<double>(ready->size());
    benchmark::DoNotOptimize(ready);
  }
}
BENCHMARK(BM_RenewalOrdersReadyAt)->Unit(benchmark::kMicrosecond);

// ----- Job dispatch ----------------------------------------------------------

// One job's round trip through the store: queue it, lease it, complete it.
void BM_JobDispatchCycle(benchmark::State& state) {
  int cursor = 0;
  for (auto _ : state) {
    if (absl::Status status = RunInventoryJob(NextHost(cursor), Tick()); !status.ok()) {
      return Fail(state, "create, lease and complete a job", status);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JobDispatchCycle)->Unit(benchmark::kMicrosecond);

// An idle agent asking for work: nothing is queued for its host.
void BM_LeaseNextJobNothingQueued(benchmark::State& state) {
  int cursor = 0;
  for (auto _ : state) {
    const absl::Time now = Tick();
    absl::StatusOr<std::optional<store::JobRecord>> leased =
        fleet->jobs().LeaseNextJob(NextHost(cursor), now, now + absl::Minutes(5));
    if (!leased.ok()) return Fail(state, "LeaseNextJob", leased.status());
    if (leased->has_value()) return Fail(state, "a job was leased where none was queued");
  }
}
BENCHMARK(BM_LeaseNextJobNothingQueued)->Unit(benchmark::kMicrosecond);

// The dispatcher's periodic sweep when no lease has run out.
void BM_ExpireLeasesNoneDue(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::vector<store::JobRecord>> expired = fleet->jobs().ExpireLeases(clock_now);
    if (!expired.ok()) return Fail(state, "ExpireLeases", expired.status());
    benchmark::DoNotOptimize(expired);
  }
}
BENCHMARK(BM_ExpireLeasesNoneDue)->Unit(benchmark::kMicrosecond);

void BM_ListHostsWithQueuedJobs(benchmark::State& state) {
  for (auto _ : state) {
    absl::StatusOr<std::vector<std::string>> hosts =
        fleet->jobs().ListHostsWithQueuedJobs(clock_now);
    if (!hosts.ok()) return Fail(state, "ListHostsWithQueuedJobs", hosts.status());
    benchmark::DoNotOptimize(hosts);
  }
}
BENCHMARK(BM_ListHostsWithQueuedJobs)->Unit(benchmark::kMicrosecond);

// ----- The campaign engine's pass -------------------------------------------

// RunOnce's reads: the campaigns not finished, and for each its targets
// (with their latest orders) and the policies.
void BM_CampaignPassReads(benchmark::State& state) {
  for (auto _ : state) {
    store::CampaignQuery query;
    query.states = {store::CampaignState::kRunning, store::CampaignState::kPaused,
                    store::CampaignState::kAborting};
    absl::StatusOr<std::vector<store::CampaignRecord>> campaigns = ListAll<store::CampaignRecord>(
        [&](const store::PageRequest& page) {
          query.page = page;
          return fleet->campaigns().ListCampaigns(query);
        },
        100);
    if (!campaigns.ok()) return Fail(state, "ListCampaigns", campaigns.status());
    if (campaigns->size() != 1) return Fail(state, "the seeded campaign is not running");
    for (const store::CampaignRecord& campaign : *campaigns) {
      absl::StatusOr<std::vector<store::CampaignTargetRecord>> targets =
          fleet->campaigns().ListTargets(campaign.campaign_id);
      if (!targets.ok()) return Fail(state, "ListTargets", targets.status());
      absl::StatusOr<std::vector<store::PolicyRecord>> policies = fleet->policies().ListPolicies();
      if (!policies.ok()) return Fail(state, "ListPolicies", policies.status());
      benchmark::DoNotOptimize(targets);
    }
  }
  state.SetItemsProcessed(state.iterations() * host_count);
}
BENCHMARK(BM_CampaignPassReads)->Unit(benchmark::kMillisecond);

// Planning a campaign excludes bindings already in an open one.
void BM_ListBindingsInOpenCampaigns(benchmark::State& state) {
  for (auto _ : state) {
    auto bindings = fleet->campaigns().ListBindingsInOpenCampaigns();
    if (!bindings.ok()) return Fail(state, "ListBindingsInOpenCampaigns", bindings.status());
    benchmark::DoNotOptimize(bindings);
  }
}
BENCHMARK(BM_ListBindingsInOpenCampaigns)->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, int> flags = {{"hosts", host_count},
                                      {"certificates-per-host", certificates_per_host}};
  if (absl::Status parsed = certfleet::bench::ParsePositiveFlags(argc, argv, flags); !parsed.ok()) {
    std::cerr << parsed.message() << "\n";
    return 2;
  }
  host_count = flags["hosts"];
  certificates_per_host = flags["certificates-per-host"];
  if (certificates_per_host < kSitesPerHost + 2) {
    std::cerr << "--certificates-per-host must be at least " << kSitesPerHost + 2
              << " (the bound leaves, the CA and the root)\n";
    return 2;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  bool seeded = false;
  {
    // CERTFLEET_STORE_BENCH_DATABASE=/path/controller.db seeds that file and
    // keeps it, to look at query plans afterwards with the sqlite3 shell.
    const char* kept_database = std::getenv("CERTFLEET_STORE_BENCH_DATABASE");
    std::optional<certfleet::bench::TemporaryFolder> folder;
    std::filesystem::path database;
    if (kept_database != nullptr && *kept_database != '\0') {
      database = kept_database;
    } else {
      folder.emplace("certfleet-store-bench");
      database = folder->path() / "controller.db";
    }
    if (absl::Status status = Seed(database); !status.ok()) {
      certfleet::bench::FailSetup(status.ToString());
    } else {
      seeded = true;
      benchmark::RunSpecifiedBenchmarks();
    }
    fleet.reset();
  }
  benchmark::Shutdown();
  return seeded && !certfleet::bench::RunFailed() ? 0 : 1;
}
