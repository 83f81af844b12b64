#include "controller/store/sqlite/row_codec.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using nlohmann::json;

json Parse(std::string_view text) {
  // No exceptions: a value the store did not write reads as empty.
  return json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
}

std::string StringMember(const json& object, const char* name) {
  if (!object.is_object()) return std::string();
  auto found = object.find(name);
  if (found == object.end() || !found->is_string()) return std::string();
  return found->get<std::string>();
}

json StringListToJson(const std::vector<std::string>& list) {
  json array = json::array();
  for (const std::string& item : list) array.push_back(item);
  return array;
}

std::vector<std::string> StringListFromJson(const json& array) {
  std::vector<std::string> list;
  if (!array.is_array()) return list;
  for (const json& item : array) {
    if (item.is_string()) list.push_back(item.get<std::string>());
  }
  return list;
}

json StringMapToJson(const std::map<std::string, std::string>& map) {
  json object = json::object();
  for (const auto& [key, value] : map) object[key] = value;
  return object;
}

std::map<std::string, std::string> StringMapFromJson(const json& object) {
  std::map<std::string, std::string> map;
  if (!object.is_object()) return map;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) map[key] = value.get<std::string>();
  }
  return map;
}

}  // namespace

std::string EncodeStringMap(const std::map<std::string, std::string>& map) {
  return StringMapToJson(map).dump();
}

std::map<std::string, std::string> DecodeStringMap(std::string_view text) {
  return StringMapFromJson(Parse(text));
}

std::string EncodeStringList(const std::vector<std::string>& list) {
  return StringListToJson(list).dump();
}

std::vector<std::string> DecodeStringList(std::string_view text) {
  return StringListFromJson(Parse(text));
}

std::string EncodeEndpoints(const std::vector<EndpointRecord>& endpoints) {
  json array = json::array();
  for (const EndpointRecord& endpoint : endpoints) {
    array.push_back({{"ip_address", endpoint.ip_address},
                     {"port", endpoint.port},
                     {"host_header", endpoint.host_header}});
  }
  return array.dump();
}

std::vector<EndpointRecord> DecodeEndpoints(std::string_view text) {
  std::vector<EndpointRecord> endpoints;
  json array = Parse(text);
  if (!array.is_array()) return endpoints;
  for (const json& item : array) {
    EndpointRecord endpoint;
    endpoint.ip_address = StringMember(item, "ip_address");
    endpoint.host_header = StringMember(item, "host_header");
    if (item.is_object() && item.contains("port") && item["port"].is_number_integer()) {
      endpoint.port = item["port"].get<int>();
    }
    endpoints.push_back(std::move(endpoint));
  }
  return endpoints;
}

std::string EncodeDistinguishedName(const DistinguishedNameRecord& name) {
  json object = json::object();
  auto put = [&object](const char* key, const std::string& value) {
    if (!value.empty()) object[key] = value;
  };
  put("common_name", name.common_name);
  put("organization", name.organization);
  put("organizational_unit", name.organizational_unit);
  put("locality", name.locality);
  put("state_or_province", name.state_or_province);
  put("country", name.country);
  put("email_address", name.email_address);
  return object.dump();
}

DistinguishedNameRecord DecodeDistinguishedName(std::string_view text) {
  json object = Parse(text);
  DistinguishedNameRecord name;
  name.common_name = StringMember(object, "common_name");
  name.organization = StringMember(object, "organization");
  name.organizational_unit = StringMember(object, "organizational_unit");
  name.locality = StringMember(object, "locality");
  name.state_or_province = StringMember(object, "state_or_province");
  name.country = StringMember(object, "country");
  name.email_address = StringMember(object, "email_address");
  return name;
}

std::string EncodePlatform(const PlatformRecord& platform) {
  return json{{"driver", platform.driver},
              {"web_server", platform.web_server},
              {"operating_system", platform.operating_system},
              {"operating_system_version", platform.operating_system_version},
              {"remote_address", platform.remote_address},
              {"installed_updates", StringListToJson(platform.installed_updates)}}
      .dump();
}

PlatformRecord DecodePlatform(std::string_view text) {
  json object = Parse(text);
  PlatformRecord platform;
  platform.driver = StringMember(object, "driver");
  platform.web_server = StringMember(object, "web_server");
  platform.operating_system = StringMember(object, "operating_system");
  platform.operating_system_version = StringMember(object, "operating_system_version");
  platform.remote_address = StringMember(object, "remote_address");
  if (object.is_object() && object.contains("installed_updates")) {
    platform.installed_updates = StringListFromJson(object["installed_updates"]);
  }
  return platform;
}

std::string EncodeHostSelector(const HostSelectorRecord& selector) {
  return json{{"labels", StringMapToJson(selector.labels)},
              {"hostname_pattern", selector.hostname_pattern},
              {"host_ids", StringListToJson(selector.host_ids)}}
      .dump();
}

HostSelectorRecord DecodeHostSelector(std::string_view text) {
  json object = Parse(text);
  HostSelectorRecord selector;
  selector.hostname_pattern = StringMember(object, "hostname_pattern");
  if (object.is_object()) {
    if (object.contains("labels")) selector.labels = StringMapFromJson(object["labels"]);
    if (object.contains("host_ids")) selector.host_ids = StringListFromJson(object["host_ids"]);
  }
  return selector;
}

std::optional<std::string> EncodeFailure(const std::optional<FailureRecord>& failure) {
  if (!failure.has_value()) return std::nullopt;
  json object{
      {"code", failure->code}, {"message", failure->message}, {"retryable", failure->retryable}};
  // The diagnosis is a serialized message (bytes): base64 keeps it JSON-safe.
  if (!failure->diagnosis.empty()) object["diagnosis"] = absl::Base64Escape(failure->diagnosis);
  return object.dump();
}

std::optional<FailureRecord> DecodeFailure(const std::optional<std::string>& text) {
  if (!text.has_value()) return std::nullopt;
  json object = Parse(*text);
  FailureRecord failure;
  failure.code = StringMember(object, "code");
  failure.message = StringMember(object, "message");
  if (object.is_object() && object.contains("retryable") && object["retryable"].is_boolean()) {
    failure.retryable = object["retryable"].get<bool>();
  }
  std::string diagnosis = StringMember(object, "diagnosis");
  if (!diagnosis.empty() && !absl::Base64Unescape(diagnosis, &failure.diagnosis)) {
    failure.diagnosis.clear();
  }
  return failure;
}

std::optional<int64_t> DurationToStorage(const std::optional<absl::Duration>& duration) {
  if (!duration.has_value()) return std::nullopt;
  return absl::ToInt64Microseconds(*duration);
}

std::optional<absl::Duration> DurationFromStorage(std::optional<int64_t> microseconds) {
  if (!microseconds.has_value()) return std::nullopt;
  return absl::Microseconds(*microseconds);
}

std::string TimeForMessage(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

absl::StatusOr<int> EffectivePageSize(const PageRequest& page) {
  if (page.page_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("page size ", page.page_size, " is negative; use 0 for the default"));
  }
  if (page.page_size == 0) return kDefaultPageSize;
  return std::min(page.page_size, kMaximumPageSize);
}

std::string EncodePageToken(std::string_view listing, const json& position) {
  json token = json::array({std::string(listing), position});
  return absl::WebSafeBase64Escape(token.dump());
}

absl::Status InvalidPageTokenError(std::string_view token) {
  return absl::InvalidArgumentError(
      absl::StrCat("page token '", std::string(token.substr(0, 40)),
                   "' is not valid for this listing; start again with an empty token"));
}

absl::StatusOr<json> DecodePageToken(std::string_view listing, std::string_view token) {
  std::string text;
  const absl::Status invalid = InvalidPageTokenError(token);
  if (!absl::WebSafeBase64Unescape(std::string(token), &text)) return invalid;
  json decoded = Parse(text);
  if (!decoded.is_array() || decoded.size() != 2 || !decoded[0].is_string() ||
      decoded[0].get<std::string>() != listing) {
    return invalid;
  }
  return decoded[1];
}

std::string LikeSubstringPattern(std::string_view text) {
  std::string pattern = "%";
  for (char character : text) {
    if (character == '%' || character == '_' || character == '\\') pattern.push_back('\\');
    pattern.push_back(character);
  }
  pattern.push_back('%');
  return pattern;
}

std::string LowerCaseGlobPattern(std::string_view shell_pattern) {
  std::string pattern;
  for (char character : shell_pattern) {
    if (character == '[') {
      pattern += "[[]";
    } else {
      pattern.push_back(absl::ascii_tolower(static_cast<unsigned char>(character)));
    }
  }
  return pattern;
}

std::string NormalizeHex(std::string_view hex) {
  std::string text(hex);
  absl::AsciiStrToUpper(&text);
  return text;
}

void WhereClause::Add(std::string_view condition, std::vector<Parameter> parameters) {
  conditions_.push_back(absl::StrCat("(", std::string(condition), ")"));
  for (Parameter& parameter : parameters) parameters_.push_back(std::move(parameter));
}

std::string WhereClause::Sql() const {
  if (conditions_.empty()) return std::string();
  return absl::StrCat(" WHERE ", absl::StrJoin(conditions_, " AND "));
}

int WhereClause::Bind(sqlite::Statement& statement, int first_index) const {
  int index = first_index;
  for (const Parameter& parameter : parameters_) {
    switch (parameter.type) {
      case Parameter::Type::kInteger:
        statement.BindInt64(index, parameter.integer);
        break;
      case Parameter::Type::kReal:
        statement.BindDouble(index, parameter.real);
        break;
      case Parameter::Type::kText:
        statement.BindText(index, parameter.text);
        break;
    }
    ++index;
  }
  return index;
}

WhereClause WhereClause::With(std::string_view condition, std::vector<Parameter> parameters) const {
  WhereClause copy = *this;
  copy.Add(condition, std::move(parameters));
  return copy;
}

std::string Placeholders(size_t count) {
  std::string text;
  for (size_t index = 0; index < count; ++index) text += index == 0 ? "?" : ", ?";
  return text;
}

}  // namespace certfleet::controller::store::sqlite_backend
