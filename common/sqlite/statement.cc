#include "common/sqlite/statement.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/sqlite/database.h"
#include "common/sqlite/sqlite_status.h"

namespace certfleet::sqlite {
namespace {

std::string Abbreviate(std::string_view sql) {
  std::string text(sql.substr(0, 80));
  for (char& character : text) {
    if (character == '\n' || character == '\t') character = ' ';
  }
  if (sql.size() > 80) text += "...";
  return text;
}

}  // namespace

int64_t TimeToStorage(absl::Time time) { return absl::ToUnixMicros(time); }

absl::Time TimeFromStorage(int64_t microseconds) { return absl::FromUnixMicros(microseconds); }

Statement::Statement(Database* database, std::string sql, sqlite3_stmt* statement)
    : database_(database), sql_(std::move(sql)), statement_(statement) {}

Statement::Statement(Statement&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)),
      sql_(std::move(other.sql_)),
      statement_(std::exchange(other.statement_, nullptr)),
      bind_status_(std::move(other.bind_status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    Release();
    database_ = std::exchange(other.database_, nullptr);
    sql_ = std::move(other.sql_);
    statement_ = std::exchange(other.statement_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Statement::~Statement() { Release(); }

void Statement::Release() {
  if (statement_ == nullptr) return;
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
  if (database_ != nullptr) {
    database_->Recycle(std::move(sql_), statement_);
  } else {
    sqlite3_finalize(statement_);
  }
  statement_ = nullptr;
  database_ = nullptr;
}

void Statement::RecordBindResult(int result_code, int index) {
  if (result_code == SQLITE_OK || !bind_status_.ok()) return;
  bind_status_ =
      absl::InternalError(absl::StrCat("could not bind parameter ", index, " of SQL `",
                                       Abbreviate(sql_), "`: ", sqlite3_errstr(result_code)));
}

Statement& Statement::BindInt64(int index, int64_t value) {
  RecordBindResult(sqlite3_bind_int64(statement_, index, value), index);
  return *this;
}

Statement& Statement::BindDouble(int index, double value) {
  RecordBindResult(sqlite3_bind_double(statement_, index, value), index);
  return *this;
}

Statement& Statement::BindBool(int index, bool value) { return BindInt64(index, value ? 1 : 0); }

Statement& Statement::BindText(int index, std::string_view value) {
  RecordBindResult(sqlite3_bind_text64(statement_, index, value.data(), value.size(),
                                       SQLITE_TRANSIENT, SQLITE_UTF8),
                   index);
  return *this;
}

Statement& Statement::BindBlob(int index, std::string_view value) {
  // A zero-length blob must still be a blob, not NULL: pass a valid pointer.
  static constexpr char kEmpty = 0;
  const void* data = value.empty() ? &kEmpty : value.data();
  RecordBindResult(sqlite3_bind_blob64(statement_, index, data, value.size(), SQLITE_TRANSIENT),
                   index);
  return *this;
}

Statement& Statement::BindTime(int index, absl::Time value) {
  return BindInt64(index, TimeToStorage(value));
}

Statement& Statement::BindNull(int index) {
  RecordBindResult(sqlite3_bind_null(statement_, index), index);
  return *this;
}

Statement& Statement::BindOptionalInt64(int index, std::optional<int64_t> value) {
  return value.has_value() ? BindInt64(index, *value) : BindNull(index);
}

Statement& Statement::BindOptionalDouble(int index, std::optional<double> value) {
  return value.has_value() ? BindDouble(index, *value) : BindNull(index);
}

Statement& Statement::BindOptionalText(int index, const std::optional<std::string>& value) {
  return value.has_value() ? BindText(index, *value) : BindNull(index);
}

Statement& Statement::BindOptionalTime(int index, std::optional<absl::Time> value) {
  return value.has_value() ? BindTime(index, *value) : BindNull(index);
}

absl::StatusOr<bool> Statement::Step() {
  if (!bind_status_.ok()) return bind_status_;
  int result = sqlite3_step(statement_);
  if (result == SQLITE_ROW) return true;
  if (result == SQLITE_DONE) return false;
  sqlite3* connection = sqlite3_db_handle(statement_);
  absl::Status status =
      SqliteStatus(connection, result, absl::StrCat("SQL `", Abbreviate(sql_), "`"));
  sqlite3_reset(statement_);
  return status;
}

absl::Status Statement::Run() {
  while (true) {
    absl::StatusOr<bool> row = Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
  }
}

void Statement::Reset() { sqlite3_reset(statement_); }

int Statement::ColumnCount() const { return sqlite3_column_count(statement_); }

bool Statement::ColumnIsNull(int index) const {
  return sqlite3_column_type(statement_, index) == SQLITE_NULL;
}

int64_t Statement::ColumnInt64(int index) const { return sqlite3_column_int64(statement_, index); }

double Statement::ColumnDouble(int index) const { return sqlite3_column_double(statement_, index); }

bool Statement::ColumnBool(int index) const { return ColumnInt64(index) != 0; }

std::string Statement::ColumnText(int index) const {
  const unsigned char* text = sqlite3_column_text(statement_, index);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(sqlite3_column_bytes(statement_, index)));
}

std::string Statement::ColumnBlob(int index) const {
  const void* data = sqlite3_column_blob(statement_, index);
  if (data == nullptr) return std::string();
  return std::string(static_cast<const char*>(data),
                     static_cast<size_t>(sqlite3_column_bytes(statement_, index)));
}

absl::Time Statement::ColumnTime(int index) const { return TimeFromStorage(ColumnInt64(index)); }

std::optional<int64_t> Statement::ColumnOptionalInt64(int index) const {
  if (ColumnIsNull(index)) return std::nullopt;
  return ColumnInt64(index);
}

std::optional<double> Statement::ColumnOptionalDouble(int index) const {
  if (ColumnIsNull(index)) return std::nullopt;
  return ColumnDouble(index);
}

std::optional<std::string> Statement::ColumnOptionalText(int index) const {
  if (ColumnIsNull(index)) return std::nullopt;
  return ColumnText(index);
}

std::optional<absl::Time> Statement::ColumnOptionalTime(int index) const {
  if (ColumnIsNull(index)) return std::nullopt;
  return ColumnTime(index);
}

}  // namespace certfleet::sqlite
