// Tests of the agent's configuration: the YAML file, flags over the file,
// and refusals that name the option.

#include "agent/session/agent_config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "tests/support/temporary_directory.h"

namespace certfleet::agent::session {
namespace {

using ::certfleet::testing::IsOk;
using ::certfleet::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr char kFingerprint[] = "4419C94B8F2A6E2B7C10A1D4E5F60718293A4B5C6D7E8F9011223344556677AB";

constexpr char kFullConfig[] = R"(# every option
controller:
  address: controller.example.com:7443
  ca_sha256: "44:19:c9:4b:8f:2a:6e:2b:7c:10:a1:d4:e5:f6:07:18:29:3a:4b:5c:6d:7e:8f:90:11:22:33:44:55:66:77:ab"
  server_name: controller.example.com
enrollment:
  join_token_file: /etc/certfleet/join-token
hostname: web01.example.com
state_dir: /var/lib/certfleet-agent
labels:
  env: prod
  group: web-eu
driver:
  iis6:
    host_root: /srv/iis6-host
    address: 10.0.0.5
    restart_command: [/usr/local/bin/iisreset, /restart]
    restart_timeout: 45s
  verify_timeout: 5s
session:
  heartbeat_interval: 20s
  reconnect_initial_backoff: 500ms
  reconnect_max_backoff: 2m
  healthy_session: 10s
  rpc_timeout: 15s
inventory:
  interval: 30m
backup:
  folder: /var/backups/certfleet
  passphrase_file: /etc/certfleet/backup-passphrase
  keep_last: 3
)";

TEST(AgentConfigTest, ReadsEveryOption) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentConfig config, ParseAgentConfig(kFullConfig, "agent.yaml"));
  EXPECT_EQ(config.controller_address, "controller.example.com:7443");
  EXPECT_EQ(config.controller_ca_sha256, kFingerprint);
  EXPECT_EQ(config.controller_server_name, "controller.example.com");
  EXPECT_EQ(config.join_token_file, "/etc/certfleet/join-token");
  EXPECT_EQ(config.hostname, "web01.example.com");
  EXPECT_EQ(config.state_dir, "/var/lib/certfleet-agent");
  EXPECT_THAT(config.labels, UnorderedElementsAre(Pair("env", "prod"), Pair("group", "web-eu")));
  EXPECT_EQ(config.iis6_host_root, "/srv/iis6-host");
  EXPECT_EQ(config.iis6_address, "10.0.0.5");
  EXPECT_THAT(config.iis6_restart_command, ElementsAre("/usr/local/bin/iisreset", "/restart"));
  EXPECT_EQ(config.iis6_restart_timeout, absl::Seconds(45));
  EXPECT_EQ(config.verify_timeout, absl::Seconds(5));
  EXPECT_EQ(config.heartbeat_interval, absl::Seconds(20));
  EXPECT_EQ(config.reconnect_initial_backoff, absl::Milliseconds(500));
  EXPECT_EQ(config.reconnect_max_backoff, absl::Minutes(2));
  EXPECT_EQ(config.healthy_session, absl::Seconds(10));
  EXPECT_EQ(config.rpc_timeout, absl::Seconds(15));
  EXPECT_EQ(config.inventory_interval, absl::Minutes(30));
  EXPECT_EQ(config.backup_folder, "/var/backups/certfleet");
  EXPECT_EQ(config.backup_passphrase_file, "/etc/certfleet/backup-passphrase");
  EXPECT_EQ(config.backup_keep_last, 3);
  EXPECT_THAT(ValidateAgentConfig(config), IsOk());
}

TEST(AgentConfigTest, TheShippedExampleIsValid) {
  const std::filesystem::path example =
      std::filesystem::path(CERTFLEET_SOURCE_DIR) / "deploy" / "agent.example.yaml";
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentConfig config, LoadAgentConfig(example, {}));
  // What the systemd unit expects.
  EXPECT_EQ(config.state_dir, "/var/lib/certfleet-agent");
  EXPECT_EQ(config.iis6_host_root, "/srv/iis6-host");
  EXPECT_EQ(config.join_token_file, "/etc/certfleet/join-token");
}

TEST(AgentConfigTest, DefaultsApplyToWhatIsNotSet) {
  CERTFLEET_ASSERT_OK_AND_ASSIGN(AgentConfig config, ParseAgentConfig("", "agent.yaml"));
  EXPECT_EQ(config.state_dir, "/var/lib/certfleet-agent");
  EXPECT_EQ(config.reconnect_max_backoff, absl::Seconds(60));
  EXPECT_EQ(config.inventory_interval, absl::Hours(1));
  EXPECT_TRUE(config.iis6_restart_command.empty());
  EXPECT_EQ(config.backup_keep_last, 5);
}

TEST(AgentConfigTest, EveryOptionHasAFlag) {
  for (const ConfigOption& option : AgentConfigOptions()) {
    EXPECT_TRUE(option.flag.starts_with("--")) << option.key;
    EXPECT_FALSE(option.description.empty()) << option.key;
  }
}

TEST(AgentConfigTest, FlagsWinOverTheFile) {
  certfleet::testing::TemporaryDirectory directory;
  const auto file = directory.WriteFile("agent.yaml", kFullConfig);
  CERTFLEET_ASSERT_OK_AND_ASSIGN(
      AgentConfig config, LoadAgentConfig(file, {{"controller.address", "127.0.0.1:9443"},
                                                 {"labels", "env=staging"},
                                                 {"driver.iis6.restart_command", "/bin/true --now"},
                                                 {"session.reconnect_max_backoff", "5s"}}));
  EXPECT_EQ(config.controller_address, "127.0.0.1:9443");
  EXPECT_THAT(config.labels, UnorderedElementsAre(Pair("env", "staging"), Pair("group", "web-eu")));
  EXPECT_THAT(config.iis6_restart_command, ElementsAre("/bin/true", "--now"));
  EXPECT_EQ(config.reconnect_max_backoff, absl::Seconds(5));
  // What no flag set stays as the file says.
  EXPECT_EQ(config.hostname, "web01.example.com");
}

TEST(AgentConfigTest, UnknownKeysAreRefusedByName) {
  EXPECT_THAT(ParseAgentConfig("controller:\n  adress: x:1\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("agent.yaml: unknown option controller.adress (line 2)")));
  EXPECT_THAT(ParseAgentConfig("colour: blue\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("unknown option colour")));
  AgentConfig config;
  EXPECT_THAT(ApplyOverride(config, "session.colour", "blue"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("session.colour")));
}

TEST(AgentConfigTest, BadValuesAreRefusedNamingTheKey) {
  EXPECT_THAT(ParseAgentConfig("session:\n  reconnect_max_backoff: soon\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("option session.reconnect_max_backoff: \"soon\" is not a "
                                 "duration")));
  EXPECT_THAT(ParseAgentConfig("inventory:\n  interval: -5s\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("option inventory.interval: \"-5s\" must be longer than zero")));
  EXPECT_THAT(ParseAgentConfig("controller:\n  ca_sha256: ABCD\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("option controller.ca_sha256: \"ABCD\" is not a SHA-256")));
  EXPECT_THAT(ParseAgentConfig("controller:\n  address: nowhere\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("option controller.address: \"nowhere\" is not HOST:PORT")));
  EXPECT_THAT(ParseAgentConfig("backup:\n  keep_last: 0\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("option backup.keep_last")));
  EXPECT_THAT(ParseAgentConfig("controller: [a, b]\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("option controller: must be a section")));
  EXPECT_THAT(ParseAgentConfig("driver:\n  iis6:\n    restart_command: [iisreset]\n", "a.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute path")));
  EXPECT_THAT(ParseAgentConfig("controller:\n  address: [1\n", "agent.yaml"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not valid YAML at line")));
  AgentConfig config;
  EXPECT_THAT(ApplyOverride(config, "labels", "no-equals-sign"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is not NAME=VALUE")));
  EXPECT_THAT(ApplyOverride(config, "session.rpc_timeout", "1 hour"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("session.rpc_timeout")));
}

TEST(AgentConfigTest, MissingRequiredOptionsAreNamed) {
  certfleet::testing::TemporaryDirectory directory;
  const auto file = directory.WriteFile("agent.yaml", "hostname: web01\n");
  EXPECT_THAT(LoadAgentConfig(file, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("controller.address")));
  EXPECT_THAT(LoadAgentConfig(file, {{"controller.address", "127.0.0.1:7443"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("controller.ca_sha256")));
  EXPECT_THAT(LoadAgentConfig(file, {{"controller.address", "127.0.0.1:7443"},
                                     {"controller.ca_sha256", kFingerprint}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("driver.iis6.host_root")));
  EXPECT_THAT(LoadAgentConfig(file, {{"controller.address", "127.0.0.1:7443"},
                                     {"controller.ca_sha256", kFingerprint},
                                     {"driver.iis6.host_root", "/srv/host"}}),
              IsOk());
  EXPECT_THAT(LoadAgentConfig(directory.path() / "missing.yaml", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.yaml")));
}

TEST(AgentConfigTest, TheJoinTokenComesFromTheConfigAFileOrTheEnvironment) {
  certfleet::testing::TemporaryDirectory directory;
  AgentConfig config;
  auto no_environment = [](const char*) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_THAT(ResolveJoinToken(config, no_environment),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("CERTFLEET_JOIN_TOKEN")));
  auto environment = [](const char* name) -> std::optional<std::string> {
    if (std::string(name) == "CERTFLEET_JOIN_TOKEN") return "cfjoin_from_environment";
    return std::nullopt;
  };
  EXPECT_EQ(ResolveJoinToken(config, environment).value(), "cfjoin_from_environment");
  config.join_token_file = directory.WriteFile("token", "cfjoin_from_file\n");
  EXPECT_EQ(ResolveJoinToken(config, environment).value(), "cfjoin_from_file");
  config.join_token = "cfjoin_inline";
  EXPECT_EQ(ResolveJoinToken(config, environment).value(), "cfjoin_inline");
  config.join_token.clear();
  config.join_token_file = directory.path() / "absent";
  EXPECT_THAT(ResolveJoinToken(config, environment),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("enrollment.join_token_file")));
}

TEST(AgentConfigTest, TheHostnameDefaultsToTheMachines) {
  AgentConfig config;
  EXPECT_FALSE(EffectiveHostname(config).empty());
  config.hostname = "web07";
  EXPECT_EQ(EffectiveHostname(config), "web07");
}

}  // namespace
}  // namespace certfleet::agent::session
