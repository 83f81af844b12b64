// Internal to controller/store/sqlite: how records' nested values are kept
// in columns (small JSON documents for maps, lists, names and failures), the
// opaque page tokens of keyset pagination, and a builder for the WHERE
// clauses of filtered listings (always with bound parameters, never with
// values pasted into SQL).
//
// Thread safety: free functions and value types without shared state.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_ROW_CODEC_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_ROW_CODEC_H_

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sqlite/statement.h"
#include "controller/store/records.h"

namespace certfleet::controller::store::sqlite_backend {

// JSON column encodings. Decoders accept what the encoders wrote; missing
// members read as empty values, so columns written by an older schema stay
// readable after fields are added.
std::string EncodeStringMap(const std::map<std::string, std::string>& map);
std::map<std::string, std::string> DecodeStringMap(std::string_view json);
std::string EncodeStringList(const std::vector<std::string>& list);
std::vector<std::string> DecodeStringList(std::string_view json);
std::string EncodeEndpoints(const std::vector<EndpointRecord>& endpoints);
std::vector<EndpointRecord> DecodeEndpoints(std::string_view json);
std::string EncodeDistinguishedName(const DistinguishedNameRecord& name);
DistinguishedNameRecord DecodeDistinguishedName(std::string_view json);
std::string EncodePlatform(const PlatformRecord& platform);
PlatformRecord DecodePlatform(std::string_view json);
std::string EncodeHostSelector(const HostSelectorRecord& selector);
HostSelectorRecord DecodeHostSelector(std::string_view json);
// NULL (an empty optional) when there is no failure.
std::optional<std::string> EncodeFailure(const std::optional<FailureRecord>& failure);
std::optional<FailureRecord> DecodeFailure(const std::optional<std::string>& json);

// Durations are stored as INTEGER microseconds.
std::optional<int64_t> DurationToStorage(const std::optional<absl::Duration>& duration);
std::optional<absl::Duration> DurationFromStorage(std::optional<int64_t> microseconds);

// "2024-05-01T12:00:00Z", for messages.
std::string TimeForMessage(absl::Time time);

// The page size to use: kDefaultPageSize for 0, at most kMaximumPageSize.
// InvalidArgument for a negative size.
absl::StatusOr<int> EffectivePageSize(const PageRequest& page);

// A page token names the listing it belongs to and the sort key of the last
// item returned. Tokens are URL-safe base64 of a small JSON array.
std::string EncodePageToken(std::string_view listing, const nlohmann::json& position);
// The position stored in `token`, or InvalidArgument when the token is
// damaged or was made by another listing.
absl::StatusOr<nlohmann::json> DecodePageToken(std::string_view listing, std::string_view token);

// The error for a damaged or foreign page token.
absl::Status InvalidPageTokenError(std::string_view token);

// `text` with LIKE's wildcards escaped for "LIKE ? ESCAPE '\'", wrapped in
// '%' for a substring match.
std::string LikeSubstringPattern(std::string_view text);

// A case-folded GLOB pattern for a shell-style pattern where only '*' and
// '?' are special.
std::string LowerCaseGlobPattern(std::string_view shell_pattern);

// Upper-case hex, as thumbprints and fingerprints are stored.
std::string NormalizeHex(std::string_view hex);

// The WHERE clause of a filtered listing and its parameters, in order.
class WhereClause {
 public:
  // One bound value. (A plain struct rather than std::variant: GCC 12
  // warns falsely about variants in initializer lists.)
  struct Parameter {
    enum class Type { kInteger, kReal, kText };
    Parameter(int64_t value) : type(Type::kInteger), integer(value) {}           // NOLINT: implicit
    Parameter(double value) : type(Type::kReal), real(value) {}                  // NOLINT: implicit
    Parameter(std::string value) : type(Type::kText), text(std::move(value)) {}  // NOLINT
    Parameter(const char* value) : type(Type::kText), text(value) {}             // NOLINT: implicit

    Type type;
    int64_t integer = 0;
    double real = 0;
    std::string text;
  };

  // Adds "AND (condition)"; `condition` has one '?' per parameter.
  void Add(std::string_view condition, std::vector<Parameter> parameters = {});

  // "WHERE a AND b" or an empty string.
  std::string Sql() const;

  // Binds the parameters from `first_index` on; returns the next free index.
  int Bind(sqlite::Statement& statement, int first_index = 1) const;

  // A copy with one more condition (the keyset condition of a page).
  WhereClause With(std::string_view condition, std::vector<Parameter> parameters) const;

 private:
  std::vector<std::string> conditions_;
  std::vector<Parameter> parameters_;
};

// "?, ?, ?" for `count` parameters.
std::string Placeholders(size_t count);

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_ROW_CODEC_H_
