// Runs the real certfleetctl binary against a ControllerServer on port 0, as
// an operator would: tokens, policies, orders, an upload refused with its
// diagnosis, and the error when the controller is unreachable.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "controller/server/controller_server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/command_runner.h"
#include "tests/support/temporary_directory.h"
#include "tests/support/test_pki.h"

namespace certfleet::controller {
namespace {

using ::certfleet::testing::BinaryPath;
using ::certfleet::testing::CommandResult;
using ::certfleet::testing::RunCommand;
using ::testing::HasSubstr;

class CertfleetctlFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server::ControllerOptions options;
    options.data_dir = directory_.path() / "data";
    absl::StatusOr<std::unique_ptr<server::ControllerServer>> controller =
        server::ControllerServer::Start(options);
    ASSERT_TRUE(controller.ok()) << controller.status();
    controller_ = *std::move(controller);
  }

  void TearDown() override {
    if (controller_ != nullptr) controller_->Shutdown(absl::Seconds(2));
  }

  CommandResult Run(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), BinaryPath("certfleetctl"));
    arguments.push_back("--controller");
    arguments.push_back("127.0.0.1:" + std::to_string(controller_->port()));
    arguments.push_back("--data-dir");
    arguments.push_back((directory_.path() / "data").string());
    return RunCommand(arguments);
  }

  certfleet::testing::TemporaryDirectory directory_;
  std::unique_ptr<server::ControllerServer> controller_;
};

TEST_F(CertfleetctlFleetTest, CreatesListsAndRevokesJoinTokens) {
  CommandResult created = Run({"token", "create", "--ttl", "2h", "--host", "web-1"});
  ASSERT_EQ(created.exit_code, 0) << created.standard_error;
  EXPECT_THAT(created.standard_output, HasSubstr("cfjoin_"));
  CommandResult listed = Run({"token", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.standard_error;
  EXPECT_THAT(listed.standard_output, HasSubstr("web-1"));
  EXPECT_THAT(listed.standard_output, HasSubstr("active"));
  const size_t start = listed.standard_output.find("token-");
  ASSERT_NE(start, std::string::npos);
  const std::string token_id = listed.standard_output.substr(start, 38);
  CommandResult revoked = Run({"token", "revoke", token_id});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.standard_error;
  CommandResult json = Run({"token", "list", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.standard_error;
  EXPECT_THAT(json.standard_output, HasSubstr("JOIN_TOKEN_STATE_REVOKED"));
}

TEST_F(CertfleetctlFleetTest, SetsAndListsPolicies) {
  CommandResult set = Run({"policy", "set", "web", "--priority", "5", "--hosts", "web-*"});
  ASSERT_EQ(set.exit_code, 0) << set.standard_error;
  CommandResult listed = Run({"policy", "list"});
  ASSERT_EQ(listed.exit_code, 0) << listed.standard_error;
  EXPECT_THAT(listed.standard_output, HasSubstr("web-*"));
  EXPECT_THAT(listed.standard_output, HasSubstr("default"));
}

TEST_F(CertfleetctlFleetTest, UploadThatAnswersNoOrderIsRefusedWithItsDiagnosis) {
  const std::filesystem::path file = directory_.WriteFile(
      "intermediate.crt", certfleet::testing::TestPki::Shared().intermediate.certificate.ToPem());
  CommandResult upload = Run({"cert", "upload", file.string()});
  EXPECT_EQ(upload.exit_code, 1);
  EXPECT_THAT(upload.standard_error,
              HasSubstr("intermediate.crt refused (intermediate_certificate)"));
}

TEST_F(CertfleetctlFleetTest, UnknownOrderAndUnreachableControllerFailWithOneLine) {
  CommandResult missing = Run({"orders", "show", "order-00000000000000000000000000000000"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.standard_error, HasSubstr("certfleetctl: orders show: "));

  const int port = controller_->port();
  controller_->Shutdown(absl::Seconds(2));
  CommandResult unreachable = RunCommand({BinaryPath("certfleetctl"), "hosts", "list",
                                          "--controller", "127.0.0.1:" + std::to_string(port),
                                          "--data-dir", (directory_.path() / "data").string()});
  EXPECT_EQ(unreachable.exit_code, 1);
  EXPECT_THAT(unreachable.standard_error,
              HasSubstr("controller unreachable at 127.0.0.1:" + std::to_string(port) +
                        ": is certfleet-controller running?"));
}

}  // namespace
}  // namespace certfleet::controller
