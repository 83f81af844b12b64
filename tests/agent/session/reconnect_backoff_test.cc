// Tests of the reconnection backoff: full jitter below a ceiling that
// doubles up to the maximum, and a reset after a healthy session.

#include "agent/session/reconnect_backoff.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace certfleet::agent::session {
namespace {

TEST(ReconnectBackoffTest, TheCeilingDoublesUpToTheMaximum) {
  ReconnectBackoff backoff(absl::Seconds(1), absl::Seconds(60), 7);
  std::vector<absl::Duration> ceilings;
  for (int attempt = 0; attempt < 10; ++attempt) {
    ceilings.push_back(backoff.Ceiling());
    const absl::Duration delay = backoff.Next();
    EXPECT_GE(delay, absl::ZeroDuration());
    EXPECT_LT(delay, ceilings.back());
  }
  EXPECT_THAT(ceilings, ::testing::ElementsAre(
                            absl::Seconds(1), absl::Seconds(2), absl::Seconds(4), absl::Seconds(8),
                            absl::Seconds(16), absl::Seconds(32), absl::Seconds(60),
                            absl::Seconds(60), absl::Seconds(60), absl::Seconds(60)));
  for (int attempt = 0; attempt < 100; ++attempt) backoff.Next();
  EXPECT_EQ(backoff.Ceiling(), absl::Seconds(60));
}

TEST(ReconnectBackoffTest, DelaysAreSpreadBelowTheCeiling) {
  ReconnectBackoff backoff(absl::Seconds(60), absl::Seconds(60), 11);
  std::set<int64_t> seconds;
  for (int attempt = 0; attempt < 200; ++attempt) {
    seconds.insert(absl::ToInt64Seconds(backoff.Next()));
  }
  // Full jitter: the delays cover the range rather than cluster at the top.
  EXPECT_GT(seconds.size(), 40u);
  EXPECT_LT(*seconds.begin(), 10);
  EXPECT_GE(*seconds.rbegin(), 50);
}

TEST(ReconnectBackoffTest, ResetStartsFromTheInitialCeiling) {
  ReconnectBackoff backoff(absl::Milliseconds(100), absl::Seconds(5), 3);
  for (int attempt = 0; attempt < 8; ++attempt) backoff.Next();
  EXPECT_EQ(backoff.Ceiling(), absl::Seconds(5));
  backoff.Reset();
  EXPECT_EQ(backoff.Ceiling(), absl::Milliseconds(100));
  EXPECT_LT(backoff.Next(), absl::Milliseconds(100));
}

}  // namespace
}  // namespace certfleet::agent::session
