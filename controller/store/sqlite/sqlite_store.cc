#include "controller/store/sqlite/sqlite_store.h"

#include <utility>

#include "common/sqlite/migration.h"
#include "controller/store/sqlite/migrations.h"

namespace certfleet::controller::store {

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  sqlite::DatabaseOptions database_options;
  database_options.busy_timeout = options.busy_timeout;
  absl::StatusOr<std::unique_ptr<sqlite::Database>> database =
      sqlite::Database::Open(options.path, database_options);
  if (!database.ok()) return database.status();
  absl::StatusOr<sqlite::MigrationReport> report =
      sqlite::ApplyMigrations(**database, sqlite_backend::StoreMigrations());
  if (!report.ok()) return report.status();
  std::unique_ptr<SqliteStore> store(new SqliteStore(*std::move(database)));
  store->schema_version_ = report->current_version;
  store->applied_migrations_ = report->applied_versions;
  return store;
}

int SqliteStore::LatestSchemaVersion() {
  return static_cast<int>(sqlite_backend::StoreMigrations().size());
}

SqliteStore::SqliteStore(std::unique_ptr<sqlite::Database> database)
    : connection_(std::move(database)),
      hosts_(&connection_),
      join_tokens_(&connection_),
      inventory_(&connection_),
      policies_(&connection_),
      orders_(&connection_),
      jobs_(&connection_),
      audit_log_(&connection_),
      campaigns_(&connection_),
      webhooks_(&connection_) {}

SqliteStore::~SqliteStore() = default;

}  // namespace certfleet::controller::store
