#include "common/sqlite/transaction.h"

#include <utility>

namespace certfleet::sqlite {

absl::StatusOr<Transaction> Transaction::Begin(Database& database, TransactionMode mode) {
  if (database.InTransaction()) {
    return absl::FailedPreconditionError(
        "cannot begin a transaction: one is already open on this connection");
  }
  absl::Status status =
      database.Execute(mode == TransactionMode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
  if (!status.ok()) return status;
  return Transaction(&database);
}

Transaction::Transaction(Transaction&& other) noexcept
    : database_(std::exchange(other.database_, nullptr)) {}

Transaction::~Transaction() {
  if (database_ != nullptr) {
    // Nothing useful can be done with an error here: the connection is
    // either rolled back or SQLite already rolled it back itself.
    (void)Rollback();
  }
}

absl::Status Transaction::Commit() {
  if (database_ == nullptr) {
    return absl::FailedPreconditionError("the transaction has already ended");
  }
  absl::Status status = database_->Execute("COMMIT");
  if (status.ok()) database_ = nullptr;
  return status;
}

absl::Status Transaction::Rollback() {
  if (database_ == nullptr) {
    return absl::FailedPreconditionError("the transaction has already ended");
  }
  Database* database = std::exchange(database_, nullptr);
  // SQLite may already have rolled back by itself (after some errors); then
  // there is nothing left to undo.
  if (!database->InTransaction()) return absl::OkStatus();
  return database->Execute("ROLLBACK");
}

}  // namespace certfleet::sqlite
