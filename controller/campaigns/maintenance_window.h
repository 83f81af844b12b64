// Maintenance windows (certfleet.v1.MaintenanceWindow): the recurring times
// in which a campaign may run deploy steps on a group of hosts. CSR
// generation and issuance may run outside them; only the deploy waits.
//
// A window opens on each of its days at its start time of day in its IANA
// time zone and stays open for its length, measured in elapsed time; a
// window may run past midnight, and the day that counts is the day it
// opened (Friday 22:00 for 4 h covers Saturday 00:00-02:00 even when
// Saturday is not one of its days).
//
// Daylight saving time:
//   - A start time that does not exist that day (skipped when clocks go
//     forward, e.g. 02:30 on the last Sunday of March in Europe/Berlin)
//     opens the window at the moment of the change (03:00 CEST), so the
//     window is shortened rather than moved or lost.
//   - A start time that happens twice (clocks go back) opens the window at
//     the first occurrence.
//   - The length is elapsed time: a 4 h window that spans a change is 4 real
//     hours long, ending an hour later (or earlier) on the wall clock.
//
// Which windows apply to a host: every window whose host selector selects
// it (matched like renewal policies). A host matched by several windows may
// deploy inside any of them; a host matched by none may deploy any time.
//
// Thread safety: MaintenanceWindow is immutable after Create; its const
// methods and the free functions may be called from several threads.

#ifndef CERTFLEET_CONTROLLER_CAMPAIGNS_MAINTENANCE_WINDOW_H_
#define CERTFLEET_CONTROLLER_CAMPAIGNS_MAINTENANCE_WINDOW_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "certfleet/v1/campaign.pb.h"
#include "controller/store/records.h"

namespace certfleet::controller::campaigns {

// Windows longer than this are refused: a window open for more than a week
// is always open, which is what "no window" already says.
inline constexpr absl::Duration kMaximumWindowLength = absl::Hours(7 * 24);

// What a window is made of, as the operator wrote it.
struct MaintenanceWindowSettings {
  // For display ("eu-web").
  std::string name;
  store::HostSelectorRecord hosts;
  // At least one; duplicates are ignored.
  std::vector<absl::Weekday> days;
  // 0-23 and 0-59.
  int start_hours = 0;
  int start_minutes = 0;
  // In (0, kMaximumWindowLength].
  absl::Duration length = absl::ZeroDuration();
  // IANA name ("Europe/Berlin", "UTC").
  std::string time_zone;
};

class MaintenanceWindow {
 public:
  // A window from `settings`, with its time zone loaded. InvalidArgument
  // naming the field (prefixed by `field_prefix`, e.g.
  // "maintenance_windows[2].") for an unknown time zone, no days, hours
  // above 23, minutes above 59, or a length that is not positive or longer
  // than kMaximumWindowLength.
  static absl::StatusOr<MaintenanceWindow> Create(MaintenanceWindowSettings settings,
                                                  std::string_view field_prefix = "");

  // The same from the wire message; also InvalidArgument for
  // DAY_OF_WEEK_UNSPECIFIED or an unknown day.
  static absl::StatusOr<MaintenanceWindow> FromProto(const v1::MaintenanceWindow& window,
                                                     std::string_view field_prefix = "");

  const MaintenanceWindowSettings& settings() const { return settings_; }

  // Whether `time` is inside an opening: opened at or before it, closing
  // after it.
  bool Contains(absl::Time time) const;

  // The first opening at or after `time` (never later than 8 days after
  // it).
  absl::Time NextOpening(absl::Time time) const;

  // When the opening that contains `time` closes; nullopt when `time` is
  // outside the window.
  std::optional<absl::Time> ClosingAfter(absl::Time time) const;

 private:
  MaintenanceWindow(MaintenanceWindowSettings settings, absl::TimeZone zone)
      : settings_(std::move(settings)), zone_(zone) {}

  // When the window opens on `day`, or nullopt when `day` is not one of its
  // days.
  std::optional<absl::Time> OpeningOn(absl::CivilDay day) const;

  MaintenanceWindowSettings settings_;
  absl::TimeZone zone_;
};

// Every window in `windows` that applies to `host` (by its host selector),
// in the given order.
std::vector<const MaintenanceWindow*> WindowsForHost(const std::vector<MaintenanceWindow>& windows,
                                                     const store::HostRecord& host);

// Whether a host to which `windows` apply may deploy at `time`: true when
// no window applies or `time` is inside any of them.
bool MayDeployAt(const std::vector<const MaintenanceWindow*>& windows, absl::Time time);

// The earliest time at or after `time` at which a host to which `windows`
// apply may deploy: `time` itself when it may deploy then, otherwise the
// soonest next opening.
absl::Time EarliestDeployTime(const std::vector<const MaintenanceWindow*>& windows,
                              absl::Time time);

// The soonest opening of any of `windows` at or after `time` (for a plan's
// next_window_opens_at); nullopt when no window applies.
std::optional<absl::Time> NextWindowOpening(const std::vector<const MaintenanceWindow*>& windows,
                                            absl::Time time);

}  // namespace certfleet::controller::campaigns

#endif  // CERTFLEET_CONTROLLER_CAMPAIGNS_MAINTENANCE_WINDOW_H_
