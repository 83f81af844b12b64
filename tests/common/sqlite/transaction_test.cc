#include "common/sqlite/transaction.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/sqlite/database.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::sqlite {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::HasSubstr;

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(database_, Database::Open(kInMemoryPath));
    ASSERT_THAT(database_->Execute("CREATE TABLE t (x INTEGER)"), IsOk());
  }

  int64_t Rows() {
    absl::StatusOr<Statement> count = database_->Prepare("SELECT count(*) FROM t");
    EXPECT_THAT(count, IsOk());
    EXPECT_THAT(count->Step(), IsOk());
    return count->ColumnInt64(0);
  }

  std::unique_ptr<Database> database_;
};

TEST_F(TransactionTest, CommitKeepsChanges) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Transaction transaction, Transaction::Begin(*database_));
  EXPECT_TRUE(database_->InTransaction());
  ASSERT_THAT(database_->Execute("INSERT INTO t VALUES (1)"), IsOk());
  ASSERT_THAT(transaction.Commit(), IsOk());
  EXPECT_FALSE(database_->InTransaction());
  EXPECT_EQ(Rows(), 1);
  EXPECT_THAT(transaction.Commit(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already ended")));
}

TEST_F(TransactionTest, ScopeExitWithoutCommitRollsBack) {
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Transaction transaction, Transaction::Begin(*database_));
    ASSERT_THAT(database_->Execute("INSERT INTO t VALUES (1)"), IsOk());
  }
  EXPECT_FALSE(database_->InTransaction());
  EXPECT_EQ(Rows(), 0);
}

TEST_F(TransactionTest, ExplicitRollbackDiscards) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Transaction transaction,
                                 Transaction::Begin(*database_, TransactionMode::kDeferred));
  ASSERT_THAT(database_->Execute("INSERT INTO t VALUES (1)"), IsOk());
  ASSERT_THAT(transaction.Rollback(), IsOk());
  EXPECT_EQ(Rows(), 0);
}

TEST_F(TransactionTest, MovedTransactionRollsBackOnce) {
  {
    CERTFLEET_ASSERT_OK_AND_ASSIGN(Transaction transaction, Transaction::Begin(*database_));
    Transaction moved(std::move(transaction));
    ASSERT_THAT(database_->Execute("INSERT INTO t VALUES (1)"), IsOk());
  }
  EXPECT_FALSE(database_->InTransaction());
  EXPECT_EQ(Rows(), 0);
}

TEST_F(TransactionTest, NestedBeginIsRefused) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Transaction transaction, Transaction::Begin(*database_));
  EXPECT_THAT(Transaction::Begin(*database_),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already open")));
}

TEST(TransactionFileTest, ImmediateTransactionHoldsTheWriteLock) {
  testing::TemporaryDirectory directory;
  const std::string path = (directory.path() / "lock.db").string();
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> first, Database::Open(path));
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<Database> second,
                                 Database::Open(path, {.busy_timeout = absl::Milliseconds(20)}));
  ASSERT_THAT(first->Execute("CREATE TABLE t (x INTEGER)"), IsOk());
  CERTFLEET_ASSERT_OK_AND_ASSIGN(Transaction holder, Transaction::Begin(*first));
  EXPECT_THAT(Transaction::Begin(*second), StatusIs(absl::StatusCode::kUnavailable));
  // Readers are not blocked under WAL.
  EXPECT_THAT(second->Execute("SELECT count(*) FROM t"), IsOk());
  ASSERT_THAT(holder.Commit(), IsOk());
  EXPECT_THAT(Transaction::Begin(*second), IsOk());
}

}  // namespace
}  // namespace certfleet::sqlite
