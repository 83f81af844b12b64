// The HTTP side wired into the controller: ControllerServer with
// ControllerOptions::http serves the API from its own store and counts its
// agent sessions, none without the option; certfleet-controller refuses a
// non-loopback HTTP address without a token file, naming the flag.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "controller/server/controller_server.h"
#include "tests/support/command_runner.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::controller::http {
namespace {

using ::certfleet::testing::BinaryPath;
using ::certfleet::testing::CommandResult;
using ::certfleet::testing::RunCommand;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::HasSubstr;

TEST(ControllerHttpTest, ControllerServesTheApiWhenAsked) {
  TemporaryDirectory directory;
  server::ControllerOptions options;
  options.data_dir = directory.path() / "data";
  options.run_renewal_engine = false;
  HttpServerOptions http;
  http.listen_address = "127.0.0.1:0";
  options.http = http;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<server::ControllerServer> controller,
                                 server::ControllerServer::Start(options));
  ASSERT_NE(controller->http_server(), nullptr);
  const int port = controller->http_server()->port();
  EXPECT_EQ(controller->http_server()->DashboardUrl(),
            absl::StrCat("http://127.0.0.1:", port, "/"));

  httplib::Client client("127.0.0.1", port);
  httplib::Result summary = client.Get("/api/v1/summary");
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->status, 200);
  nlohmann::json body = nlohmann::json::parse(summary->body);
  EXPECT_EQ(body["agents_connected"], 0);
  EXPECT_EQ(body["hosts"]["total"], 0);
  httplib::Result index = client.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  controller->Shutdown();
}

TEST(ControllerHttpTest, NoHttpListenerByDefault) {
  TemporaryDirectory directory;
  server::ControllerOptions options;
  options.data_dir = directory.path() / "data";
  options.run_renewal_engine = false;
  CERTFLEET_ASSERT_OK_AND_ASSIGN(std::unique_ptr<server::ControllerServer> controller,
                                 server::ControllerServer::Start(options));
  EXPECT_EQ(controller->http_server(), nullptr);
}

TEST(ControllerHttpTest, BinaryRefusesANonLoopbackAddressWithoutToken) {
  TemporaryDirectory directory;
  CommandResult result = RunCommand({BinaryPath("certfleet-controller"), "--data-dir",
                                     (directory.path() / "data").string(), "--listen",
                                     "127.0.0.1:0", "--http-listen", "0.0.0.0:0"});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.standard_error, HasSubstr("--http-token-file"));
  EXPECT_THAT(result.standard_error, HasSubstr("0.0.0.0:0"));
}

}  // namespace
}  // namespace certfleet::controller::http
