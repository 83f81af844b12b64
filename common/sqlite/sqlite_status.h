// Turns SQLite result codes into absl::Status values whose code says what a
// caller can do about them and whose message carries SQLite's own error text.
//
//   SQLITE_BUSY, SQLITE_LOCKED            -> Unavailable (retry later)
//   UNIQUE / PRIMARY KEY constraint       -> AlreadyExists
//   other constraints (FOREIGN KEY,
//     CHECK, NOT NULL, trigger)           -> FailedPrecondition
//   SQLITE_CORRUPT, SQLITE_NOTADB         -> DataLoss
//   SQLITE_FULL                           -> ResourceExhausted
//   SQLITE_CANTOPEN, SQLITE_IOERR,
//     SQLITE_READONLY, SQLITE_PERM        -> Unavailable / PermissionDenied
//   anything else (bad SQL, misuse)       -> Internal (a bug in our SQL)
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_COMMON_SQLITE_SQLITE_STATUS_H_
#define CERTFLEET_COMMON_SQLITE_SQLITE_STATUS_H_

#include <sqlite3.h>

#include <string_view>

#include "absl/status/status.h"

namespace certfleet::sqlite {

// The absl::StatusCode for an (extended) SQLite result code, as in the table
// above. SQLITE_OK, SQLITE_ROW and SQLITE_DONE map to kOk.
absl::StatusCode StatusCodeForSqliteResult(int result_code);

// A status for `result_code` whose message is "<context>: <SQLite's message>".
// `connection` may be null; its sqlite3_errmsg() is used when it is not (it
// is more precise than the generic text of the code, e.g. it names the
// constraint that failed).
absl::Status SqliteStatus(sqlite3* connection, int result_code, std::string_view context);

}  // namespace certfleet::sqlite

#endif  // CERTFLEET_COMMON_SQLITE_SQLITE_STATUS_H_
