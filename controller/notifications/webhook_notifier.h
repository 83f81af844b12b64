// Webhook notifications: events (a campaign changed state, a renewal
// succeeded, failed or rolled back, an agent went silent) become
// certfleet.v1.WebhookDelivery JSON bodies, queued durably in the store for
// every webhook that wants them, and POSTed by a delivery thread: 2xx is
// delivered; anything else is retried with exponential backoff (30 s
// doubling to 1 h) until 24 hours after the event, then given up. Bodies
// are signed with the webhook's secret: X-Certfleet-Signature is the hex
// HMAC-SHA256 of the body; X-Certfleet-Event and X-Certfleet-Delivery name
// the event and its id (the same on every retry, so receivers can drop
// duplicates).
//
// Thread safety: thread-safe. Notify may be called from any thread;
// DeliverDue runs on the delivery thread (or a test's).

#ifndef CERTFLEET_CONTROLLER_NOTIFICATIONS_WEBHOOK_NOTIFIER_H_
#define CERTFLEET_CONTROLLER_NOTIFICATIONS_WEBHOOK_NOTIFIER_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "certfleet/v1/admin.pb.h"
#include "controller/store/webhook_store.h"

namespace certfleet::controller::notifications {

struct WebhookNotifierOptions {
  // The controller's clock (a fake one in tests).
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Limit of one POST.
  absl::Duration request_timeout = absl::Seconds(10);
  absl::Duration first_retry = absl::Seconds(30);
  absl::Duration maximum_retry = absl::Hours(1);
  // How long after the event a delivery is still attempted.
  absl::Duration give_up_after = absl::Hours(24);
  // One line per failed delivery. Empty: std::clog.
  std::function<void(std::string_view line)> log;
};

// What one DeliverDue did.
struct DeliveryPassSummary {
  int delivered = 0;
  int retried = 0;
  int given_up = 0;
};

class WebhookNotifier {
 public:
  // `webhooks` must outlive the notifier.
  WebhookNotifier(store::WebhookStore& webhooks, WebhookNotifierOptions options);
  // Calls Stop.
  ~WebhookNotifier();
  WebhookNotifier(const WebhookNotifier&) = delete;
  WebhookNotifier& operator=(const WebhookNotifier&) = delete;

  // Queues `delivery` (its event_id and occurred_at are filled when empty)
  // for every webhook that wants its event, and wakes the delivery thread.
  // Returns the store's error; queuing for no webhook is OK.
  absl::Status Notify(v1::WebhookDelivery delivery);

  // POSTs every delivery due at the clock's now, one after the other.
  DeliveryPassSummary DeliverDue();

  // Starts / stops the delivery thread. Idempotent.
  void Start();
  void Stop();

 private:
  void Loop();
  void Log(std::string_view line) const;

  store::WebhookStore& webhooks_;
  const WebhookNotifierOptions options_;
  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

// The wire name of `event` as the store keeps it ("renewal_failed").
std::string EventName(v1::WebhookEvent event);

// Hex HMAC-SHA256 of `body` under `secret` (the signature header).
std::string SignBody(std::string_view secret, std::string_view body);

}  // namespace certfleet::controller::notifications

#endif  // CERTFLEET_CONTROLLER_NOTIFICATIONS_WEBHOOK_NOTIFIER_H_
