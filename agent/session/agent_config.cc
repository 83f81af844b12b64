#include "agent/session/agent_config.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/io/file.h"
#include "yaml-cpp/yaml.h"

namespace certfleet::agent::session {
namespace {

constexpr size_t kMaxConfigBytes = 1024 * 1024;
constexpr char kLabelsKey[] = "labels";
constexpr char kRestartCommandKey[] = "driver.iis6.restart_command";

absl::Status BadValue(std::string_view key, std::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("option ", std::string(key), ": ", std::string(problem)));
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(std::string_view key, std::string_view text) {
  absl::Duration duration;
  if (!absl::ParseDuration(std::string(text), &duration)) {
    return BadValue(key, absl::StrCat("\"", std::string(text),
                                      "\" is not a duration (write e.g. 500ms, 30s, 5m, 1h)"));
  }
  if (duration <= absl::ZeroDuration()) {
    return BadValue(key, absl::StrCat("\"", std::string(text), "\" must be longer than zero"));
  }
  return duration;
}

absl::Status SetDuration(absl::Duration& field, std::string_view key, std::string_view text) {
  absl::StatusOr<absl::Duration> duration = ParsePositiveDuration(key, text);
  if (!duration.ok()) return duration.status();
  field = *duration;
  return absl::OkStatus();
}

absl::Status SetNonEmpty(std::string& field, std::string_view key, std::string_view text) {
  if (text.empty()) return BadValue(key, "must not be empty");
  field = std::string(text);
  return absl::OkStatus();
}

absl::Status SetPath(std::filesystem::path& field, std::string_view key, std::string_view text) {
  if (text.empty()) return BadValue(key, "must not be empty");
  field = std::filesystem::path(std::string(text));
  return absl::OkStatus();
}

absl::Status SetFingerprint(AgentConfig& config, std::string_view key, std::string_view text) {
  std::string digits = absl::StrReplaceAll(std::string(text), {{":", ""}, {" ", ""}});
  digits = absl::AsciiStrToUpper(digits);
  const bool hex =
      std::all_of(digits.begin(), digits.end(), [](char c) { return absl::ascii_isxdigit(c); });
  if (digits.size() != 64 || !hex) {
    return BadValue(key, absl::StrCat("\"", std::string(text),
                                      "\" is not a SHA-256 fingerprint (64 hex digits, as "
                                      "certfleet-controller prints it at start)"));
  }
  config.controller_ca_sha256 = digits;
  return absl::OkStatus();
}

absl::Status SetAddress(AgentConfig& config, std::string_view key, std::string_view text) {
  const size_t colon = text.rfind(':');
  int port = 0;
  if (colon == std::string_view::npos || colon == 0 ||
      !absl::SimpleAtoi(std::string(text.substr(colon + 1)), &port) || port < 1 || port > 65535) {
    return BadValue(key, absl::StrCat("\"", std::string(text),
                                      "\" is not HOST:PORT (e.g. controller.example.com:7443)"));
  }
  config.controller_address = std::string(text);
  return absl::OkStatus();
}

absl::Status AddLabel(AgentConfig& config, std::string_view name, std::string_view value) {
  if (name.empty()) return BadValue(kLabelsKey, "a label has an empty name");
  config.labels[std::string(name)] = std::string(value);
  return absl::OkStatus();
}

using Setter = std::function<absl::Status(AgentConfig&, std::string_view key, std::string_view)>;

struct OptionDefinition {
  ConfigOption option;
  Setter set;
};

const std::vector<OptionDefinition>& Definitions() {
  static const std::vector<OptionDefinition>* definitions = new std::vector<OptionDefinition>{
      {{"controller.address", "--controller", "Controller address, HOST:PORT"},
       [](AgentConfig& c, std::string_view k, std::string_view v) { return SetAddress(c, k, v); }},
      {{"controller.ca_sha256", "--controller-ca-sha256",
        "Pinned SHA-256 fingerprint of the controller's fleet CA"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetFingerprint(c, k, v);
       }},
      {{"controller.server_name", "--controller-server-name",
        "Name the controller's certificate is checked against (default: the address's host)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetNonEmpty(c.controller_server_name, k, v);
       }},
      {{"enrollment.join_token", "--join-token",
        "One-time join token for the first start (also $CERTFLEET_JOIN_TOKEN)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetNonEmpty(c.join_token, k, v);
       }},
      {{"enrollment.join_token_file", "--join-token-file", "File holding the join token"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetPath(c.join_token_file, k, v);
       }},
      {{"hostname", "--hostname", "Name to enroll under (default: the machine's hostname)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetNonEmpty(c.hostname, k, v);
       }},
      {{"state_dir", "--state-dir", "Folder for the agent's identity and job journal"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetPath(c.state_dir, k, v);
       }},
      {{kLabelsKey, "--label", "Label NAME=VALUE applied at enrollment (repeatable)", true},
       [](AgentConfig& c, std::string_view, std::string_view v) {
         const size_t equals = v.find('=');
         if (equals == std::string_view::npos) {
           return BadValue(kLabelsKey, absl::StrCat("\"", std::string(v), "\" is not NAME=VALUE"));
         }
         return AddLabel(c, v.substr(0, equals), v.substr(equals + 1));
       }},
      {{"driver.iis6.host_root", "--host-root", "The IIS 6 host root to manage"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetPath(c.iis6_host_root, k, v);
       }},
      {{"driver.iis6.address", "--iis6-address",
        "Address \"All Unassigned\" stands for (default: the host root's emulation.conf)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetNonEmpty(c.iis6_address, k, v);
       }},
      {{kRestartCommandKey, "--restart-command",
        "Command that restarts IIS, words split on spaces (default: signal the iis6-emulator)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         std::vector<std::string> words = absl::StrSplit(std::string(v), ' ', absl::SkipEmpty());
         if (words.empty()) return BadValue(k, "must not be empty");
         if (!std::filesystem::path(words.front()).is_absolute()) {
           return BadValue(
               k, absl::StrCat("the program \"", words.front(), "\" must be an absolute path"));
         }
         c.iis6_restart_command = std::move(words);
         return absl::OkStatus();
       }},
      {{"driver.iis6.restart_timeout", "--restart-timeout", "How long a restart may take"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.iis6_restart_timeout, k, v);
       }},
      {{"driver.verify_timeout", "--verify-timeout", "Limit of one verify handshake"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.verify_timeout, k, v);
       }},
      {{"session.heartbeat_interval", "--heartbeat-interval",
        "Heartbeat interval when the controller names none"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.heartbeat_interval, k, v);
       }},
      {{"session.reconnect_initial_backoff", "--reconnect-initial-backoff",
        "First reconnection delay (doubles each failure, full jitter)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.reconnect_initial_backoff, k, v);
       }},
      {{"session.reconnect_max_backoff", "--reconnect-max-backoff", "Largest reconnection delay"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.reconnect_max_backoff, k, v);
       }},
      {{"session.healthy_session", "--healthy-session",
        "A session lasting this long resets the backoff"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.healthy_session, k, v);
       }},
      {{"session.rpc_timeout", "--rpc-timeout", "Deadline of each call to the controller"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.rpc_timeout, k, v);
       }},
      {{"inventory.interval", "--inventory-interval", "How often the inventory is reported"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetDuration(c.inventory_interval, k, v);
       }},
      {{"backup.folder", "--backup-folder", "Folder for PFX backups (default: STATE_DIR/backups)"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetPath(c.backup_folder, k, v);
       }},
      {{"backup.passphrase_file", "--backup-passphrase-file",
        "File holding the backup passphrase; without it no backup is written"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         return SetPath(c.backup_passphrase_file, k, v);
       }},
      {{"backup.keep_last", "--backup-keep-last", "Backups kept per site"},
       [](AgentConfig& c, std::string_view k, std::string_view v) {
         int count = 0;
         if (!absl::SimpleAtoi(std::string(v), &count) || count < 1) {
           return BadValue(k,
                           absl::StrCat("\"", std::string(v), "\" is not a number of 1 or more"));
         }
         c.backup_keep_last = count;
         return absl::OkStatus();
       }},
  };
  return *definitions;
}

const OptionDefinition* FindDefinition(std::string_view key) {
  for (const OptionDefinition& definition : Definitions()) {
    if (definition.option.key == key) return &definition;
  }
  return nullptr;
}

// Whether `prefix` is a section holding options ("controller", "driver.iis6").
bool IsSection(std::string_view prefix) {
  const std::string with_dot = absl::StrCat(std::string(prefix), ".");
  for (const OptionDefinition& definition : Definitions()) {
    if (absl::StartsWith(definition.option.key, with_dot)) return true;
  }
  return false;
}

std::string LineOf(const YAML::Node& node) {
  return absl::StrCat(" (line ", node.Mark().line + 1, ")");
}

absl::Status ApplyNode(AgentConfig& config, const std::string& key, const YAML::Node& node) {
  if (key == kLabelsKey) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap())
      return BadValue(key, absl::StrCat("must be a map of NAME: VALUE", LineOf(node)));
    for (const auto& entry : node) {
      if (!entry.second.IsScalar()) {
        return BadValue(key, absl::StrCat("label ", entry.first.Scalar(), " must be a single value",
                                          LineOf(entry.second)));
      }
      if (absl::Status added = AddLabel(config, entry.first.Scalar(), entry.second.Scalar());
          !added.ok()) {
        return added;
      }
    }
    return absl::OkStatus();
  }
  if (key == kRestartCommandKey && node.IsSequence()) {
    std::vector<std::string> words;
    for (const YAML::Node& word : node) {
      if (!word.IsScalar())
        return BadValue(key, absl::StrCat("must be a list of words", LineOf(word)));
      words.push_back(word.Scalar());
    }
    if (words.empty()) return BadValue(key, "must not be empty");
    if (!std::filesystem::path(words.front()).is_absolute()) {
      return BadValue(key,
                      absl::StrCat("the program \"", words.front(), "\" must be an absolute path"));
    }
    config.iis6_restart_command = std::move(words);
    return absl::OkStatus();
  }
  if (const OptionDefinition* definition = FindDefinition(key)) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsScalar())
      return BadValue(key, absl::StrCat("must be a single value", LineOf(node)));
    absl::Status set = definition->set(config, key, node.Scalar());
    if (!set.ok()) return absl::InvalidArgumentError(absl::StrCat(set.message(), LineOf(node)));
    return absl::OkStatus();
  }
  if (IsSection(key)) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap())
      return BadValue(key, absl::StrCat("must be a section of options", LineOf(node)));
    for (const auto& entry : node) {
      if (absl::Status applied =
              ApplyNode(config, absl::StrCat(key, ".", entry.first.Scalar()), entry.second);
          !applied.ok()) {
        return applied;
      }
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown option ", key, LineOf(node),
                                                 "; docs/certfleet-agent.md lists the options"));
}

}  // namespace

const std::vector<ConfigOption>& AgentConfigOptions() {
  static const std::vector<ConfigOption>* options = [] {
    auto* list = new std::vector<ConfigOption>();
    for (const OptionDefinition& definition : Definitions()) list->push_back(definition.option);
    return list;
  }();
  return *options;
}

absl::Status ApplyOverride(AgentConfig& config, std::string_view key, std::string_view value) {
  const OptionDefinition* definition = FindDefinition(key);
  if (definition == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown option ", std::string(key)));
  }
  return definition->set(config, key, value);
}

absl::StatusOr<AgentConfig> ParseAgentConfig(std::string_view yaml_text, std::string_view source) {
  AgentConfig config;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(source), ": not valid YAML at line ",
                                                   error.mark.line + 1, ": ", error.msg));
  }
  if (root.IsNull()) return config;
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(source), ": the file must be a map of options"));
  }
  try {
    for (const auto& entry : root) {
      if (absl::Status applied = ApplyNode(config, entry.first.Scalar(), entry.second);
          !applied.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat(std::string(source), ": ", applied.message()));
      }
    }
  } catch (const YAML::Exception& error) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(source), ": line ", error.mark.line + 1, ": ", error.msg));
  }
  return config;
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::filesystem::path& file,
                                            const std::vector<ConfigOverride>& overrides) {
  absl::StatusOr<std::string> text = io::ReadFile(file, kMaxConfigBytes);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("cannot read the configuration: ", text.status().message()));
  }
  absl::StatusOr<AgentConfig> config = ParseAgentConfig(*text, file.string());
  if (!config.ok()) return config.status();
  for (const ConfigOverride& setting : overrides) {
    if (absl::Status applied = ApplyOverride(*config, setting.key, setting.value); !applied.ok()) {
      return applied;
    }
  }
  if (absl::Status valid = ValidateAgentConfig(*config); !valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(file.string(), ": ", valid.message()));
  }
  return config;
}

absl::Status ValidateAgentConfig(const AgentConfig& config) {
  if (config.controller_address.empty()) {
    return BadValue("controller.address", "missing (or give --controller HOST:PORT)");
  }
  if (config.controller_ca_sha256.empty()) {
    return BadValue("controller.ca_sha256",
                    "missing: pin the controller's fleet CA fingerprint (certfleet-controller "
                    "prints it at start)");
  }
  if (config.state_dir.empty()) return BadValue("state_dir", "missing");
  if (config.iis6_host_root.empty()) {
    return BadValue("driver.iis6.host_root", "missing (or give --host-root DIR)");
  }
  if (config.reconnect_max_backoff < config.reconnect_initial_backoff) {
    return BadValue("session.reconnect_max_backoff",
                    "must not be shorter than session.reconnect_initial_backoff");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ResolveJoinToken(
    const AgentConfig& config,
    const std::function<std::optional<std::string>(const char*)>& environment) {
  if (!config.join_token.empty()) return config.join_token;
  if (!config.join_token_file.empty()) {
    absl::StatusOr<std::string> text = io::ReadFile(config.join_token_file, 64 * 1024);
    if (!text.ok()) {
      return absl::Status(text.status().code(),
                          absl::StrCat("enrollment.join_token_file: ", text.status().message()));
    }
    std::string token(absl::StripAsciiWhitespace(
        std::vector<std::string>(absl::StrSplit(*text, absl::MaxSplits('\n', 1))).front()));
    if (token.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "enrollment.join_token_file: ", config.join_token_file.string(), " is empty"));
    }
    return token;
  }
  std::optional<std::string> from_environment;
  if (environment) {
    from_environment = environment(kJoinTokenEnvironmentVariable);
  } else if (const char* value = std::getenv(kJoinTokenEnvironmentVariable)) {
    from_environment = std::string(value);
  }
  if (from_environment.has_value() && !from_environment->empty()) return *from_environment;
  return absl::NotFoundError(absl::StrCat(
      "no join token: this agent has no identity yet, so it needs a join token (create one with "
      "`certfleetctl token create`) in enrollment.join_token, enrollment.join_token_file, "
      "--join-token or $",
      kJoinTokenEnvironmentVariable));
}

std::string EffectiveHostname(const AgentConfig& config) {
  if (!config.hostname.empty()) return config.hostname;
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace certfleet::agent::session
