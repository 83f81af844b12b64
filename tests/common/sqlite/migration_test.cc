#include "common/sqlite/migration.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "common/sqlite/database.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::sqlite {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P(IsOkAndHolds, expected, "is OK and holds " + ::testing::PrintToString(expected)) {
  if (!arg.ok()) {
    *result_listener << "which is " << arg.status().ToString();
    return false;
  }
  return *arg == expected;
}

const Migration kFirst{1, "create hosts", "CREATE TABLE hosts (name TEXT);"};
const Migration kSecond{2, "add labels",
                        "CREATE TABLE labels (host TEXT, key TEXT);"
                        "INSERT INTO labels VALUES ('a', 'b');"};

bool TableExists(Database& database, std::string_view name) {
  absl::StatusOr<Statement> statement =
      database.Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
  EXPECT_THAT(statement, IsOk());
  statement->BindText(1, name);
  EXPECT_THAT(statement->Step(), IsOk());
  return statement->ColumnInt64(0) == 1;
}

TEST(MigrationTest, AppliesInOrderAndRecordsEachVersion) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(kInMemoryPath));
  EXPECT_THAT(SchemaVersion(*database), IsOkAndHolds(0));
  std::vector<Migration> migrations = {kFirst, kSecond};
  CERTFLEET_ASSERT_OK_AND_ASSIGN(MigrationReport report, ApplyMigrations(*database, migrations));
  EXPECT_EQ(report.previous_version, 0);
  EXPECT_EQ(report.current_version, 2);
  EXPECT_THAT(report.applied_versions, ElementsAre(1, 2));
  EXPECT_TRUE(TableExists(*database, "hosts"));
  EXPECT_TRUE(TableExists(*database, "labels"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement recorded,
                                 database->Prepare("SELECT version, description, applied_at "
                                                   "FROM schema_version ORDER BY version"));
  ASSERT_THAT(recorded.Step(), IsOkAndHolds(true));
  EXPECT_EQ(recorded.ColumnText(1), "create hosts");
  EXPECT_FALSE(recorded.ColumnText(2).empty());
}

TEST(MigrationTest, ReopeningAFileAppliesOnlyNewMigrations) {
  testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "m.db").string();
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(path));
    std::vector<Migration> migrations = {kFirst};
    ASSERT_THAT(ApplyMigrations(*database, migrations), IsOk());
    ASSERT_THAT(database->Execute("INSERT INTO hosts VALUES ('kept')"), IsOk());
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(path));
  std::vector<Migration> migrations = {kFirst, kSecond};
  CERTFLEET_ASSERT_OK_AND_ASSIGN(MigrationReport report, ApplyMigrations(*database, migrations));
  EXPECT_EQ(report.previous_version, 1);
  EXPECT_THAT(report.applied_versions, ElementsAre(2));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(report, ApplyMigrations(*database, migrations));
  EXPECT_THAT(report.applied_versions, IsEmpty());
  EXPECT_EQ(report.current_version, 2);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement hosts, database->Prepare("SELECT name FROM hosts"));
  ASSERT_THAT(hosts.Step(), IsOkAndHolds(true));
  EXPECT_EQ(hosts.ColumnText(0), "kept");
}

TEST(MigrationTest, DatabaseNewerThanTheProgramIsRefused) {
  testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "new.db").string();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(path));
  std::vector<Migration> both = {kFirst, kSecond};
  ASSERT_THAT(ApplyMigrations(*database, both), IsOk());
  std::vector<Migration> older = {kFirst};
  EXPECT_THAT(ApplyMigrations(*database, older),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("schema version 2"), HasSubstr("newer than the newest"),
                             HasSubstr("(1)"), HasSubstr("new.db"))));
}

TEST(MigrationTest, FailingScriptLeavesTheLastGoodVersion) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(kInMemoryPath));
  const Migration broken{2, "broken step",
                         "CREATE TABLE half (x INTEGER); INSERT INTO nowhere VALUES (1);"};
  std::vector<Migration> migrations = {kFirst, broken};
  EXPECT_THAT(
      ApplyMigrations(*database, migrations),
      StatusIs(absl::StatusCode::kInternal, AllOf(HasSubstr("migration 2 ('broken step') failed"),
                                                  HasSubstr("no such table: nowhere"))));
  EXPECT_THAT(SchemaVersion(*database), IsOkAndHolds(1));
  EXPECT_FALSE(TableExists(*database, "half"));
  EXPECT_FALSE(database->InTransaction());
}

TEST(MigrationTest, MisnumberedListIsInvalidArgument) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(kInMemoryPath));
  std::vector<Migration> migrations = {kSecond};
  EXPECT_THAT(ApplyMigrations(*database, migrations),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("numbered 1, 2, 3")));
}

TEST(MigrationTest, DifferentRecordedDescriptionIsRefused) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database, Database::Open(kInMemoryPath));
  std::vector<Migration> first = {kFirst};
  ASSERT_THAT(ApplyMigrations(*database, first), IsOk());
  std::vector<Migration> other = {{1, "something else", "SELECT 1;"}};
  EXPECT_THAT(ApplyMigrations(*database, other),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("'create hosts'"), HasSubstr("'something else'"))));
}

}  // namespace
}  // namespace certfleet::sqlite
