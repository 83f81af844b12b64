// What the HTTP API and /metrics read from the store: binding probes (kept
// per binding, dropped when the certificate changes), served-status counts,
// certificates with their bindings, the expiry timeline, order listings by
// last change, the renewal duration histogram, job counts, and migration 2
// on a database written by schema 1.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/sqlite/database.h"
#include "common/sqlite/migration.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/migrations.h"
#include "tests/controller/store/store_test_fixture.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class DashboardQueriesTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    host_ = Enroll("web-01.example.com");
  }

  InventoryStore& inventory() { return store().inventory(); }

  absl::Time Day(int days) { return Start() + absl::Hours(24 * days); }

  // Sites "a" and "b" bound to certificates 1 and 2; certificate 3 unbound.
  InventoryReport TwoSites(std::string_view content_hash, int certificate_of_a = 1) {
    InventoryReport report = Report(host_.host_id, content_hash);
    for (std::string_view site : {"a", "b"}) {
      SiteRecord record;
      record.site_id = std::string(site);
      record.name = absl::StrCat("Site ", std::string(site));
      record.state = "started";
      report.sites.push_back(record);
    }
    report.certificates.push_back(MakeCertificate(certificate_of_a, Day(10)));
    report.certificates.push_back(MakeCertificate(2, Day(40)));
    report.certificates.push_back(MakeCertificate(3, Day(5)));
    report.bindings.push_back(
        MakeBinding("a", MakeCertificate(certificate_of_a, Day(0)).thumbprint_sha1));
    report.bindings.push_back(MakeBinding("b", MakeCertificate(2, Day(0)).thumbprint_sha1));
    return report;
  }

  BindingProbeRecord Probe(std::string_view binding_id, ServedStatus status) {
    BindingProbeRecord probe;
    probe.host_id = host_.host_id;
    probe.binding_id = std::string(binding_id);
    probe.endpoint = "10.0.0.5:443";
    probe.probed_at = now();
    probe.status = status;
    probe.served_thumbprint = MakeCertificate(9, Day(0)).thumbprint_sha1;
    probe.detail = "served CN=www9.example.com";
    return probe;
  }

  std::optional<BindingProbeRecord> ProbeOf(std::string_view binding_id) {
    absl::StatusOr<BindingRecord> binding = inventory().GetBinding(host_.host_id, binding_id);
    EXPECT_THAT(binding, IsOk());
    return binding.ok() ? binding->last_probe : std::nullopt;
  }

  HostRecord host_;
};

TEST_F(DashboardQueriesTest, ProbeIsKeptPerBindingAndReplacedByTheNextOne) {
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h1"), now()), IsOk());
  EXPECT_EQ(ProbeOf("a"), std::nullopt);

  ASSERT_THAT(inventory().RecordBindingProbe(Probe("a", ServedStatus::kMismatch)), IsOk());
  EXPECT_EQ(ProbeOf("a"), Probe("a", ServedStatus::kMismatch));
  Advance(absl::Minutes(5));
  ASSERT_THAT(inventory().RecordBindingProbe(Probe("a", ServedStatus::kMatches)), IsOk());
  EXPECT_EQ(ProbeOf("a"), Probe("a", ServedStatus::kMatches));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<BindingRecord> bindings,
                                 inventory().ListBindings(host_.host_id));
  ASSERT_EQ(bindings.size(), 2u);
  EXPECT_EQ(bindings[0].last_probe, Probe("a", ServedStatus::kMatches));
  EXPECT_EQ(bindings[1].last_probe, std::nullopt);
}

TEST_F(DashboardQueriesTest, ProbeOfAnUnknownBindingOrWithoutEndpointIsRefused) {
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h1"), now()), IsOk());
  EXPECT_THAT(inventory().RecordBindingProbe(Probe("zzz", ServedStatus::kMatches)),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no binding zzz")));
  BindingProbeRecord probe = Probe("a", ServedStatus::kMatches);
  probe.endpoint.clear();
  EXPECT_THAT(inventory().RecordBindingProbe(probe),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("names no endpoint")));
  EXPECT_EQ(ProbeOf("a"), std::nullopt);
}

TEST_F(DashboardQueriesTest, CertificateChangeMakesTheBindingNotProbed) {
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h1"), now()), IsOk());
  ASSERT_THAT(inventory().RecordBindingProbe(Probe("a", ServedStatus::kMatches)), IsOk());
  ASSERT_THAT(inventory().RecordBindingProbe(Probe("b", ServedStatus::kMatches)), IsOk());

  // An inventory shows site a on certificate 4: a's probe is gone, b's kept.
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h2", 4), now()), IsOk());
  EXPECT_EQ(ProbeOf("a"), std::nullopt);
  EXPECT_NE(ProbeOf("b"), std::nullopt);

  // A deploy switching b drops b's probe too, also when a later inventory
  // shows the old certificate again.
  BindingChangeRecord change;
  change.host_id = host_.host_id;
  change.binding_id = "b";
  change.changed_at = now();
  change.old_thumbprint = MakeCertificate(2, Day(0)).thumbprint_sha1;
  change.new_thumbprint = MakeCertificate(5, Day(0)).thumbprint_sha1;
  change.order_id = "order-1";
  ASSERT_THAT(inventory().RecordBindingChange(change), IsOk());
  EXPECT_EQ(ProbeOf("b"), std::nullopt);
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h3", 4), now()), IsOk());
  EXPECT_EQ(ProbeOf("b"), std::nullopt);
}

TEST_F(DashboardQueriesTest, ServedStatusCountsCoverEveryBindingWithACertificate) {
  InventoryReport report = TwoSites("h1");
  report.bindings.push_back(MakeBinding("c", ""));  // No certificate: not counted.
  report.bindings.push_back(MakeBinding("d", MakeCertificate(3, Day(0)).thumbprint_sha1));
  ASSERT_THAT(inventory().IngestInventory(report, now()), IsOk());
  ASSERT_THAT(inventory().RecordBindingProbe(Probe("a", ServedStatus::kIncompleteChain)), IsOk());
  ASSERT_THAT(inventory().RecordBindingProbe(Probe("b", ServedStatus::kUnreachable)), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(ServedStatusCounts counts,
                                 inventory().CountBindingsByServedStatus());
  EXPECT_EQ(
      counts,
      (ServedStatusCounts{
          .matches = 0, .mismatch = 0, .incomplete_chain = 1, .unreachable = 1, .not_probed = 1}));

  // A decommissioned host's bindings are not counted.
  ASSERT_THAT(store().hosts().DecommissionHost(host_.host_id, "retired", now()), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(counts, inventory().CountBindingsByServedStatus());
  EXPECT_EQ(counts, ServedStatusCounts{});
}

TEST_F(DashboardQueriesTest, CertificatesCarryTheirBindingsWithProbesWhenAsked) {
  InventoryReport report = TwoSites("h1");
  report.bindings.push_back(MakeBinding("c", MakeCertificate(2, Day(0)).thumbprint_sha1));
  SiteRecord site_c;
  site_c.site_id = "c";
  site_c.name = "Site c";
  report.sites.push_back(site_c);
  ASSERT_THAT(inventory().IngestInventory(report, now()), IsOk());
  ASSERT_THAT(inventory().RecordBindingProbe(Probe("c", ServedStatus::kMismatch)), IsOk());

  CertificateQuery query;
  query.include_bindings = true;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> page, inventory().ListCertificates(query));
  ASSERT_EQ(page.items.size(), 3u);  // Soonest first: 3 (unbound), 1, 2.
  EXPECT_THAT(page.items[0].bindings, IsEmpty());
  ASSERT_EQ(page.items[1].bindings.size(), 1u);
  EXPECT_EQ(page.items[1].bindings[0].site_name, "Site a");
  ASSERT_EQ(page.items[2].bindings.size(), 2u);
  EXPECT_EQ(page.items[2].bindings[0].binding_id, "b");
  EXPECT_EQ(page.items[2].bindings[0].last_probe, std::nullopt);
  EXPECT_EQ(page.items[2].bindings[1].binding_id, "c");
  EXPECT_EQ(page.items[2].bindings[1].last_probe, Probe("c", ServedStatus::kMismatch));

  // Without the flag no bindings; without the count no total.
  query.include_bindings = false;
  query.count_total_size = false;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, inventory().ListCertificates(query));
  EXPECT_EQ(page.total_size, 0);
  ASSERT_EQ(page.items.size(), 3u);
  EXPECT_THAT(page.items[2].bindings, IsEmpty());
}

TEST_F(DashboardQueriesTest, BoundScopeFollowsBindingChanges) {
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h1"), now()), IsOk());
  const auto bound = [&] {
    CertificateQuery query;
    query.scope = CertificateScope::kBound;
    absl::StatusOr<Page<CertificateRecord>> page = inventory().ListCertificates(query);
    EXPECT_THAT(page, IsOk());
    std::vector<std::string> thumbprints;
    if (page.ok()) {
      for (const CertificateRecord& certificate : page->items) {
        thumbprints.push_back(certificate.thumbprint_sha1);
      }
    }
    return thumbprints;
  };
  const std::string one = MakeCertificate(1, Day(0)).thumbprint_sha1;
  const std::string two = MakeCertificate(2, Day(0)).thumbprint_sha1;
  const std::string three = MakeCertificate(3, Day(0)).thumbprint_sha1;
  EXPECT_THAT(bound(), ElementsAre(one, two));

  // A deploy switches b to certificate 3, already in MY: 3 is bound, 2 not.
  BindingChangeRecord change;
  change.host_id = host_.host_id;
  change.binding_id = "b";
  change.changed_at = now();
  change.old_thumbprint = two;
  change.new_thumbprint = three;
  ASSERT_THAT(inventory().RecordBindingChange(change), IsOk());
  EXPECT_THAT(bound(), ElementsAre(three, one));

  // The next inventory binds a to certificate 4 (new) and b back to 2.
  ASSERT_THAT(inventory().IngestInventory(TwoSites("h2", 4), now()), IsOk());
  EXPECT_THAT(bound(), ElementsAre(MakeCertificate(4, Day(0)).thumbprint_sha1, two));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(FleetCounts counts, inventory().CountFleet(now()));
  EXPECT_EQ(
      counts.certificates_by_expiry.under_30_days + counts.certificates_by_expiry.under_90_days, 2);
}

TEST_F(DashboardQueriesTest, ExpiryTimelineBucketsBoundCertificates) {
  InventoryReport report = Report(host_.host_id, "timeline");
  const int days[] = {-3, 0, 1, 6, 7, 13, 20, 400};
  for (int index = 0; index < 8; ++index) {
    report.certificates.push_back(MakeCertificate(index + 1, Day(days[index])));
    report.bindings.push_back(
        MakeBinding(absl::StrCat("s", index), MakeCertificate(index + 1, Day(0)).thumbprint_sha1));
  }
  report.certificates.push_back(MakeCertificate(99, Day(2)));  // Not bound.
  ASSERT_THAT(inventory().IngestInventory(report, now()), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      std::vector<ExpiryTimelineBucket> weeks,
      inventory().CountBoundCertificatesByExpiry(Day(0), absl::Hours(24 * 7), 3));
  EXPECT_THAT(weeks, ElementsAre(ExpiryTimelineBucket{Day(0), 3}, ExpiryTimelineBucket{Day(7), 2},
                                 ExpiryTimelineBucket{Day(14), 1}));

  EXPECT_THAT(inventory().CountBoundCertificatesByExpiry(Day(0), absl::ZeroDuration(), 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("positive bucket width")));
  EXPECT_THAT(inventory().CountBoundCertificatesByExpiry(Day(0), absl::Hours(24), 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

class DashboardOrdersTest : public DashboardQueriesTest {
 protected:
  OrderRecord CreateOrder(std::string_view binding_id) {
    NewOrder order;
    order.host_id = host_.host_id;
    order.site_id = std::string(binding_id);
    order.binding_id = std::string(binding_id);
    order.policy_name = "default";
    order.connector = "local";
    order.created_at = now();
    order.created_by = "scheduler";
    absl::StatusOr<OrderRecord> created = store().orders().CreateOrder(order);
    EXPECT_THAT(created, IsOk());
    return created.ok() ? *created : OrderRecord();
  }

  void Move(OrderRecord& order, OrderState to) {
    OrderTransition transition;
    transition.order_id = order.order_id;
    transition.expected_state = order.state;
    transition.to = to;
    transition.at = now();
    transition.actor = "test";
    absl::StatusOr<OrderRecord> moved = store().orders().TransitionOrder(transition);
    ASSERT_THAT(moved, IsOk());
    order = *moved;
  }

  void MoveToDone(OrderRecord& order, absl::Duration taking) {
    for (OrderState state : {OrderState::kCsrRequested, OrderState::kAwaitingIssuance,
                             OrderState::kIssued, OrderState::kDeploying, OrderState::kVerifying}) {
      Move(order, state);
    }
    Advance(taking);
    Move(order, OrderState::kDone);
  }
};

TEST_F(DashboardOrdersTest, OrdersListByLastChangeAndOpenOnly) {
  OrderRecord first = CreateOrder("a");
  Advance(absl::Minutes(1));
  OrderRecord second = CreateOrder("b");
  Advance(absl::Minutes(1));
  OrderRecord third = CreateOrder("c");
  Advance(absl::Minutes(1));
  Move(first, OrderState::kCsrRequested);  // The most recently changed.
  Advance(absl::Minutes(1));
  Move(second, OrderState::kCancelled);

  OrderQuery query;
  query.sort_key = OrderSortKey::kUpdatedAt;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<OrderRecord> page, store().orders().ListOrders(query));
  std::vector<std::string> ids;
  for (const OrderRecord& order : page.items) ids.push_back(order.order_id);
  EXPECT_THAT(ids, ElementsAre(second.order_id, first.order_id, third.order_id));

  // Pages follow the same order; a token of the other sort is refused.
  query.page.page_size = 1;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, store().orders().ListOrders(query));
  ASSERT_EQ(page.items.size(), 1u);
  query.page.page_token = page.next_page_token;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, store().orders().ListOrders(query));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].order_id, first.order_id);
  query.sort_key = OrderSortKey::kCreatedAt;
  EXPECT_THAT(store().orders().ListOrders(query), StatusIs(absl::StatusCode::kInvalidArgument));

  OrderQuery open;
  open.open_only = true;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, store().orders().ListOrders(open));
  EXPECT_EQ(page.total_size, 2);
  for (const OrderRecord& order : page.items) EXPECT_NE(order.order_id, second.order_id);
}

TEST_F(DashboardOrdersTest, DoneOrderDurationsFormACumulativeHistogram) {
  OrderRecord quick = CreateOrder("a");
  MoveToDone(quick, absl::Seconds(30));
  OrderRecord slow = CreateOrder("b");
  MoveToDone(slow, absl::Hours(2));
  OrderRecord open = CreateOrder("c");  // Not done: not counted.
  Advance(absl::Hours(50));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(DurationHistogram histogram,
                                 store().orders().HistogramOfDoneOrderDurations(
                                     {absl::Seconds(10), absl::Minutes(1), absl::Hours(24)}));
  EXPECT_EQ(histogram.count, 2);
  EXPECT_EQ(histogram.sum, absl::Seconds(30) + absl::Hours(2));
  EXPECT_THAT(histogram.cumulative_counts, ElementsAre(0, 1, 2));

  EXPECT_THAT(store().orders().HistogramOfDoneOrderDurations({absl::Minutes(1), absl::Seconds(1)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ascending")));
}

TEST_F(DashboardOrdersTest, JobsAreCountedByKindAndStatus) {
  for (JobKind kind : {JobKind::kInventory, JobKind::kInventory, JobKind::kProbe}) {
    NewJob job;
    job.host_id = host_.host_id;
    job.kind = kind;
    job.created_at = now();
    job.created_by = "test";
    ASSERT_THAT(store().jobs().CreateJob(job, std::nullopt), IsOk());
    Advance(absl::Seconds(1));
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      std::optional<JobRecord> leased,
      store().jobs().LeaseNextJob(host_.host_id, now(), now() + absl::Minutes(5)));
  ASSERT_TRUE(leased.has_value());
  JobCompletion completion;
  completion.job_id = leased->job_id;
  completion.attempt = leased->attempt;
  completion.result.outcome = JobOutcome::kFailed;
  completion.result.failure = FailureRecord{"FAILURE_CODE_IO", "disk full", true, ""};
  completion.result.finished_at = now();
  completion.received_at = now();
  ASSERT_THAT(store().jobs().CompleteJob(completion, std::nullopt), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<JobCountRecord> counts,
                                 store().jobs().CountJobsByKindAndStatus());
  EXPECT_THAT(counts, ElementsAre(JobCountRecord{JobKind::kInventory, JobStatus::kFailed, 1},
                                  JobCountRecord{JobKind::kInventory, JobStatus::kQueued, 1},
                                  JobCountRecord{JobKind::kProbe, JobStatus::kQueued, 1}));
}

TEST(DashboardMigrationTest, SchemaOneDatabaseGainsProbesAndKeepsItsInventory) {
  certfleet::testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "controller.db").string();
  {
    // Written by a build that knew only migration 1.
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<sqlite::Database> database,
                                   sqlite::Database::Open(path));
    ASSERT_THAT(sqlite::ApplyMigrations(*database, sqlite_backend::StoreMigrations().subspan(0, 1)),
                IsOk());
    ASSERT_THAT(database->Execute(
                    "INSERT INTO hosts (host_id, hostname, state, platform, capabilities, "
                    "agent_version, identity_serial, identity_sha256, identity_expires_at, "
                    "enrolled_at) VALUES ('host-1', 'web-01', 'active', '{}', x'', '0.1', '01', "
                    "'AA', 0, 0);"
                    "INSERT INTO bindings VALUES ('host-1', 'b1', 's1', '[]', '[]', 'ABCD', 'MY', "
                    "0, 0, 0);"),
                IsOk());
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store,
                                 SqliteStore::Open({.path = path}));
  EXPECT_THAT(store->applied_migrations(), ElementsAre(2, 3, 4, 5, 6));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(BindingRecord binding,
                                 store->inventory().GetBinding("host-1", "b1"));
  EXPECT_EQ(binding.certificate_thumbprint, "ABCD");
  EXPECT_EQ(binding.last_probe, std::nullopt);
  BindingProbeRecord probe;
  probe.host_id = "host-1";
  probe.binding_id = "b1";
  probe.endpoint = "10.0.0.5:443";
  probe.status = ServedStatus::kMatches;
  ASSERT_THAT(store->inventory().RecordBindingProbe(probe), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(binding, store->inventory().GetBinding("host-1", "b1"));
  EXPECT_EQ(binding.last_probe, probe);
}

TEST(DashboardMigrationTest, SchemaFiveDatabaseGetsHostIdInTheBoundIndex) {
  certfleet::testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "controller.db").string();
  {
    // Written by a build that knew migrations 1 to 5.
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<sqlite::Database> database,
                                   sqlite::Database::Open(path));
    ASSERT_THAT(sqlite::ApplyMigrations(*database, sqlite_backend::StoreMigrations().subspan(0, 5)),
                IsOk());
  }
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store,
                                   SqliteStore::Open({.path = path}));
    EXPECT_THAT(store->applied_migrations(), ElementsAre(6));
    // The bound scope still walks the index, in notAfter order.
    CertificateQuery query;
    query.scope = CertificateScope::kBound;
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string plan, store->ExplainListCertificates(query));
    EXPECT_THAT(plan, HasSubstr("certificate_placements_bound_by_not_after"));
    EXPECT_THAT(plan, Not(HasSubstr("TEMP B-TREE")));
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<sqlite::Database> database,
                                 sqlite::Database::Open(path));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      sqlite::Statement select,
      database->Prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND "
                        "name = 'certificate_placements_bound_by_not_after'"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(bool row, select.Step());
  ASSERT_TRUE(row);
  EXPECT_THAT(select.ColumnText(0),
              HasSubstr("(not_after, placement_id, host_id) WHERE bound = 1"));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
