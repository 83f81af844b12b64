// How long the agent waits before reconnecting to the controller:
// exponential backoff with full jitter. The n-th consecutive failure draws
// the delay uniformly from [0, min(maximum, initial * 2^n)), so that a fleet
// that lost its controller at the same moment does not come back at the same
// moment; Reset() (after a healthy session) starts again from `initial`.
//
// Thread safety: not thread-safe; the session guards it with its mutex.

#ifndef CERTFLEET_AGENT_SESSION_RECONNECT_BACKOFF_H_
#define CERTFLEET_AGENT_SESSION_RECONNECT_BACKOFF_H_

#include <cstdint>
#include <random>

#include "absl/time/time.h"

namespace certfleet::agent::session {

class ReconnectBackoff {
 public:
  // REQUIRES: 0 < initial <= maximum.
  ReconnectBackoff(absl::Duration initial, absl::Duration maximum, uint64_t seed);

  // The delay before the next attempt; each call doubles the ceiling up to
  // the maximum.
  absl::Duration Next();

  // The ceiling the next call draws below.
  absl::Duration Ceiling() const;

  // Back to the initial ceiling.
  void Reset() { failures_ = 0; }

 private:
  absl::Duration initial_;
  absl::Duration maximum_;
  int failures_ = 0;
  std::mt19937_64 random_;
};

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_RECONNECT_BACKOFF_H_
