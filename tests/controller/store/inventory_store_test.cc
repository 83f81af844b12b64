// Inventory: idempotent ingestion, binding history, certificate queries
// (with their index), fleet counts.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class InventoryStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    host_ = Enroll("web-01.example.com");
  }

  InventoryStore& inventory() { return store().inventory(); }

  // One site with a binding on certificate 1, plus an intermediate in CA.
  InventoryReport StandardReport(std::string_view content_hash) {
    InventoryReport report = Report(host_.host_id, content_hash);
    SiteRecord site;
    site.site_id = "1962875481";
    site.name = "Shop";
    site.state = "started";
    site.auto_start = true;
    site.content_path = "C:\\Inetpub\\shop";
    site.configuration_location = "/LM/W3SVC/1962875481";
    report.sites.push_back(site);
    report.bindings.push_back(
        MakeBinding("1962875481", MakeCertificate(1, Day(100)).thumbprint_sha1));
    report.certificates.push_back(MakeCertificate(1, Day(100)));
    report.certificates.push_back(MakeCertificate(2, Day(2000), CertificateStoreName::kCa));
    PendingRequestRecord request;
    request.site_id = "1962875481";
    request.public_key_sha256 = std::string(64, 'a');
    request.subject.common_name = "www.example.com";
    request.key_spec = "RSA_2048";
    request.csr_pem = "-----BEGIN CERTIFICATE REQUEST-----";
    report.pending_requests.push_back(request);
    return report;
  }

  absl::Time Day(int days) { return Start() + absl::Hours(24 * days); }

  int64_t HistoryRows(std::string_view binding_id) {
    absl::StatusOr<Page<BindingChangeRecord>> history =
        inventory().ListBindingHistory(host_.host_id, binding_id, {});
    EXPECT_THAT(history, IsOk());
    return history.ok() ? history->total_size : -1;
  }

  int64_t CertificateRows(CertificateQuery query = {}) {
    absl::StatusOr<Page<CertificateRecord>> page = inventory().ListCertificates(query);
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->total_size : -1;
  }

  // The token after the first item of the default listing.
  std::string FirstPageToken() {
    CertificateQuery query;
    query.page.page_size = 1;
    absl::StatusOr<Page<CertificateRecord>> page = inventory().ListCertificates(query);
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->next_page_token : std::string();
  }

  HostRecord host_;
};

TEST_F(InventoryStoreTest, FirstReportIsAppliedWithEveryField) {
  InventoryReport report = StandardReport("hash-1");
  report.platform.driver = "iis6";
  report.platform.web_server = "IIS 6.0";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(InventoryIngestResult result,
                                 inventory().IngestInventory(report, now()));
  EXPECT_EQ(result.disposition, InventoryDisposition::kApplied);
  EXPECT_EQ(result.stored_content_hash, "hash-1");
  EXPECT_EQ(result.binding_changes, 0);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<SiteRecord> sites,
                                 inventory().ListSites(host_.host_id));
  ASSERT_EQ(sites.size(), 1u);
  EXPECT_EQ(sites[0], report.sites[0]);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<BindingRecord> bindings,
                                 inventory().ListBindings(host_.host_id));
  ASSERT_EQ(bindings.size(), 1u);
  EXPECT_EQ(bindings[0].certificate_thumbprint, MakeCertificate(1, Day(100)).thumbprint_sha1);
  EXPECT_EQ(bindings[0].secure_endpoints, report.bindings[0].secure_endpoints);
  EXPECT_EQ(bindings[0].plain_endpoints, report.bindings[0].plain_endpoints);
  EXPECT_EQ(bindings[0].site_name, "Shop");
  EXPECT_EQ(bindings[0].first_seen_at, now());

  CertificateQuery query;
  query.host_id = host_.host_id;
  query.include_der = true;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> certificates,
                                 inventory().ListCertificates(query));
  ASSERT_EQ(certificates.items.size(), 2u);
  const CertificateRecord& stored = certificates.items[0];
  const CertificateRecord expected = MakeCertificate(1, Day(100));
  EXPECT_EQ(stored.host_id, host_.host_id);
  EXPECT_EQ(stored.hostname, "web-01.example.com");
  EXPECT_EQ(stored.store, CertificateStoreName::kMy);
  EXPECT_TRUE(stored.has_private_key);
  EXPECT_EQ(stored.first_seen_at, now());
  EXPECT_EQ(stored.thumbprint_sha1, expected.thumbprint_sha1);
  EXPECT_EQ(stored.fingerprint_sha256, expected.fingerprint_sha256);
  EXPECT_EQ(stored.subject, expected.subject);
  EXPECT_EQ(stored.subject_name, expected.subject_name);
  EXPECT_EQ(stored.issuer, expected.issuer);
  EXPECT_EQ(stored.issuer_name, expected.issuer_name);
  EXPECT_EQ(stored.serial_number, expected.serial_number);
  EXPECT_EQ(stored.not_before, expected.not_before);
  EXPECT_EQ(stored.not_after, expected.not_after);
  EXPECT_EQ(stored.subject_alternative_names, expected.subject_alternative_names);
  EXPECT_EQ(stored.key_algorithm, "RSA");
  EXPECT_EQ(stored.key_bits, 2048);
  EXPECT_EQ(stored.signature_algorithm, "sha256WithRSAEncryption");
  EXPECT_EQ(stored.signature_hash, "SHA256");
  EXPECT_FALSE(stored.is_ca);
  EXPECT_EQ(stored.path_length_constraint, std::nullopt);
  EXPECT_EQ(stored.kind, "LEAF");
  EXPECT_EQ(stored.public_key_sha256, expected.public_key_sha256);
  EXPECT_EQ(stored.subject_key_identifier, expected.subject_key_identifier);
  EXPECT_EQ(stored.authority_key_identifier, expected.authority_key_identifier);
  EXPECT_EQ(stored.extended_key_usages, expected.extended_key_usages);
  EXPECT_EQ(stored.der, expected.der);
  EXPECT_EQ(certificates.items[1].store, CertificateStoreName::kCa);
  EXPECT_FALSE(certificates.items[1].has_private_key);

  query.include_der = false;
  EXPECT_THAT(inventory().ListCertificates(query)->items[0].der, IsEmpty());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<PendingRequestRecord> requests,
                                 inventory().ListPendingRequests(host_.host_id));
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].public_key_sha256, std::string(64, 'A'));
  EXPECT_EQ(requests[0].subject.common_name, "www.example.com");
  EXPECT_THAT(
      inventory().FindPendingRequestsByPublicKey(std::string(64, 'a')),
      IsOkAndHolds(ElementsAre(::testing::Field(&PendingRequestRecord::host_id, host_.host_id))));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord host, store().hosts().GetHost(host_.host_id));
  EXPECT_EQ(host.inventory_content_hash, "hash-1");
  EXPECT_EQ(host.last_inventory_at, now());
  EXPECT_EQ(host.platform.web_server, "IIS 6.0");
}

TEST_F(InventoryStoreTest, SameReportTwiceIsUnchangedWithoutDuplicatesOrHistory) {
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  Advance(absl::Minutes(5));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(InventoryIngestResult again,
                                 inventory().IngestInventory(StandardReport("hash-1"), now()));
  EXPECT_EQ(again.disposition, InventoryDisposition::kUnchanged);
  EXPECT_EQ(CertificateRows(), 2);
  EXPECT_EQ(inventory().ListBindings(host_.host_id)->size(), 1u);
  EXPECT_EQ(HistoryRows("1962875481"), 0);
  EXPECT_EQ(store().hosts().GetHost(host_.host_id)->last_inventory_at, now());

  // The same content under a new hash goes through the full merge and
  // still adds no row and keeps first-seen times.
  Advance(absl::Minutes(5));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(InventoryIngestResult merged,
                                 inventory().IngestInventory(StandardReport("hash-2"), now()));
  EXPECT_EQ(merged.disposition, InventoryDisposition::kApplied);
  EXPECT_EQ(merged.binding_changes, 0);
  EXPECT_EQ(CertificateRows(), 2);
  EXPECT_EQ(inventory().ListSites(host_.host_id)->size(), 1u);
  EXPECT_EQ(inventory().ListPendingRequests(host_.host_id)->size(), 1u);
  EXPECT_EQ(HistoryRows("1962875481"), 0);
  EXPECT_EQ(inventory().ListCertificates({})->items[0].first_seen_at, Start());
  EXPECT_EQ(inventory().GetBinding(host_.host_id, "1962875481")->first_seen_at, Start());
}

TEST_F(InventoryStoreTest, ThumbprintChangeAppendsExactlyOneHistoryRow) {
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  Advance(absl::Hours(1));
  InventoryReport renewed = StandardReport("hash-2");
  const CertificateRecord replacement = MakeCertificate(3, Day(465));
  renewed.certificates.push_back(replacement);
  renewed.bindings[0].certificate_thumbprint = absl::AsciiStrToLower(replacement.thumbprint_sha1);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(InventoryIngestResult result,
                                 inventory().IngestInventory(renewed, now()));
  EXPECT_EQ(result.binding_changes, 1);
  Advance(absl::Hours(1));
  InventoryReport repeated = renewed;
  repeated.content_hash = "hash-3";
  repeated.scanned_at = now();
  ASSERT_THAT(inventory().IngestInventory(repeated, now()), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<BindingChangeRecord> history,
                                 inventory().ListBindingHistory(host_.host_id, "1962875481", {}));
  ASSERT_EQ(history.items.size(), 1u);
  EXPECT_EQ(history.items[0].old_thumbprint, MakeCertificate(1, Day(100)).thumbprint_sha1);
  EXPECT_EQ(history.items[0].new_thumbprint, replacement.thumbprint_sha1);
  EXPECT_EQ(history.items[0].changed_at, Start() + absl::Hours(1));
  EXPECT_EQ(history.items[0].order_id, "");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(BindingRecord binding,
                                 inventory().GetBinding(host_.host_id, "1962875481"));
  EXPECT_EQ(binding.certificate_thumbprint, replacement.thumbprint_sha1);
  EXPECT_EQ(binding.thumbprint_since, Start() + absl::Hours(1));
  EXPECT_EQ(binding.first_seen_at, Start());
}

TEST_F(InventoryStoreTest, RemovedItemsDisappear) {
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  InventoryReport empty = Report(host_.host_id, "hash-empty");
  ASSERT_THAT(inventory().IngestInventory(empty, now()), IsOk());
  EXPECT_THAT(inventory().ListSites(host_.host_id), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(inventory().ListBindings(host_.host_id), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(inventory().ListPendingRequests(host_.host_id), IsOkAndHolds(IsEmpty()));
  EXPECT_EQ(CertificateRows(), 0);
  EXPECT_THAT(inventory().GetBinding(host_.host_id, "1962875481"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("has no binding 1962875481")));
}

TEST_F(InventoryStoreTest, StaleReportIsIgnoredAndScanFailureKeepsTheInventory) {
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  InventoryReport older = Report(host_.host_id, "hash-old");
  older.scanned_at = now() - absl::Minutes(1);
  EXPECT_THAT(inventory().IngestInventory(older, now()),
              IsOkAndHolds(::testing::Field(&InventoryIngestResult::disposition,
                                            InventoryDisposition::kStale)));
  EXPECT_EQ(CertificateRows(), 2);

  Advance(absl::Minutes(1));
  InventoryReport failed = Report(host_.host_id, "");
  failed.scan_failure = FailureRecord{"FAILURE_CODE_CORRUPT_CONFIGURATION",
                                      "MetaBase.xml line 212: unterminated element", false, ""};
  EXPECT_THAT(inventory().IngestInventory(failed, now()),
              IsOkAndHolds(::testing::Field(&InventoryIngestResult::disposition,
                                            InventoryDisposition::kScanFailureRecorded)));
  EXPECT_EQ(CertificateRows(), 2);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord host, store().hosts().GetHost(host_.host_id));
  EXPECT_EQ(host.last_inventory_failure, failed.scan_failure);
  EXPECT_EQ(host.inventory_content_hash, "hash-1");
  EXPECT_EQ(store().inventory().CountFleet(now())->hosts_with_inventory_failure, 1);

  Advance(absl::Minutes(1));
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  EXPECT_EQ(store().hosts().GetHost(host_.host_id)->last_inventory_failure, std::nullopt);
}

TEST_F(InventoryStoreTest, BadReportsAreRefusedAndChangeNothing) {
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  InventoryReport no_hash = StandardReport("");
  EXPECT_THAT(inventory().IngestInventory(no_hash, now()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no content hash")));
  InventoryReport bad_certificate = StandardReport("hash-2");
  bad_certificate.certificates[1].thumbprint_sha1 = "ABC";
  EXPECT_THAT(inventory().IngestInventory(bad_certificate, now()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("certificate 2"), HasSubstr("SHA-1 thumbprint"))));
  InventoryReport twice = StandardReport("hash-3");
  twice.bindings.push_back(twice.bindings[0]);
  EXPECT_THAT(
      inventory().IngestInventory(twice, now()),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("lists binding 1962875481 twice")));
  EXPECT_EQ(store().hosts().GetHost(host_.host_id)->inventory_content_hash, "hash-1");
  InventoryReport unknown = StandardReport("hash-4");
  unknown.host_id = "host-unknown";
  EXPECT_THAT(inventory().IngestInventory(unknown, now()), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(InventoryStoreTest, SharedCertificateIsStoredOnceButListedPerHost) {
  HostRecord other = Enroll("web-02.example.com");
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  InventoryReport second = StandardReport("hash-1");
  second.host_id = other.host_id;
  ASSERT_THAT(inventory().IngestInventory(second, now()), IsOk());
  CertificateQuery query;
  query.thumbprint = absl::AsciiStrToLower(MakeCertificate(2, Day(2000)).thumbprint_sha1);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> page, inventory().ListCertificates(query));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_NE(page.items[0].host_id, page.items[1].host_id);
}

TEST_F(InventoryStoreTest, ExpiringQueryIsOrderedByNotAfterAndFiltered) {
  // 20 certificates expiring on days 5, 10, ..., 100; every second one bound.
  InventoryReport report = Report(host_.host_id, "many");
  for (int index = 1; index <= 20; ++index) {
    report.certificates.push_back(MakeCertificate(100 + index, Day(5 * index)));
    if (index % 2 == 0) {
      report.bindings.push_back(MakeBinding(absl::StrCat("site-", index),
                                            MakeCertificate(100 + index, Day(0)).thumbprint_sha1));
    }
  }
  report.certificates.push_back(MakeCertificate(500, Day(-3)));  // Expired.
  ASSERT_THAT(inventory().IngestInventory(report, now()), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> expiring,
                                 inventory().ListCertificatesExpiringWithin(
                                     now(), absl::Hours(24 * 30), CertificateScope::kAll, {}));
  std::vector<absl::Time> not_afters;
  for (const CertificateRecord& certificate : expiring.items) {
    not_afters.push_back(certificate.not_after);
  }
  EXPECT_THAT(not_afters, ElementsAre(Day(-3), Day(5), Day(10), Day(15), Day(20), Day(25)));
  EXPECT_EQ(expiring.total_size, 6);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> bound,
                                 inventory().ListCertificatesExpiringWithin(
                                     now(), absl::Hours(24 * 30), CertificateScope::kBound, {}));
  not_afters.clear();
  for (const CertificateRecord& certificate : bound.items) {
    not_afters.push_back(certificate.not_after);
  }
  EXPECT_THAT(not_afters, ElementsAre(Day(10), Day(20)));

  // Pages continue exactly where the previous one stopped.
  CertificateQuery paged;
  paged.not_after_before = Day(61);
  paged.page.page_size = 5;
  std::vector<absl::Time> all;
  while (true) {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> page,
                                   inventory().ListCertificates(paged));
    EXPECT_EQ(page.total_size, 13);
    for (const CertificateRecord& certificate : page.items) all.push_back(certificate.not_after);
    if (page.next_page_token.empty()) break;
    paged.page.page_token = page.next_page_token;
  }
  ASSERT_EQ(all.size(), 13u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));

  // A token from another sort order is refused.
  paged.sort_key = CertificateSortKey::kSubject;
  paged.page.page_token = FirstPageToken();
  EXPECT_THAT(inventory().ListCertificates(paged),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid")));
}

TEST_F(InventoryStoreTest, ExpiringQueryUsesTheNotAfterIndex) {
  for (CertificateScope scope :
       {CertificateScope::kAll, CertificateScope::kServer, CertificateScope::kBound}) {
    CertificateQuery query;
    query.not_after_before = now() + absl::Hours(24 * 30);
    query.scope = scope;
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::string plan, sqlite_store().ExplainListCertificates(query));
    // Bound certificates walk the partial index of bound placements.
    const std::string index = scope == CertificateScope::kBound
                                  ? "certificate_placements_bound_by_not_after"
                                  : "certificate_placements_by_not_after";
    EXPECT_THAT(plan, HasSubstr(absl::StrCat("USING INDEX ", index, " (not_after<?)"))) << plan;
    EXPECT_THAT(plan, Not(HasSubstr("SCAN p"))) << plan;
    EXPECT_THAT(plan, Not(HasSubstr("TEMP B-TREE"))) << plan;
  }
}

TEST_F(InventoryStoreTest, FiltersByHostIssuerSubjectSanAndSortsByOtherKeys) {
  HostRecord other = Enroll("web-02.example.com");
  InventoryReport report = StandardReport("hash-1");
  CertificateRecord foreign = MakeCertificate(7, Day(50));
  foreign.issuer = "CN=Other_Vendor 100% CA,O=Other";
  foreign.subject = "CN=intranet";
  foreign.subject_alternative_names = {"DNS:portal.internal"};
  report.certificates.push_back(foreign);
  ASSERT_THAT(inventory().IngestInventory(report, now()), IsOk());
  InventoryReport other_report = Report(other.host_id, "x");
  other_report.certificates.push_back(MakeCertificate(8, Day(10)));
  ASSERT_THAT(inventory().IngestInventory(other_report, now()), IsOk());

  CertificateQuery by_host;
  by_host.host_id = other.host_id;
  EXPECT_EQ(CertificateRows(by_host), 1);
  CertificateQuery by_issuer;
  by_issuer.issuer_contains = "other_vendor 100%";
  EXPECT_EQ(CertificateRows(by_issuer), 1);
  by_issuer.issuer_contains = "other_vendorX";
  EXPECT_EQ(CertificateRows(by_issuer), 0);
  CertificateQuery by_subject;
  by_subject.subject_contains = "INTRANET";
  EXPECT_EQ(CertificateRows(by_subject), 1);
  by_subject.subject_contains = "portal.internal";  // Only in the SANs.
  EXPECT_EQ(CertificateRows(by_subject), 1);
  CertificateQuery by_key;
  by_key.public_key_sha256 = MakeCertificate(8, Day(0)).public_key_sha256;
  EXPECT_EQ(CertificateRows(by_key), 1);
  CertificateQuery server;
  server.scope = CertificateScope::kServer;
  EXPECT_EQ(CertificateRows(server), 3);

  CertificateQuery by_hostname;
  by_hostname.sort_key = CertificateSortKey::kHostname;
  by_hostname.direction = SortDirection::kDescending;
  by_hostname.page.page_size = 1;
  std::vector<std::string> hostnames;
  while (true) {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CertificateRecord> page,
                                   inventory().ListCertificates(by_hostname));
    for (const CertificateRecord& certificate : page.items) {
      hostnames.push_back(certificate.hostname);
    }
    if (page.next_page_token.empty()) break;
    by_hostname.page.page_token = page.next_page_token;
  }
  EXPECT_THAT(hostnames, ElementsAre("web-02.example.com", "web-01.example.com",
                                     "web-01.example.com", "web-01.example.com"));

  ASSERT_THAT(store().hosts().DecommissionHost(other.host_id, "gone", now()), IsOk());
  EXPECT_EQ(CertificateRows(by_host), 0);
  by_host.include_decommissioned_hosts = true;
  EXPECT_EQ(CertificateRows(by_host), 1);
}

TEST_F(InventoryStoreTest, RecordedBindingChangeFromAnOrderIsNotDuplicatedByTheNextReport) {
  ASSERT_THAT(inventory().IngestInventory(StandardReport("hash-1"), now()), IsOk());
  const std::string old_thumbprint = MakeCertificate(1, Day(0)).thumbprint_sha1;
  const std::string new_thumbprint = MakeCertificate(9, Day(0)).thumbprint_sha1;
  BindingChangeRecord change;
  change.host_id = host_.host_id;
  change.binding_id = "1962875481";
  change.changed_at = now() + absl::Minutes(1);
  change.old_thumbprint = old_thumbprint;
  change.new_thumbprint = new_thumbprint;
  change.order_id = "order-1";
  EXPECT_THAT(inventory().RecordBindingChange(change), IsOkAndHolds(true));
  EXPECT_THAT(inventory().RecordBindingChange(change), IsOkAndHolds(false));

  Advance(absl::Minutes(2));
  InventoryReport after = StandardReport("hash-2");
  after.bindings[0].certificate_thumbprint = new_thumbprint;
  after.certificates.push_back(MakeCertificate(9, Day(465)));
  EXPECT_THAT(inventory().IngestInventory(after, now()),
              IsOkAndHolds(::testing::Field(&InventoryIngestResult::binding_changes, 0)));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<BindingChangeRecord> history,
                                 inventory().ListBindingHistory(host_.host_id, "1962875481", {}));
  ASSERT_EQ(history.items.size(), 1u);
  EXPECT_EQ(history.items[0].order_id, "order-1");
  EXPECT_EQ(history.items[0].site_id, "1962875481");

  BindingChangeRecord conflicting = change;
  conflicting.old_thumbprint = old_thumbprint;
  conflicting.new_thumbprint = MakeCertificate(10, Day(0)).thumbprint_sha1;
  EXPECT_THAT(inventory().RecordBindingChange(conflicting),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(new_thumbprint), HasSubstr("not the expected"),
                             HasSubstr(old_thumbprint))));
}

TEST_F(InventoryStoreTest, FleetCountsPresenceAndExpiryBuckets) {
  HostRecord other = Enroll("web-02.example.com");
  ASSERT_THAT(store().hosts().RecordHeartbeat(other.host_id, now()), IsOk());
  InventoryReport report = Report(host_.host_id, "buckets");
  const int days[] = {-1, 3, 6, 20, 45, 89, 120, 400};
  for (int index = 0; index < 8; ++index) {
    report.certificates.push_back(MakeCertificate(index + 1, Day(days[index])));
    report.bindings.push_back(
        MakeBinding(absl::StrCat("s", index), MakeCertificate(index + 1, Day(0)).thumbprint_sha1));
  }
  report.certificates.push_back(MakeCertificate(99, Day(1)));  // Not bound: not counted.
  ASSERT_THAT(inventory().IngestInventory(report, now()), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(FleetCounts counts, inventory().CountFleet(now()));
  EXPECT_EQ(counts.hosts, 2);
  EXPECT_EQ(counts.agents_online, 1);
  EXPECT_EQ(counts.agents_offline, 1);
  EXPECT_EQ(counts.hosts_with_inventory_failure, 0);
  EXPECT_EQ(counts.certificates_by_expiry, (ExpiryBucketCounts{1, 2, 1, 2, 2}));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
