#include "controller/store/sqlite/sqlite_join_token_store.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "controller/store/ids.h"
#include "controller/store/sqlite/row_codec.h"
#include "controller/store/sqlite/shared_queries.h"

namespace certfleet::controller::store::sqlite_backend {
namespace {

using sqlite::Database;
using sqlite::Statement;

constexpr char kTokenColumns[] =
    "token_id, secret_sha256, description, bound_hostname, labels, created_at, expires_at, "
    "created_by, used_at, used_by_host_id, used_by_hostname, revoked_at";

JoinTokenRecord TokenFromRow(const Statement& row) {
  JoinTokenRecord token;
  token.token_id = row.ColumnText(0);
  token.secret_sha256 = row.ColumnText(1);
  token.description = row.ColumnText(2);
  token.bound_hostname = row.ColumnText(3);
  token.labels = DecodeStringMap(row.ColumnText(4));
  token.created_at = row.ColumnTime(5);
  token.expires_at = row.ColumnTime(6);
  token.created_by = row.ColumnText(7);
  token.used_at = row.ColumnOptionalTime(8);
  token.used_by_host_id = row.ColumnText(9);
  token.used_by_hostname = row.ColumnText(10);
  token.revoked_at = row.ColumnOptionalTime(11);
  return token;
}

// Secrets are hashed to lower-case hex (HashJoinTokenSecret).
std::string NormalizeSecretHash(std::string_view hash) {
  std::string text(hash);
  absl::AsciiStrToLower(&text);
  return text;
}

bool IsSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char character : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(character))) return false;
  }
  return true;
}

absl::StatusOr<std::optional<JoinTokenRecord>> FindToken(Database& database,
                                                         std::string_view column,
                                                         std::string_view value) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement select,
      database.Prepare(absl::StrCat("SELECT ", kTokenColumns, " FROM join_tokens WHERE ",
                                    std::string(column), " = ?")));
  select.BindText(1, value);
  CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
  if (!row) return std::optional<JoinTokenRecord>();
  return std::optional<JoinTokenRecord>(TokenFromRow(select));
}

absl::StatusOr<JoinTokenRecord> LoadToken(Database& database, std::string_view token_id) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(std::optional<JoinTokenRecord> token,
                                   FindToken(database, "token_id", token_id));
  if (!token.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("join token ", std::string(token_id), " does not exist"));
  }
  return *std::move(token);
}

// The token for `secret_sha256` if it may enroll `hostname` at `now`.
absl::StatusOr<JoinTokenRecord> CheckUsable(Database& database, std::string_view secret_sha256,
                                            std::string_view hostname, absl::Time now) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      std::optional<JoinTokenRecord> found,
      FindToken(database, "secret_sha256", NormalizeSecretHash(secret_sha256)));
  if (!found.has_value()) {
    return absl::NotFoundError("no join token matches this secret");
  }
  const JoinTokenRecord& token = *found;
  if (token.used_at.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "join token ", token.token_id, " was already used at ", TimeForMessage(*token.used_at),
        " by host ", token.used_by_hostname, "; create a new token"));
  }
  if (token.revoked_at.has_value()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "join token ", token.token_id, " was revoked at ", TimeForMessage(*token.revoked_at)));
  }
  if (token.expires_at <= now) {
    return absl::FailedPreconditionError(absl::StrCat("join token ", token.token_id, " expired at ",
                                                      TimeForMessage(token.expires_at),
                                                      "; create a new token"));
  }
  if (!token.bound_hostname.empty() &&
      !absl::EqualsIgnoreCase(token.bound_hostname, std::string(hostname))) {
    return absl::FailedPreconditionError(absl::StrCat("join token ", token.token_id,
                                                      " is bound to host ", token.bound_hostname,
                                                      ", not ", std::string(hostname)));
  }
  return *std::move(found);
}

}  // namespace

absl::StatusOr<JoinTokenRecord> ConsumeJoinTokenIn(Database& database,
                                                   std::string_view secret_sha256,
                                                   std::string_view hostname,
                                                   std::string_view host_id, absl::Time now) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(JoinTokenRecord token,
                                   CheckUsable(database, secret_sha256, hostname, now));
  // The conditions repeat the checks so that the update itself is the
  // arbiter even for a backend where the read above is not serialized.
  CERTFLEET_STORE_ASSIGN_OR_RETURN(
      Statement update,
      database.Prepare("UPDATE join_tokens SET used_at = ?2, used_by_host_id = ?3, "
                       "used_by_hostname = ?4 WHERE token_id = ?1 AND used_at IS NULL AND "
                       "revoked_at IS NULL AND expires_at > ?2"));
  update.BindText(1, token.token_id).BindTime(2, now).BindText(3, host_id).BindText(4, hostname);
  CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
  if (database.ChangedRows() != 1) {
    return absl::FailedPreconditionError(
        absl::StrCat("join token ", token.token_id, " was already used"));
  }
  return LoadToken(database, token.token_id);
}

absl::StatusOr<JoinTokenRecord> SqliteJoinTokenStore::CreateJoinToken(const NewJoinToken& token) {
  if (!IsSha256Hex(token.secret_sha256)) {
    return absl::InvalidArgumentError(
        "the join token's secret hash is not a SHA-256 (64 hex digits); store "
        "HashJoinTokenSecret(secret), never the secret");
  }
  if (token.expires_at <= token.created_at) {
    return absl::InvalidArgumentError(
        absl::StrCat("the join token would expire at ", TimeForMessage(token.expires_at),
                     ", not after its creation at ", TimeForMessage(token.created_at)));
  }
  const std::string token_id = GenerateId(IdKind::kJoinToken);
  return connection_->Write([&](Database& database) -> absl::StatusOr<JoinTokenRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement insert,
        database.Prepare("INSERT INTO join_tokens (token_id, secret_sha256, description, "
                         "bound_hostname, labels, created_at, expires_at, created_by) VALUES "
                         "(?, ?, ?, ?, ?, ?, ?, ?)"));
    insert.BindText(1, token_id)
        .BindText(2, NormalizeSecretHash(token.secret_sha256))
        .BindText(3, token.description)
        .BindText(4, token.bound_hostname)
        .BindText(5, EncodeStringMap(token.labels))
        .BindTime(6, token.created_at)
        .BindTime(7, token.expires_at)
        .BindText(8, token.created_by);
    absl::Status inserted = insert.Run();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError("a join token with this secret already exists");
    }
    CERTFLEET_STORE_RETURN_IF_ERROR(inserted);
    return LoadToken(database, token_id);
  });
}

absl::StatusOr<JoinTokenRecord> SqliteJoinTokenStore::GetJoinToken(std::string_view token_id) {
  return connection_->Read([&](Database& database) { return LoadToken(database, token_id); });
}

absl::StatusOr<JoinTokenRecord> SqliteJoinTokenStore::ValidateJoinToken(
    std::string_view secret_sha256, std::string_view hostname, absl::Time now) {
  return connection_->Read(
      [&](Database& database) { return CheckUsable(database, secret_sha256, hostname, now); });
}

absl::StatusOr<JoinTokenRecord> SqliteJoinTokenStore::ConsumeJoinToken(
    std::string_view secret_sha256, std::string_view hostname, std::string_view host_id,
    absl::Time now) {
  return connection_->Write([&](Database& database) {
    return ConsumeJoinTokenIn(database, secret_sha256, hostname, host_id, now);
  });
}

absl::StatusOr<Page<JoinTokenRecord>> SqliteJoinTokenStore::ListJoinTokens(
    const JoinTokenQuery& query) {
  CERTFLEET_STORE_ASSIGN_OR_RETURN(const int page_size, EffectivePageSize(query.page));
  WhereClause where;
  if (!query.states.empty()) {
    std::vector<std::string> alternatives;
    std::vector<WhereClause::Parameter> parameters;
    for (JoinTokenState state : query.states) {
      switch (state) {
        case JoinTokenState::kUsed:
          alternatives.push_back("used_at IS NOT NULL");
          break;
        case JoinTokenState::kRevoked:
          alternatives.push_back("used_at IS NULL AND revoked_at IS NOT NULL");
          break;
        case JoinTokenState::kExpired:
          alternatives.push_back("used_at IS NULL AND revoked_at IS NULL AND expires_at <= ?");
          parameters.push_back(sqlite::TimeToStorage(query.now));
          break;
        case JoinTokenState::kActive:
          alternatives.push_back("used_at IS NULL AND revoked_at IS NULL AND expires_at > ?");
          parameters.push_back(sqlite::TimeToStorage(query.now));
          break;
      }
    }
    std::string condition;
    for (const std::string& alternative : alternatives) {
      absl::StrAppend(&condition, condition.empty() ? "" : " OR ", "(", alternative, ")");
    }
    where.Add(condition, std::move(parameters));
  }
  WhereClause page_where = where;
  if (!query.page.page_token.empty()) {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(nlohmann::json position,
                                     DecodePageToken("join_tokens", query.page.page_token));
    if (!position.is_array() || position.size() != 2 || !position[0].is_number_integer() ||
        !position[1].is_string()) {
      return InvalidPageTokenError(query.page.page_token);
    }
    page_where.Add("(created_at, token_id) < (?, ?)",
                   {position[0].get<int64_t>(), position[1].get<std::string>()});
  }
  return connection_->Read([&](Database& database) -> absl::StatusOr<Page<JoinTokenRecord>> {
    Page<JoinTokenRecord> page;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement count,
        database.Prepare(absl::StrCat("SELECT count(*) FROM join_tokens", where.Sql())));
    where.Bind(count);
    CERTFLEET_STORE_RETURN_IF_ERROR(count.Step().status());
    page.total_size = count.ColumnInt64(0);
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement select, database.Prepare(absl::StrCat(
                              "SELECT ", kTokenColumns, " FROM join_tokens", page_where.Sql(),
                              " ORDER BY created_at DESC, token_id DESC LIMIT ?")));
    select.BindInt64(page_where.Bind(select), page_size + 1);
    while (true) {
      CERTFLEET_STORE_ASSIGN_OR_RETURN(bool row, select.Step());
      if (!row) break;
      page.items.push_back(TokenFromRow(select));
    }
    if (page.items.size() > static_cast<size_t>(page_size)) {
      page.items.pop_back();
      const JoinTokenRecord& last = page.items.back();
      page.next_page_token = EncodePageToken(
          "join_tokens",
          nlohmann::json::array({sqlite::TimeToStorage(last.created_at), last.token_id}));
    }
    return page;
  });
}

absl::StatusOr<JoinTokenRecord> SqliteJoinTokenStore::RevokeJoinToken(std::string_view token_id,
                                                                      absl::Time at) {
  return connection_->Write([&](Database& database) -> absl::StatusOr<JoinTokenRecord> {
    CERTFLEET_STORE_ASSIGN_OR_RETURN(JoinTokenRecord token, LoadToken(database, token_id));
    if (token.used_at.has_value()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "join token ", token.token_id, " was already used at ", TimeForMessage(*token.used_at),
          " by host ", token.used_by_hostname, "; decommission the host instead"));
    }
    if (token.revoked_at.has_value()) return token;
    CERTFLEET_STORE_ASSIGN_OR_RETURN(
        Statement update,
        database.Prepare("UPDATE join_tokens SET revoked_at = ? WHERE token_id = ?"));
    update.BindTime(1, at).BindText(2, token_id);
    CERTFLEET_STORE_RETURN_IF_ERROR(update.Run());
    return LoadToken(database, token_id);
  });
}

}  // namespace certfleet::controller::store::sqlite_backend
