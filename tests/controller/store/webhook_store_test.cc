// Webhooks: configuration with a write-only secret, events queued once per
// webhook that wants them, due deliveries, attempts with retry or give-up.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"

namespace certfleet::controller::store::testing {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class WebhookStoreTest : public StoreTest {
 protected:
  WebhookStore& webhooks() { return store().webhooks(); }

  WebhookRecord Webhook(std::string_view name, std::vector<std::string> events = {}) {
    WebhookRecord webhook;
    webhook.name = std::string(name);
    webhook.url = "http://127.0.0.1:9/hook";
    webhook.events = std::move(events);
    webhook.secret = "s3cret";
    webhook.updated_at = now();
    return webhook;
  }
};

TEST_F(WebhookStoreTest, SetCreatesThenReplacesKeepingTheSecretWhenNoneIsGiven) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord created, webhooks().SetWebhook(Webhook("ops")));
  EXPECT_TRUE(LooksLikeId(IdKind::kWebhook, created.webhook_id));
  EXPECT_EQ(created.secret, "s3cret");
  WebhookRecord changed = created;
  changed.url = "https://chat.example.com/hook";
  changed.secret = "";
  changed.enabled = false;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord replaced, webhooks().SetWebhook(changed));
  EXPECT_EQ(replaced.webhook_id, created.webhook_id);
  EXPECT_EQ(replaced.url, "https://chat.example.com/hook");
  EXPECT_EQ(replaced.secret, "s3cret");
  EXPECT_FALSE(replaced.enabled);
  EXPECT_THAT(webhooks().ListWebhooks(), IsOkAndHolds(SizeIs(1)));
}

TEST_F(WebhookStoreTest, SetRefusesABadUrlAndUnknownIds) {
  WebhookRecord bad = Webhook("ops");
  bad.url = "ftp://example.com";
  EXPECT_THAT(webhooks().SetWebhook(bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("http:// or https://")));
  WebhookRecord unknown = Webhook("ops");
  unknown.webhook_id = "webhook-00";
  EXPECT_THAT(webhooks().SetWebhook(unknown), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(webhooks().DeleteWebhook("webhook-00"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(WebhookStoreTest, AnEventIsQueuedOnceForEachEnabledWebhookThatWantsIt) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord all, webhooks().SetWebhook(Webhook("all")));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord failures,
                                 webhooks().SetWebhook(Webhook("failures", {"renewal_failed"})));
  WebhookRecord disabled = Webhook("off");
  disabled.enabled = false;
  ASSERT_THAT(webhooks().SetWebhook(disabled), IsOk());

  EXPECT_THAT(webhooks().EnqueueEvent("e1", "renewal_failed", "{}", now()), IsOkAndHolds(2));
  EXPECT_THAT(webhooks().EnqueueEvent("e2", "renewal_succeeded", "{}", now()), IsOkAndHolds(1));
  EXPECT_THAT(webhooks().EnqueueEvent("e1", "renewal_failed", "{}", now()),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(webhooks().NextDeliveryDue(), IsOkAndHolds(std::optional<absl::Time>(now())));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<WebhookDeliveryRecord> due,
                                 webhooks().ListDueDeliveries(now(), 10));
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].event_id, "e1");
  EXPECT_EQ(due[0].state, DeliveryState::kPending);
  EXPECT_THAT(webhooks().ListDueDeliveries(now() - absl::Seconds(1), 10), IsOkAndHolds(IsEmpty()));
}

TEST_F(WebhookStoreTest, AttemptsRetryDeliverOrGiveUpAndCountFailuresOnTheWebhook) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord webhook, webhooks().SetWebhook(Webhook("ops")));
  ASSERT_THAT(webhooks().EnqueueEvent("e1", "agent_silent", "{\"a\":1}", now()), IsOk());
  ASSERT_THAT(webhooks().EnqueueEvent("e2", "agent_silent", "{\"a\":2}", now()), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<WebhookDeliveryRecord> due,
                                 webhooks().ListDueDeliveries(now(), 10));
  ASSERT_EQ(due.size(), 2u);

  ASSERT_THAT(webhooks().RecordDeliveryAttempt({.delivery_id = due[0].delivery_id,
                                                .at = now(),
                                                .delivered = false,
                                                .result = "connection refused",
                                                .next_attempt_at = now() + absl::Minutes(1)}),
              IsOk());
  ASSERT_THAT(webhooks().RecordDeliveryAttempt({.delivery_id = due[1].delivery_id,
                                                .at = now(),
                                                .delivered = false,
                                                .result = "HTTP 500",
                                                .next_attempt_at = std::nullopt}),
              IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord failing, webhooks().GetWebhook(webhook.webhook_id));
  EXPECT_EQ(failing.consecutive_failures, 2);
  EXPECT_EQ(failing.last_delivery_result, "HTTP 500");
  // The given-up delivery is no longer pending; the other waits a minute.
  EXPECT_THAT(webhooks().ListDueDeliveries(now(), 10), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(webhooks().RecordDeliveryAttempt({.delivery_id = due[1].delivery_id,
                                                .at = now(),
                                                .delivered = true,
                                                .result = "200",
                                                .next_attempt_at = std::nullopt}),
              StatusIs(absl::StatusCode::kNotFound));
  Advance(absl::Minutes(1));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(due, webhooks().ListDueDeliveries(now(), 10));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].attempts, 1);
  EXPECT_EQ(due[0].body, "{\"a\":1}");
  ASSERT_THAT(webhooks().RecordDeliveryAttempt({.delivery_id = due[0].delivery_id,
                                                .at = now(),
                                                .delivered = true,
                                                .result = "200",
                                                .next_attempt_at = std::nullopt}),
              IsOk());
  EXPECT_THAT(webhooks().NextDeliveryDue(), IsOkAndHolds(std::optional<absl::Time>()));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord healthy, webhooks().GetWebhook(webhook.webhook_id));
  EXPECT_EQ(healthy.consecutive_failures, 0);
  EXPECT_EQ(healthy.last_delivery_at, now());
}

TEST_F(WebhookStoreTest, DeletingAWebhookDropsItsQueue) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(WebhookRecord webhook, webhooks().SetWebhook(Webhook("ops")));
  ASSERT_THAT(webhooks().EnqueueEvent("e1", "agent_silent", "{}", now()), IsOk());
  ASSERT_THAT(webhooks().DeleteWebhook(webhook.webhook_id), IsOk());
  EXPECT_THAT(webhooks().ListDueDeliveries(now(), 10), IsOkAndHolds(IsEmpty()));
  EXPECT_THAT(webhooks().ListWebhooks(), IsOkAndHolds(IsEmpty()));
}

}  // namespace
}  // namespace certfleet::controller::store::testing
