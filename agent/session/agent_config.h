// The configuration of `certfleet-agent run`: a YAML file (normally
// /etc/certfleet/agent.yaml, documented key by key in docs/certfleet-agent.md
// and deploy/agent.example.yaml) whose every option can also be given as a
// flag; a flag wins over the file.
//
// Every option is one dotted key ("controller.address",
// "session.reconnect_max_backoff"). The file and the flags go through the
// same setter, so a bad value gets the same message from either, naming the
// key. Unknown keys are refused (a typo must not silently fall back to a
// default). Durations are written as Go-style durations ("500ms", "30s",
// "1h").
//
// Thread safety: functions without shared state; AgentConfig is a value.

#ifndef CERTFLEET_AGENT_SESSION_AGENT_CONFIG_H_
#define CERTFLEET_AGENT_SESSION_AGENT_CONFIG_H_

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace certfleet::agent::session {

// Where the join token may also come from, so that it need not sit in the
// configuration file.
inline constexpr char kJoinTokenEnvironmentVariable[] = "CERTFLEET_JOIN_TOKEN";

struct AgentConfig {
  // controller.address: "host:port" of the controller's gRPC endpoint.
  std::string controller_address;
  // controller.ca_sha256: SHA-256 fingerprint of the controller's fleet CA
  // certificate, 64 hex digits (colons allowed), stored upper case.
  std::string controller_ca_sha256;
  // controller.server_name: the name the controller's certificate is checked
  // against; empty: the host part of controller_address.
  std::string controller_server_name;

  // enrollment.join_token / enrollment.join_token_file: the one-time token
  // for the first start. Also from $CERTFLEET_JOIN_TOKEN (see
  // ResolveJoinToken). Never written to the state dir.
  std::string join_token;
  std::filesystem::path join_token_file;

  // hostname: the name the host enrolls under; empty: the machine's name.
  std::string hostname;
  // state_dir: the agent's identity and job journal.
  std::filesystem::path state_dir = "/var/lib/certfleet-agent";
  // labels: applied at first enrollment.
  std::map<std::string, std::string> labels;

  // driver.iis6.host_root: the IIS 6 host root the agent manages.
  std::filesystem::path iis6_host_root;
  // driver.iis6.address: the address "All Unassigned" stands for; empty:
  // the host root's emulation.conf.
  std::string iis6_address;
  // driver.iis6.restart_command: argv of the command that restarts IIS;
  // empty: signal the iis6-emulator serving the host root.
  std::vector<std::string> iis6_restart_command;
  // driver.iis6.restart_timeout.
  absl::Duration iis6_restart_timeout = absl::Seconds(30);
  // driver.verify_timeout: one TLS handshake of the verify step.
  absl::Duration verify_timeout = absl::Seconds(10);

  // session.heartbeat_interval: used only when the controller's Welcome
  // names none.
  absl::Duration heartbeat_interval = absl::Seconds(30);
  // session.reconnect_initial_backoff / reconnect_max_backoff: exponential
  // backoff with full jitter between connection attempts.
  absl::Duration reconnect_initial_backoff = absl::Seconds(1);
  absl::Duration reconnect_max_backoff = absl::Seconds(60);
  // session.healthy_session: a session that lasted this long resets the
  // backoff.
  absl::Duration healthy_session = absl::Seconds(30);
  // session.rpc_timeout: deadline of each unary call (enroll, steps,
  // results, inventory).
  absl::Duration rpc_timeout = absl::Seconds(30);

  // inventory.interval: how often the host is scanned and reported.
  absl::Duration inventory_interval = absl::Hours(1);

  // backup.folder, backup.passphrase_file, backup.keep_last: backups of
  // newly deployed certificates (encrypted PFX). Without a passphrase file
  // no backup is written.
  std::filesystem::path backup_folder;
  std::filesystem::path backup_passphrase_file;
  int backup_keep_last = 5;
};

// One option: its dotted key, its flag and what it means.
struct ConfigOption {
  std::string key;
  // "--controller"; the run command registers each.
  std::string flag;
  std::string description;
  // Whether the option may be given several times ("--label k=v").
  bool repeatable = false;
};

// Every option, in documentation order.
const std::vector<ConfigOption>& AgentConfigOptions();

// One value given on the command line, applied after the file.
struct ConfigOverride {
  std::string key;
  std::string value;
};

// Sets option `key` from text. For "labels" the value is "NAME=VALUE" (one
// label added); for "driver.iis6.restart_command" the words of the value
// (split on spaces). Returns InvalidArgument naming the key for an unknown
// key or a bad value.
absl::Status ApplyOverride(AgentConfig& config, std::string_view key, std::string_view value);

// Parses the YAML text of a configuration file (`source` names it in
// errors). Returns InvalidArgument naming the key (or the line, for a YAML
// syntax error) for an unknown key, a value of the wrong shape or a bad
// value. Does not check that required options are present (Validate does).
absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view yaml_text, std::string_view source);

// Reads `file` (NotFound naming it when missing), parses it, applies
// `overrides` in order and validates the result.
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::filesystem::path& file,
                                            const std::vector<ConfigOverride>& overrides);

// Checks that the options `run` needs are present: controller.address,
// controller.ca_sha256, state_dir, driver.iis6.host_root; and that the
// backoff limits are ordered. InvalidArgument naming the key otherwise.
absl::Status ValidateAgentConfig(const AgentConfig& config);

// The join token: enrollment.join_token, else the first line of
// enrollment.join_token_file, else the environment variable (looked up with
// `environment`, getenv by default). Returns NotFound saying where a token
// can be given when there is none, and the file's error when it cannot be
// read.
absl::StatusOr<std::string> ResolveJoinToken(
    const AgentConfig& config,
    const std::function<std::optional<std::string>(const char*)>& environment = {});

// The hostname to enroll under: config.hostname, else the machine's name.
std::string EffectiveHostname(const AgentConfig& config);

}  // namespace certfleet::agent::session

#endif  // CERTFLEET_AGENT_SESSION_AGENT_CONFIG_H_
