// A transaction that rolls back unless it is committed: every early return
// on an error path leaves the database exactly as it was.
//
//   absl::StatusOr<Transaction> transaction = Transaction::Begin(database);
//   if (!transaction.ok()) return transaction.status();
//   ... statements ...
//   return transaction->Commit();
//
// Writers use TransactionMode::kImmediate (the default): it takes the write
// lock at BEGIN, so two writers queue on the busy timeout instead of one of
// them failing half-way with SQLITE_BUSY when it first writes. Readers that
// need a consistent view across several statements use kDeferred.
//
// Thread safety: as its Database (one thread at a time); must not outlive it.
// Transactions do not nest: beginning one while another is open on the same
// connection returns FailedPrecondition.

#ifndef CERTFLEET_COMMON_SQLITE_TRANSACTION_H_
#define CERTFLEET_COMMON_SQLITE_TRANSACTION_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/sqlite/database.h"

namespace certfleet::sqlite {

enum class TransactionMode {
  // BEGIN DEFERRED: locks are taken by the first read or write.
  kDeferred,
  // BEGIN IMMEDIATE: the write lock is taken at once.
  kImmediate,
};

class Transaction {
 public:
  // Begins a transaction on `database`. Returns Unavailable when another
  // connection holds the write lock past the busy timeout, FailedPrecondition
  // when a transaction is already open on this connection.
  static absl::StatusOr<Transaction> Begin(Database& database,
                                           TransactionMode mode = TransactionMode::kImmediate);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  // Rolls back when neither Commit nor Rollback succeeded.
  ~Transaction();

  // Makes the changes durable. On error (Unavailable when busy) the
  // transaction is rolled back when the object goes away.
  absl::Status Commit();

  // Discards the changes now.
  absl::Status Rollback();

 private:
  explicit Transaction(Database* database) : database_(database) {}

  Database* database_;  // Null once committed or rolled back.
};

}  // namespace certfleet::sqlite

#endif  // CERTFLEET_COMMON_SQLITE_TRANSACTION_H_
