// Campaigns: creation with targets, the state graph with compare-and-set,
// listings, targets joined with the campaign's newest order per binding,
// and the bindings that open campaigns hold.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

class CampaignStoreTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    for (std::string_view name : {"web-02.example.com", "web-01.example.com"}) {
      HostRecord host = Enroll(name);
      InventoryReport report = Report(host.host_id, "h1");
      for (std::string_view site : {"a", "b"}) {
        SiteRecord record;
        record.site_id = std::string(site);
        record.name = absl::StrCat("Site ", std::string(site));
        record.state = "started";
        report.sites.push_back(record);
        report.bindings.push_back(MakeBinding(site, MakeCertificate(1, now()).thumbprint_sha1));
      }
      report.certificates.push_back(MakeCertificate(1, now() + absl::Hours(24 * 30)));
      ASSERT_THAT(store().inventory().IngestInventory(report, now()), IsOk());
      hosts_.push_back(host);
    }
  }

  CampaignStore& campaigns() { return store().campaigns(); }

  CampaignRecord Campaign(std::string_view name) {
    CampaignRecord campaign;
    campaign.campaign_id = GenerateId(IdKind::kCampaign);
    campaign.name = std::string(name);
    campaign.description = "SHA-1 to SHA-256";
    campaign.spec = "spec-bytes";
    campaign.plan_fingerprint = "F1";
    campaign.created_at = now();
    campaign.created_by = "admin";
    return campaign;
  }

  CampaignTargetRecord Target(int wave, const HostRecord& host, std::string_view binding) {
    CampaignTargetRecord target;
    target.wave_index = wave;
    target.host_id = host.host_id;
    target.binding_id = std::string(binding);
    target.planned_thumbprint = MakeCertificate(1, now()).thumbprint_sha1;
    return target;
  }

  CampaignTransition Move(const CampaignRecord& campaign, CampaignState to,
                          std::string_view reason) {
    return CampaignTransition{.campaign_id = campaign.campaign_id,
                              .expected_states = {campaign.state},
                              .to = to,
                              .pause_reason = CampaignPauseReason::kNone,
                              .reason = std::string(reason),
                              .at = now()};
  }

  NewOrder OrderFor(const CampaignRecord& campaign, const HostRecord& host,
                    std::string_view binding) {
    NewOrder order;
    order.host_id = host.host_id;
    order.site_id = std::string(binding);
    order.binding_id = std::string(binding);
    order.trigger = OrderTrigger::kCampaign;
    order.campaign_id = campaign.campaign_id;
    order.policy_name = "default";
    order.connector = "local";
    order.subject.common_name = "www.example.com";
    order.key_spec = "RSA_2048";
    order.signature_hash = "SHA256";
    order.created_at = now();
    order.created_by = "campaign";
    order.reason = "wave 0";
    return order;
  }

  OrderTransition Cancel(const OrderRecord& order) {
    OrderTransition transition;
    transition.order_id = order.order_id;
    transition.to = OrderState::kCancelled;
    transition.at = now();
    transition.reason = "test";
    transition.actor = "test";
    return transition;
  }

  // web-01 first: hosts_[1] is web-01, hosts_[0] web-02.
  std::vector<HostRecord> hosts_;
};

TEST_F(CampaignStoreTest, CreateStoresADraftWithItsTargetsByWaveAndHostname) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord created,
      campaigns().CreateCampaign(
          Campaign("sha256"),
          {Target(1, hosts_[0], "a"), Target(0, hosts_[1], "b"), Target(1, hosts_[1], "a")}));
  EXPECT_EQ(created.state, CampaignState::kDraft);
  EXPECT_EQ(created.spec, "spec-bytes");
  EXPECT_EQ(created.started_at, std::nullopt);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<CampaignTargetRecord> targets,
                                 campaigns().ListTargets(created.campaign_id));
  ASSERT_EQ(targets.size(), 3u);
  EXPECT_EQ(targets[0].wave_index, 0);
  EXPECT_EQ(targets[0].hostname, "web-01.example.com");
  EXPECT_EQ(targets[0].site_id, "b");
  EXPECT_EQ(targets[0].site_name, "Site b");
  EXPECT_EQ(targets[1].hostname, "web-01.example.com");
  EXPECT_EQ(targets[2].hostname, "web-02.example.com");
  EXPECT_EQ(targets[0].order, std::nullopt);
}

TEST_F(CampaignStoreTest, CreateRefusesNothingToDoDuplicatesAndUnknownBindings) {
  EXPECT_THAT(campaigns().CreateCampaign(Campaign("empty"), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nothing to renew")));
  EXPECT_THAT(campaigns().CreateCampaign(Campaign("twice"),
                                         {Target(0, hosts_[0], "a"), Target(1, hosts_[0], "a")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("listed twice")));
  EXPECT_THAT(campaigns().CreateCampaign(Campaign("gone"), {Target(0, hosts_[0], "zz")}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("has no binding zz")));
  // Nothing was half-written.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CampaignRecord> page, campaigns().ListCampaigns({}));
  EXPECT_THAT(page.items, IsEmpty());
}

TEST_F(CampaignStoreTest, StatesFollowTheGraphWithCompareAndSet) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord campaign,
      campaigns().CreateCampaign(Campaign("sha256"), {Target(0, hosts_[0], "a")}));
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord running,
      campaigns().TransitionCampaign(Move(campaign, CampaignState::kRunning, "started by admin")));
  EXPECT_EQ(running.started_at, now());
  // A stale expectation (still draft) is refused.
  EXPECT_THAT(campaigns().TransitionCampaign(Move(campaign, CampaignState::kRunning, "again")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is running")));

  CampaignTransition pause = Move(running, CampaignState::kPaused, "3 failures exceed 2");
  pause.pause_reason = CampaignPauseReason::kFailureBudget;
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(CampaignRecord paused, campaigns().TransitionCampaign(pause));
  EXPECT_EQ(paused.pause_reason, CampaignPauseReason::kFailureBudget);
  EXPECT_EQ(paused.state_reason, "3 failures exceed 2");
  EXPECT_THAT(campaigns().TransitionCampaign(Move(paused, CampaignState::kCompleted, "done")),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord resumed,
      campaigns().TransitionCampaign(Move(paused, CampaignState::kRunning, "resumed")));
  EXPECT_EQ(resumed.pause_reason, CampaignPauseReason::kNone);
  EXPECT_EQ(resumed.started_at, running.started_at) << "the first start is kept";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord aborting,
      campaigns().TransitionCampaign(Move(resumed, CampaignState::kAborting, "abort")));
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord aborted,
      campaigns().TransitionCampaign(Move(aborting, CampaignState::kAborted, "settled")));
  EXPECT_EQ(aborted.finished_at, now());
  EXPECT_THAT(campaigns().TransitionCampaign(Move(aborted, CampaignState::kRunning, "no")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is aborted")));
}

TEST_F(CampaignStoreTest, TargetsCarryTheCampaignsNewestOrderForTheirBinding) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord campaign,
      campaigns().CreateCampaign(Campaign("sha256"),
                                 {Target(0, hosts_[0], "a"), Target(0, hosts_[0], "b")}));
  // An order of the same binding outside the campaign is not the target's.
  NewOrder unrelated = OrderFor(campaign, hosts_[0], "b");
  unrelated.campaign_id = "";
  unrelated.trigger = OrderTrigger::kSchedule;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord other, store().orders().CreateOrder(unrelated));
  ASSERT_THAT(store().orders().TransitionOrder(Cancel(other)), IsOk());

  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord first,
                                 store().orders().CreateOrder(OrderFor(campaign, hosts_[0], "a")));
  ASSERT_THAT(store().orders().TransitionOrder(Cancel(first)), IsOk());
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(OrderRecord second,
                                 store().orders().CreateOrder(OrderFor(campaign, hosts_[0], "a")));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<CampaignTargetRecord> targets,
                                 campaigns().ListTargets(campaign.campaign_id));
  ASSERT_EQ(targets.size(), 2u);
  ASSERT_TRUE(targets[0].order.has_value());
  EXPECT_EQ(targets[0].order->order_id, second.order_id);
  EXPECT_EQ(targets[0].order->state, OrderState::kDue);
  EXPECT_EQ(targets[1].order, std::nullopt);
}

TEST_F(CampaignStoreTest, OpenCampaignsHoldTheirBindingsUntilTheyFinish) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      CampaignRecord campaign,
      campaigns().CreateCampaign(Campaign("sha256"), {Target(0, hosts_[0], "a")}));
  EXPECT_THAT(
      campaigns().ListBindingsInOpenCampaigns(),
      IsOkAndHolds(ElementsAre(Pair(absl::StrCat(hosts_[0].host_id, "/a"), campaign.campaign_id))));
  ASSERT_THAT(campaigns().TransitionCampaign(Move(campaign, CampaignState::kAborted, "dropped")),
              IsOk());
  EXPECT_THAT(campaigns().ListBindingsInOpenCampaigns(), IsOkAndHolds(IsEmpty()));
}

TEST_F(CampaignStoreTest, ListingsAreNewestFirstWithStateFiltersAndPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(
        CampaignRecord campaign,
        campaigns().CreateCampaign(Campaign(absl::StrCat("c", i)), {Target(0, hosts_[0], "a")}));
    ids.push_back(campaign.campaign_id);
    Advance(absl::Minutes(1));
  }
  ASSERT_THAT(campaigns().TransitionCampaign(
                  Move(campaigns().GetCampaign(ids[1]).value(), CampaignState::kRunning, "go")),
              IsOk());
  CampaignQuery query;
  query.page.page_size = 2;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CampaignRecord> first, campaigns().ListCampaigns(query));
  ASSERT_EQ(first.items.size(), 2u);
  EXPECT_EQ(first.items[0].campaign_id, ids[2]);
  EXPECT_EQ(first.total_size, 3);
  query.page.page_token = first.next_page_token;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CampaignRecord> second, campaigns().ListCampaigns(query));
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].campaign_id, ids[0]);
  EXPECT_TRUE(second.next_page_token.empty());

  CampaignQuery running;
  running.states = {CampaignState::kRunning};
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<CampaignRecord> only, campaigns().ListCampaigns(running));
  ASSERT_EQ(only.items.size(), 1u);
  EXPECT_EQ(only.items[0].campaign_id, ids[1]);
}

}  // namespace
}  // namespace certfleet::controller::store::testing
