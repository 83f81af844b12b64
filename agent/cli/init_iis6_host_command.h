// `certfleet-agent init-iis6-host DIR`: makes a realistic emulated IIS 6
// host (emulated_host_builder.h) for demos and trials, offline. The sites'
// certificates come from a CA kept outside the host: the folder --ca-dir
// names, which receives a throwaway demo CA the first time and is reused
// afterwards, so that several hosts made one after another share one CA
// like a real fleet.
//
// Thread safety: functions without shared state.

#ifndef CERTFLEET_AGENT_CLI_INIT_IIS6_HOST_COMMAND_H_
#define CERTFLEET_AGENT_CLI_INIT_IIS6_HOST_COMMAND_H_

#include <cstdint>
#include <iosfwd>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace certfleet::agent::cli {

struct InitIis6HostOptions {
  std::string host_root;
  std::string address = "127.0.0.2";
  std::uint16_t http_port = 8080;
  std::uint16_t https_port = 8443;
  // Empty: "<host_root>-ca" beside the host root.
  std::string ca_folder;
  // "sha256" or "sha1": how the sites' certificates are signed.
  std::string signature_hash = "sha256";
  absl::Time now = absl::Now();
};

// Adds the `init-iis6-host` subcommand to `app`; `exit_code` receives the
// result of running it.
void RegisterInitIis6HostCommand(CLI::App& app, int& exit_code);

// Makes the host and writes a summary to `out`. Returns 0 on success;
// otherwise writes one line naming the problem to `error` and returns 1.
int RunInitIis6Host(const InitIis6HostOptions& options, std::ostream& out, std::ostream& error);

}  // namespace certfleet::agent::cli

#endif  // CERTFLEET_AGENT_CLI_INIT_IIS6_HOST_COMMAND_H_
