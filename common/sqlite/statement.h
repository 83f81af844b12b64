// A compiled SQL statement with typed parameter binding and column access.
//
// Binding methods return the statement so that they chain; a binding error
// (an index out of range, which is a bug in the caller's SQL) is remembered
// and reported by the next Step or Run, so call sites stay short:
//
//   auto statement = database.Prepare("SELECT name FROM hosts WHERE host_id = ?");
//   if (!statement.ok()) return statement.status();
//   statement->BindText(1, host_id);
//   absl::StatusOr<bool> row = statement->Step();
//
// Parameters are numbered from 1 and columns from 0, as in SQLite's own API.
// Times are stored as INTEGER microseconds since the Unix epoch (UTC); an
// infinite time saturates to the smallest or largest int64.
//
// Thread safety: see database.h; a Statement belongs to one thread at a time
// and must not outlive its Database.

#ifndef CERTFLEET_COMMON_SQLITE_STATEMENT_H_
#define CERTFLEET_COMMON_SQLITE_STATEMENT_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certfleet::sqlite {

class Database;

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  // Returns the compiled statement to its database's cache.
  ~Statement();

  Statement& BindInt64(int index, int64_t value);
  Statement& BindDouble(int index, double value);
  Statement& BindBool(int index, bool value);
  // Text and blobs are copied, so `value` need not outlive the statement.
  Statement& BindText(int index, std::string_view value);
  Statement& BindBlob(int index, std::string_view value);
  Statement& BindTime(int index, absl::Time value);
  Statement& BindNull(int index);
  // NULL when the optional is empty.
  Statement& BindOptionalInt64(int index, std::optional<int64_t> value);
  Statement& BindOptionalDouble(int index, std::optional<double> value);
  Statement& BindOptionalText(int index, const std::optional<std::string>& value);
  Statement& BindOptionalTime(int index, std::optional<absl::Time> value);

  // Advances to the next row. Returns true when a row is available, false
  // when the statement has finished. Errors: the first binding error, or
  // SQLite's error mapped as in sqlite_status.h (Unavailable when busy,
  // AlreadyExists for a unique constraint, ...). After false or an error the
  // statement must be Reset before it runs again.
  absl::StatusOr<bool> Step();

  // Steps until the statement finishes, ignoring rows. For INSERT, UPDATE,
  // DELETE and DDL. Errors as for Step.
  absl::Status Run();

  // Rewinds the statement so that it can run again; bindings are kept.
  void Reset();

  // Columns of the current row (REQUIRES: the last Step returned true).
  // A NULL reads as 0, 0.0, false, an empty string or the Unix epoch.
  int ColumnCount() const;
  bool ColumnIsNull(int index) const;
  int64_t ColumnInt64(int index) const;
  double ColumnDouble(int index) const;
  bool ColumnBool(int index) const;
  std::string ColumnText(int index) const;
  std::string ColumnBlob(int index) const;
  absl::Time ColumnTime(int index) const;
  std::optional<int64_t> ColumnOptionalInt64(int index) const;
  std::optional<double> ColumnOptionalDouble(int index) const;
  std::optional<std::string> ColumnOptionalText(int index) const;
  std::optional<absl::Time> ColumnOptionalTime(int index) const;

  // The SQL text the statement was compiled from.
  const std::string& sql() const { return sql_; }

 private:
  friend class Database;

  Statement(Database* database, std::string sql, sqlite3_stmt* statement);
  void RecordBindResult(int result_code, int index);
  void Release();

  Database* database_;
  std::string sql_;
  sqlite3_stmt* statement_;
  absl::Status bind_status_;
};

// The encoding of times in the database: microseconds since the Unix epoch.
int64_t TimeToStorage(absl::Time time);
absl::Time TimeFromStorage(int64_t microseconds);

}  // namespace certfleet::sqlite

#endif  // CERTFLEET_COMMON_SQLITE_STATEMENT_H_
