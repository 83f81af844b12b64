#include "common/sqlite/database.h"

#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/sqlite/sqlite_status.h"

namespace certfleet::sqlite {
namespace {

// Distinct SQL texts kept compiled per connection, and idle copies per text.
// The store's dynamic queries come from a small set of filter combinations,
// so this bounds memory without ever evicting a hot query in practice.
constexpr size_t kMaximumCachedTexts = 512;
constexpr size_t kMaximumIdleCopies = 4;

std::string Abbreviate(std::string_view sql) {
  std::string text(sql.substr(0, 80));
  for (char& character : text) {
    if (character == '\n' || character == '\t') character = ' ';
  }
  if (sql.size() > 80) text += "...";
  return text;
}

// Runs a pragma that returns one text value and gives that value back.
absl::StatusOr<std::string> QueryPragma(sqlite3* connection, const std::string& sql) {
  sqlite3_stmt* statement = nullptr;
  int result = sqlite3_prepare_v2(connection, sql.c_str(), -1, &statement, nullptr);
  if (result != SQLITE_OK) {
    return SqliteStatus(connection, result, absl::StrCat("could not run ", sql));
  }
  std::string value;
  result = sqlite3_step(statement);
  if (result == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(statement, 0);
    if (text != nullptr) value = reinterpret_cast<const char*>(text);
    result = SQLITE_OK;
  } else if (result == SQLITE_DONE) {
    result = SQLITE_OK;
  }
  absl::Status status = SqliteStatus(connection, result, absl::StrCat("could not run ", sql));
  sqlite3_finalize(statement);
  if (!status.ok()) return status;
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Database>> Database::Open(std::string_view path,
                                                         const DatabaseOptions& options) {
  const bool in_memory = path == kInMemoryPath;
  const std::string path_text(path);
  if (!in_memory && options.create_if_missing == CreateIfMissing::kNo) {
    std::error_code error;
    if (!std::filesystem::exists(path_text, error)) {
      return absl::NotFoundError(absl::StrCat("database file ", path_text, " does not exist"));
    }
  }
  int flags = SQLITE_OPEN_READWRITE;
  if (options.create_if_missing == CreateIfMissing::kYes) flags |= SQLITE_OPEN_CREATE;
  sqlite3* connection = nullptr;
  int result = sqlite3_open_v2(path_text.c_str(), &connection, flags, nullptr);
  if (result != SQLITE_OK) {
    absl::Status status =
        SqliteStatus(connection, result, absl::StrCat("could not open database ", path_text));
    sqlite3_close_v2(connection);
    return status;
  }
  std::unique_ptr<Database> database(new Database(connection, path_text));
  sqlite3_extended_result_codes(connection, 1);
  sqlite3_busy_timeout(connection,
                       static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));

  // The first read of the file happens here, so a file that is not a
  // database is reported now, with its path.
  absl::StatusOr<std::string> journal_mode =
      QueryPragma(connection, in_memory ? "PRAGMA journal_mode" : "PRAGMA journal_mode = WAL");
  if (!journal_mode.ok()) {
    return absl::Status(journal_mode.status().code(),
                        absl::StrCat("could not open database ", path_text, ": ",
                                     std::string(journal_mode.status().message())));
  }
  database->journal_mode_ = absl::AsciiStrToLower(*journal_mode);
  if (!in_memory && database->journal_mode_ != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(
        "could not switch database ", path_text, " to write-ahead logging (journal mode is '",
        database->journal_mode_, "'); put it on a local file system"));
  }
  // NORMAL is durable at every WAL checkpoint and never corrupts the
  // database on a crash; FULL would add an fsync to every commit.
  if (absl::Status status = database->Execute("PRAGMA synchronous = NORMAL"); !status.ok()) {
    return status;
  }
  if (absl::Status status = database->Execute("PRAGMA foreign_keys = ON"); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> foreign_keys = QueryPragma(connection, "PRAGMA foreign_keys");
  if (!foreign_keys.ok()) return foreign_keys.status();
  if (*foreign_keys != "1") {
    return absl::FailedPreconditionError(
        "this SQLite library cannot enforce foreign keys; certfleet needs a build without "
        "SQLITE_OMIT_FOREIGN_KEY");
  }
  return database;
}

Database::Database(sqlite3* connection, std::string path)
    : connection_(connection), path_(std::move(path)) {}

Database::~Database() {
  // SQLite's advice for long-lived connections: refresh the planner's
  // statistics where they are stale. Cheap, and errors do not matter here.
  sqlite3_exec(connection_, "PRAGMA optimize", nullptr, nullptr, nullptr);
  for (auto& [sql, statements] : idle_statements_) {
    for (sqlite3_stmt* statement : statements) sqlite3_finalize(statement);
  }
  // close_v2 defers the close if a statement escaped; it never leaks the file.
  sqlite3_close_v2(connection_);
}

absl::StatusOr<Statement> Database::Prepare(std::string_view sql) {
  std::string text(sql);
  if (auto found = idle_statements_.find(text);
      found != idle_statements_.end() && !found->second.empty()) {
    sqlite3_stmt* statement = found->second.back();
    found->second.pop_back();
    return Statement(this, std::move(text), statement);
  }
  sqlite3_stmt* statement = nullptr;
  const char* tail = nullptr;
  int result = sqlite3_prepare_v2(connection_, text.data(), static_cast<int>(text.size()),
                                  &statement, &tail);
  if (result != SQLITE_OK) {
    return SqliteStatus(connection_, result,
                        absl::StrCat("could not compile SQL `", Abbreviate(text), "`"));
  }
  if (statement == nullptr) {
    return absl::InvalidArgumentError("could not compile SQL: the text holds no statement");
  }
  if (tail != nullptr) {
    std::string_view rest(tail, text.data() + text.size() - tail);
    for (char character : rest) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(character)) && character != ';') {
        sqlite3_finalize(statement);
        return absl::InvalidArgumentError(
            absl::StrCat("could not compile SQL `", Abbreviate(text),
                         "`: it holds more than one statement; use Execute for scripts"));
      }
    }
  }
  return Statement(this, std::move(text), statement);
}

absl::Status Database::Execute(std::string_view sql) {
  std::string text(sql);
  char* message = nullptr;
  int result = sqlite3_exec(connection_, text.c_str(), nullptr, nullptr, &message);
  if (result == SQLITE_OK) return absl::OkStatus();
  std::string detail = message != nullptr ? message : sqlite3_errstr(result);
  sqlite3_free(message);
  absl::StatusCode code = StatusCodeForSqliteResult(result);
  return absl::Status(code, absl::StrCat("SQL `", Abbreviate(text), "` failed: ", detail));
}

int64_t Database::LastInsertRowId() const { return sqlite3_last_insert_rowid(connection_); }

int64_t Database::ChangedRows() const { return sqlite3_changes64(connection_); }

bool Database::InTransaction() const { return sqlite3_get_autocommit(connection_) == 0; }

void Database::Recycle(std::string sql, sqlite3_stmt* statement) {
  auto found = idle_statements_.find(sql);
  if (found == idle_statements_.end()) {
    if (idle_statements_.size() >= kMaximumCachedTexts) {
      sqlite3_finalize(statement);
      return;
    }
    found = idle_statements_.emplace(std::move(sql), std::vector<sqlite3_stmt*>()).first;
  }
  if (found->second.size() >= kMaximumIdleCopies) {
    sqlite3_finalize(statement);
    return;
  }
  found->second.push_back(statement);
}

}  // namespace certfleet::sqlite
