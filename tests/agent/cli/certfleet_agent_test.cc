// Drives the real certfleet-agent binary as an operator would: make an
// emulated IIS 6 host, then look at it with `inventory`, as text and JSON.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "tests/support/command_runner.h"
#include "tests/support/temporary_directory.h"

namespace certfleet {
namespace {

using ::certfleet::testing::BinaryPath;
using ::certfleet::testing::CommandResult;
using ::certfleet::testing::RunCommand;
using ::certfleet::testing::TemporaryDirectory;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::SizeIs;

class CertfleetAgentTest : public ::testing::Test {
 protected:
  CommandResult Agent(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), BinaryPath("certfleet-agent"));
    return RunCommand(arguments);
  }

  CommandResult InitHost() {
    return Agent({"init-iis6-host", HostRoot(), "--address", "127.0.0.9", "--http-port", "19080",
                  "--https-port", "19443", "--ca-dir", CaFolder()});
  }

  std::string HostRoot() const { return (folder_.path() / "host").string(); }
  std::string CaFolder() const { return (folder_.path() / "ca").string(); }

  TemporaryDirectory folder_;
};

TEST_F(CertfleetAgentTest, InitMakesAHostThatInventoryShows) {
  const CommandResult init = InitHost();
  ASSERT_EQ(init.exit_code, 0) << init.standard_error;
  EXPECT_THAT(init.standard_output,
              AllOf(HasSubstr("Made an emulated IIS 6 host in " + HostRoot()),
                    HasSubstr("site 1962875481 \"Boutique Zürich\": https://"
                              "www.boutique-zuerich.example.test on 127.0.0.9:19443"),
                    HasSubstr("Made a demo CA in " + CaFolder())));
  EXPECT_TRUE(std::filesystem::exists(folder_.path() / "ca" / "intermediate.key"));

  const CommandResult text = Agent({"inventory", "--host-root", HostRoot()});
  ASSERT_EQ(text.exit_code, 0) << text.standard_error;
  EXPECT_THAT(
      text.standard_output,
      AllOf(HasSubstr("Site 1962875481 \"Boutique Zürich\" (started)"),
            HasSubstr("https        :19443:"),
            HasSubstr("Site 2012345678 \"Intranet & Wiki\" (stopped)"), HasSubstr("Store MY (2)"),
            HasSubstr("Store CA (1)"), HasSubstr("Store REQUEST (0)"), HasSubstr("days left")));
}

TEST_F(CertfleetAgentTest, InventoryJsonHasSitesCertificatesAndStores) {
  ASSERT_EQ(InitHost().exit_code, 0);
  const CommandResult result = Agent({"inventory", "--host-root", HostRoot(), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  const nlohmann::json inventory = nlohmann::json::parse(result.standard_output);
  EXPECT_EQ(inventory["platform"], "iis6");
  EXPECT_EQ(inventory["address"], "127.0.0.9");
  ASSERT_THAT(inventory["sites"], SizeIs(4));
  const nlohmann::json& boutique = inventory["sites"][1];
  EXPECT_EQ(boutique["id"], "1962875481");
  EXPECT_EQ(boutique["name"], "Boutique Zürich");
  EXPECT_EQ(boutique["secure_bindings"][0]["port"], 19443);
  EXPECT_EQ(boutique["certificate"]["subject"],
            "CN=www.boutique-zuerich.example.test,O=Boutique Zürich AG,L=Zürich,C=CH");
  EXPECT_GE(boutique["certificate"]["days_left"].get<int>(), 9);
  EXPECT_LE(boutique["certificate"]["days_left"].get<int>(), 10);
  EXPECT_EQ(boutique["certificate"]["has_private_key"], true);
  EXPECT_TRUE(boutique["pending_request"].is_null());
  EXPECT_GT(inventory["sites"][2]["certificate"]["days_left"].get<int>(), 300);
  EXPECT_EQ(boutique["certificate"]["signature_algorithm"], "sha256WithRSAEncryption");
  EXPECT_TRUE(inventory["sites"][0]["certificate"].is_null());
  EXPECT_THAT(inventory["stores"]["MY"], SizeIs(2));
  EXPECT_THAT(inventory["stores"]["CA"], SizeIs(1));
  EXPECT_EQ(inventory["stores"]["ROOT"][0]["certificate_authority"], true);
  EXPECT_THAT(inventory["pending_requests"], SizeIs(0));
}

TEST_F(CertfleetAgentTest, InitCanMakeAHostStillOnSha1) {
  const CommandResult init = Agent({"init-iis6-host", HostRoot(), "--address", "127.0.0.9",
                                    "--ca-dir", CaFolder(), "--signature-hash", "sha1"});
  ASSERT_EQ(init.exit_code, 0) << init.standard_error;
  const CommandResult result = Agent({"inventory", "--host-root", HostRoot(), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  const nlohmann::json inventory = nlohmann::json::parse(result.standard_output);
  for (int index : {1, 2}) {
    EXPECT_EQ(inventory["sites"][index]["certificate"]["signature_algorithm"],
              "sha1WithRSAEncryption");
  }
  const CommandResult refused =
      Agent({"init-iis6-host", (folder_.path() / "other").string(), "--signature-hash", "md5"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.standard_error, HasSubstr("--signature-hash"));
}

TEST_F(CertfleetAgentTest, SecondHostReusesTheCaFolder) {
  ASSERT_EQ(InitHost().exit_code, 0);
  const CommandResult second =
      Agent({"init-iis6-host", (folder_.path() / "host2").string(), "--ca-dir", CaFolder()});
  ASSERT_EQ(second.exit_code, 0) << second.standard_error;
  EXPECT_THAT(second.standard_output, HasSubstr("Certificates issued by the CA in " + CaFolder()));
  // Both hosts trust the same intermediate.
  const nlohmann::json first = nlohmann::json::parse(
      Agent({"inventory", "--host-root", HostRoot(), "--json"}).standard_output);
  const nlohmann::json other = nlohmann::json::parse(
      Agent({"inventory", "--host-root", (folder_.path() / "host2").string(), "--json"})
          .standard_output);
  EXPECT_EQ(first["stores"]["CA"][0]["thumbprint"], other["stores"]["CA"][0]["thumbprint"]);
}

TEST_F(CertfleetAgentTest, InitRefusesAHostRootInUse) {
  ASSERT_EQ(InitHost().exit_code, 0);
  const CommandResult again = InitHost();
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.standard_error,
              HasSubstr("certfleet-agent: cannot make an IIS 6 host in " + HostRoot()));
  EXPECT_THAT(again.standard_error, HasSubstr("is not empty"));
}

TEST_F(CertfleetAgentTest, InventoryNamesTheProblem) {
  const CommandResult missing = Agent({"inventory", "--host-root", HostRoot()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.standard_error, HasSubstr("is not an IIS 6 host root"));

  ASSERT_EQ(InitHost().exit_code, 0);
  std::ofstream(folder_.path() / "host" / "inetsrv" / "MetaBase.xml") << "<configuration>";
  const CommandResult corrupt = Agent({"inventory", "--host-root", HostRoot()});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.standard_error,
              AllOf(HasSubstr("certfleet-agent: cannot read the host " + HostRoot()),
                    HasSubstr("MetaBase.xml")));
}

TEST_F(CertfleetAgentTest, UsageErrorsExitWithTwo) {
  EXPECT_EQ(Agent({}).exit_code, 2);
  EXPECT_EQ(Agent({"inventory"}).exit_code, 2);
  EXPECT_EQ(Agent({"init-iis6-host", HostRoot(), "--https-port", "not-a-port"}).exit_code, 2);
}

}  // namespace
}  // namespace certfleet
