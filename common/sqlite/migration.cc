#include "common/sqlite/migration.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/sqlite/transaction.h"

namespace certfleet::sqlite {
namespace {

constexpr std::string_view kCreateVersionTable = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (
  version INTEGER PRIMARY KEY,
  description TEXT NOT NULL,
  applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
))sql";

// The recorded description of `version`, or an empty optional.
absl::StatusOr<std::optional<std::string>> RecordedDescription(Database& database, int version) {
  absl::StatusOr<Statement> statement =
      database.Prepare("SELECT description FROM schema_version WHERE version = ?");
  if (!statement.ok()) return statement.status();
  statement->BindInt64(1, version);
  absl::StatusOr<bool> row = statement->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(statement->ColumnText(0));
}

absl::Status CheckNumbering(std::span<const Migration> migrations) {
  for (size_t position = 0; position < migrations.size(); ++position) {
    const int expected = static_cast<int>(position) + 1;
    if (migrations[position].version != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("migration number ", migrations[position].version, " ('",
                       std::string(migrations[position].description), "') is at position ",
                       expected, "; migrations must be numbered 1, 2, 3, ... in order"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<int> SchemaVersion(Database& database) {
  absl::StatusOr<Statement> exists = database.Prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!exists.ok()) return exists.status();
  absl::StatusOr<bool> row = exists->Step();
  if (!row.ok()) return row.status();
  if (exists->ColumnInt64(0) == 0) return 0;
  absl::StatusOr<Statement> statement =
      database.Prepare("SELECT coalesce(max(version), 0) FROM schema_version");
  if (!statement.ok()) return statement.status();
  row = statement->Step();
  if (!row.ok()) return row.status();
  return static_cast<int>(statement->ColumnInt64(0));
}

absl::StatusOr<MigrationReport> ApplyMigrations(Database& database,
                                                std::span<const Migration> migrations) {
  if (absl::Status status = CheckNumbering(migrations); !status.ok()) return status;
  if (absl::Status status = database.Execute(kCreateVersionTable); !status.ok()) return status;

  MigrationReport report;
  absl::StatusOr<int> version = SchemaVersion(database);
  if (!version.ok()) return version.status();
  report.previous_version = *version;
  report.current_version = *version;
  const int newest = static_cast<int>(migrations.size());
  if (*version > newest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", database.path(), " has schema version ", *version,
        ", newer than the newest this program knows (", newest,
        "): it was written by a newer certfleet; run that release or restore a backup taken "
        "before the upgrade"));
  }
  // Already applied scripts must be the ones this program knows.
  for (int applied = 1; applied <= *version; ++applied) {
    absl::StatusOr<std::optional<std::string>> description = RecordedDescription(database, applied);
    if (!description.ok()) return description.status();
    const Migration& known = migrations[applied - 1];
    if (description->has_value() && **description != known.description) {
      return absl::FailedPreconditionError(absl::StrCat(
          "database ", database.path(), " records migration ", applied, " as '", **description,
          "' but this program's migration ", applied, " is '", std::string(known.description),
          "': the database comes from a different build of certfleet"));
    }
  }

  for (const Migration& migration : migrations) {
    if (migration.version <= report.current_version) continue;
    absl::StatusOr<Transaction> transaction = Transaction::Begin(database);
    if (!transaction.ok()) return transaction.status();
    // Another process may have applied it while we waited for the lock.
    absl::StatusOr<std::optional<std::string>> recorded =
        RecordedDescription(database, migration.version);
    if (!recorded.ok()) return recorded.status();
    if (recorded->has_value()) {
      report.current_version = migration.version;
      continue;
    }
    if (absl::Status status = database.Execute(migration.sql); !status.ok()) {
      return absl::Status(
          status.code(),
          absl::StrCat("migration ", migration.version, " ('", std::string(migration.description),
                       "') failed: ", std::string(status.message())));
    }
    absl::StatusOr<Statement> record =
        database.Prepare("INSERT INTO schema_version (version, description) VALUES (?, ?)");
    if (!record.ok()) return record.status();
    record->BindInt64(1, migration.version).BindText(2, migration.description);
    if (absl::Status status = record->Run(); !status.ok()) return status;
    if (absl::Status status = transaction->Commit(); !status.ok()) return status;
    report.current_version = migration.version;
    report.applied_versions.push_back(migration.version);
  }
  return report;
}

}  // namespace certfleet::sqlite
