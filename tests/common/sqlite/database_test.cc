#include "common/sqlite/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/sqlite/sqlite_status.h"
#include "common/sqlite/statement.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::sqlite {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

std::unique_ptr<Database> OpenInMemory() {
  absl::StatusOr<std::unique_ptr<Database>> database = Database::Open(kInMemoryPath);
  EXPECT_THAT(database, IsOk());
  return std::move(database).value();
}

int64_t QueryInt(Database& database, std::string_view sql) {
  absl::StatusOr<Statement> statement = database.Prepare(sql);
  EXPECT_THAT(statement, IsOk());
  absl::StatusOr<bool> row = statement->Step();
  EXPECT_THAT(row, IsOk());
  EXPECT_TRUE(*row);
  return statement->ColumnInt64(0);
}

std::string QueryText(Database& database, std::string_view sql) {
  absl::StatusOr<Statement> statement = database.Prepare(sql);
  EXPECT_THAT(statement, IsOk());
  absl::StatusOr<bool> row = statement->Step();
  EXPECT_THAT(row, IsOk());
  EXPECT_TRUE(*row);
  return statement->ColumnText(0);
}

TEST(DatabaseTest, FileDatabaseUsesWalNormalSyncForeignKeysAndBusyTimeout) {
  testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "store.db").string();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> database,
                                 Database::Open(path, {.busy_timeout = absl::Milliseconds(1500)}));
  EXPECT_EQ(database->journal_mode(), "wal");
  EXPECT_EQ(QueryText(*database, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(QueryInt(*database, "PRAGMA synchronous"), 1);  // NORMAL
  EXPECT_EQ(QueryInt(*database, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(QueryInt(*database, "PRAGMA busy_timeout"), 1500);
  EXPECT_EQ(database->path(), path);
}

TEST(DatabaseTest, InMemoryDatabaseEnforcesForeignKeys) {
  std::unique_ptr<Database> database = OpenInMemory();
  EXPECT_EQ(database->journal_mode(), "memory");
  ASSERT_THAT(database->Execute("CREATE TABLE parent (id INTEGER PRIMARY KEY);"
                                "CREATE TABLE child (parent_id INTEGER REFERENCES parent(id));"),
              IsOk());
  absl::StatusOr<Statement> insert = database->Prepare("INSERT INTO child VALUES (?)");
  ASSERT_THAT(insert, IsOk());
  insert->BindInt64(1, 42);
  EXPECT_THAT(insert->Run(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                      HasSubstr("FOREIGN KEY constraint failed")));
}

TEST(DatabaseTest, MissingFileIsNotFoundWhenCreationIsNotAllowed) {
  testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "absent.db").string();
  EXPECT_THAT(Database::Open(path, {.create_if_missing = CreateIfMissing::kNo}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("absent.db does not exist")));
}

TEST(DatabaseTest, FileThatIsNotADatabaseIsDataLossNamingThePath) {
  testing::TemporaryDirectory directory;
  std::filesystem::path path =
      directory.WriteFile("notes.db", std::string(4096, 'x') + "this is not sqlite");
  EXPECT_THAT(Database::Open(path.string()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("notes.db")));
}

TEST(DatabaseTest, UnopenableFolderIsUnavailable) {
  EXPECT_THAT(Database::Open("/nonexistent-folder-for-certfleet/store.db"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("could not open database")));
}

TEST(DatabaseTest, BindsAndReadsEveryType) {
  std::unique_ptr<Database> database = OpenInMemory();
  ASSERT_THAT(database->Execute("CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, "
                                "at INTEGER, maybe INTEGER, flag INTEGER)"),
              IsOk());
  const absl::Time at = absl::FromUnixMicros(1'700'000'000'123'456);
  const std::string blob("\0\1\2binary", 9);
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement insert,
                                   database->Prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)"));
    insert.BindInt64(1, -7)
        .BindDouble(2, 0.25)
        .BindText(3, "héllo")
        .BindBlob(4, blob)
        .BindTime(5, at)
        .BindOptionalInt64(6, std::nullopt)
        .BindBool(7, true);
    ASSERT_THAT(insert.Run(), IsOk());
  }
  EXPECT_EQ(database->ChangedRows(), 1);
  EXPECT_EQ(database->LastInsertRowId(), 1);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement select, database->Prepare("SELECT * FROM t"));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(bool row, select.Step());
  ASSERT_TRUE(row);
  EXPECT_EQ(select.ColumnCount(), 7);
  EXPECT_EQ(select.ColumnInt64(0), -7);
  EXPECT_EQ(select.ColumnDouble(1), 0.25);
  EXPECT_EQ(select.ColumnText(2), "héllo");
  EXPECT_EQ(select.ColumnBlob(3), blob);
  EXPECT_EQ(select.ColumnTime(4), at);
  EXPECT_EQ(select.ColumnOptionalInt64(5), std::nullopt);
  EXPECT_TRUE(select.ColumnIsNull(5));
  EXPECT_TRUE(select.ColumnBool(6));
  EXPECT_EQ(select.ColumnOptionalTime(4), at);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(row, select.Step());
  EXPECT_FALSE(row);
}

TEST(DatabaseTest, EmptyBlobStaysABlobNotNull) {
  std::unique_ptr<Database> database = OpenInMemory();
  ASSERT_THAT(database->Execute("CREATE TABLE t (b BLOB NOT NULL)"), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement insert, database->Prepare("INSERT INTO t VALUES (?)"));
  insert.BindBlob(1, "");
  EXPECT_THAT(insert.Run(), IsOk());
}

TEST(DatabaseTest, BindingOutOfRangeIsReportedByStep) {
  std::unique_ptr<Database> database = OpenInMemory();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement statement, database->Prepare("SELECT ?"));
  statement.BindInt64(1, 1).BindInt64(2, 2);
  EXPECT_THAT(statement.Step(),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("could not bind parameter 2")));
}

TEST(DatabaseTest, BadSqlIsInternalWithTheSqliteMessage) {
  std::unique_ptr<Database> database = OpenInMemory();
  EXPECT_THAT(database->Prepare("SELECT * FROM missing_table"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("no such table: missing_table")));
  EXPECT_THAT(database->Prepare("SELECT 1; SELECT 2"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("more than one statement")));
  EXPECT_THAT(database->Prepare("  "),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no statement")));
}

TEST(DatabaseTest, UniqueViolationIsAlreadyExistsNamingTheConstraint) {
  std::unique_ptr<Database> database = OpenInMemory();
  ASSERT_THAT(database->Execute("CREATE TABLE t (name TEXT UNIQUE, n INTEGER CHECK (n > 0))"),
              IsOk());
  ASSERT_THAT(database->Execute("INSERT INTO t VALUES ('a', 1)"), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement insert,
                                 database->Prepare("INSERT INTO t VALUES (?, ?)"));
  insert.BindText(1, "a").BindInt64(2, 1);
  EXPECT_THAT(insert.Run(), StatusIs(absl::StatusCode::kAlreadyExists,
                                     HasSubstr("UNIQUE constraint failed: t.name")));
  insert.Reset();
  insert.BindText(1, "b").BindInt64(2, 0);
  EXPECT_THAT(insert.Run(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                     HasSubstr("CHECK constraint failed")));
}

TEST(DatabaseTest, StatementsAreReusedAfterRelease) {
  std::unique_ptr<Database> database = OpenInMemory();
  sqlite3_stmt* first_handle = nullptr;
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement statement, database->Prepare("SELECT ?"));
    statement.BindInt64(1, 5);
    CERTFLEET_ASSERT_OK_AND_ASSIGN(bool row, statement.Step());
    ASSERT_TRUE(row);
    first_handle = sqlite3_next_stmt(database->native_handle(), nullptr);
  }
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement again, database->Prepare("SELECT ?"));
  EXPECT_EQ(sqlite3_next_stmt(database->native_handle(), nullptr), first_handle);
  // Bindings were cleared when the first use ended.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(bool row, again.Step());
  ASSERT_TRUE(row);
  EXPECT_TRUE(again.ColumnIsNull(0));
  // Two live statements with the same text are distinct.
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Statement other, database->Prepare("SELECT ?"));
  other.BindInt64(1, 9);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(row, other.Step());
  EXPECT_EQ(other.ColumnInt64(0), 9);
}

TEST(DatabaseTest, SecondWriterIsUnavailableAfterBusyTimeout) {
  testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "busy.db").string();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> first, Database::Open(path));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> second,
                                 Database::Open(path, {.busy_timeout = absl::Milliseconds(50)}));
  ASSERT_THAT(first->Execute("CREATE TABLE t (x INTEGER); BEGIN IMMEDIATE;"), IsOk());
  EXPECT_THAT(second->Execute("BEGIN IMMEDIATE"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("locked")));
  ASSERT_THAT(first->Execute("ROLLBACK"), IsOk());
}

TEST(SqliteStatusTest, MapsResultCodes) {
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_BUSY), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_BUSY_SNAPSHOT), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_CONSTRAINT_UNIQUE), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_CONSTRAINT_PRIMARYKEY),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_CONSTRAINT_FOREIGNKEY),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_CORRUPT), absl::StatusCode::kDataLoss);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_ERROR), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusCodeForSqliteResult(SQLITE_DONE), absl::StatusCode::kOk);
  EXPECT_THAT(SqliteStatus(nullptr, SQLITE_FULL, "writing"),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("writing: ")));
}

}  // namespace
}  // namespace certfleet::sqlite
