#include "controller/campaigns/wave_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tests/support/status_matchers.h"

namespace certfleet::controller::campaigns {
namespace {

using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// `count` hosts named web000..., one binding each (host i gets i % 3 + 1
// bindings when `several_bindings`).
std::vector<PlannedTarget> Hosts(int count, bool several_bindings = false) {
  std::vector<PlannedTarget> targets;
  for (int host = 0; host < count; ++host) {
    const int bindings = several_bindings ? host % 3 + 1 : 1;
    for (int binding = 0; binding < bindings; ++binding) {
      targets.push_back(PlannedTarget{
          .host_id = absl::StrFormat("host-%03d", host),
          .hostname = absl::StrFormat("web%03d.example.com", host),
          .site_id = absl::StrCat(binding + 1),
          .site_name = absl::StrCat("site ", binding + 1),
          .binding_id = absl::StrCat("binding-", binding + 1),
          .current_thumbprint = absl::StrFormat("%040d", host * 10 + binding),
      });
    }
  }
  return targets;
}

std::vector<int> HostCounts(const std::vector<Wave>& waves) {
  std::vector<int> counts;
  for (const Wave& wave : waves) counts.push_back(wave.host_count);
  return counts;
}

WavePlanSettings Settings(int canary, std::vector<int> percentages) {
  return WavePlanSettings{.canary_hosts = canary,
                          .cumulative_percentages = std::move(percentages),
                          .soak_time = absl::ZeroDuration()};
}

TEST(WavePlannerTest, NoTargetsNoWaves) {
  EXPECT_TRUE(PlanWaves({}, Settings(1, {10, 50})).empty());
}

TEST(WavePlannerTest, OneHostIsOnlyTheCanary) {
  const std::vector<Wave> waves = PlanWaves(Hosts(1), Settings(1, {10, 50}));
  EXPECT_THAT(HostCounts(waves), ElementsAre(1));
  EXPECT_EQ(waves[0].index, 0);
}

TEST(WavePlannerTest, TwoHosts) {
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(2), Settings(1, {10, 50}))), ElementsAre(1, 1));
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(2), Settings(1, {}))), ElementsAre(1, 1));
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(2), Settings(5, {50}))), ElementsAre(2))
      << "a canary larger than the fleet takes every host";
}

TEST(WavePlannerTest, ThreeHostsEachWaveAtLeastOneHost) {
  // 10% of 3 rounds up to 1, already reached by the canary: still one host.
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(3), Settings(1, {10, 50}))), ElementsAre(1, 1, 1));
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(3), Settings(1, {10, 20, 30, 40}))), ElementsAre(1, 1, 1))
      << "no empty waves once the hosts run out";
}

TEST(WavePlannerTest, TenHosts) {
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(10), Settings(1, {10, 50}))), ElementsAre(1, 1, 3, 5));
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(10), Settings(2, {25, 100}))), ElementsAre(2, 1, 7))
      << "25% of 10 rounds up to 3; 100% leaves no final wave";
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(10), Settings(0, {}))), ElementsAre(1, 9))
      << "canary 0 means 1";
}

TEST(WavePlannerTest, HundredAndOneHosts) {
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(101), Settings(1, {10, 50}))), ElementsAre(1, 10, 40, 50));
  EXPECT_THAT(HostCounts(PlanWaves(Hosts(101), Settings(3, {1, 2, 5, 25}))),
              ElementsAre(3, 1, 1, 1, 20, 75));
}

TEST(WavePlannerTest, EveryBindingOfAHostInOneWaveAndEveryBindingOnce) {
  const std::vector<PlannedTarget> targets = Hosts(10, /*several_bindings=*/true);
  const std::vector<Wave> waves = PlanWaves(targets, Settings(1, {30, 60}));
  std::set<std::string> seen_hosts;
  size_t binding_count = 0;
  for (const Wave& wave : waves) {
    std::set<std::string> hosts_in_wave;
    for (const PlannedTarget& target : wave.targets) {
      hosts_in_wave.insert(target.host_id);
      ++binding_count;
    }
    EXPECT_EQ(static_cast<int>(hosts_in_wave.size()), wave.host_count);
    for (const std::string& host : hosts_in_wave) {
      EXPECT_TRUE(seen_hosts.insert(host).second) << host << " is in two waves";
    }
  }
  EXPECT_EQ(binding_count, targets.size());
  EXPECT_THAT(HostCounts(waves), ElementsAre(1, 2, 3, 4));
}

TEST(WavePlannerTest, OrderIsByHostnameThenHostIdWhateverTheInputOrder) {
  std::vector<PlannedTarget> targets = {
      {.host_id = "host-b", .hostname = "Web2", .site_id = "1", .binding_id = "binding-1"},
      {.host_id = "host-a", .hostname = "web1", .site_id = "2", .binding_id = "binding-2"},
      {.host_id = "host-c", .hostname = "web1", .site_id = "1", .binding_id = "binding-1"},
      {.host_id = "host-a", .hostname = "web1", .site_id = "1", .binding_id = "binding-1"},
  };
  std::vector<PlannedTarget> reversed(targets.rbegin(), targets.rend());
  const std::vector<Wave> waves = PlanWaves(targets, Settings(1, {}));
  ASSERT_EQ(waves.size(), 2u);
  std::vector<std::string> order;
  for (const Wave& wave : waves) {
    for (const PlannedTarget& target : wave.targets) {
      order.push_back(absl::StrCat(target.host_id, "/", target.site_id));
    }
  }
  EXPECT_THAT(order, ElementsAre("host-a/1", "host-a/2", "host-c/1", "host-b/1"));
  const std::vector<Wave> again = PlanWaves(reversed, Settings(1, {}));
  EXPECT_EQ(PlanFingerprint(again), PlanFingerprint(waves));
}

TEST(PlanFingerprintTest, StableAndSensitiveToWhatThePlanRenews) {
  const std::vector<Wave> waves = PlanWaves(Hosts(10), Settings(1, {50}));
  const std::string fingerprint = PlanFingerprint(waves);
  EXPECT_EQ(fingerprint.size(), 64u);
  EXPECT_EQ(fingerprint.find_first_not_of("0123456789ABCDEF"), std::string::npos);
  EXPECT_EQ(PlanFingerprint(PlanWaves(Hosts(10), Settings(1, {50}))), fingerprint);

  // A certificate renewed since the plan was shown.
  std::vector<PlannedTarget> renewed = Hosts(10);
  renewed[4].current_thumbprint = std::string(40, 'F');
  EXPECT_NE(PlanFingerprint(PlanWaves(renewed, Settings(1, {50}))), fingerprint);
  // A host gone.
  EXPECT_NE(PlanFingerprint(PlanWaves(Hosts(9), Settings(1, {50}))), fingerprint);
  // The same hosts in other waves.
  EXPECT_NE(PlanFingerprint(PlanWaves(Hosts(10), Settings(1, {30}))), fingerprint);
  // Names are shown but not part of what is renewed.
  std::vector<PlannedTarget> renamed = Hosts(10);
  renamed[0].site_name = "renamed";
  EXPECT_EQ(PlanFingerprint(PlanWaves(renamed, Settings(1, {50}))), fingerprint);
  // Thumbprints compare case-insensitively, as the store keeps them.
  std::vector<PlannedTarget> lower = Hosts(10);
  lower[3].current_thumbprint = "abcdef";
  std::vector<PlannedTarget> upper = Hosts(10);
  upper[3].current_thumbprint = "ABCDEF";
  EXPECT_EQ(PlanFingerprint(PlanWaves(lower, Settings(1, {50}))),
            PlanFingerprint(PlanWaves(upper, Settings(1, {50}))));
}

TEST(PlanFingerprintTest, FieldBoundariesCannotBeConfused) {
  Wave a{.index = 0, .host_count = 1, .targets = {{.host_id = "host-1", .binding_id = "2b"}}};
  Wave b{.index = 0, .host_count = 1, .targets = {{.host_id = "host-12", .binding_id = "b"}}};
  EXPECT_NE(PlanFingerprint({a}), PlanFingerprint({b}));
}

TEST(WavePlannerTest, TargetsForTheStoreKeepWaveAndPlanOrder) {
  const std::vector<Wave> waves = PlanWaves(Hosts(3, /*several_bindings=*/true), Settings(1, {}));
  const std::vector<store::CampaignTargetRecord> records = ToCampaignTargets(waves);
  ASSERT_EQ(records.size(), 6u);
  EXPECT_EQ(records[0].wave_index, 0);
  EXPECT_EQ(records[0].host_id, "host-000");
  EXPECT_EQ(records[0].binding_id, "binding-1");
  EXPECT_EQ(records[0].site_id, "1");
  EXPECT_EQ(records[0].planned_thumbprint, std::string(40, '0'));
  EXPECT_EQ(records[1].wave_index, 1);
  EXPECT_EQ(records[1].host_id, "host-001");
  EXPECT_EQ(records[2].host_id, "host-001");
  EXPECT_EQ(records[2].binding_id, "binding-2");
  EXPECT_EQ(records[5].wave_index, 1);
  EXPECT_EQ(records[5].hostname, "web002.example.com");
}

TEST(WavePlanSettingsTest, FromProto) {
  v1::WavePlan plan;
  plan.add_cumulative_percentages(10);
  plan.add_cumulative_percentages(50);
  plan.mutable_soak_time()->set_seconds(3600);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const WavePlanSettings settings, FromWavePlanProto(plan));
  EXPECT_EQ(settings.canary_hosts, 1) << "0 means 1";
  EXPECT_THAT(settings.cumulative_percentages, ElementsAre(10, 50));
  EXPECT_EQ(settings.soak_time, absl::Hours(1));

  v1::WavePlan decreasing = plan;
  decreasing.add_cumulative_percentages(50);
  EXPECT_THAT(FromWavePlanProto(decreasing),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("wave_plan.cumulative_percentages[2] is 50")));
  v1::WavePlan too_large;
  too_large.add_cumulative_percentages(101);
  EXPECT_THAT(FromWavePlanProto(too_large),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("between 1 and 100")));
  v1::WavePlan negative_soak;
  negative_soak.mutable_soak_time()->set_seconds(-5);
  EXPECT_THAT(FromWavePlanProto(negative_soak),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wave_plan.soak_time")));
}

}  // namespace
}  // namespace certfleet::controller::campaigns
