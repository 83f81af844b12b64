#include "controller/notifications/webhook_notifier.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <iostream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "controller/admin/record_conversion.h"
#include "controller/store/ids.h"

namespace certfleet::controller::notifications {
namespace {

// Deliveries POSTed per pass before the loop looks at the clock again.
constexpr int kDeliveriesPerPass = 100;

struct Answer {
  bool delivered = false;
  std::string result;
};

Answer Post(const std::string& url, const std::string& body, const httplib::Headers& headers,
            absl::Duration timeout) {
  const size_t scheme_end = url.find("://");
  const size_t path_start = url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  const std::string base = path_start == std::string::npos ? url : url.substr(0, path_start);
  const std::string path = path_start == std::string::npos ? "/" : url.substr(path_start);
  httplib::Client client(base);
  const auto seconds = static_cast<time_t>(absl::ToInt64Seconds(timeout));
  client.set_connection_timeout(seconds, 0);
  client.set_read_timeout(seconds, 0);
  client.set_write_timeout(seconds, 0);
  httplib::Result response = client.Post(path.c_str(), headers, body, "application/json");
  if (!response)
    return {false, absl::StrCat("no answer (", httplib::to_string(response.error()), ")")};
  const int status = response->status;
  return {status >= 200 && status < 300, absl::StrCat(status)};
}

}  // namespace

std::string EventName(v1::WebhookEvent event) {
  return absl::AsciiStrToLower(absl::StripPrefix(v1::WebhookEvent_Name(event), "WEBHOOK_EVENT_"));
}

std::string SignBody(std::string_view secret, std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest, &length);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kDigits[digest[i] >> 4]);
    hex.push_back(kDigits[digest[i] & 0x0f]);
  }
  return hex;
}

WebhookNotifier::WebhookNotifier(store::WebhookStore& webhooks, WebhookNotifierOptions options)
    : webhooks_(webhooks), options_(std::move(options)) {}

WebhookNotifier::~WebhookNotifier() { Stop(); }

void WebhookNotifier::Log(std::string_view line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::clog << "certfleet-controller: " << line << "\n";
  }
}

absl::Status WebhookNotifier::Notify(v1::WebhookDelivery delivery) {
  const absl::Time now = options_.clock();
  if (delivery.event_id().empty()) {
    delivery.set_event_id(store::GenerateId(store::IdKind::kNotification));
  }
  if (!delivery.has_occurred_at()) admin::SetTimestamp(now, delivery.mutable_occurred_at());
  std::string body;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (auto printed = google::protobuf::util::MessageToJsonString(delivery, &body, print);
      !printed.ok()) {
    return absl::InternalError(absl::StrCat("cannot write the notification: ", printed.ToString()));
  }
  absl::StatusOr<int> queued =
      webhooks_.EnqueueEvent(delivery.event_id(), EventName(delivery.event()), body, now);
  if (!queued.ok()) return queued.status();
  if (*queued > 0) {
    std::lock_guard<std::mutex> lock(mutex_);
    woken_ = true;
    wakeup_.notify_all();
  }
  return absl::OkStatus();
}

DeliveryPassSummary WebhookNotifier::DeliverDue() {
  DeliveryPassSummary summary;
  const absl::Time now = options_.clock();
  absl::StatusOr<std::vector<store::WebhookDeliveryRecord>> due =
      webhooks_.ListDueDeliveries(now, kDeliveriesPerPass);
  if (!due.ok()) {
    Log(absl::StrCat("webhooks: ", due.status().message()));
    return summary;
  }
  for (const store::WebhookDeliveryRecord& delivery : *due) {
    absl::StatusOr<store::WebhookRecord> webhook = webhooks_.GetWebhook(delivery.webhook_id);
    if (!webhook.ok()) continue;  // Deleted meanwhile, with its queue.
    httplib::Headers headers = {{"X-Certfleet-Event", delivery.event},
                                {"X-Certfleet-Delivery", delivery.event_id}};
    if (!webhook->secret.empty()) {
      headers.emplace("X-Certfleet-Signature", SignBody(webhook->secret, delivery.body));
    }
    const Answer answer = Post(webhook->url, delivery.body, headers, options_.request_timeout);
    store::DeliveryAttempt attempt;
    attempt.delivery_id = delivery.delivery_id;
    attempt.at = options_.clock();
    attempt.delivered = answer.delivered;
    attempt.result = answer.result;
    if (answer.delivered) {
      ++summary.delivered;
    } else {
      // 30 s, 1 min, 2 min, ... at most maximum_retry, until give_up_after.
      absl::Duration wait = options_.first_retry;
      for (int i = 0; i < delivery.attempts && wait < options_.maximum_retry; ++i) wait *= 2;
      wait = std::min(wait, options_.maximum_retry);
      if (attempt.at + wait <= delivery.created_at + options_.give_up_after) {
        attempt.next_attempt_at = attempt.at + wait;
        ++summary.retried;
      } else {
        ++summary.given_up;
      }
      Log(absl::StrCat("webhook ", webhook->name, ": ", delivery.event, " ", delivery.event_id,
                       " not delivered (", answer.result, ")",
                       attempt.next_attempt_at.has_value()
                           ? absl::StrCat("; trying again in ", absl::FormatDuration(wait))
                           : "; given up after 24 hours"));
    }
    if (absl::Status recorded = webhooks_.RecordDeliveryAttempt(attempt); !recorded.ok()) {
      Log(absl::StrCat("webhooks: ", recorded.message()));
    }
  }
  return summary;
}

void WebhookNotifier::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void WebhookNotifier::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    wakeup_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void WebhookNotifier::Loop() {
  while (true) {
    DeliverDue();
    absl::StatusOr<std::optional<absl::Time>> next = webhooks_.NextDeliveryDue();
    // Wake at the next due delivery, at a Notify, or at least every minute.
    absl::Duration wait = absl::Minutes(1);
    if (next.ok() && next->has_value()) {
      wait = std::clamp(**next - options_.clock(), absl::ZeroDuration(), absl::Minutes(1));
    }
    std::unique_lock<std::mutex> lock(mutex_);
    wakeup_.wait_for(lock, absl::ToChronoMilliseconds(wait),
                     [this] { return stopping_ || woken_; });
    woken_ = false;
    if (stopping_) return;
  }
}

}  // namespace certfleet::controller::notifications
