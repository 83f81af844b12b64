#include "controller/cli/command_support.h"

#include <google/protobuf/util/json_util.h>

#include <chrono>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace certfleet::cli {

std::string Time(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixSeconds(timestamp.seconds()),
                          absl::UTCTimeZone());
}

// "ORDER_STATE_AWAITING_ISSUANCE" with prefix "ORDER_STATE_" ->
// "awaiting_issuance".
std::string Short(const std::string& enum_name, std::string_view prefix) {
  std::string name = enum_name;
  if (absl::StartsWith(name, std::string(prefix))) name = name.substr(prefix.size());
  return absl::AsciiStrToLower(name);
}

std::string Or(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

// "30d", "12h", "90m", "1h30m".
bool ParseHumanDuration(const std::string& text, absl::Duration* duration) {
  if (absl::EndsWith(text, "d")) {
    int64_t days = 0;
    if (!absl::SimpleAtoi(text.substr(0, text.size() - 1), &days)) return false;
    *duration = absl::Hours(24 * days);
    return true;
  }
  return absl::ParseDuration(text, duration);
}

void SetDurationProto(absl::Duration duration, google::protobuf::Duration* proto) {
  proto->set_seconds(absl::ToInt64Seconds(duration));
}

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return context;
}

void PrintJson(const google::protobuf::Message& message, std::ostream& out) {
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, print);
  out << json;
  if (json.empty() || json.back() != '\n') out << "\n";
}

}  // namespace certfleet::cli
