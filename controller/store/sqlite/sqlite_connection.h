// Internal to controller/store/sqlite: the one SQLite connection every part
// of the SQLite store shares, the mutex that serializes its use, and helpers
// that run a piece of work in a transaction under that mutex.
//
// One mutex-protected connection (rather than a connection per thread) keeps
// every transaction strictly serialized, so check-then-write sequences
// inside a transaction need no retry loop, and SQLITE_BUSY can only come
// from another process. Transactions are short (milliseconds), so the
// controller's threads queue briefly at most.
//
// Thread safety: Write and Read may be called from any thread; the function
// they run holds the mutex and must not call Write or Read again.

#ifndef CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_CONNECTION_H_
#define CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_CONNECTION_H_

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/sqlite/database.h"
#include "common/sqlite/transaction.h"

// Returns from the calling function when `expression` (an absl::Status) is
// not OK.
#define CERTFLEET_STORE_RETURN_IF_ERROR(expression)      \
  do {                                                   \
    absl::Status certfleet_store_status_ = (expression); \
    if (!certfleet_store_status_.ok()) {                 \
      return certfleet_store_status_;                    \
    }                                                    \
  } while (false)

// Evaluates `expression` (an absl::StatusOr<T>); returns its status from the
// calling function when not OK, otherwise moves its value into `lhs` (which
// may be a declaration).
#define CERTFLEET_STORE_ASSIGN_OR_RETURN(lhs, expression) \
  CERTFLEET_STORE_ASSIGN_OR_RETURN_IMPL(                  \
      CERTFLEET_STORE_CONCAT(certfleet_store_status_or_, __LINE__), lhs, expression)

#define CERTFLEET_STORE_ASSIGN_OR_RETURN_IMPL(status_or, lhs, expression) \
  auto status_or = (expression);                                          \
  if (!status_or.ok()) return std::move(status_or).status();              \
  lhs = std::move(status_or).value()

#define CERTFLEET_STORE_CONCAT_INNER(a, b) a##b
#define CERTFLEET_STORE_CONCAT(a, b) CERTFLEET_STORE_CONCAT_INNER(a, b)

namespace certfleet::controller::store::sqlite_backend {

class SqliteConnection {
 public:
  explicit SqliteConnection(std::unique_ptr<sqlite::Database> database)
      : database_(std::move(database)) {}

  // Runs `function(database)` in an IMMEDIATE transaction under the mutex
  // and commits when it returns OK; otherwise everything it did is rolled
  // back. `function` returns absl::Status or absl::StatusOr<T>.
  template <typename Function>
  auto Write(Function&& function) -> decltype(function(std::declval<sqlite::Database&>())) {
    return Run(sqlite::TransactionMode::kImmediate, std::forward<Function>(function));
  }

  // As Write, in a DEFERRED transaction, for reads that need one consistent
  // view across several statements.
  template <typename Function>
  auto Read(Function&& function) -> decltype(function(std::declval<sqlite::Database&>())) {
    return Run(sqlite::TransactionMode::kDeferred, std::forward<Function>(function));
  }

  // For SqliteStore's diagnostics only; REQUIRES: no other thread uses the
  // store at the same time.
  sqlite::Database& UnsafeDatabase() { return *database_; }

 private:
  template <typename Function>
  auto Run(sqlite::TransactionMode mode, Function&& function)
      -> decltype(function(std::declval<sqlite::Database&>())) {
    absl::MutexLock lock(&mutex_);
    absl::StatusOr<sqlite::Transaction> transaction = sqlite::Transaction::Begin(*database_, mode);
    if (!transaction.ok()) return transaction.status();
    auto result = function(*database_);
    if (!result.ok()) return result;  // The transaction rolls back on scope exit.
    absl::Status committed = transaction->Commit();
    if (!committed.ok()) return committed;
    return result;
  }

  absl::Mutex mutex_;
  std::unique_ptr<sqlite::Database> database_;
};

}  // namespace certfleet::controller::store::sqlite_backend

#endif  // CERTFLEET_CONTROLLER_STORE_SQLITE_SQLITE_CONNECTION_H_
