// Hosts: enrollment with a token (atomically), lookups, listings with
// filters and pages, presence, identity renewal, decommissioning.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using ::testing::UnorderedElementsAre;

class HostStoreTest : public StoreTest {
 protected:
  HostStore& hosts() { return store().hosts(); }

  HostEnrollment Enrollment(std::string_view hostname, std::string_view secret) {
    HostEnrollment enrollment;
    enrollment.host_id = GenerateId(IdKind::kHost);
    enrollment.hostname = std::string(hostname);
    enrollment.join_token_secret_sha256 = HashSecret(secret);
    enrollment.enrolled_at = now();
    enrollment.identity.certificate_serial = "0a1b";
    enrollment.identity.certificate_sha256 = std::string(64, 'd');
    enrollment.identity.expires_at = now() + absl::Hours(168);
    return enrollment;
  }

  std::vector<std::string> Names(const HostQuery& query) {
    std::vector<std::string> names;
    absl::StatusOr<Page<HostRecord>> page = hosts().ListHosts(query);
    EXPECT_THAT(page, IsOk());
    if (page.ok()) {
      for (const HostRecord& host : page->items) names.push_back(host.hostname);
    }
    return names;
  }
};

TEST_F(HostStoreTest, EnrollCreatesTheHostWithTokenLabelsWinningAndConsumesTheToken) {
  JoinTokenRecord token = CreateToken("s1", "", {{"env", "prod"}, {"group", "web-eu"}});
  HostEnrollment enrollment = Enrollment("web-01.example.com", "s1");
  enrollment.labels = {{"env", "dev"}, {"rack", "r12"}};
  enrollment.platform.driver = "iis6";
  enrollment.platform.installed_updates = {"KB938397"};
  enrollment.capabilities = std::string("\x0a\x01\x01", 3);
  enrollment.agent_version = "0.1.0";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord host, hosts().EnrollHost(enrollment));
  EXPECT_EQ(host.host_id, enrollment.host_id);
  EXPECT_EQ(host.hostname, "web-01.example.com");
  EXPECT_EQ(host.state, HostState::kActive);
  EXPECT_FALSE(host.online);
  EXPECT_EQ(host.labels, (std::map<std::string, std::string>{
                             {"env", "prod"}, {"group", "web-eu"}, {"rack", "r12"}}));
  EXPECT_EQ(host.platform, enrollment.platform);
  EXPECT_EQ(host.capabilities, enrollment.capabilities);
  EXPECT_EQ(host.identity.certificate_serial, "0A1B");
  EXPECT_EQ(host.identity.certificate_sha256, std::string(64, 'D'));
  EXPECT_EQ(host.identity.expires_at, now() + absl::Hours(168));
  EXPECT_EQ(host.join_token_id, token.token_id);
  EXPECT_EQ(host.enrolled_at, now());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(JoinTokenRecord used,
                                 store().join_tokens().GetJoinToken(token.token_id));
  EXPECT_EQ(used.used_by_host_id, host.host_id);
  EXPECT_EQ(used.used_by_hostname, "web-01.example.com");
}

TEST_F(HostStoreTest, ReusedTokenIsRefusedAndCreatesNoHost) {
  CreateToken("s2");
  ASSERT_THAT(hosts().EnrollHost(Enrollment("web-01", "s2")), IsOk());
  EXPECT_THAT(hosts().EnrollHost(Enrollment("web-02", "s2")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already used")));
  EXPECT_THAT(hosts().GetHostByName("web-02"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HostStoreTest, ExpiredTokenIsRefused) {
  CreateToken("s3");
  Advance(absl::Hours(25));
  EXPECT_THAT(hosts().EnrollHost(Enrollment("web-01", "s3")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
}

TEST_F(HostStoreTest, TokenBoundToAnotherHostIsRefused) {
  CreateToken("s4", "web-07");
  EXPECT_THAT(hosts().EnrollHost(Enrollment("web-08", "s4")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("bound to host web-07")));
}

TEST_F(HostStoreTest, EnrollingATakenNameFailsAndLeavesTheTokenUnused) {
  HostRecord existing = Enroll("web-01.example.com");
  JoinTokenRecord token = CreateToken("s5");
  EXPECT_THAT(hosts().EnrollHost(Enrollment("WEB-01.example.com", "s5")),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       AllOf(HasSubstr("already enrolled as"), HasSubstr(existing.host_id))));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JoinTokenRecord unused,
                                 store().join_tokens().GetJoinToken(token.token_id));
  EXPECT_EQ(unused.used_at, std::nullopt);
}

TEST_F(HostStoreTest, MalformedHostIdAndEmptyNameAreInvalid) {
  CreateToken("s6");
  HostEnrollment enrollment = Enrollment("web-01", "s6");
  enrollment.host_id = "web-01";
  EXPECT_THAT(hosts().EnrollHost(enrollment),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not a host id")));
  enrollment = Enrollment("", "s6");
  EXPECT_THAT(hosts().EnrollHost(enrollment),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("host name")));
}

TEST_F(HostStoreTest, DecommissionedHostIsEnrolledAgainUnderItsOwnId) {
  HostRecord host = Enroll("web-01");
  ASSERT_THAT(hosts().DecommissionHost(host.host_id, "replaced", now()), IsOk());
  CreateToken("s7");
  HostEnrollment other_id = Enrollment("web-01", "s7");
  EXPECT_THAT(
      hosts().EnrollHost(other_id),
      StatusIs(absl::StatusCode::kFailedPrecondition,
               AllOf(HasSubstr("belongs to decommissioned host"), HasSubstr(host.host_id))));
  HostEnrollment same_id = Enrollment("web-01", "s7");
  same_id.host_id = host.host_id;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord again, hosts().EnrollHost(same_id));
  EXPECT_EQ(again.state, HostState::kActive);
  EXPECT_EQ(again.decommissioned_at, std::nullopt);
}

TEST_F(HostStoreTest, GetByIdAndByNameAndNotFound) {
  HostRecord host = Enroll("web-01.example.com", {{"env", "prod"}});
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord by_id, hosts().GetHost(host.host_id));
  EXPECT_EQ(by_id.labels.at("env"), "prod");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord by_name, hosts().GetHostByName("Web-01.Example.com"));
  EXPECT_EQ(by_name.host_id, host.host_id);
  EXPECT_THAT(hosts().GetHost("host-0000"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("host host-0000 does not exist")));
  EXPECT_THAT(hosts().GetHostByName("db-01"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no host is named db-01")));
}

TEST_F(HostStoreTest, ListFiltersByPatternLabelsIdsAndPresence) {
  HostRecord web1 = Enroll("web-01.example.com", {{"env", "prod"}, {"group", "eu"}});
  HostRecord web2 = Enroll("web-02.example.com", {{"env", "dev"}});
  HostRecord db1 = Enroll("db-01.example.com", {{"env", "prod"}});
  ASSERT_THAT(hosts().RecordHeartbeat(web2.host_id, now()), IsOk());

  HostQuery all;
  EXPECT_THAT(Names(all),
              ElementsAre("db-01.example.com", "web-01.example.com", "web-02.example.com"));
  HostQuery pattern;
  pattern.selector.hostname_pattern = "WEB-*.example.com";
  EXPECT_THAT(Names(pattern), ElementsAre("web-01.example.com", "web-02.example.com"));
  pattern.selector.hostname_pattern = "web-0?.example.[c]om";
  EXPECT_THAT(Names(pattern), IsEmpty());  // '[' is literal, as in the wire contract.
  HostQuery labels;
  labels.selector.labels = {{"env", "prod"}};
  EXPECT_THAT(Names(labels), ElementsAre("db-01.example.com", "web-01.example.com"));
  labels.selector.labels = {{"env", "prod"}, {"group", "eu"}};
  EXPECT_THAT(Names(labels), ElementsAre("web-01.example.com"));
  HostQuery ids;
  ids.selector.host_ids = {db1.host_id, web2.host_id};
  EXPECT_THAT(Names(ids), ElementsAre("db-01.example.com", "web-02.example.com"));
  HostQuery online;
  online.connectivity = Connectivity::kOnline;
  EXPECT_THAT(Names(online), ElementsAre("web-02.example.com"));
  HostQuery offline;
  offline.connectivity = Connectivity::kOffline;
  EXPECT_THAT(Names(offline), ElementsAre("db-01.example.com", "web-01.example.com"));

  ASSERT_THAT(hosts().DecommissionHost(web1.host_id, "gone", now()), IsOk());
  EXPECT_THAT(Names(all), ElementsAre("db-01.example.com", "web-02.example.com"));
  all.include_decommissioned = true;
  EXPECT_EQ(Names(all).size(), 3u);
}

TEST_F(HostStoreTest, ListPagesWithOpaqueTokens) {
  for (int index = 0; index < 5; ++index) Enroll(absl::StrCat("web-", index));
  HostQuery query;
  query.page.page_size = 2;
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<HostRecord> page, hosts().ListHosts(query));
    EXPECT_EQ(page.total_size, 5);
    for (const HostRecord& host : page.items) seen.push_back(host.hostname);
    ++pages;
    if (page.next_page_token.empty()) break;
    query.page.page_token = page.next_page_token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_THAT(seen, ElementsAre("web-0", "web-1", "web-2", "web-3", "web-4"));
  query.page.page_token = "garbage!";
  EXPECT_THAT(hosts().ListHosts(query), StatusIs(absl::StatusCode::kInvalidArgument));
  query.page.page_token.clear();
  query.page.page_size = -1;
  EXPECT_THAT(hosts().ListHosts(query),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("negative")));
}

TEST_F(HostStoreTest, HeartbeatsMarkOnlineAndNeverMoveLastSeenBack) {
  HostRecord host = Enroll("web-01");
  ASSERT_THAT(hosts().RecordHeartbeat(host.host_id, now() + absl::Seconds(30)), IsOk());
  ASSERT_THAT(hosts().RecordHeartbeat(host.host_id, now() + absl::Seconds(10)), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord seen, hosts().GetHost(host.host_id));
  EXPECT_TRUE(seen.online);
  EXPECT_EQ(seen.last_seen_at, now() + absl::Seconds(30));
  EXPECT_THAT(hosts().RecordHeartbeat("host-missing", now()),
              StatusIs(absl::StatusCode::kNotFound));

  HostRecord other = Enroll("web-02");
  EXPECT_THAT(hosts().RecordHeartbeats({{host.host_id, now() + absl::Minutes(1)},
                                        {other.host_id, now() + absl::Minutes(1)},
                                        {"host-missing", now()}}),
              IsOkAndHolds(2));
}

TEST_F(HostStoreTest, PresenceAndTheOfflineSweep) {
  HostRecord early = Enroll("web-01");
  HostRecord late = Enroll("web-02");
  ASSERT_THAT(hosts().SetPresence(early.host_id, Presence::kOnline, now()), IsOk());
  ASSERT_THAT(hosts().SetPresence(late.host_id, Presence::kOnline, now() + absl::Minutes(5)),
              IsOk());
  EXPECT_THAT(hosts().MarkOfflineSeenBefore(now() + absl::Minutes(1)),
              IsOkAndHolds(ElementsAre(early.host_id)));
  EXPECT_FALSE(hosts().GetHost(early.host_id)->online);
  EXPECT_TRUE(hosts().GetHost(late.host_id)->online);
  ASSERT_THAT(hosts().SetPresence(late.host_id, Presence::kOffline, now()), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord offline, hosts().GetHost(late.host_id));
  EXPECT_FALSE(offline.online);
  EXPECT_EQ(offline.last_seen_at, now() + absl::Minutes(5));  // Kept.
  ASSERT_THAT(hosts().SetPresence(late.host_id, Presence::kOnline, now()), IsOk());
  EXPECT_THAT(hosts().MarkOfflineSeenBefore(absl::InfiniteFuture()),
              IsOkAndHolds(ElementsAre(late.host_id)));
  EXPECT_THAT(hosts().SetPresence("host-missing", Presence::kOnline, now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HostStoreTest, AgentDescriptionIdentityAndLabelsAreUpdated) {
  HostRecord host = Enroll("web-01", {{"env", "dev"}});
  AgentDescription description;
  description.agent_version = "0.2.0";
  description.platform.driver = "iis6";
  description.platform.operating_system = "Windows Server 2003";
  description.capabilities = "caps";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord described,
                                 hosts().UpdateAgentDescription(host.host_id, description, now()));
  EXPECT_EQ(described.agent_version, "0.2.0");
  EXPECT_EQ(described.platform.operating_system, "Windows Server 2003");
  EXPECT_EQ(described.capabilities, "caps");
  EXPECT_EQ(described.last_seen_at, now());

  AgentIdentityRecord identity{"FF01", std::string(64, 'E'), now() + absl::Hours(300)};
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord renewed,
                                 hosts().UpdateIdentity(host.host_id, identity));
  EXPECT_EQ(renewed.identity, identity);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord labelled,
                                 hosts().SetLabels(host.host_id, {{"env", "prod"}}));
  EXPECT_EQ(labelled.labels, (std::map<std::string, std::string>{{"env", "prod"}}));
  EXPECT_THAT(hosts().SetLabels("host-missing", {}), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(HostStoreTest, DecommissionCancelsOpenOrdersAndQueuedJobsAndIsIdempotent) {
  HostRecord host = Enroll("web-01");
  NewOrder order;
  order.host_id = host.host_id;
  order.site_id = "1";
  order.binding_id = "1";
  order.created_at = now();
  order.created_by = "scheduler";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord open, store().orders().CreateOrder(order));
  NewJob job;
  job.host_id = host.host_id;
  job.kind = JobKind::kInventory;
  job.created_at = now();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord queued, store().jobs().CreateJob(job, std::nullopt));

  Advance(absl::Hours(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord gone,
                                 hosts().DecommissionHost(host.host_id, "retired", now()));
  EXPECT_EQ(gone.state, HostState::kDecommissioned);
  EXPECT_FALSE(gone.online);
  EXPECT_EQ(gone.decommissioned_at, now());
  EXPECT_EQ(gone.decommission_reason, "retired");

  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord cancelled, store().orders().GetOrder(open.order_id));
  EXPECT_EQ(cancelled.state, OrderState::kCancelled);
  EXPECT_FALSE(cancelled.open);
  EXPECT_EQ(cancelled.history.back().reason, "host decommissioned: retired");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JobRecord job_after, store().jobs().GetJob(queued.job_id));
  EXPECT_EQ(job_after.status, JobStatus::kCancelled);

  Advance(absl::Hours(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord again,
                                 hosts().DecommissionHost(host.host_id, "twice", now()));
  EXPECT_EQ(again.decommission_reason, "retired");
  EXPECT_THAT(hosts().RecordHeartbeat(host.host_id, now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("decommissioned")));
  EXPECT_THAT(hosts().UpdateIdentity(host.host_id, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("decommissioned")));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
