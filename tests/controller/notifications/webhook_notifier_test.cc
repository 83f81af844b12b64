// The webhook notifier against a real in-memory store and a real HTTP
// receiver on loopback: bodies, headers and signatures, retries with
// backoff on a fake clock, giving up after 24 hours, and the delivery
// thread.

#include "controller/notifications/webhook_notifier.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "controller/store/sqlite/sqlite_store.h"
#include "nlohmann/json.hpp"

namespace certfleet::controller::notifications {
namespace {

using ::testing::HasSubstr;

struct Received {
  std::string body;
  std::string event;
  std::string delivery;
  std::string signature;
};

// An HTTP receiver on 127.0.0.1 that answers `status` and records requests.
class Receiver {
 public:
  Receiver() {
    server_.Post("/hook", [this](const httplib::Request& request, httplib::Response& response) {
      std::lock_guard<std::mutex> lock(mutex_);
      received_.push_back({request.body, request.get_header_value("X-Certfleet-Event"),
                           request.get_header_value("X-Certfleet-Delivery"),
                           request.get_header_value("X-Certfleet-Signature")});
      response.status = status_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  void set_status(int status) { status_ = status; }
  std::vector<Received> received() {
    std::lock_guard<std::mutex> lock(mutex_);
    return received_;
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::atomic<int> status_{200};
  std::mutex mutex_;
  std::vector<Received> received_;
  std::thread thread_;
};

class WebhookNotifierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::SqliteStore::Open({}).value();
    notifier_ = std::make_unique<WebhookNotifier>(
        store_->webhooks(), WebhookNotifierOptions{.clock = [this] { return now_; },
                                                   .request_timeout = absl::Seconds(5),
                                                   .first_retry = absl::Seconds(30),
                                                   .maximum_retry = absl::Hours(1),
                                                   .give_up_after = absl::Hours(24),
                                                   .log = [](std::string_view) {}});
  }

  store::WebhookRecord AddWebhook(const std::string& url, std::vector<std::string> events = {}) {
    store::WebhookRecord webhook;
    webhook.name = "ops";
    webhook.url = url;
    webhook.events = std::move(events);
    webhook.secret = "s3cret";
    webhook.updated_at = now_;
    return store_->webhooks().SetWebhook(webhook).value();
  }

  v1::WebhookDelivery RolledBack() {
    v1::WebhookDelivery delivery;
    delivery.set_event(v1::WEBHOOK_EVENT_RENEWAL_ROLLED_BACK);
    delivery.set_summary("web-07 / Shop: renewal rolled back: incomplete chain");
    delivery.mutable_order()->set_order_id("order-1");
    return delivery;
  }

  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
  std::unique_ptr<store::SqliteStore> store_;
  std::unique_ptr<WebhookNotifier> notifier_;
};

TEST_F(WebhookNotifierTest, AnEventIsPostedAsSignedJsonWithItsIdAndName) {
  Receiver receiver;
  AddWebhook(receiver.url());
  ASSERT_TRUE(notifier_->Notify(RolledBack()).ok());
  const DeliveryPassSummary pass = notifier_->DeliverDue();
  EXPECT_EQ(pass.delivered, 1);
  std::vector<Received> received = receiver.received();
  ASSERT_EQ(received.size(), 1u);
  EXPECT_EQ(received[0].event, "renewal_rolled_back");
  EXPECT_EQ(received[0].signature, SignBody("s3cret", received[0].body));
  const nlohmann::json body = nlohmann::json::parse(received[0].body);
  EXPECT_EQ(body["event"], "WEBHOOK_EVENT_RENEWAL_ROLLED_BACK");
  EXPECT_EQ(body["event_id"], received[0].delivery);
  EXPECT_EQ(body["order"]["order_id"], "order-1");
  EXPECT_THAT(body["summary"].get<std::string>(), HasSubstr("incomplete chain"));
  EXPECT_EQ(notifier_->DeliverDue().delivered, 0) << "delivered once";
  EXPECT_EQ(store_->webhooks()
                .GetWebhook(store_->webhooks().ListWebhooks()->front().webhook_id)
                ->last_delivery_result,
            "200");
}

TEST_F(WebhookNotifierTest, AFailingReceiverIsRetriedWithBackoffAndTheSameEventId) {
  Receiver receiver;
  receiver.set_status(500);
  AddWebhook(receiver.url());
  ASSERT_TRUE(notifier_->Notify(RolledBack()).ok());
  EXPECT_EQ(notifier_->DeliverDue().retried, 1);
  EXPECT_EQ(notifier_->DeliverDue().retried, 0) << "not due before 30 s";
  now_ += absl::Seconds(30);
  EXPECT_EQ(notifier_->DeliverDue().retried, 1);
  now_ += absl::Seconds(59);
  EXPECT_EQ(notifier_->DeliverDue().retried, 0) << "the second retry waits a minute";
  now_ += absl::Seconds(1);
  receiver.set_status(204);
  EXPECT_EQ(notifier_->DeliverDue().delivered, 1);
  std::vector<Received> received = receiver.received();
  ASSERT_EQ(received.size(), 3u);
  EXPECT_EQ(received[0].delivery, received[2].delivery);
  EXPECT_EQ(received[0].body, received[2].body);
}

TEST_F(WebhookNotifierTest, AnUnreachableReceiverIsGivenUpAfterADay) {
  std::string url;
  {
    Receiver gone;
    url = gone.url();
  }
  AddWebhook(url);
  ASSERT_TRUE(notifier_->Notify(RolledBack()).ok());
  int given_up = 0;
  for (int attempt = 0; attempt < 40 && given_up == 0; ++attempt) {
    given_up = notifier_->DeliverDue().given_up;
    now_ += absl::Hours(1);
  }
  EXPECT_EQ(given_up, 1);
  EXPECT_EQ(store_->webhooks().NextDeliveryDue().value(), std::nullopt);
  EXPECT_GT(store_->webhooks().ListWebhooks()->front().consecutive_failures, 20);
}

TEST_F(WebhookNotifierTest, OnlyWebhooksThatWantTheEventGetIt) {
  Receiver receiver;
  AddWebhook(receiver.url(), {"agent_silent"});
  ASSERT_TRUE(notifier_->Notify(RolledBack()).ok());
  EXPECT_EQ(notifier_->DeliverDue().delivered, 0);
  v1::WebhookDelivery silent;
  silent.set_event(v1::WEBHOOK_EVENT_AGENT_SILENT);
  silent.set_summary("web-03: no heartbeat for 90 s");
  ASSERT_TRUE(notifier_->Notify(silent).ok());
  EXPECT_EQ(notifier_->DeliverDue().delivered, 1);
  ASSERT_EQ(receiver.received().size(), 1u);
  EXPECT_EQ(receiver.received()[0].event, "agent_silent");
}

TEST_F(WebhookNotifierTest, TheDeliveryThreadSendsWithoutBeingAsked) {
  Receiver receiver;
  AddWebhook(receiver.url());
  notifier_->Start();
  ASSERT_TRUE(notifier_->Notify(RolledBack()).ok());
  for (int i = 0; i < 500 && receiver.received().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  notifier_->Stop();
  EXPECT_EQ(receiver.received().size(), 1u);
}

}  // namespace
}  // namespace certfleet::controller::notifications
