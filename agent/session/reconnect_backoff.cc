#include "agent/session/reconnect_backoff.h"

#include <algorithm>
#include <cmath>

namespace certfleet::agent::session {

ReconnectBackoff::ReconnectBackoff(absl::Duration initial, absl::Duration maximum, uint64_t seed)
    : initial_(initial), maximum_(maximum), random_(seed) {}

absl::Duration ReconnectBackoff::Ceiling() const {
  // 2^30 times any sensible initial delay is past every maximum.
  const double factor = std::pow(2.0, std::min(failures_, 30));
  return std::min(maximum_, initial_ * factor);
}

absl::Duration ReconnectBackoff::Next() {
  const absl::Duration ceiling = Ceiling();
  ++failures_;
  std::uniform_real_distribution<double> fraction(0.0, 1.0);
  return ceiling * fraction(random_);
}

}  // namespace certfleet::agent::session
