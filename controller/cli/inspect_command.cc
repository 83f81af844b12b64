#include "controller/cli/inspect_command.h"

#include <cmath>
#include <iomanip>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto/pkcs12.h"
#include "common/io/file.h"

namespace certfleet::cli {
namespace {

using crypto::Certificate;
using crypto::InspectedObject;
using crypto::ObjectKind;
using nlohmann::json;

std::string HumanTime(absl::Time time) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", time, absl::UTCTimeZone());
}

std::string Rfc3339(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

// Whole days from `now` to `time`, rounded down (negative when past).
int64_t DaysUntil(absl::Time time, absl::Time now) {
  return static_cast<int64_t>(std::floor(absl::ToDoubleHours(time - now) / 24.0));
}

std::string ValidityNote(const Certificate& certificate, absl::Time now) {
  if (now < certificate.NotBefore()) {
    return absl::StrCat("not yet valid: starts in ", DaysUntil(certificate.NotBefore(), now),
                        " days");
  }
  const int64_t days_left = DaysUntil(certificate.NotAfter(), now);
  if (now > certificate.NotAfter()) {
    return absl::StrCat("EXPIRED ", -days_left, " days ago");
  }
  return absl::StrCat(days_left, " days left");
}

json KeyToJson(const crypto::PublicKey& key) {
  return json{{"algorithm", key.algorithm() == crypto::KeyAlgorithm::kRsa     ? "RSA"
                            : key.algorithm() == crypto::KeyAlgorithm::kEcdsa ? "ECDSA"
                                                                              : "other"},
              {"bits", key.bits()},
              {"description", key.Description()},
              {"public_key_sha256", key.Sha256Fingerprint()}};
}

json CertificateToJson(const Certificate& certificate, absl::Time now) {
  json result{
      {"role", crypto::RoleName(crypto::RoleOf(certificate))},
      {"subject", certificate.SubjectText()},
      {"issuer", certificate.IssuerText()},
      {"subject_alternative_names", certificate.SubjectAlternativeNames()},
      {"serial", certificate.SerialHex()},
      {"not_before", Rfc3339(certificate.NotBefore())},
      {"not_after", Rfc3339(certificate.NotAfter())},
      {"days_left", DaysUntil(certificate.NotAfter(), now)},
      {"expired", now > certificate.NotAfter()},
      {"not_yet_valid", now < certificate.NotBefore()},
      {"key", KeyToJson(certificate.public_key())},
      {"signature_algorithm", certificate.SignatureAlgorithm()},
      {"is_ca", certificate.IsCertificateAuthority()},
      {"path_length", nullptr},
      {"thumbprint_sha1", certificate.Thumbprint()},
      {"fingerprint_sha256", certificate.Sha256Fingerprint()},
  };
  if (std::optional<int> path_length = certificate.PathLength(); path_length.has_value()) {
    result["path_length"] = *path_length;
  }
  return result;
}

std::string KindName(ObjectKind kind) {
  switch (kind) {
    case ObjectKind::kCertificate:
      return "certificate";
    case ObjectKind::kCertificateBundle:
      return "certificate_bundle";
    case ObjectKind::kCertificateRequest:
      return "certificate_request";
    case ObjectKind::kPrivateKey:
      return "private_key";
    case ObjectKind::kPkcs12:
      return "pkcs12";
  }
  return "unknown";
}

void PrintField(std::ostream& out, std::string_view label, std::string_view value) {
  out << "  " << std::left << std::setw(20) << (std::string(label) + ":") << value << "\n";
}

void PrintCertificate(std::ostream& out, const Certificate& certificate, absl::Time now) {
  PrintField(out, "Subject", certificate.SubjectText());
  PrintField(out, "Issuer", certificate.IssuerText());
  const std::vector<std::string> names = certificate.SubjectAlternativeNames();
  PrintField(out, "Alternative names", names.empty() ? "(none)" : absl::StrJoin(names, ", "));
  PrintField(out, "Serial", certificate.SerialHex());
  PrintField(out, "Valid from", HumanTime(certificate.NotBefore()));
  PrintField(
      out, "Valid until",
      absl::StrCat(HumanTime(certificate.NotAfter()), " (", ValidityNote(certificate, now), ")"));
  PrintField(out, "Key", certificate.public_key().Description());
  PrintField(out, "Signature", certificate.SignatureAlgorithm());
  std::string authority = certificate.IsCertificateAuthority() ? "yes" : "no";
  if (std::optional<int> path_length = certificate.PathLength(); path_length.has_value()) {
    absl::StrAppend(&authority, " (path length ", *path_length, ")");
  }
  PrintField(out, "CA", authority);
  PrintField(out, "Thumbprint",
             absl::StrCat(certificate.Thumbprint(), " (SHA-1, IIS SSLCertHash)"));
  PrintField(out, "SHA-256", certificate.Sha256Fingerprint());
}

void PrintTable(std::ostream& out, const std::string& file, const InspectedObject& object,
                absl::Time now) {
  out << "File:   " << file << "\n"
      << "What:   " << object.description << "\n"
      << "Format: " << object.format << "\n";
  for (size_t i = 0; i < object.certificates.size(); ++i) {
    const Certificate& certificate = object.certificates[i];
    out << "\nCertificate " << (i + 1) << " of " << object.certificates.size() << ": "
        << crypto::RoleName(crypto::RoleOf(certificate)) << "\n";
    PrintCertificate(out, certificate, now);
  }
  if (object.request.has_value()) {
    const crypto::CertificateRequest& request = *object.request;
    out << "\n";
    PrintField(out, "Subject", request.SubjectText());
    const std::vector<std::string> names = request.DnsNames();
    PrintField(out, "DNS names", names.empty() ? "(none)" : absl::StrJoin(names, ", "));
    PrintField(out, "Key", request.public_key().Description());
    PrintField(out, "Signature", request.SignatureAlgorithm());
    PrintField(out, "Signature check",
               request.VerifySignature().ok() ? "valid" : "INVALID: the CSR was altered");
    PrintField(out, "Public key SHA-256", request.public_key().Sha256Fingerprint());
  } else if (object.kind == ObjectKind::kPrivateKey && object.key.has_value()) {
    out << "\n";
    PrintField(out, "Key", object.key->Description());
    PrintField(out, "Public key SHA-256", object.key->Sha256Fingerprint());
    out << "\nThis is a private key: keep it on its host, mode 0600, and never send it anywhere.\n";
  } else if (object.encrypted) {
    out << "\nThe content is encrypted"
        << (object.kind == ObjectKind::kPkcs12 ? "; add --passphrase-file FILE to read it" : "")
        << ".\n";
  }
}

// Opens a PKCS#12 archive with the passphrase in `passphrase_file` and
// describes its certificates; the private key is described by its public half.
absl::StatusOr<InspectedObject> OpenPkcs12(const std::string& bytes,
                                           const std::string& passphrase_file) {
  absl::StatusOr<std::string> passphrase = io::ReadFile(passphrase_file, 4096);
  if (!passphrase.ok()) return passphrase.status();
  std::string secret = passphrase->substr(0, passphrase->find_first_of("\r\n"));
  absl::StatusOr<crypto::Pkcs12Contents> contents = crypto::ImportPkcs12(bytes, secret);
  if (!contents.ok()) return contents.status();
  InspectedObject object;
  object.kind = ObjectKind::kPkcs12;
  object.format = "PKCS#12 (DER)";
  object.key = contents->key.public_key();
  object.certificates.push_back(contents->certificate);
  object.certificates.insert(object.certificates.end(), contents->chain.begin(),
                             contents->chain.end());
  object.description =
      absl::StrCat("PKCS#12 archive with a private key (", object.key->Description(), ") and ",
                   object.certificates.size(),
                   object.certificates.size() == 1 ? " certificate" : " certificates");
  return object;
}

}  // namespace

json InspectionToJson(const InspectedObject& object, absl::Time now) {
  json result{{"kind", KindName(object.kind)},
              {"description", object.description},
              {"format", object.format},
              {"encrypted", object.encrypted},
              {"certificates", json::array()}};
  for (const Certificate& certificate : object.certificates) {
    result["certificates"].push_back(CertificateToJson(certificate, now));
  }
  if (object.request.has_value()) {
    result["request"] = json{
        {"subject", object.request->SubjectText()},
        {"dns_names", object.request->DnsNames()},
        {"signature_algorithm", object.request->SignatureAlgorithm()},
        {"signature_valid", object.request->VerifySignature().ok()},
    };
  }
  if (object.key.has_value()) result["key"] = KeyToJson(*object.key);
  return result;
}

int RunInspect(const InspectOptions& options, std::ostream& out, std::ostream& error) {
  // Reading a little over the toolkit's limit lets the toolkit say "too large".
  absl::StatusOr<std::string> bytes = io::ReadFile(options.file, crypto::kMaxInputBytes + 1);
  absl::StatusOr<InspectedObject> object =
      bytes.ok() ? crypto::InspectObject(*bytes) : absl::StatusOr<InspectedObject>(bytes.status());
  if (object.ok() && object->kind == ObjectKind::kPkcs12 && options.passphrase_file.has_value()) {
    object = OpenPkcs12(*bytes, *options.passphrase_file);
  }
  if (!object.ok()) {
    error << "certfleetctl: cannot inspect " << options.file << ": " << object.status().message()
          << "\n";
    return 1;
  }
  if (options.output == OutputFormat::kJson) {
    json result = InspectionToJson(*object, options.now);
    result["file"] = options.file;
    out << result.dump(2) << "\n";
  } else {
    PrintTable(out, options.file, *object, options.now);
  }
  return 0;
}

void RegisterInspectCommand(CLI::App& cert, int& exit_code) {
  auto options = std::make_shared<InspectOptions>();
  auto json_output = std::make_shared<bool>(false);
  auto passphrase_file = std::make_shared<std::string>();
  CLI::App* inspect = cert.add_subcommand(
      "inspect",
      "Say what a file is (server certificate, intermediate, root, PKCS#7 bundle, CSR, private "
      "key, PKCS#12) and show its details. Works offline; reads PEM, DER and PKCS#7 whatever the "
      "file is called.");
  inspect->add_option("file", options->file, "The file to inspect")->required();
  inspect->add_flag("--json", *json_output, "Print JSON instead of a table");
  inspect->add_option("--passphrase-file", *passphrase_file,
                      "For a PKCS#12 archive: a file holding its passphrase on the first line");
  inspect->callback([options, json_output, passphrase_file, &exit_code] {
    options->output = *json_output ? OutputFormat::kJson : OutputFormat::kTable;
    if (!passphrase_file->empty()) options->passphrase_file = *passphrase_file;
    options->now = absl::Now();
    exit_code = RunInspect(*options, std::cout, std::cerr);
  });
}

}  // namespace certfleet::cli
