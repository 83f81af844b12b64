// The audit log: append, newest first, filters and pages.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AuditLogTest : public StoreTest {
 protected:
  AuditLog& audit() { return store().audit_log(); }

  AuditEventRecord Append(std::string actor, std::string action, bool succeeded = true) {
    AuditEventRecord event;
    event.occurred_at = now();
    event.actor = std::move(actor);
    event.action = std::move(action);
    event.target = "host host-1";
    event.succeeded = succeeded;
    event.detail = "ttl 1h";
    absl::StatusOr<AuditEventRecord> appended = audit().AppendAuditEvent(event);
    EXPECT_TRUE(appended.ok()) << appended.status();
    return appended.ok() ? *appended : AuditEventRecord();
  }

  std::vector<std::string> Actions(AuditQuery query) {
    std::vector<std::string> actions;
    while (true) {
      absl::StatusOr<Page<AuditEventRecord>> page = audit().ListAuditEvents(query);
      EXPECT_TRUE(page.ok()) << page.status();
      if (!page.ok()) break;
      for (const AuditEventRecord& event : page->items) actions.push_back(event.action);
      if (page->next_page_token.empty()) break;
      query.page.page_token = page->next_page_token;
    }
    return actions;
  }
};

TEST_F(AuditLogTest, AppendedEventsComeBackNewestFirst) {
  AuditEventRecord first = Append("alice", "CreateJoinToken");
  EXPECT_TRUE(LooksLikeId(IdKind::kAuditEvent, first.event_id));
  Advance(absl::Seconds(1));
  Append("bob", "RevokeJoinToken", false);
  Append("alice", "SetPolicy");  // Same time as the previous one.

  AuditQuery all;
  all.page.page_size = 2;
  EXPECT_THAT(Actions(all), ElementsAre("SetPolicy", "RevokeJoinToken", "CreateJoinToken"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Page<AuditEventRecord> page, audit().ListAuditEvents({}));
  EXPECT_EQ(page.total_size, 3);
  EXPECT_FALSE(page.items[1].succeeded);
  EXPECT_EQ(page.items[2].target, "host host-1");
  EXPECT_EQ(page.items[2].detail, "ttl 1h");
  EXPECT_EQ(page.items[2].occurred_at, Start());

  AuditQuery alice;
  alice.actor = "alice";
  EXPECT_THAT(Actions(alice), ElementsAre("SetPolicy", "CreateJoinToken"));
  AuditQuery recent;
  recent.since = Start() + absl::Seconds(1);
  EXPECT_THAT(Actions(recent), ElementsAre("SetPolicy", "RevokeJoinToken"));
}

TEST_F(AuditLogTest, EventWithoutActorOrActionIsRefused) {
  AuditEventRecord event;
  event.action = "SetPolicy";
  EXPECT_THAT(audit().AppendAuditEvent(event),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs an actor")));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
