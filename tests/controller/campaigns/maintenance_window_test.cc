#include "controller/campaigns/maintenance_window.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/status_matchers.h"

namespace certfleet::controller::campaigns {
namespace {

using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

// A UTC time, written as civil fields so that expectations read as dates.
absl::Time Utc(int year, int month, int day, int hour, int minute = 0, int second = 0) {
  return absl::FromCivil(absl::CivilSecond(year, month, day, hour, minute, second),
                         absl::UTCTimeZone());
}

MaintenanceWindow Window(std::vector<absl::Weekday> days, int hours, int minutes,
                         absl::Duration length, std::string time_zone) {
  absl::StatusOr<MaintenanceWindow> window =
      MaintenanceWindow::Create(MaintenanceWindowSettings{.name = "test",
                                                          .hosts = {},
                                                          .days = std::move(days),
                                                          .start_hours = hours,
                                                          .start_minutes = minutes,
                                                          .length = length,
                                                          .time_zone = std::move(time_zone)});
  EXPECT_TRUE(window.ok()) << window.status();
  return *std::move(window);
}

const std::vector<absl::Weekday> kEveryDay = {absl::Weekday::monday,    absl::Weekday::tuesday,
                                              absl::Weekday::wednesday, absl::Weekday::thursday,
                                              absl::Weekday::friday,    absl::Weekday::saturday,
                                              absl::Weekday::sunday};

TEST(MaintenanceWindowTest, UtcWindowAcrossMidnightCountsTheDayItOpened) {
  // Fridays 22:00 for 4 hours; 2026-01-02 is a Friday.
  const MaintenanceWindow window = Window({absl::Weekday::friday}, 22, 0, absl::Hours(4), "UTC");
  EXPECT_FALSE(window.Contains(Utc(2026, 1, 2, 21, 59, 59)));
  EXPECT_TRUE(window.Contains(Utc(2026, 1, 2, 22, 0)));
  EXPECT_TRUE(window.Contains(Utc(2026, 1, 3, 1, 59, 59))) << "Saturday, not a window day";
  EXPECT_FALSE(window.Contains(Utc(2026, 1, 3, 2, 0)));
  EXPECT_FALSE(window.Contains(Utc(2026, 1, 3, 22, 30))) << "Saturday does not open it";
  EXPECT_EQ(window.ClosingAfter(Utc(2026, 1, 3, 0, 30)), Utc(2026, 1, 3, 2, 0));
  EXPECT_EQ(window.ClosingAfter(Utc(2026, 1, 3, 2, 0)), std::nullopt);
}

TEST(MaintenanceWindowTest, NextOpeningIsAtOrAfter) {
  const MaintenanceWindow window =
      Window({absl::Weekday::monday, absl::Weekday::friday}, 22, 0, absl::Hours(4), "UTC");
  EXPECT_EQ(window.NextOpening(Utc(2026, 1, 2, 22, 0)), Utc(2026, 1, 2, 22, 0)) << "at";
  EXPECT_EQ(window.NextOpening(Utc(2026, 1, 2, 22, 0, 1)), Utc(2026, 1, 5, 22, 0))
      << "an opening in progress is not the next one";
  EXPECT_EQ(window.NextOpening(Utc(2026, 1, 6, 0, 0)), Utc(2026, 1, 9, 22, 0));
  const MaintenanceWindow weekly = Window({absl::Weekday::friday}, 22, 0, absl::Hours(1), "UTC");
  EXPECT_EQ(weekly.NextOpening(Utc(2026, 1, 2, 23, 0)), Utc(2026, 1, 9, 22, 0)) << "a week on";
}

TEST(MaintenanceWindowTest, BerlinWindowUsesLocalTime) {
  // Mondays 22:00 in Berlin: 21:00 UTC in winter (CET), 20:00 UTC in summer
  // (CEST). 2026-01-05 and 2026-07-06 are Mondays.
  const MaintenanceWindow window =
      Window({absl::Weekday::monday}, 22, 0, absl::Hours(3), "Europe/Berlin");
  EXPECT_EQ(window.NextOpening(Utc(2026, 1, 1, 0, 0)), Utc(2026, 1, 5, 21, 0));
  EXPECT_EQ(window.NextOpening(Utc(2026, 7, 1, 0, 0)), Utc(2026, 7, 6, 20, 0));
  EXPECT_TRUE(window.Contains(Utc(2026, 1, 5, 23, 59)));
  EXPECT_FALSE(window.Contains(Utc(2026, 1, 6, 0, 0)));
}

TEST(MaintenanceWindowTest, BerlinStartSkippedBySpringForwardOpensAtTheChange) {
  // 2026-03-29 (Sunday): clocks go from 02:00 CET to 03:00 CEST (01:00 UTC);
  // 02:30 does not exist that day.
  const MaintenanceWindow window =
      Window({absl::Weekday::sunday}, 2, 30, absl::Hours(2), "Europe/Berlin");
  EXPECT_EQ(window.NextOpening(Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 1, 0));
  EXPECT_FALSE(window.Contains(Utc(2026, 3, 29, 0, 59, 59)));
  EXPECT_TRUE(window.Contains(Utc(2026, 3, 29, 1, 0)));
  EXPECT_TRUE(window.Contains(Utc(2026, 3, 29, 2, 59, 59)));
  EXPECT_FALSE(window.Contains(Utc(2026, 3, 29, 3, 0))) << "two elapsed hours from the change";
  // The Sunday before, in winter time: 02:30 CET is 01:30 UTC.
  EXPECT_EQ(window.NextOpening(Utc(2026, 3, 21, 12, 0)), Utc(2026, 3, 22, 1, 30));
}

TEST(MaintenanceWindowTest, BerlinLengthIsElapsedTimeAcrossTheChange) {
  // Sunday 01:00 CET (00:00 UTC) for 4 hours ends at 04:00 UTC, which is
  // 06:00 CEST on the wall clock.
  const MaintenanceWindow window =
      Window({absl::Weekday::sunday}, 1, 0, absl::Hours(4), "Europe/Berlin");
  EXPECT_EQ(window.NextOpening(Utc(2026, 3, 28, 12, 0)), Utc(2026, 3, 29, 0, 0));
  EXPECT_TRUE(window.Contains(Utc(2026, 3, 29, 3, 59)));
  EXPECT_FALSE(window.Contains(Utc(2026, 3, 29, 4, 0)));
}

TEST(MaintenanceWindowTest, BerlinStartRepeatedByFallBackOpensAtTheFirst) {
  // 2026-10-25 (Sunday): clocks go back from 03:00 CEST to 02:00 CET (01:00
  // UTC); 02:30 happens at 00:30 UTC and again at 01:30 UTC.
  const MaintenanceWindow window =
      Window({absl::Weekday::sunday}, 2, 30, absl::Hours(1), "Europe/Berlin");
  EXPECT_EQ(window.NextOpening(Utc(2026, 10, 24, 12, 0)), Utc(2026, 10, 25, 0, 30));
  EXPECT_TRUE(window.Contains(Utc(2026, 10, 25, 0, 30)));
  EXPECT_TRUE(window.Contains(Utc(2026, 10, 25, 1, 29, 59)));
  EXPECT_FALSE(window.Contains(Utc(2026, 10, 25, 1, 30)))
      << "the second 02:30 does not open the window again";
  EXPECT_EQ(window.NextOpening(Utc(2026, 10, 25, 1, 0)), Utc(2026, 11, 1, 1, 30))
      << "next Sunday, 02:30 CET";
}

TEST(MaintenanceWindowTest, NewYorkAcrossBothChanges) {
  // Spring: 2026-03-08, 02:00 EST -> 03:00 EDT (07:00 UTC); a 02:15 start
  // does not exist and opens at the change.
  const MaintenanceWindow sunday =
      Window({absl::Weekday::sunday}, 2, 15, absl::Minutes(90), "America/New_York");
  EXPECT_EQ(sunday.NextOpening(Utc(2026, 3, 1, 0, 0)), Utc(2026, 3, 1, 7, 15)) << "EST";
  EXPECT_EQ(sunday.NextOpening(Utc(2026, 3, 2, 0, 0)), Utc(2026, 3, 8, 7, 0)) << "the change";
  EXPECT_EQ(sunday.NextOpening(Utc(2026, 3, 9, 0, 0)), Utc(2026, 3, 15, 6, 15)) << "EDT";
  EXPECT_TRUE(sunday.Contains(Utc(2026, 3, 8, 8, 29)));
  EXPECT_FALSE(sunday.Contains(Utc(2026, 3, 8, 8, 30)));

  // Autumn: 2026-11-01, 02:00 EDT -> 01:00 EST (06:00 UTC); a daily 01:30
  // start happens at 05:30 UTC and again at 06:30 UTC: the first counts.
  const MaintenanceWindow daily = Window(kEveryDay, 1, 30, absl::Hours(1), "America/New_York");
  EXPECT_EQ(daily.NextOpening(Utc(2026, 11, 1, 0, 0)), Utc(2026, 11, 1, 5, 30));
  EXPECT_TRUE(daily.Contains(Utc(2026, 11, 1, 6, 29)));
  EXPECT_FALSE(daily.Contains(Utc(2026, 11, 1, 6, 30)));
  EXPECT_EQ(daily.NextOpening(Utc(2026, 11, 1, 6, 0)), Utc(2026, 11, 2, 6, 30)) << "EST";
}

TEST(MaintenanceWindowTest, InvalidWindowsAreRefusedNamingTheField) {
  MaintenanceWindowSettings valid{.name = "eu-web",
                                  .hosts = {},
                                  .days = {absl::Weekday::monday},
                                  .start_hours = 22,
                                  .start_minutes = 0,
                                  .length = absl::Hours(2),
                                  .time_zone = "Europe/Berlin"};
  EXPECT_TRUE(MaintenanceWindow::Create(valid).ok());

  MaintenanceWindowSettings unknown_zone = valid;
  unknown_zone.time_zone = "Mars/Olympus_Mons";
  EXPECT_THAT(MaintenanceWindow::Create(unknown_zone, "maintenance_windows[1]."),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("maintenance_windows[1].time_zone \"Mars/Olympus_Mons\" is not "
                                 "a known IANA time zone")));
  MaintenanceWindowSettings empty_zone = valid;
  empty_zone.time_zone.clear();
  EXPECT_THAT(MaintenanceWindow::Create(empty_zone),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("time_zone is empty")));
  MaintenanceWindowSettings no_days = valid;
  no_days.days.clear();
  EXPECT_THAT(MaintenanceWindow::Create(no_days),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("days is empty")));
  MaintenanceWindowSettings zero_length = valid;
  zero_length.length = absl::ZeroDuration();
  EXPECT_THAT(MaintenanceWindow::Create(zero_length),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("length is 0")));
  MaintenanceWindowSettings too_long = valid;
  too_long.length = absl::Hours(24 * 8);
  EXPECT_THAT(MaintenanceWindow::Create(too_long),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at most 7 days")));
  MaintenanceWindowSettings late = valid;
  late.start_hours = 24;
  EXPECT_THAT(MaintenanceWindow::Create(late),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start.hours is 24")));
  MaintenanceWindowSettings minutes = valid;
  minutes.start_minutes = 60;
  EXPECT_THAT(MaintenanceWindow::Create(minutes),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start.minutes is 60")));
}

TEST(MaintenanceWindowTest, FromProto) {
  v1::MaintenanceWindow proto;
  proto.set_name("eu-web");
  (*proto.mutable_hosts()->mutable_labels())["region"] = "eu";
  proto.add_days(v1::DAY_OF_WEEK_SATURDAY);
  proto.add_days(v1::DAY_OF_WEEK_SUNDAY);
  proto.mutable_start()->set_hours(23);
  proto.mutable_start()->set_minutes(30);
  proto.mutable_length()->set_seconds(7200);
  proto.set_time_zone("UTC");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(const MaintenanceWindow window,
                                 MaintenanceWindow::FromProto(proto));
  EXPECT_EQ(window.settings().hosts.labels.at("region"), "eu");
  // 2026-01-03 is a Saturday.
  EXPECT_EQ(window.NextOpening(Utc(2026, 1, 1, 0, 0)), Utc(2026, 1, 3, 23, 30));
  EXPECT_TRUE(window.Contains(Utc(2026, 1, 5, 1, 0))) << "Sunday's opening runs into Monday";

  v1::MaintenanceWindow unspecified = proto;
  unspecified.add_days(v1::DAY_OF_WEEK_UNSPECIFIED);
  EXPECT_THAT(MaintenanceWindow::FromProto(unspecified, "maintenance_windows[0]."),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("maintenance_windows[0].days[2] is DAY_OF_WEEK_UNSPECIFIED")));
  v1::MaintenanceWindow late = proto;
  late.mutable_start()->set_hours(25);
  EXPECT_THAT(MaintenanceWindow::FromProto(late),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("start.hours is 25")));
}

TEST(MaintenanceWindowTest, WhichWindowsApplyToAHost) {
  // Mondays 22:00-00:00 UTC for hosts labelled region=eu; Tuesdays 03:00-04:00
  // UTC for hosts named web*.
  absl::StatusOr<MaintenanceWindow> eu = MaintenanceWindow::Create(MaintenanceWindowSettings{
      .name = "eu",
      .hosts = {.labels = {{"region", "eu"}}, .hostname_pattern = "", .host_ids = {}},
      .days = {absl::Weekday::monday},
      .start_hours = 22,
      .start_minutes = 0,
      .length = absl::Hours(2),
      .time_zone = "UTC"});
  absl::StatusOr<MaintenanceWindow> web = MaintenanceWindow::Create(
      MaintenanceWindowSettings{.name = "web",
                                .hosts = {.labels = {}, .hostname_pattern = "web*", .host_ids = {}},
                                .days = {absl::Weekday::tuesday},
                                .start_hours = 3,
                                .start_minutes = 0,
                                .length = absl::Hours(1),
                                .time_zone = "UTC"});
  ASSERT_TRUE(eu.ok() && web.ok());
  const std::vector<MaintenanceWindow> windows = {*eu, *web};

  store::HostRecord both;
  both.hostname = "web01";
  both.labels = {{"region", "eu"}};
  store::HostRecord only_web;
  only_web.hostname = "web02";
  store::HostRecord neither;
  neither.hostname = "db01";

  const std::vector<const MaintenanceWindow*> for_both = WindowsForHost(windows, both);
  ASSERT_EQ(for_both.size(), 2u);
  EXPECT_EQ(for_both[0]->settings().name, "eu");
  // 2026-01-05 is a Monday, 2026-01-06 a Tuesday.
  EXPECT_TRUE(MayDeployAt(for_both, Utc(2026, 1, 5, 23, 0))) << "inside eu";
  EXPECT_TRUE(MayDeployAt(for_both, Utc(2026, 1, 6, 3, 30))) << "inside web";
  EXPECT_FALSE(MayDeployAt(for_both, Utc(2026, 1, 6, 1, 0)));
  EXPECT_EQ(EarliestDeployTime(for_both, Utc(2026, 1, 6, 1, 0)), Utc(2026, 1, 6, 3, 0));
  EXPECT_EQ(EarliestDeployTime(for_both, Utc(2026, 1, 5, 23, 0)), Utc(2026, 1, 5, 23, 0));
  EXPECT_EQ(NextWindowOpening(for_both, Utc(2026, 1, 5, 23, 0)), Utc(2026, 1, 6, 3, 0));

  const std::vector<const MaintenanceWindow*> for_web = WindowsForHost(windows, only_web);
  ASSERT_EQ(for_web.size(), 1u);
  EXPECT_FALSE(MayDeployAt(for_web, Utc(2026, 1, 5, 23, 0)));
  EXPECT_EQ(EarliestDeployTime(for_web, Utc(2026, 1, 5, 23, 0)), Utc(2026, 1, 6, 3, 0));

  const std::vector<const MaintenanceWindow*> for_neither = WindowsForHost(windows, neither);
  EXPECT_TRUE(for_neither.empty());
  EXPECT_TRUE(MayDeployAt(for_neither, Utc(2026, 1, 6, 1, 0))) << "no window: any time";
  EXPECT_EQ(EarliestDeployTime(for_neither, Utc(2026, 1, 6, 1, 0)), Utc(2026, 1, 6, 1, 0));
  EXPECT_EQ(NextWindowOpening(for_neither, Utc(2026, 1, 6, 1, 0)), std::nullopt);
}

}  // namespace
}  // namespace certfleet::controller::campaigns
