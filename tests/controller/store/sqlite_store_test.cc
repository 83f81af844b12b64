// Opening the SQLite store: migrations at open, reopening a file, refusing a
// database written by a newer build.

#include "controller/store/sqlite/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sqlite/database.h"
#include "controller/store/ids.h"
#include "tests/controller/store/store_test_fixture.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller::store {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(SqliteStoreTest, InMemoryStoreIsMigratedToTheLatestVersion) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store,
                                 SqliteStore::Open({.path = ":memory:"}));
  EXPECT_EQ(store->schema_version(), SqliteStore::LatestSchemaVersion());
  EXPECT_EQ(store->applied_migrations().size(),
            static_cast<size_t>(SqliteStore::LatestSchemaVersion()));
}

TEST(SqliteStoreTest, ReopenedFileKeepsDataAndAppliesNoMigrationAgain) {
  TemporaryDirectory directory;
  const std::string path = (directory.path() / "controller.db").string();
  std::string host_id;
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> store,
                                   SqliteStore::Open({.path = path}));
    EXPECT_THAT(store->applied_migrations(), ElementsAre(1, 2, 3, 4, 5, 6));
    NewJoinToken token;
    token.secret_sha256 = testing::HashSecret("secret");
    token.created_at = absl::FromUnixSeconds(1000);
    token.expires_at = absl::FromUnixSeconds(100000);
    ASSERT_THAT(store->join_tokens().CreateJoinToken(token), IsOk());
    HostEnrollment enrollment;
    enrollment.host_id = GenerateId(IdKind::kHost);
    enrollment.hostname = "web-01.example.com";
    enrollment.join_token_secret_sha256 = token.secret_sha256;
    enrollment.enrolled_at = absl::FromUnixSeconds(2000);
    CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord host, store->hosts().EnrollHost(enrollment));
    host_id = host.host_id;
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<SqliteStore> reopened,
                                 SqliteStore::Open({.path = path}));
  EXPECT_THAT(reopened->applied_migrations(), IsEmpty());
  EXPECT_EQ(reopened->schema_version(), SqliteStore::LatestSchemaVersion());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(HostRecord host, reopened->hosts().GetHost(host_id));
  EXPECT_EQ(host.hostname, "web-01.example.com");
  EXPECT_EQ(host.enrolled_at, absl::FromUnixSeconds(2000));
  // The default policy is still the single one, not inserted twice.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::vector<PolicyRecord> policies,
                                 reopened->policies().ListPolicies());
  EXPECT_EQ(policies.size(), 1u);
}

TEST(SqliteStoreTest, DatabaseFromANewerBuildIsRefused) {
  TemporaryDirectory directory;
  const std::string path = (directory.path() / "controller.db").string();
  { ASSERT_THAT(SqliteStore::Open({.path = path}), IsOk()); }
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<sqlite::Database> database,
                                   sqlite::Database::Open(path));
    ASSERT_THAT(database->Execute("INSERT INTO schema_version (version, description) VALUES "
                                  "(99, 'from the future')"),
                IsOk());
  }
  EXPECT_THAT(SqliteStore::Open({.path = path}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("schema version 99"), HasSubstr("newer"),
                             HasSubstr("controller.db"))));
}

TEST(SqliteStoreTest, UnopenablePathNamesThePath) {
  EXPECT_THAT(SqliteStore::Open({.path = "/nonexistent-certfleet-folder/controller.db"}),
              StatusIs(absl::StatusCode::kUnavailable,
                       HasSubstr("/nonexistent-certfleet-folder/controller.db")));
}

TEST(SqliteStoreTest, FileDatabaseUsesWriteAheadLogging) {
  TemporaryDirectory directory;
  const std::string path = (directory.path() / "controller.db").string();
  { ASSERT_THAT(SqliteStore::Open({.path = path}), IsOk()); }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<sqlite::Database> database,
                                 sqlite::Database::Open(path));
  EXPECT_EQ(database->journal_mode(), "wal");
}

}  // namespace
}  // namespace certfleet::controller::store
