// The certificate inventory as CSV (RFC 4180): one header line, then one
// line per certificate, CRLF line ends, fields quoted when they hold a
// comma, a double quote, CR or LF (quotes doubled inside).
//
// Text that comes from hosts (subjects, names, issuers, sites) and starts
// with '=', '+', '-', '@', TAB or CR is prefixed with a single quote, so a
// spreadsheet opening the export shows it as text instead of running it as
// a formula (a certificate subject is whatever its requester chose).
//
// Thread safety: free functions without shared state.

#ifndef CERTFLEET_CONTROLLER_HTTP_CERTIFICATE_CSV_H_
#define CERTFLEET_CONTROLLER_HTTP_CERTIFICATE_CSV_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "controller/store/records.h"

namespace certfleet::controller::http {

// Whether a field is data from hosts (guarded against formulas) or a value
// certfleet produced (numbers, times, thumbprints), written as it is.
enum class CsvField { kText, kValue };

// One field, quoted when needed.
std::string CsvEscape(std::string_view field, CsvField kind);

// The header line, CRLF included.
std::string CertificateCsvHeader();

// One certificate's line, CRLF included. Sites and SANs are joined with
// "; " inside their fields.
std::string CertificateCsvLine(const store::CertificateRecord& certificate, absl::Time now);

}  // namespace certfleet::controller::http

#endif  // CERTFLEET_CONTROLLER_HTTP_CERTIFICATE_CSV_H_
