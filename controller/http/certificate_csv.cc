#include "controller/http/certificate_csv.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/http/api_json.h"

namespace certfleet::controller::http {
namespace {

constexpr std::string_view kColumns[] = {"host_id",
                                         "hostname",
                                         "sites",
                                         "thumbprint",
                                         "fingerprint_sha256",
                                         "subject",
                                         "subject_alternative_names",
                                         "issuer",
                                         "serial_number",
                                         "not_before",
                                         "not_after",
                                         "days_left",
                                         "key_algorithm",
                                         "key_bits",
                                         "signature_hash",
                                         "store",
                                         "served_status"};

std::string Line(const std::vector<std::string>& escaped_fields) {
  return absl::StrCat(absl::StrJoin(escaped_fields, ","), "\r\n");
}

}  // namespace

std::string CsvEscape(std::string_view field, CsvField kind) {
  std::string text(field);
  if (kind == CsvField::kText && !text.empty() &&
      (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' || text[0] == '\t' ||
       text[0] == '\r')) {
    text = absl::StrCat("'", std::string(field));
  }
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char character : text) {
    if (character == '"') quoted.push_back('"');
    quoted.push_back(character);
  }
  quoted.push_back('"');
  return quoted;
}

std::string CertificateCsvHeader() {
  std::vector<std::string> names;
  for (std::string_view column : kColumns) names.emplace_back(column);
  return Line(names);
}

std::string CertificateCsvLine(const store::CertificateRecord& certificate, absl::Time now) {
  std::vector<std::string> sites;
  std::vector<std::string> statuses;
  for (const store::BindingRecord& binding : certificate.bindings) {
    sites.push_back(binding.site_name.empty() ? binding.site_id : binding.site_name);
    statuses.push_back(ServedStatusName(binding.last_probe));
  }
  const std::string served = WorstServedStatus(statuses);
  return Line({
      CsvEscape(certificate.host_id, CsvField::kValue),
      CsvEscape(certificate.hostname, CsvField::kText),
      CsvEscape(absl::StrJoin(sites, "; "), CsvField::kText),
      CsvEscape(certificate.thumbprint_sha1, CsvField::kValue),
      CsvEscape(certificate.fingerprint_sha256, CsvField::kValue),
      CsvEscape(certificate.subject, CsvField::kText),
      CsvEscape(absl::StrJoin(certificate.subject_alternative_names, "; "), CsvField::kText),
      CsvEscape(certificate.issuer, CsvField::kText),
      CsvEscape(certificate.serial_number, CsvField::kValue),
      CsvEscape(Rfc3339(certificate.not_before), CsvField::kValue),
      CsvEscape(Rfc3339(certificate.not_after), CsvField::kValue),
      CsvEscape(absl::StrCat(DaysLeft(certificate.not_after, now)), CsvField::kValue),
      CsvEscape(certificate.key_algorithm, CsvField::kText),
      CsvEscape(absl::StrCat(certificate.key_bits), CsvField::kValue),
      CsvEscape(certificate.signature_hash, CsvField::kText),
      CsvEscape(store::ToString(certificate.store), CsvField::kValue),
      CsvEscape(served, CsvField::kValue),
  });
}

}  // namespace certfleet::controller::http
