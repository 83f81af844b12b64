#include "controller/identity/join_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace certfleet::controller {
namespace {

using ::testing::MatchesRegex;

TEST(JoinTokenTest, SecretsAreFreshAndWellFormed) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const std::string secret = GenerateJoinTokenSecret();
    EXPECT_THAT(secret, MatchesRegex("^cfjoin_[A-Za-z0-9_-]{43}$"));
    EXPECT_TRUE(LooksLikeJoinTokenSecret(secret));
    EXPECT_TRUE(seen.insert(secret).second) << "duplicate secret " << secret;
  }
}

TEST(JoinTokenTest, HashIsSha256HexAndDiffersPerSecret) {
  // SHA-256("abc"), the FIPS 180-2 test vector.
  EXPECT_EQ(HashJoinTokenSecret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_NE(HashJoinTokenSecret(GenerateJoinTokenSecret()),
            HashJoinTokenSecret(GenerateJoinTokenSecret()));
}

TEST(JoinTokenTest, RecognisesWhatIsNotASecret) {
  EXPECT_FALSE(LooksLikeJoinTokenSecret(""));
  EXPECT_FALSE(LooksLikeJoinTokenSecret("cfjoin_short"));
  EXPECT_FALSE(LooksLikeJoinTokenSecret("xxjoin_" + std::string(43, 'a')));
  EXPECT_FALSE(LooksLikeJoinTokenSecret("cfjoin_" + std::string(42, 'a') + "!"));
}

}  // namespace
}  // namespace certfleet::controller
