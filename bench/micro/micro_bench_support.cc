// Support code of the micro-benchmarks (see micro_bench_support.h).

#include "bench/micro/micro_bench_support.h"

#include <stdlib.h>

#include <cstdlib>
#include <iostream>
#include <system_error>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace certfleet::bench {
namespace {

bool run_failed = false;

}  // namespace

TemporaryFolder::TemporaryFolder(std::string_view prefix) {
  std::string folder_template =
      (std::filesystem::temp_directory_path() / absl::StrCat(std::string(prefix), "-XXXXXX"))
          .string();
  if (mkdtemp(folder_template.data()) == nullptr) {
    std::cerr << "cannot create a temporary folder from " << folder_template << "\n";
    std::abort();
  }
  path_ = folder_template;
}

TemporaryFolder::~TemporaryFolder() {
  std::error_code error;
  std::filesystem::remove_all(path_, error);
  if (error) std::cerr << "cannot remove " << path_ << ": " << error.message() << "\n";
}

absl::Status ParsePositiveFlags(int& argc, char** argv, std::map<std::string, int>& values) {
  int kept = 1;
  for (int index = 1; index < argc; ++index) {
    const std::string argument = argv[index];
    std::string name = argument;
    std::string value;
    bool has_value = false;
    if (const size_t equals = argument.find('='); equals != std::string::npos) {
      name = argument.substr(0, equals);
      value = argument.substr(equals + 1);
      has_value = true;
    }
    if (name.size() < 3 || name.substr(0, 2) != "--" || !values.contains(name.substr(2))) {
      argv[kept++] = argv[index];
      continue;
    }
    if (!has_value) {
      if (index + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat(name, " needs a value"));
      value = argv[++index];
    }
    int number = 0;
    if (!absl::SimpleAtoi(value, &number) || number < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, " takes a number of at least 1, not \"", value, "\""));
    }
    values[name.substr(2)] = number;
  }
  argc = kept;
  argv[argc] = nullptr;
  return absl::OkStatus();
}

void Fail(benchmark::State& state, std::string_view message) {
  run_failed = true;
  std::cerr << "benchmark failed: " << message << "\n";
  state.SkipWithError(std::string(message).c_str());
}

void Fail(benchmark::State& state, std::string_view what, const absl::Status& status) {
  Fail(state, absl::StrCat(std::string(what), ": ", status.ToString()));
}

bool RunFailed() { return run_failed; }

void FailSetup(std::string_view message) {
  run_failed = true;
  std::cerr << "cannot set up the benchmark: " << message << "\n";
}

}  // namespace certfleet::bench
