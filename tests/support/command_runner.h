// Runs a program to completion and captures what it printed, for tests that
// drive the real binaries as an operator would.
//
// Thread safety: RunCommand may be called from several threads at once.

#ifndef CERTFLEET_TESTS_SUPPORT_COMMAND_RUNNER_H_
#define CERTFLEET_TESTS_SUPPORT_COMMAND_RUNNER_H_

#include <string>
#include <vector>

namespace certfleet::testing {

struct CommandResult {
  // The exit status, or 128 + the signal number when it was killed.
  int exit_code = -1;
  std::string standard_output;
  std::string standard_error;
};

// Runs `arguments[0]` (a path) with `arguments` as its argv, with standard
// input closed, and waits for it. Throws std::runtime_error when it cannot
// be started.
CommandResult RunCommand(const std::vector<std::string>& arguments);

// The path of a project binary in the build folder, e.g. "certfleetctl".
std::string BinaryPath(const std::string& name);

}  // namespace certfleet::testing

#endif  // CERTFLEET_TESTS_SUPPORT_COMMAND_RUNNER_H_
