// Drives the real certfleetctl binary with the files an operator downloads
// from a CA portal: the done-when list of `cert inspect`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/crypto/certificate_reader.h"
#include "common/crypto/certificate_request.h"
#include "nlohmann/json.hpp"
#include "tests/support/command_runner.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet {
namespace {

using ::certfleet::testing::BinaryPath;
using ::certfleet::testing::CommandResult;
using ::certfleet::testing::RunCommand;
using ::certfleet::testing::TemporaryDirectory;
using ::certfleet::testing::TestPki;
using ::testing::HasSubstr;

class CertfleetctlInspectTest : public ::testing::Test {
 protected:
  CommandResult Inspect(const std::string& name, const std::string& content, bool json = false) {
    std::vector<std::string> arguments = {BinaryPath("certfleetctl"), "cert", "inspect",
                                          folder_.WriteFile(name, content).string()};
    if (json) arguments.push_back("--json");
    return RunCommand(arguments);
  }

  // The "description" field of `--json` output.
  std::string DescriptionOf(const std::string& name, const std::string& content) {
    CommandResult result = Inspect(name, content, /*json=*/true);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output)["description"];
  }

  TemporaryDirectory folder_;
  const TestPki& pki_ = TestPki::Shared();
};

TEST_F(CertfleetctlInspectTest, IdentifiesAPemLeaf) {
  CommandResult result = Inspect("ssl_example.crt", pki_.leaf.certificate.ToPem());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_THAT(result.standard_output, HasSubstr("What:   server certificate"));
  EXPECT_THAT(result.standard_output, HasSubstr(pki_.leaf.certificate.Thumbprint()));
}

TEST_F(CertfleetctlInspectTest, IdentifiesADerLeafNamedCer) {
  CommandResult result = Inspect("ssl_example.cer", pki_.leaf.certificate.ToDer());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_THAT(result.standard_output, HasSubstr("Format: DER"));
  EXPECT_THAT(result.standard_output, HasSubstr("What:   server certificate"));
}

TEST_F(CertfleetctlInspectTest, IdentifiesAP7bBundle) {
  absl::StatusOr<std::string> p7b =
      crypto::ToPkcs7Der({pki_.intermediate.certificate, pki_.root.certificate});
  ASSERT_TRUE(p7b.ok());
  EXPECT_EQ(DescriptionOf("COMODO_EV_SSL.p7b", *p7b), "PKCS#7 bundle of 2 certificates");
}

TEST_F(CertfleetctlInspectTest, IdentifiesAnIntermediateAndARoot) {
  EXPECT_EQ(DescriptionOf("CrossTrustOVCA3.crt", pki_.intermediate.certificate.ToPem()),
            "intermediate CA certificate");
  EXPECT_EQ(DescriptionOf("SecurityCommunicationRootCA2.crt", pki_.root.certificate.ToDer()),
            "root CA certificate");
}

TEST_F(CertfleetctlInspectTest, IdentifiesACsr) {
  absl::StatusOr<crypto::CertificateRequest> request = crypto::CertificateRequest::Create(
      pki_.rsa_leaf.key, pki_.rsa_leaf.certificate.Subject(), {"shop.example.test"});
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(DescriptionOf("request.txt", request->ToPem()), "certificate signing request (CSR)");
}

TEST_F(CertfleetctlInspectTest, IdentifiesAPrivateKeyWithoutPrintingIt) {
  CommandResult result = Inspect("server.key", pki_.rsa_leaf.key.ToPem());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_THAT(result.standard_output, HasSubstr("private key (RSA 2048)"));
  EXPECT_THAT(result.standard_output, ::testing::Not(HasSubstr("BEGIN")));
}

TEST_F(CertfleetctlInspectTest, RefusesGarbageWithAClearMessageAndNonZeroExit) {
  CommandResult result = Inspect("ssl_example.crt", "this is not a certificate at all");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error, HasSubstr("cannot inspect"));
  EXPECT_THAT(result.standard_error, HasSubstr("neither PEM text nor DER"));
  EXPECT_TRUE(result.standard_output.empty());
}

TEST_F(CertfleetctlInspectTest, UsageErrorsExitWithTwo) {
  CommandResult result = RunCommand({BinaryPath("certfleetctl"), "cert", "inspect"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_THAT(result.standard_error, HasSubstr("file is required"));
}

}  // namespace
}  // namespace certfleet
