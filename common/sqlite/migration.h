// Versioned schema migrations. A program carries an ordered list of SQL
// scripts numbered 1, 2, 3, ...; ApplyMigrations brings a database up to the
// newest of them, each script in its own transaction together with the row
// that records it in the `schema_version` table, so a crash or an error
// leaves the database at the last fully applied version.
//
// A database whose version is newer than the newest script (written by a
// newer release) is refused rather than used with a schema this code does not
// know. A recorded migration whose description differs from the program's
// (two branches that both added "version 4") is refused too.
//
// Thread safety: as the Database (one thread at a time). Two processes
// migrating the same file at once are safe: each script runs under the
// write lock and re-checks the recorded version first.

#ifndef CERTFLEET_COMMON_SQLITE_MIGRATION_H_
#define CERTFLEET_COMMON_SQLITE_MIGRATION_H_

#include <span>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "common/sqlite/database.h"

namespace certfleet::sqlite {

struct Migration {
  // 1 for the first script, each next one +1.
  int version = 0;
  // What the script does, in a few words ("initial schema"). Recorded in
  // the database and compared on later runs.
  std::string_view description;
  // One or more SQL statements.
  std::string_view sql;
};

struct MigrationReport {
  // Version before and after.
  int previous_version = 0;
  int current_version = 0;
  // Versions applied by this call, in order (empty when up to date).
  std::vector<int> applied_versions;
};

// Applies every migration newer than the database's version. Errors:
// InvalidArgument when `migrations` is not numbered 1, 2, 3, ... (a bug);
// FailedPrecondition when the database is newer than the newest migration or
// a recorded description differs (naming both); the script's own error,
// prefixed with its version and description, when a script fails (that
// migration and every later one are then not applied).
absl::StatusOr<MigrationReport> ApplyMigrations(Database& database,
                                                std::span<const Migration> migrations);

// The highest version recorded in `schema_version`; 0 for a database that
// has never been migrated.
absl::StatusOr<int> SchemaVersion(Database& database);

}  // namespace certfleet::sqlite

#endif  // CERTFLEET_COMMON_SQLITE_MIGRATION_H_
