// The controller's store on SQLite: one database file (or an in-memory
// database for tests) in WAL mode, migrated to the newest schema when opened.
//
//   absl::StatusOr<std::unique_ptr<SqliteStore>> store =
//       SqliteStore::Open({.path = data_dir / "controller.db"});
//   store->hosts().GetHost(host_id);
//
// Thread safety: thread-safe. All parts share one connection guarded by a
// mutex, so every method is one short, fully serialized transaction; gRPC
// callback threads, the scheduler and the HTTP server may call it at once.
// Another process writing the same file makes writers wait up to
// busy_timeout, then fail with Unavailable.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_STORE_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_STORE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/store/sqlite/sqlite_audit_log.h"
#include "controller/store/sqlite/sqlite_campaign_store.h"
#include "controller/store/sqlite/sqlite_connection.h"
#include "controller/store/sqlite/sqlite_host_store.h"
#include "controller/store/sqlite/sqlite_inventory_store.h"
#include "controller/store/sqlite/sqlite_job_store.h"
#include "controller/store/sqlite/sqlite_join_token_store.h"
#include "controller/store/sqlite/sqlite_order_store.h"
#include "controller/store/sqlite/sqlite_policy_store.h"
#include "controller/store/sqlite/sqlite_webhook_store.h"
#include "controller/store/store.h"

namespace certfleet::controller::store {

struct SqliteStoreOptions {
  // A file path, or ":memory:" for a private in-memory database.
  std::string path = ":memory:";
  absl::Duration busy_timeout = absl::Seconds(5);
};

class SqliteStore final : public Store {
 public:
  // Opens or creates the database and applies every pending migration, each
  // in its own transaction. Errors: those of sqlite::Database::Open (naming
  // the path); FailedPrecondition when the database was written by a newer
  // certfleet (its schema version is above this build's); a failed
  // migration's error naming it.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const SqliteStoreOptions& options);

  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  HostStore& hosts() override { return hosts_; }
  JoinTokenStore& join_tokens() override { return join_tokens_; }
  InventoryStore& inventory() override { return inventory_; }
  PolicyStore& policies() override { return policies_; }
  OrderStore& orders() override { return orders_; }
  JobStore& jobs() override { return jobs_; }
  AuditLog& audit_log() override { return audit_log_; }
  CampaignStore& campaigns() override { return campaigns_; }
  WebhookStore& webhooks() override { return webhooks_; }

  // The schema version after opening (the number of migrations applied).
  int schema_version() const { return schema_version_; }

  // Migrations this call of Open applied (empty when the database was up
  // to date).
  const std::vector<int>& applied_migrations() const { return applied_migrations_; }

  // The newest schema version this build knows.
  static int LatestSchemaVersion();

  // See SqliteInventoryStore::ExplainListCertificates.
  absl::StatusOr<std::string> ExplainListCertificates(const CertificateQuery& query) {
    return inventory_.ExplainListCertificates(query);
  }

 private:
  explicit SqliteStore(std::unique_ptr<sqlite::Database> database);

  sqlite_backend::SqliteConnection connection_;
  sqlite_backend::SqliteHostStore hosts_;
  sqlite_backend::SqliteJoinTokenStore join_tokens_;
  sqlite_backend::SqliteInventoryStore inventory_;
  sqlite_backend::SqlitePolicyStore policies_;
  sqlite_backend::SqliteOrderStore orders_;
  sqlite_backend::SqliteJobStore jobs_;
  sqlite_backend::SqliteAuditLog audit_log_;
  sqlite_backend::SqliteCampaignStore campaigns_;
  sqlite_backend::SqliteWebhookStore webhooks_;
  int schema_version_ = 0;
  std::vector<int> applied_migrations_;
};

}  // namespace certfleet::controller::store

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_STORE_H_
