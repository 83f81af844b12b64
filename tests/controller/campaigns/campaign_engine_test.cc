// The campaign engine against a real in-memory SQLite store and a fake
// clock: planning, creation against a fingerprint, wave gating with soak,
// the failure budget pausing by itself, maintenance windows gating deploys,
// abort in the middle of a wave, and a restarted controller (a new engine on
// the same store) continuing without repeating work. Orders are moved
// through their states here as the renewal engine and agents would.

#include "controller/campaigns/campaign_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::campaigns {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using store::OrderState;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class CampaignEngineTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // Five hosts, one SHA-1 site each, and web-06 already on SHA-256.
    for (int index = 1; index <= 6; ++index) {
      store::HostRecord host = Enroll(absl::StrCat("web-0", index, ".example.com"));
      store::CertificateRecord certificate =
          store::testing::MakeCertificate(index, now() + absl::Hours(24 * 200));
      certificate.signature_hash = index == 6 ? "SHA256" : "SHA1";
      certificate.subject_name.common_name = absl::StrCat("www", index, ".example.com");
      certificate.subject_name.organization = "Old Name Ltd";
      ASSERT_THAT(store().inventory().IngestInventory(
                      ReportWithOneSite(host.host_id, "h1", certificate), now()),
                  IsOk());
      hosts_.push_back(host);
    }
    engine_ = MakeEngine();
  }

  std::unique_ptr<CampaignEngine> MakeEngine() {
    CampaignEngineOptions options;
    options.clock = [this] { return now(); };
    options.log = [this](std::string_view line) { log_.push_back(std::string(line)); };
    options.state_changed = [this](const store::CampaignRecord& campaign) {
      state_changes_.push_back(std::string(store::ToString(campaign.state)));
    };
    return std::make_unique<CampaignEngine>(store(), std::move(options));
  }

  // SHA-1 to SHA-256 with a new organisation: canary of 1, then 50%, the rest.
  v1::CampaignSpec Sha256Migration() {
    v1::CampaignSpec spec;
    spec.set_name("sha256-migration");
    spec.mutable_selector()->add_signature_hashes(v1::SIGNATURE_HASH_SHA1);
    spec.mutable_policy()->set_signature_hash(v1::SIGNATURE_HASH_SHA256);
    spec.mutable_policy()->mutable_subject()->set_organization("New Name AG");
    spec.mutable_wave_plan()->set_canary_hosts(1);
    spec.mutable_wave_plan()->add_cumulative_percentages(50);
    spec.mutable_wave_plan()->mutable_soak_time()->set_seconds(600);
    spec.mutable_failure_budget()->set_max_failures(1);
    return spec;
  }

  store::CampaignRecord CreateAndStart(const v1::CampaignSpec& spec) {
    absl::StatusOr<store::CampaignRecord> created = engine_->Create(spec, "", "admin");
    EXPECT_THAT(created, IsOk());
    absl::StatusOr<store::CampaignRecord> started = engine_->Start(created->campaign_id, "admin");
    EXPECT_THAT(started, IsOk());
    return *started;
  }

  std::vector<store::OrderRecord> CampaignOrders(const std::string& campaign_id) {
    store::OrderQuery query;
    query.campaign_id = campaign_id;
    query.page.page_size = 1000;
    absl::StatusOr<store::Page<store::OrderRecord>> page = store().orders().ListOrders(query);
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->items : std::vector<store::OrderRecord>{};
  }

  // Moves `order` along its path to `final_state` as the renewal engine and
  // the agent would; `issued_thumbprint` is recorded at issuance.
  void Drive(store::OrderRecord order, OrderState final_state,
             const std::string& issued_thumbprint = "") {
    std::vector<OrderState> path = {OrderState::kCsrRequested, OrderState::kAwaitingIssuance,
                                    OrderState::kIssued,       OrderState::kDeploying,
                                    OrderState::kVerifying,    OrderState::kDone};
    if (final_state == OrderState::kFailed) path = {OrderState::kCsrRequested, OrderState::kFailed};
    if (final_state == OrderState::kRolledBack) {
      path = {OrderState::kCsrRequested, OrderState::kAwaitingIssuance, OrderState::kIssued,
              OrderState::kDeploying, OrderState::kRolledBack};
    }
    if (final_state == OrderState::kDeploying) {
      path = {OrderState::kCsrRequested, OrderState::kAwaitingIssuance, OrderState::kIssued,
              OrderState::kDeploying};
    }
    for (OrderState to : path) {
      store::OrderTransition transition;
      transition.order_id = order.order_id;
      transition.expected_state = order.state;
      transition.to = to;
      transition.at = now();
      transition.reason = "test";
      transition.actor = "test";
      if (to == OrderState::kIssued && !issued_thumbprint.empty()) {
        transition.issued_thumbprint = issued_thumbprint;
      }
      if (to == OrderState::kFailed || to == OrderState::kRolledBack) {
        transition.failure = store::FailureRecord{.code = "FAILURE_CODE_VERIFICATION_FAILED",
                                                  .message = "incomplete chain",
                                                  .retryable = false,
                                                  .diagnosis = ""};
      }
      absl::StatusOr<store::OrderRecord> moved = store().orders().TransitionOrder(transition);
      ASSERT_THAT(moved, IsOk());
      order = *moved;
    }
  }

  store::CampaignRecord Reload(const store::CampaignRecord& campaign) {
    return store().campaigns().GetCampaign(campaign.campaign_id).value();
  }

  std::vector<store::HostRecord> hosts_;
  std::unique_ptr<CampaignEngine> engine_;
  std::vector<std::string> log_;
  std::vector<std::string> state_changes_;
};

TEST_F(CampaignEngineTest, PlanShowsWavesSubjectsAndExclusionsWithoutChangingAnything) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(v1::CampaignPlan plan, engine_->Plan(Sha256Migration()));
  EXPECT_EQ(plan.host_count(), 5u) << "web-06 is already on SHA-256";
  EXPECT_EQ(plan.binding_count(), 5u);
  ASSERT_EQ(plan.waves_size(), 3);
  EXPECT_EQ(plan.waves(0).host_count(), 1u);
  EXPECT_EQ(plan.waves(0).renewals(0).hostname(), "web-01.example.com");
  EXPECT_EQ(plan.waves(1).host_count(), 2u) << "50% of 5 hosts, rounded up, minus the canary";
  EXPECT_EQ(plan.waves(2).host_count(), 2u);
  const v1::PlannedRenewal& first = plan.waves(0).renewals(0);
  EXPECT_EQ(first.new_subject().organization(), "New Name AG");
  EXPECT_EQ(first.new_subject().common_name(), "www1.example.com");
  EXPECT_EQ(first.signature_hash(), v1::SIGNATURE_HASH_SHA256);
  EXPECT_EQ(first.key_spec(), v1::KEY_SPEC_RSA_2048);
  EXPECT_FALSE(plan.plan_fingerprint().empty());
  EXPECT_TRUE(CampaignOrders("").empty());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::Page<store::CampaignRecord> campaigns,
                                 store().campaigns().ListCampaigns({}));
  EXPECT_TRUE(campaigns.items.empty());
}

TEST_F(CampaignEngineTest, ACaProductSelectorSelectsCertificatesADoneOrderOfThatProductIssued) {
  // web-02's certificate came from a done order bought as "Enterprise SSL";
  // the others were on the hosts before certfleet and have no known product.
  store::NewOrder bought;
  bought.host_id = hosts_[1].host_id;
  bought.site_id = "1";
  bought.binding_id = "1";
  bought.connector = "manual";
  bought.ca_product = "Enterprise SSL";
  bought.created_at = now();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::OrderRecord order, store().orders().CreateOrder(bought));
  Drive(order, OrderState::kDone, store::testing::MakeCertificate(2, now()).thumbprint_sha1);

  v1::CampaignSpec spec = Sha256Migration();
  spec.mutable_selector()->set_ca_product("enterprise ssl");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(v1::CampaignPlan plan, engine_->Plan(spec));
  ASSERT_EQ(plan.waves_size(), 1);
  ASSERT_EQ(plan.waves(0).renewals_size(), 1);
  EXPECT_EQ(plan.waves(0).renewals(0).hostname(), "web-02.example.com");

  spec.mutable_selector()->set_ca_product("Enterprise EV SSL");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(plan, engine_->Plan(spec));
  EXPECT_EQ(plan.waves_size(), 0) << "no certificate of another product";
}

TEST_F(CampaignEngineTest, CreateRefusesAStaleFingerprintAndAnInvalidSpec) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(v1::CampaignPlan plan, engine_->Plan(Sha256Migration()));
  // The fleet changes: web-02 is renewed meanwhile.
  store::CertificateRecord renewed =
      store::testing::MakeCertificate(20, now() + absl::Hours(24 * 300));
  renewed.signature_hash = "SHA1";
  ASSERT_THAT(store().inventory().IngestInventory(
                  ReportWithOneSite(hosts_[1].host_id, "h2", renewed), now()),
              IsOk());
  EXPECT_THAT(engine_->Create(Sha256Migration(), plan.plan_fingerprint(), "admin"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("the fleet changed")));

  v1::CampaignSpec invalid = Sha256Migration();
  invalid.mutable_wave_plan()->add_cumulative_percentages(30);  // not increasing
  EXPECT_THAT(engine_->Plan(invalid), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(CampaignEngineTest, WavesStartOnlyAfterThePreviousOneFinishedHealthyAndSoaked) {
  const store::CampaignRecord campaign = CreateAndStart(Sha256Migration());
  std::vector<store::OrderRecord> orders = CampaignOrders(campaign.campaign_id);
  ASSERT_THAT(orders, SizeIs(1)) << "only the canary starts";
  EXPECT_EQ(orders[0].trigger, store::OrderTrigger::kCampaign);
  EXPECT_EQ(orders[0].signature_hash, "SHA256");
  EXPECT_EQ(orders[0].subject.organization, "New Name AG");
  engine_->RunOnce();
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(1)) << "nothing repeated";

  Drive(orders[0], OrderState::kDone);
  engine_->RunOnce();
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(1)) << "the canary soaks 10 minutes";
  Advance(absl::Minutes(10));
  CampaignPassSummary pass = engine_->RunOnce();
  EXPECT_EQ(pass.orders_created, 2);
  orders = CampaignOrders(campaign.campaign_id);
  ASSERT_THAT(orders, SizeIs(3));

  CERTFLEET_ASSERT_OK_AND_ASSIGN(v1::Campaign shown,
                                 engine_->Describe(Reload(campaign), /*with_targets=*/true));
  ASSERT_EQ(shown.waves_size(), 3);
  EXPECT_EQ(shown.waves(0).state(), v1::WAVE_STATE_SUCCEEDED);
  EXPECT_EQ(shown.waves(1).state(), v1::WAVE_STATE_RUNNING);
  EXPECT_EQ(shown.waves(2).state(), v1::WAVE_STATE_PENDING);
  EXPECT_EQ(shown.progress().done(), 1u);
  EXPECT_EQ(shown.progress().in_flight(), 2u);
  EXPECT_EQ(shown.progress().pending(), 2u);
  EXPECT_FALSE(shown.waves(1).targets(0).order_id().empty());

  for (const store::OrderRecord& order : orders) {
    if (order.state == OrderState::kDue) Drive(order, OrderState::kDone);
  }
  Advance(absl::Minutes(10));
  engine_->RunOnce();
  for (const store::OrderRecord& order : CampaignOrders(campaign.campaign_id)) {
    if (order.state == OrderState::kDue) Drive(order, OrderState::kDone);
  }
  engine_->RunOnce();
  EXPECT_EQ(Reload(campaign).state, store::CampaignState::kCompleted);
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(5));
  EXPECT_THAT(state_changes_, ::testing::ElementsAre("running", "completed"));
}

TEST_F(CampaignEngineTest, TheFailureBudgetPausesTheCampaignByItselfAndResumeGoesOn) {
  v1::CampaignSpec spec = Sha256Migration();
  spec.mutable_wave_plan()->clear_soak_time();
  spec.mutable_failure_budget()->set_max_failures(0);
  const store::CampaignRecord campaign = CreateAndStart(spec);
  std::vector<store::OrderRecord> orders = CampaignOrders(campaign.campaign_id);
  ASSERT_THAT(orders, SizeIs(1));
  Advance(absl::Minutes(5));
  Drive(orders[0], OrderState::kRolledBack);
  engine_->RunOnce();
  store::CampaignRecord paused = Reload(campaign);
  EXPECT_EQ(paused.state, store::CampaignState::kPaused);
  EXPECT_EQ(paused.pause_reason, store::CampaignPauseReason::kFailureBudget);
  EXPECT_THAT(paused.state_reason, HasSubstr("budget"));
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(1)) << "no new wave while paused";

  Advance(absl::Minutes(1));
  ASSERT_THAT(engine_->Resume(campaign.campaign_id, "admin"), IsOk());
  EXPECT_EQ(Reload(campaign).state, store::CampaignState::kRunning)
      << "the failure seen before the resume does not pause it again";
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(3));
}

TEST_F(CampaignEngineTest, DeploysWaitForTheHostsMaintenanceWindow) {
  v1::CampaignSpec spec = Sha256Migration();
  // Saturdays 22:00 UTC for two hours; the fixture's clock is a Friday.
  v1::MaintenanceWindow* window = spec.add_maintenance_windows();
  window->set_name("weekend");
  window->add_days(v1::DAY_OF_WEEK_SATURDAY);
  window->mutable_start()->set_hours(22);
  window->mutable_length()->set_seconds(2 * 3600);
  window->set_time_zone("UTC");
  const store::CampaignRecord campaign = CreateAndStart(spec);
  std::vector<store::OrderRecord> orders = CampaignOrders(campaign.campaign_id);
  ASSERT_THAT(orders, SizeIs(1)) << "CSR and issuance may run before the window";

  const absl::Time saturday_22h =
      absl::FromCivil(absl::CivilHour(2024, 3, 2, 22), absl::UTCTimeZone());
  ASSERT_LT(now(), saturday_22h);
  EXPECT_EQ(engine_->DeployNotBefore(orders[0], now()), saturday_22h);
  EXPECT_EQ(engine_->DeployNotBefore(orders[0], saturday_22h + absl::Minutes(5)), std::nullopt);
  EXPECT_EQ(engine_->DeployNotBefore(orders[0], saturday_22h + absl::Hours(2)),
            saturday_22h + absl::Hours(24 * 7));
  store::OrderRecord scheduled = orders[0];
  scheduled.campaign_id.clear();
  EXPECT_EQ(engine_->DeployNotBefore(scheduled, now()), std::nullopt)
      << "orders outside campaigns deploy any time";
}

TEST_F(CampaignEngineTest, AbortCancelsWhatHasNotDeployedAndLetsDeploysFinish) {
  v1::CampaignSpec spec = Sha256Migration();
  spec.mutable_wave_plan()->clear_soak_time();
  spec.mutable_wave_plan()->set_canary_hosts(3);
  const store::CampaignRecord campaign = CreateAndStart(spec);
  std::vector<store::OrderRecord> orders = CampaignOrders(campaign.campaign_id);
  ASSERT_THAT(orders, SizeIs(3));
  Drive(orders[0], OrderState::kDeploying);  // on the host already
  Drive(orders[1], OrderState::kDone);

  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::CampaignRecord aborting,
                                 engine_->Abort(campaign.campaign_id, "wrong O=", "admin"));
  EXPECT_EQ(aborting.state, store::CampaignState::kAborting) << "one deploy is still running";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::OrderRecord untouched,
                                 store().orders().GetOrder(orders[2].order_id));
  EXPECT_EQ(untouched.state, OrderState::kCancelled) << "not yet deploying: cancelled";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::OrderRecord deploying,
                                 store().orders().GetOrder(orders[0].order_id));
  EXPECT_EQ(deploying.state, OrderState::kDeploying) << "a deploy finishes or rolls back";

  std::vector<std::string> before;
  for (const store::OrderRecord& order : CampaignOrders(campaign.campaign_id)) {
    before.push_back(order.order_id);
  }
  deploying = store().orders().GetOrder(orders[0].order_id).value();
  store::OrderTransition verify;
  verify.order_id = deploying.order_id;
  verify.expected_state = OrderState::kDeploying;
  verify.to = OrderState::kRolledBack;
  verify.at = now();
  verify.reason = "verify failed";
  verify.actor = "agent";
  ASSERT_THAT(store().orders().TransitionOrder(verify), IsOk());
  engine_->RunOnce();
  EXPECT_EQ(Reload(campaign).state, store::CampaignState::kAborted);
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(before.size()))
      << "no target started during the abort";
}

TEST_F(CampaignEngineTest, ARestartedControllerContinuesWithoutRepeatingWork) {
  v1::CampaignSpec spec = Sha256Migration();
  spec.mutable_wave_plan()->clear_soak_time();
  const store::CampaignRecord campaign = CreateAndStart(spec);
  ASSERT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(1));
  // The controller restarts: a new engine on the same store.
  engine_ = MakeEngine();
  engine_->RunOnce();
  engine_->RunOnce();
  std::vector<store::OrderRecord> orders = CampaignOrders(campaign.campaign_id);
  ASSERT_THAT(orders, SizeIs(1));
  Drive(orders[0], OrderState::kDone);
  engine_ = MakeEngine();
  engine_->RunOnce();
  EXPECT_THAT(CampaignOrders(campaign.campaign_id), SizeIs(3));
}

TEST_F(CampaignEngineTest, OperatorActionsFollowTheStateGraph) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::CampaignRecord created,
                                 engine_->Create(Sha256Migration(), "", "admin"));
  EXPECT_THAT(engine_->Pause(created.campaign_id, "", "admin"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is draft")));
  EXPECT_THAT(engine_->Resume(created.campaign_id, "admin"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(store::CampaignRecord aborted,
                                 engine_->Abort(created.campaign_id, "changed my mind", "admin"));
  EXPECT_EQ(aborted.state, store::CampaignState::kAborted);
  EXPECT_TRUE(CampaignOrders(created.campaign_id).empty());
  EXPECT_THAT(engine_->Start(created.campaign_id, "admin"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is aborted")));
  EXPECT_THAT(engine_->Start("campaign-unknown", "admin"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace certfleet::controller::campaigns
