// One SQLite connection, configured the way certfleet uses SQLite everywhere:
// write-ahead logging (WAL) with synchronous=NORMAL for files (durable at
// each checkpoint, and a crash never corrupts the database), foreign keys
// enforced, extended result codes, and a busy timeout so that a writer in
// another process makes us wait rather than fail at once.
//
// Statements are prepared through the Database, which keeps finished
// statements in a small cache keyed by their SQL text, so a hot query is
// compiled once per connection.
//
// Thread safety: a Database and its Statements must be used by one thread
// at a time (callers that share one, like the controller's store, hold a
// mutex around every use). Every Statement and Transaction must be destroyed
// before the Database that made them.

#ifndef CERTFLEET_COMMON_SQLITE_DATABASE_H_
#define CERTFLEET_COMMON_SQLITE_DATABASE_H_

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/sqlite/statement.h"

namespace certfleet::sqlite {

// The path that opens a private, in-memory database.
inline constexpr std::string_view kInMemoryPath = ":memory:";

// Whether Open may create a missing database file.
enum class CreateIfMissing { kYes, kNo };

struct DatabaseOptions {
  CreateIfMissing create_if_missing = CreateIfMissing::kYes;
  // How long a statement waits for another connection's write lock before
  // failing with Unavailable.
  absl::Duration busy_timeout = absl::Seconds(5);
};

class Database {
 public:
  // Opens (or creates) the database at `path`, or a private in-memory one
  // for kInMemoryPath, and configures it as described above. Returns
  // Unavailable when the file cannot be opened (with the path and the
  // reason), NotFound when it is missing and options.create_if_missing is
  // kNo, DataLoss when the file is not a SQLite database, FailedPrecondition
  // when the file system refuses WAL mode.
  static absl::StatusOr<std::unique_ptr<Database>> Open(std::string_view path,
                                                        const DatabaseOptions& options = {});

  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Compiles one SQL statement (a trailing semicolon and white space are
  // fine; a second statement is refused with InvalidArgument). Reuses a
  // cached compilation of the same text when one is idle. Returns Internal
  // with SQLite's message and the SQL for a syntax error or an unknown
  // table or column.
  absl::StatusOr<Statement> Prepare(std::string_view sql);

  // Runs SQL text that may hold several statements and returns no rows
  // (schema scripts, pragmas). Errors as for Statement::Run.
  absl::Status Execute(std::string_view sql);

  // Rowid of the last row inserted on this connection.
  int64_t LastInsertRowId() const;

  // Rows changed by the most recent INSERT, UPDATE or DELETE.
  int64_t ChangedRows() const;

  // True while a transaction is open on this connection.
  bool InTransaction() const;

  // The path given to Open.
  const std::string& path() const { return path_; }

  // The value of `PRAGMA journal_mode` after Open: "wal" for files,
  // "memory" for in-memory databases.
  const std::string& journal_mode() const { return journal_mode_; }

  // For code inside common/sqlite/ and tests of it.
  sqlite3* native_handle() const { return connection_; }

 private:
  friend class Statement;

  Database(sqlite3* connection, std::string path);

  // Takes back a statement that a Statement object no longer uses; it has
  // been reset and its bindings cleared.
  void Recycle(std::string sql, sqlite3_stmt* statement);

  sqlite3* connection_;
  std::string path_;
  std::string journal_mode_;
  // Idle compiled statements by SQL text. Bounded by kMaximumCachedTexts
  // distinct texts; statements beyond it are finalized instead.
  std::unordered_map<std::string, std::vector<sqlite3_stmt*>> idle_statements_;
};

}  // namespace certfleet::sqlite

#endif  // CERTFLEET_COMMON_SQLITE_DATABASE_H_
