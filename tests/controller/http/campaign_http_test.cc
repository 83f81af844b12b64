// The campaign resources of the JSON API and the campaign metrics, over real
// HTTP on 127.0.0.1 (port 0), against an in-memory SqliteStore holding real
// campaigns made by the campaign engine (as tests/controller/campaigns/
// does): a draft, an aborted one, one paused by its failure budget after a
// rolled-back canary, and a running one with its canary in flight. The API
// gets the engine's Describe as its describe_campaign, as the controller
// wires it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "controller/campaigns/campaign_engine.h"
#include "controller/http/http_server.h"
#include "tests/controller/store/store_test_fixture.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller::http {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::TemporaryDirectory;
using nlohmann::json;
using store::OrderState;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kToken[] = "campaign-token-0123456789";

struct Answer {
  int status = 0;
  std::string body;
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

class CampaignHttpTest : public store::testing::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    // Four hosts with one SHA-1 site each.
    for (int index = 1; index <= 4; ++index) {
      store::HostRecord host = Enroll(absl::StrCat("web-0", index, ".example.com"));
      store::CertificateRecord certificate =
          store::testing::MakeCertificate(index, now() + absl::Hours(24 * 200));
      certificate.signature_hash = "SHA1";
      ASSERT_THAT(store().inventory().IngestInventory(
                      ReportWithOneSite(host.host_id, "h1", certificate), now()),
                  IsOk());
      host_ids_.push_back(host.host_id);
    }
    campaigns::CampaignEngineOptions options;
    options.clock = [this] { return now(); };
    options.log = [](std::string_view) {};
    engine_ = std::make_unique<campaigns::CampaignEngine>(store(), std::move(options));

    // Oldest first, a minute apart: a draft on web-04; a draft on web-03
    // aborted at once; one on web-01 (canary) and web-02 with a budget of 0
    // failures, paused by its rolled-back canary; and one on web-03 (free
    // again once the abort finished that campaign), running its canary.
    CERTFLEET_ASSERT_OK_AND_ASSIGN(draft_, engine_->Create(Spec("draft-campaign", {3}), "", "ann"));
    Advance(absl::Minutes(1));
    CERTFLEET_ASSERT_OK_AND_ASSIGN(store::CampaignRecord aborted,
                                   engine_->Create(Spec("aborted-campaign", {2}), "", "ann"));
    CERTFLEET_ASSERT_OK_AND_ASSIGN(aborted_, engine_->Abort(aborted.campaign_id, "typo", "ann"));
    Advance(absl::Minutes(1));
    v1::CampaignSpec budget_spec = Spec("budget-campaign", {0, 1});
    budget_spec.mutable_failure_budget()->set_max_failures(0);
    CERTFLEET_ASSERT_OK_AND_ASSIGN(budget_, engine_->Create(budget_spec, "", "ann"));
    ASSERT_THAT(engine_->Start(budget_.campaign_id, "ann"), IsOk());
    std::vector<store::OrderRecord> orders = CampaignOrders(budget_.campaign_id);
    ASSERT_EQ(orders.size(), 1u) << "only the canary starts";
    canary_order_id_ = orders[0].order_id;
    Advance(absl::Minutes(1));
    RollBack(orders[0]);
    engine_->RunOnce();
    CERTFLEET_ASSERT_OK_AND_ASSIGN(budget_, store().campaigns().GetCampaign(budget_.campaign_id));
    ASSERT_EQ(budget_.state, store::CampaignState::kPaused);
    Advance(absl::Minutes(1));
    CERTFLEET_ASSERT_OK_AND_ASSIGN(running_,
                                   engine_->Create(Spec("running-campaign", {2}), "", "bob"));
    CERTFLEET_ASSERT_OK_AND_ASSIGN(running_, engine_->Start(running_.campaign_id, "bob"));
    Advance(absl::Minutes(1));
    StartServer(/*with_token=*/false, /*with_campaigns=*/true);
  }

  // SHA-1 to SHA-256 of the hosts at `host_indexes`, one host per wave.
  v1::CampaignSpec Spec(const std::string& name, const std::vector<int>& host_indexes) {
    v1::CampaignSpec spec;
    spec.set_name(name);
    spec.mutable_selector()->add_signature_hashes(v1::SIGNATURE_HASH_SHA1);
    for (int index : host_indexes) {
      spec.mutable_selector()->mutable_hosts()->add_host_ids(host_ids_[index]);
    }
    spec.mutable_policy()->set_signature_hash(v1::SIGNATURE_HASH_SHA256);
    spec.mutable_wave_plan()->set_canary_hosts(1);
    return spec;
  }

  std::vector<store::OrderRecord> CampaignOrders(const std::string& campaign_id) {
    store::OrderQuery query;
    query.campaign_id = campaign_id;
    absl::StatusOr<store::Page<store::OrderRecord>> page = store().orders().ListOrders(query);
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->items : std::vector<store::OrderRecord>{};
  }

  // Moves `order` through deploying to rolled back, as the renewal engine
  // and the agent would when verification fails.
  void RollBack(store::OrderRecord order) {
    for (OrderState to : {OrderState::kCsrRequested, OrderState::kAwaitingIssuance,
                          OrderState::kIssued, OrderState::kDeploying, OrderState::kRolledBack}) {
      store::OrderTransition transition;
      transition.order_id = order.order_id;
      transition.expected_state = order.state;
      transition.to = to;
      transition.at = now();
      transition.reason = "test";
      transition.actor = "test";
      if (to == OrderState::kRolledBack) {
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

  void StartServer(bool with_token, bool with_campaigns) {
    server_.reset();
    HttpServerOptions options;
    options.listen_address = "127.0.0.1:0";
    options.api.clock = [this] { return now(); };
    if (with_campaigns) {
      campaigns::CampaignEngine* engine = engine_.get();
      options.api.describe_campaign = [engine](const store::CampaignRecord& campaign) {
        return engine->Describe(campaign, /*with_targets=*/false);
      };
    }
    if (with_token) {
      options.token_file = directory_.path() / "token";
      std::ofstream(options.token_file) << kToken << "\n";
    }
    CERTFLEET_ASSERT_OK_AND_ASSIGN(server_, HttpServer::Start(options, &store()));
  }

  Answer Get(const std::string& path, const std::string& token = "") {
    httplib::Client client("127.0.0.1", server_->port());
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", absl::StrCat("Bearer ", token));
    httplib::Result result = client.Get(path, headers);
    Answer answer;
    EXPECT_TRUE(result) << "GET " << path << " failed: " << httplib::to_string(result.error());
    if (!result) return answer;
    answer.status = result->status;
    answer.body = result->body;
    return answer;
  }

  json GetJson(const std::string& path) {
    Answer answer = Get(path);
    EXPECT_EQ(answer.status, 200) << path << ": " << answer.body;
    return answer.Json();
  }

  static std::vector<std::string> Names(const json& page) {
    std::vector<std::string> names;
    for (const json& item : page["items"]) names.push_back(item["name"]);
    return names;
  }

  std::vector<std::string> host_ids_;
  std::unique_ptr<campaigns::CampaignEngine> engine_;
  store::CampaignRecord draft_;
  store::CampaignRecord aborted_;
  store::CampaignRecord budget_;
  store::CampaignRecord running_;
  std::string canary_order_id_;
  TemporaryDirectory directory_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(CampaignHttpTest, ListIsNewestFirstWithStateCountsWavesAndBudget) {
  json page = GetJson("/api/v1/campaigns");
  EXPECT_THAT(Names(page), ElementsAre("running-campaign", "budget-campaign", "aborted-campaign",
                                       "draft-campaign"));
  EXPECT_EQ(page["total_size"], 4);
  EXPECT_EQ(page["next_page_token"], "");

  const json& budget = page["items"][1];
  EXPECT_EQ(budget["campaign_id"], budget_.campaign_id);
  EXPECT_EQ(budget["state"], "paused");
  EXPECT_EQ(budget["pause_reason"], "failure_budget");
  EXPECT_THAT(budget["state_reason"].get<std::string>(), HasSubstr("exceed"));
  EXPECT_EQ(budget["created_by"], "ann");
  EXPECT_EQ(budget["created_at"], "2024-03-01T00:02:00Z");
  EXPECT_EQ(budget["started_at"], "2024-03-01T00:02:00Z");
  EXPECT_EQ(budget["finished_at"], nullptr);
  EXPECT_EQ(budget["targets"], (json{{"total", 2},
                                     {"pending", 1},
                                     {"in_flight", 0},
                                     {"done", 0},
                                     {"failed", 0},
                                     {"rolled_back", 1},
                                     {"cancelled", 0}}));
  EXPECT_EQ(budget["current_wave"], nullptr) << "no wave is running or soaking";
  EXPECT_EQ(budget["wave_count"], 2);
  EXPECT_EQ(budget["failures"], 1);
  EXPECT_EQ(budget["failure_budget"],
            (json{{"max_failures", 0}, {"max_failure_percent", nullptr}}));
  ASSERT_EQ(budget["waves"].size(), 2u);
  EXPECT_EQ(budget["waves"][0]["number"], 0);
  EXPECT_EQ(budget["waves"][0]["size"], 1);
  EXPECT_EQ(budget["waves"][0]["state"], "failed");
  EXPECT_EQ(budget["waves"][0]["progress"]["rolled_back"], 1);
  EXPECT_EQ(budget["waves"][0]["started_at"], "2024-03-01T00:02:00Z");
  EXPECT_EQ(budget["waves"][0]["finished_at"], "2024-03-01T00:03:00Z");
  EXPECT_EQ(budget["waves"][1]["state"], "pending");
  EXPECT_EQ(budget["waves"][1]["progress"]["pending"], 1);
  EXPECT_FALSE(budget["waves"][0].contains("targets")) << "targets only in the detail";

  const json& running = page["items"][0];
  EXPECT_EQ(running["state"], "running");
  EXPECT_EQ(running["pause_reason"], nullptr);
  EXPECT_EQ(running["current_wave"], 0);
  EXPECT_EQ(running["wave_count"], 1);
  EXPECT_EQ(running["targets"]["in_flight"], 1);
  EXPECT_EQ(running["failure_budget"],
            (json{{"max_failures", nullptr}, {"max_failure_percent", nullptr}}));

  const json& aborted = page["items"][2];
  EXPECT_EQ(aborted["state"], "aborted");
  EXPECT_EQ(aborted["finished_at"], "2024-03-01T00:01:00Z");
  EXPECT_EQ(aborted["targets"]["cancelled"], 1);
  const json& draft = page["items"][3];
  EXPECT_EQ(draft["state"], "draft");
  EXPECT_EQ(draft["started_at"], nullptr);
  EXPECT_EQ(draft["targets"]["pending"], 1);
}

TEST_F(CampaignHttpTest, ListIsPagedAndFiltered) {
  json first = GetJson("/api/v1/campaigns?page_size=3");
  EXPECT_THAT(Names(first), ElementsAre("running-campaign", "budget-campaign", "aborted-campaign"));
  EXPECT_EQ(first["total_size"], 4);
  const std::string token = first["next_page_token"];
  ASSERT_FALSE(token.empty());
  json second = GetJson(absl::StrCat("/api/v1/campaigns?page_size=3&page_token=", token));
  EXPECT_THAT(Names(second), ElementsAre("draft-campaign"));
  EXPECT_EQ(second["next_page_token"], "");

  EXPECT_THAT(Names(GetJson("/api/v1/campaigns?state=paused,draft")),
              ElementsAre("budget-campaign", "draft-campaign"));

  Answer bad_state = Get("/api/v1/campaigns?state=sleeping");
  EXPECT_EQ(bad_state.status, 400);
  EXPECT_EQ(bad_state.Json()["error"]["code"], "invalid_argument");
  EXPECT_EQ(Get("/api/v1/campaigns?page_token=garbage").status, 400);
  EXPECT_EQ(Get("/api/v1/campaigns?limit=3").status, 400);
}

TEST_F(CampaignHttpTest, DetailHasEveryWaveWithItsTargetsAndOrders) {
  json campaign = GetJson(absl::StrCat("/api/v1/campaigns/", budget_.campaign_id));
  EXPECT_EQ(campaign["name"], "budget-campaign");
  EXPECT_EQ(campaign["failures"], 1);
  ASSERT_EQ(campaign["waves"].size(), 2u);
  ASSERT_EQ(campaign["waves"][0]["targets"].size(), 1u);
  const json& canary = campaign["waves"][0]["targets"][0];
  EXPECT_EQ(canary["host_id"], host_ids_[0]);
  EXPECT_EQ(canary["hostname"], "web-01.example.com");
  EXPECT_EQ(canary["site_id"], "1");
  EXPECT_EQ(canary["site"], "Shop");
  EXPECT_EQ(canary["binding_id"], "1");
  EXPECT_EQ(canary["state"], "rolled_back");
  EXPECT_EQ(canary["order_id"], canary_order_id_);
  EXPECT_EQ(canary["order_state"], "rolled_back");
  EXPECT_EQ(canary["last_failure"]["code"], "FAILURE_CODE_VERIFICATION_FAILED");
  EXPECT_EQ(canary["last_failure"]["message"], "incomplete chain");

  ASSERT_EQ(campaign["waves"][1]["targets"].size(), 1u);
  const json& waiting = campaign["waves"][1]["targets"][0];
  EXPECT_EQ(waiting["hostname"], "web-02.example.com");
  EXPECT_EQ(waiting["state"], "pending");
  EXPECT_EQ(waiting["order_id"], nullptr);
  EXPECT_EQ(waiting["order_state"], nullptr);
  EXPECT_EQ(waiting["last_failure"], nullptr);

  json running = GetJson(absl::StrCat("/api/v1/campaigns/", running_.campaign_id));
  const json& in_flight = running["waves"][0]["targets"][0];
  EXPECT_EQ(in_flight["state"], "in_flight");
  EXPECT_EQ(in_flight["order_state"], "due");
  EXPECT_EQ(in_flight["last_failure"], nullptr);
}

TEST_F(CampaignHttpTest, UnknownCampaignIs404AndNoEngineIs503) {
  Answer unknown = Get("/api/v1/campaigns/campaign-0000");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.Json()["error"]["code"], "not_found");
  EXPECT_THAT(unknown.Json()["error"]["message"].get<std::string>(), HasSubstr("campaign-0000"));
  EXPECT_EQ(Get(absl::StrCat("/api/v1/campaigns/", budget_.campaign_id, "?verbose=1")).status, 400);

  StartServer(/*with_token=*/false, /*with_campaigns=*/false);
  Answer unavailable = Get("/api/v1/campaigns");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.Json()["error"]["code"], "unavailable");
}

TEST_F(CampaignHttpTest, CampaignsNeedTheTokenLikeEveryResource) {
  StartServer(/*with_token=*/true, /*with_campaigns=*/true);
  EXPECT_EQ(Get("/api/v1/campaigns").status, 401);
  EXPECT_EQ(Get(absl::StrCat("/api/v1/campaigns/", budget_.campaign_id)).status, 401);
  EXPECT_EQ(Get("/api/v1/campaigns", "wrong-token-0123456789").status, 401);
  EXPECT_EQ(Get("/api/v1/campaigns", kToken).status, 200);
  EXPECT_EQ(Get(absl::StrCat("/api/v1/campaigns/", budget_.campaign_id), kToken).status, 200);
}

TEST_F(CampaignHttpTest, MetricsCountCampaignsByStateAndTargetsOfOpenOnes) {
  Answer metrics = Get("/metrics");
  ASSERT_EQ(metrics.status, 200);
  const std::vector<std::string> lines = absl::StrSplit(metrics.body, '\n');
  for (const char* line : {
           "# HELP certfleet_campaigns Renewal campaigns by state.",
           "# TYPE certfleet_campaigns gauge",
           "certfleet_campaigns{state=\"draft\"} 1",
           "certfleet_campaigns{state=\"running\"} 1",
           "certfleet_campaigns{state=\"paused\"} 1",
           "certfleet_campaigns{state=\"completed\"} 0",
           "certfleet_campaigns{state=\"aborting\"} 0",
           "certfleet_campaigns{state=\"aborted\"} 1",
           "# TYPE certfleet_campaigns_paused gauge",
           "certfleet_campaigns_paused{reason=\"operator\"} 0",
           "certfleet_campaigns_paused{reason=\"failure_budget\"} 1",
           "# TYPE certfleet_campaign_targets gauge",
       }) {
    EXPECT_THAT(lines, Contains(line));
  }
  const auto target_line = [](const store::CampaignRecord& campaign, const std::string& state,
                              int count) {
    return absl::StrCat("certfleet_campaign_targets{campaign=\"", campaign.name,
                        "\",campaign_id=\"", campaign.campaign_id, "\",state=\"", state, "\"} ",
                        count);
  };
  EXPECT_THAT(lines, Contains(target_line(budget_, "pending", 1)));
  EXPECT_THAT(lines, Contains(target_line(budget_, "rolled_back", 1)));
  EXPECT_THAT(lines, Contains(target_line(budget_, "in_flight", 0)));
  EXPECT_THAT(lines, Contains(target_line(running_, "in_flight", 1)));
  EXPECT_THAT(lines, Contains(target_line(draft_, "pending", 1)));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, Not(HasSubstr("aborted-campaign"))) << "finished campaigns have no targets";
  }
}

}  // namespace
}  // namespace certfleet::controller::http
