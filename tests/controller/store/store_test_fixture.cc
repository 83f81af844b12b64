#include "tests/controller/store/store_test_fixture.h"

#include <openssl/sha.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "controller/store/ids.h"

namespace certfleet::controller::store::testing {

std::string HashSecret(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  std::string hex;
  for (unsigned char byte : digest) absl::StrAppendFormat(&hex, "%02x", byte);
  return hex;
}

CertificateRecord MakeCertificate(int number, absl::Time not_after, CertificateStoreName store) {
  CertificateRecord certificate;
  certificate.store = store;
  certificate.has_private_key = store == CertificateStoreName::kMy;
  certificate.thumbprint_sha1 = absl::StrFormat("%040X", number);
  certificate.fingerprint_sha256 = absl::StrFormat("%064X", number);
  certificate.subject = absl::StrCat("CN=www", number, ".example.com,O=Example Ltd,C=JP");
  certificate.subject_name.common_name = absl::StrCat("www", number, ".example.com");
  certificate.subject_name.organization = "Example Ltd";
  certificate.subject_name.country = "JP";
  certificate.issuer = "CN=CrossTrust OV CA3,O=CrossTrust,C=JP";
  certificate.issuer_name.common_name = "CrossTrust OV CA3";
  certificate.issuer_name.organization = "CrossTrust";
  certificate.issuer_name.country = "JP";
  certificate.serial_number = absl::StrFormat("%08X", number);
  certificate.not_before = not_after - absl::Hours(24 * 365);
  certificate.not_after = not_after;
  certificate.subject_alternative_names = {absl::StrCat("DNS:www", number, ".example.com"),
                                           "IP:10.0.0.5"};
  certificate.key_algorithm = "RSA";
  certificate.key_bits = 2048;
  certificate.signature_algorithm = "sha256WithRSAEncryption";
  certificate.signature_hash = "SHA256";
  certificate.is_ca = false;
  certificate.kind = "LEAF";
  certificate.public_key_sha256 = absl::StrFormat("%064X", number + 1000000);
  certificate.subject_key_identifier = absl::StrFormat("%040X", number + 2000000);
  certificate.authority_key_identifier = "AB12CD";
  certificate.extended_key_usages = {"serverAuth", "clientAuth"};
  certificate.der = absl::StrCat(std::string("\x30\x82\x00", 3), "der-of-", number);
  return certificate;
}

BindingRecord MakeBinding(std::string_view site_id, std::string_view thumbprint) {
  BindingRecord binding;
  binding.binding_id = std::string(site_id);
  binding.site_id = std::string(site_id);
  binding.secure_endpoints = {{"", 443, ""}};
  binding.plain_endpoints = {{"10.0.0.5", 80, "www.example.com"}};
  binding.certificate_thumbprint = std::string(thumbprint);
  binding.certificate_store = CertificateStoreName::kMy;
  return binding;
}

void StoreTest::SetUp() {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open({.path = ":memory:"});
  ASSERT_TRUE(store.ok()) << store.status();
  store_ = *std::move(store);
}

JoinTokenRecord StoreTest::CreateToken(std::string_view secret, std::string_view bound_hostname,
                                       std::map<std::string, std::string> labels) {
  NewJoinToken token;
  token.secret_sha256 = HashSecret(secret);
  token.description = "test token";
  token.bound_hostname = std::string(bound_hostname);
  token.labels = std::move(labels);
  token.created_at = now_;
  token.expires_at = now_ + absl::Hours(24);
  token.created_by = "alice";
  absl::StatusOr<JoinTokenRecord> created = store_->join_tokens().CreateJoinToken(token);
  EXPECT_TRUE(created.ok()) << created.status();
  return created.ok() ? *created : JoinTokenRecord();
}

HostRecord StoreTest::Enroll(std::string_view hostname, std::map<std::string, std::string> labels) {
  const std::string secret = absl::StrCat("cfjoin_secret_", ++tokens_made_);
  CreateToken(secret);
  HostEnrollment enrollment;
  enrollment.host_id = GenerateId(IdKind::kHost);
  enrollment.hostname = std::string(hostname);
  enrollment.join_token_secret_sha256 = HashSecret(secret);
  enrollment.labels = std::move(labels);
  enrollment.platform.driver = "iis6";
  enrollment.platform.web_server = "IIS 6.0 (emulated)";
  enrollment.agent_version = "0.1.0";
  enrollment.identity.certificate_serial = "0A1B";
  enrollment.identity.certificate_sha256 = std::string(64, 'C');
  enrollment.identity.expires_at = now_ + absl::Hours(24 * 7);
  enrollment.enrolled_at = now_;
  absl::StatusOr<HostRecord> host = store_->hosts().EnrollHost(enrollment);
  EXPECT_TRUE(host.ok()) << host.status();
  return host.ok() ? *host : HostRecord();
}

InventoryReport StoreTest::Report(const std::string& host_id, std::string_view content_hash) {
  InventoryReport report;
  report.host_id = host_id;
  report.scanned_at = now_;
  report.content_hash = std::string(content_hash);
  return report;
}

InventoryReport StoreTest::ReportWithOneSite(const std::string& host_id,
                                             std::string_view content_hash,
                                             const CertificateRecord& certificate,
                                             std::string_view site_name) {
  InventoryReport report = Report(host_id, content_hash);
  SiteRecord site;
  site.site_id = "1";
  site.name = std::string(site_name);
  site.state = "started";
  report.sites.push_back(site);
  report.certificates.push_back(certificate);
  report.bindings.push_back(MakeBinding("1", certificate.thumbprint_sha1));
  return report;
}

}  // namespace certfleet::controller::store::testing
