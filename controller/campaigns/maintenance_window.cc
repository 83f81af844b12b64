#include "controller/campaigns/maintenance_window.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/admin/record_conversion.h"
#include "controller/renewal/renewal_policy.h"

namespace certfleet::controller::campaigns {
namespace {

std::optional<absl::Weekday> WeekdayFromProto(int day) {
  switch (day) {
    case v1::DAY_OF_WEEK_MONDAY:
      return absl::Weekday::monday;
    case v1::DAY_OF_WEEK_TUESDAY:
      return absl::Weekday::tuesday;
    case v1::DAY_OF_WEEK_WEDNESDAY:
      return absl::Weekday::wednesday;
    case v1::DAY_OF_WEEK_THURSDAY:
      return absl::Weekday::thursday;
    case v1::DAY_OF_WEEK_FRIDAY:
      return absl::Weekday::friday;
    case v1::DAY_OF_WEEK_SATURDAY:
      return absl::Weekday::saturday;
    case v1::DAY_OF_WEEK_SUNDAY:
      return absl::Weekday::sunday;
    default:
      return std::nullopt;
  }
}

// Openings that may still be open at a time lie this many days back at
// most: the length in days, rounded up, plus one for a daylight saving
// shift.
int64_t LookbackDays(absl::Duration length) {
  return absl::IDivDuration(length, absl::Hours(24), &length) + 2;
}

}  // namespace

absl::StatusOr<MaintenanceWindow> MaintenanceWindow::Create(MaintenanceWindowSettings settings,
                                                            std::string_view field_prefix) {
  const std::string prefix(field_prefix);
  absl::TimeZone zone;
  if (settings.time_zone.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix,
                     "time_zone is empty; name an IANA time zone such as "
                     "\"Europe/Berlin\" or \"UTC\""));
  }
  if (!absl::LoadTimeZone(settings.time_zone, &zone)) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "time_zone \"", settings.time_zone,
                     "\" is not a known IANA time zone (is the tzdata package installed?)"));
  }
  if (settings.days.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "days is empty; name at least one day the window opens"));
  }
  if (settings.start_hours < 0 || settings.start_hours > 23) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "start.hours is ", settings.start_hours, "; it must be 0-23"));
  }
  if (settings.start_minutes < 0 || settings.start_minutes > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "start.minutes is ", settings.start_minutes, "; it must be 0-59"));
  }
  if (settings.length <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "length is ", absl::FormatDuration(settings.length), "; it must be positive"));
  }
  if (settings.length > kMaximumWindowLength) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "length is ", absl::FormatDuration(settings.length),
                     "; it must be at most 7 days (a host without a window deploys any time)"));
  }
  std::sort(settings.days.begin(), settings.days.end());
  settings.days.erase(std::unique(settings.days.begin(), settings.days.end()), settings.days.end());
  return MaintenanceWindow(std::move(settings), zone);
}

absl::StatusOr<MaintenanceWindow> MaintenanceWindow::FromProto(const v1::MaintenanceWindow& window,
                                                               std::string_view field_prefix) {
  MaintenanceWindowSettings settings;
  settings.name = window.name();
  settings.hosts = admin::FromHostSelectorProto(window.hosts());
  for (int i = 0; i < window.days_size(); ++i) {
    std::optional<absl::Weekday> day = WeekdayFromProto(window.days(i));
    if (!day.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(field_prefix), "days[", i, "] is ",
                                                     v1::DayOfWeek_IsValid(window.days(i))
                                                         ? v1::DayOfWeek_Name(window.days(i))
                                                         : absl::StrCat(window.days(i)),
                                                     "; name a day from Monday to Sunday"));
    }
    settings.days.push_back(*day);
  }
  settings.start_hours = static_cast<int>(std::min<uint32_t>(window.start().hours(), 1000));
  settings.start_minutes = static_cast<int>(std::min<uint32_t>(window.start().minutes(), 1000));
  settings.length = admin::FromDuration(window.length());
  settings.time_zone = window.time_zone();
  return Create(std::move(settings), field_prefix);
}

std::optional<absl::Time> MaintenanceWindow::OpeningOn(absl::CivilDay day) const {
  if (std::find(settings_.days.begin(), settings_.days.end(), absl::GetWeekday(day)) ==
      settings_.days.end()) {
    return std::nullopt;
  }
  const absl::CivilSecond start(day.year(), day.month(), day.day(), settings_.start_hours,
                                settings_.start_minutes, 0);
  const absl::TimeZone::TimeInfo info = zone_.At(start);
  // Skipped (clocks went forward over the start): open at the change.
  // Repeated (clocks went back): the first occurrence, which is `pre`.
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

bool MaintenanceWindow::Contains(absl::Time time) const { return ClosingAfter(time).has_value(); }

std::optional<absl::Time> MaintenanceWindow::ClosingAfter(absl::Time time) const {
  const absl::CivilDay today = absl::ToCivilDay(time, zone_);
  std::optional<absl::Time> closing;
  for (absl::CivilDay day = today - LookbackDays(settings_.length); day <= today; ++day) {
    const std::optional<absl::Time> opening = OpeningOn(day);
    if (!opening.has_value() || *opening > time) continue;
    const absl::Time closes = *opening + settings_.length;
    if (time < closes && (!closing.has_value() || closes > *closing)) closing = closes;
  }
  return closing;
}

absl::Time MaintenanceWindow::NextOpening(absl::Time time) const {
  const absl::CivilDay today = absl::ToCivilDay(time, zone_);
  std::optional<absl::Time> next;
  for (absl::CivilDay day = today - 1; day <= today + 8; ++day) {
    const std::optional<absl::Time> opening = OpeningOn(day);
    if (opening.has_value() && *opening >= time && (!next.has_value() || *opening < *next)) {
      next = opening;
    }
  }
  // Create refuses a window without days, so some day of the next eight
  // opens it.
  return next.value_or(absl::InfiniteFuture());
}

std::vector<const MaintenanceWindow*> WindowsForHost(const std::vector<MaintenanceWindow>& windows,
                                                     const store::HostRecord& host) {
  std::vector<const MaintenanceWindow*> applying;
  for (const MaintenanceWindow& window : windows) {
    if (renewal::SelectorMatches(window.settings().hosts, host)) applying.push_back(&window);
  }
  return applying;
}

bool MayDeployAt(const std::vector<const MaintenanceWindow*>& windows, absl::Time time) {
  if (windows.empty()) return true;
  return std::any_of(windows.begin(), windows.end(),
                     [&](const MaintenanceWindow* window) { return window->Contains(time); });
}

absl::Time EarliestDeployTime(const std::vector<const MaintenanceWindow*>& windows,
                              absl::Time time) {
  if (MayDeployAt(windows, time)) return time;
  return NextWindowOpening(windows, time).value_or(time);
}

std::optional<absl::Time> NextWindowOpening(const std::vector<const MaintenanceWindow*>& windows,
                                            absl::Time time) {
  std::optional<absl::Time> next;
  for (const MaintenanceWindow* window : windows) {
    const absl::Time opening = window->NextOpening(time);
    if (!next.has_value() || opening < *next) next = opening;
  }
  return next;
}

}  // namespace certfleet::controller::campaigns
