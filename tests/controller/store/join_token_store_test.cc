// Join tokens: stored hashed, consumed once, refused when used, expired,
// revoked or bound to another host.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class JoinTokenStoreTest : public StoreTest {
 protected:
  JoinTokenStore& tokens() { return store().join_tokens(); }
};

TEST_F(JoinTokenStoreTest, CreateStoresOnlyTheHashAndGeneratesAnId) {
  JoinTokenRecord token = CreateToken("cfjoin_one", "web-07.example.com", {{"env", "prod"}});
  EXPECT_TRUE(LooksLikeId(IdKind::kJoinToken, token.token_id)) << token.token_id;
  EXPECT_EQ(token.secret_sha256, HashSecret("cfjoin_one"));
  EXPECT_EQ(token.bound_hostname, "web-07.example.com");
  EXPECT_EQ(token.labels.at("env"), "prod");
  EXPECT_EQ(token.expires_at, now() + absl::Hours(24));
  EXPECT_EQ(token.created_by, "alice");
  EXPECT_EQ(token.StateAt(now()), JoinTokenState::kActive);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JoinTokenRecord fetched, tokens().GetJoinToken(token.token_id));
  EXPECT_EQ(fetched.secret_sha256, token.secret_sha256);
}

TEST_F(JoinTokenStoreTest, CreateRefusesAPlainSecretADuplicateAndAPastExpiry) {
  NewJoinToken token;
  token.secret_sha256 = "cfjoin_not_hashed";
  token.created_at = now();
  token.expires_at = now() + absl::Hours(1);
  EXPECT_THAT(tokens().CreateJoinToken(token),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a SHA-256")));
  token.secret_sha256 = HashSecret("x");
  token.expires_at = now();
  EXPECT_THAT(tokens().CreateJoinToken(token),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not after its creation")));
  CreateToken("x");
  token.expires_at = now() + absl::Hours(1);
  EXPECT_THAT(tokens().CreateJoinToken(token),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already exists")));
}

TEST_F(JoinTokenStoreTest, ConsumeMarksUsedAndASecondUseIsRefused) {
  JoinTokenRecord token = CreateToken("cfjoin_two");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      JoinTokenRecord used,
      tokens().ConsumeJoinToken(HashSecret("cfjoin_two"), "web-01", "host-1", now()));
  EXPECT_EQ(used.used_at, now());
  EXPECT_EQ(used.used_by_hostname, "web-01");
  EXPECT_EQ(used.used_by_host_id, "host-1");
  EXPECT_EQ(used.StateAt(now()), JoinTokenState::kUsed);
  Advance(absl::Minutes(1));
  EXPECT_THAT(tokens().ConsumeJoinToken(HashSecret("cfjoin_two"), "web-02", "host-2", now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr(token.token_id), HasSubstr("already used"),
                             HasSubstr("by host web-01"))));
}

TEST_F(JoinTokenStoreTest, UnknownSecretIsNotFound) {
  EXPECT_THAT(tokens().ConsumeJoinToken(HashSecret("never-made"), "web-01", "", now()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no join token matches")));
}

TEST_F(JoinTokenStoreTest, ExpiredTokenIsRefusedNamingTheExpiry) {
  CreateToken("cfjoin_three");
  Advance(absl::Hours(24));
  EXPECT_THAT(tokens().ConsumeJoinToken(HashSecret("cfjoin_three"), "web-01", "", now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("expired at"), HasSubstr("2024-03-02T00:00:00Z"))));
  EXPECT_THAT(tokens().ValidateJoinToken(HashSecret("cfjoin_three"), "web-01", now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired")));
}

TEST_F(JoinTokenStoreTest, TokenBoundToAnotherHostIsRefused) {
  CreateToken("cfjoin_four", "web-07.example.com");
  EXPECT_THAT(tokens().ConsumeJoinToken(HashSecret("cfjoin_four"), "web-08.example.com", "", now()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("bound to host web-07.example.com, not web-08.example.com")));
  // The refused attempt did not use it up; the right host still can, in
  // any letter case.
  EXPECT_THAT(tokens().ConsumeJoinToken(HashSecret("cfjoin_four"), "WEB-07.example.com", "", now()),
              IsOk());
}

TEST_F(JoinTokenStoreTest, RevokedTokenIsRefusedAndUsedTokenCannotBeRevoked) {
  JoinTokenRecord token = CreateToken("cfjoin_five");
  CERTFLEET_ASSERT_OK_AND_ASSIGN(JoinTokenRecord revoked,
                                 tokens().RevokeJoinToken(token.token_id, now()));
  EXPECT_EQ(revoked.StateAt(now()), JoinTokenState::kRevoked);
  EXPECT_THAT(
      tokens().RevokeJoinToken(token.token_id, now() + absl::Minutes(1)),
      IsOkAndHolds(::testing::Field(&JoinTokenRecord::revoked_at, ::testing::Optional(now()))));
  EXPECT_THAT(tokens().ConsumeJoinToken(HashSecret("cfjoin_five"), "web-01", "", now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("was revoked")));

  JoinTokenRecord other = CreateToken("cfjoin_six");
  ASSERT_THAT(tokens().ConsumeJoinToken(HashSecret("cfjoin_six"), "web-02", "", now()), IsOk());
  EXPECT_THAT(tokens().RevokeJoinToken(other.token_id, now()),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already used")));
  EXPECT_THAT(tokens().RevokeJoinToken("token-unknown", now()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("token-unknown")));
}

TEST_F(JoinTokenStoreTest, ConcurrentConsumersCannotBothUseOneToken) {
  CreateToken("cfjoin_race");
  std::atomic<int> successes = 0;
  std::atomic<int> already_used = 0;
  std::vector<std::thread> threads;
  for (int index = 0; index < 8; ++index) {
    threads.emplace_back([&, index] {
      absl::StatusOr<JoinTokenRecord> result = tokens().ConsumeJoinToken(
          HashSecret("cfjoin_race"), absl::StrCat("web-", index), "", now());
      if (result.ok()) {
        ++successes;
      } else if (absl::IsFailedPrecondition(result.status()) &&
                 absl::StrContains(result.status().message(), "already used")) {
        ++already_used;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(successes.load(), 1);
  EXPECT_EQ(already_used.load(), 7);
}

TEST_F(JoinTokenStoreTest, ListFiltersByStateNewestFirstWithPages) {
  JoinTokenRecord first = CreateToken("a");
  Advance(absl::Minutes(1));
  JoinTokenRecord second = CreateToken("b");
  Advance(absl::Minutes(1));
  JoinTokenRecord third = CreateToken("c");
  ASSERT_THAT(tokens().ConsumeJoinToken(HashSecret("b"), "web-01", "", now()), IsOk());
  ASSERT_THAT(tokens().RevokeJoinToken(third.token_id, now()), IsOk());

  JoinTokenQuery query;
  query.now = now();
  query.page.page_size = 2;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<JoinTokenRecord> page, tokens().ListJoinTokens(query));
  ASSERT_EQ(page.items.size(), 2u);
  EXPECT_EQ(page.items[0].token_id, third.token_id);
  EXPECT_EQ(page.items[1].token_id, second.token_id);
  EXPECT_EQ(page.total_size, 3);
  ASSERT_FALSE(page.next_page_token.empty());
  query.page.page_token = page.next_page_token;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(page, tokens().ListJoinTokens(query));
  ASSERT_EQ(page.items.size(), 1u);
  EXPECT_EQ(page.items[0].token_id, first.token_id);
  EXPECT_TRUE(page.next_page_token.empty());

  auto ids_in = [&](std::vector<JoinTokenState> states, absl::Time at) {
    JoinTokenQuery filtered;
    filtered.states = std::move(states);
    filtered.now = at;
    std::vector<std::string> ids;
    absl::StatusOr<Page<JoinTokenRecord>> page = tokens().ListJoinTokens(filtered);
    EXPECT_THAT(page, IsOk());
    if (!page.ok()) return ids;
    for (const JoinTokenRecord& token : page->items) ids.push_back(token.token_id);
    return ids;
  };
  EXPECT_THAT(ids_in({JoinTokenState::kActive}, now()), ElementsAre(first.token_id));
  EXPECT_THAT(ids_in({JoinTokenState::kUsed}, now()), ElementsAre(second.token_id));
  EXPECT_THAT(ids_in({JoinTokenState::kRevoked}, now()), ElementsAre(third.token_id));
  EXPECT_THAT(ids_in({JoinTokenState::kExpired}, now() + absl::Hours(48)),
              ElementsAre(first.token_id));
}

TEST_F(JoinTokenStoreTest, ForeignPageTokenIsInvalidArgument) {
  JoinTokenQuery query;
  query.page.page_token = "bm90LWEtdG9rZW4";
  EXPECT_THAT(tokens().ListJoinTokens(query), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       HasSubstr("not valid for this listing")));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
