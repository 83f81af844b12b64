#include "controller/cli/inspect_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "common/crypto/pkcs12.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::cli {
namespace {

using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

struct InspectRun {
  int exit_code;
  std::string out;
  std::string error;
};

InspectRun Inspect(const std::filesystem::path& file, OutputFormat format = OutputFormat::kTable,
            std::optional<std::string> passphrase_file = std::nullopt) {
  InspectOptions options;
  options.file = file.string();
  options.output = format;
  options.passphrase_file = std::move(passphrase_file);
  options.now = TestPki::Shared().now;
  std::ostringstream out;
  std::ostringstream error;
  const int exit_code = RunInspect(options, out, error);
  return {exit_code, out.str(), error.str()};
}

TEST(InspectCommandTest, TableForAPemServerCertificate) {
  TemporaryDirectory folder;
  const TestPki& pki = TestPki::Shared();
  InspectRun run = Inspect(folder.WriteFile("ssl_example.crt", pki.leaf.certificate.ToPem()));
  ASSERT_EQ(run.exit_code, 0) << run.error;
  EXPECT_THAT(run.out, HasSubstr("What:   server certificate"));
  EXPECT_THAT(run.out, HasSubstr("Format: PEM"));
  EXPECT_THAT(run.out, HasSubstr("CN=www.example.test,O=certfleet tests"));
  EXPECT_THAT(run.out, HasSubstr("DNS:www.example.test"));
  EXPECT_THAT(run.out, HasSubstr("(80 days left)"));
  EXPECT_THAT(run.out, HasSubstr(pki.leaf.certificate.Thumbprint()));
  EXPECT_THAT(run.out, HasSubstr("ECDSA P-256"));
  EXPECT_THAT(run.error, IsEmpty());
}

TEST(InspectCommandTest, ExpiredCertificateSaysSo) {
  TemporaryDirectory folder;
  InspectRun run = Inspect(folder.WriteFile("old.crt", TestPki::Shared().expired_leaf.certificate.ToPem()));
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_THAT(run.out, HasSubstr("EXPIRED 35 days ago"));
}

TEST(InspectCommandTest, JsonForADerLeafNamedCer) {
  TemporaryDirectory folder;
  const TestPki& pki = TestPki::Shared();
  InspectRun run = Inspect(folder.WriteFile("ssl_example.cer", pki.rsa_leaf.certificate.ToDer()),
                    OutputFormat::kJson);
  ASSERT_EQ(run.exit_code, 0) << run.error;
  const nlohmann::json json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["kind"], "certificate");
  EXPECT_EQ(json["format"], "DER");
  ASSERT_EQ(json["certificates"].size(), 1u);
  const nlohmann::json& certificate = json["certificates"][0];
  EXPECT_EQ(certificate["role"], "server certificate");
  EXPECT_EQ(certificate["thumbprint_sha1"], pki.rsa_leaf.certificate.Thumbprint());
  EXPECT_EQ(certificate["key"]["description"], "RSA 2048");
  EXPECT_EQ(certificate["days_left"], 80);
  EXPECT_EQ(certificate["expired"], false);
  EXPECT_EQ(certificate["signature_algorithm"], "ecdsa-with-SHA256");
}

TEST(InspectCommandTest, Pkcs12WithPassphraseFileListsItsContents) {
  TemporaryDirectory folder;
  const TestPki& pki = TestPki::Shared();
  absl::StatusOr<std::string> pfx =
      crypto::ExportPkcs12(pki.leaf.key, pki.leaf.certificate, {pki.intermediate.certificate},
                           "s3cret", crypto::Pkcs12Encryption::kLegacySha1TripleDes);
  ASSERT_TRUE(pfx.ok());
  const auto file = folder.WriteFile("backup.pfx", *pfx);
  InspectRun locked = Inspect(file);
  ASSERT_EQ(locked.exit_code, 0);
  EXPECT_THAT(locked.out, HasSubstr("--passphrase-file"));

  InspectRun opened = Inspect(file, OutputFormat::kTable, folder.WriteFile("pass", "s3cret\n").string());
  ASSERT_EQ(opened.exit_code, 0) << opened.error;
  EXPECT_THAT(opened.out, HasSubstr("PKCS#12 archive with a private key (ECDSA P-256) and 2 certificates"));

  InspectRun wrong = Inspect(file, OutputFormat::kTable, folder.WriteFile("bad", "nope\n").string());
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.error, HasSubstr("passphrase"));
}

TEST(InspectCommandTest, RefusesGarbageWithTheFileAndReason) {
  TemporaryDirectory folder;
  const auto file = folder.WriteFile("download.crt", "<html>404 Not Found</html>");
  InspectRun run = Inspect(file);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.out, IsEmpty());
  EXPECT_THAT(run.error, HasSubstr("cannot inspect " + file.string()));
  EXPECT_THAT(run.error, HasSubstr("neither PEM text nor DER"));
}

TEST(InspectCommandTest, MissingFileIsAClearError) {
  InspectRun run = Inspect("/nonexistent/ssl.crt");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.error, HasSubstr("/nonexistent/ssl.crt"));
  EXPECT_THAT(run.error, HasSubstr("No such file"));
}

}  // namespace
}  // namespace certfleet::cli
