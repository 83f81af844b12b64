#include "common/sqlite/sqlite_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace certfleet::sqlite {

absl::StatusCode StatusCodeForSqliteResult(int result_code) {
  switch (result_code) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return absl::StatusCode::kOk;
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_ROWID:
      return absl::StatusCode::kAlreadyExists;
    default:
      break;
  }
  switch (result_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::StatusCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::StatusCode::kDataLoss;
    case SQLITE_FULL:
      return absl::StatusCode::kResourceExhausted;
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::StatusCode::kPermissionDenied;
    case SQLITE_READONLY:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PROTOCOL:
    case SQLITE_NOLFS:
      return absl::StatusCode::kUnavailable;
    case SQLITE_INTERRUPT:
      return absl::StatusCode::kCancelled;
    case SQLITE_NOMEM:
    case SQLITE_TOOBIG:
      return absl::StatusCode::kResourceExhausted;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status SqliteStatus(sqlite3* connection, int result_code, std::string_view context) {
  absl::StatusCode code = StatusCodeForSqliteResult(result_code);
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  std::string detail;
  // sqlite3_errmsg describes the most recent failure on the connection, which
  // is this one as long as callers report errors right away (they do).
  if (connection != nullptr && sqlite3_errcode(connection) != SQLITE_OK) {
    detail = sqlite3_errmsg(connection);
  } else {
    detail = sqlite3_errstr(result_code);
  }
  return absl::Status(code, absl::StrCat(std::string(context), ": ", detail));
}

}  // namespace certfleet::sqlite
