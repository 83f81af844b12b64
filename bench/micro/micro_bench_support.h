// What the micro-benchmarks (bench/micro/, docs/performance.md) share: a
// temporary folder removed when the program ends, the programs' own
// "--name N" flags, and a failure flag so that a benchmark that could not do
// its work makes the program exit non-zero (the ctest smoke run relies on
// it; Google Benchmark itself exits 0 after SkipWithError).
//
// Thread safety: single-threaded programs; nothing here is synchronized.
#ifndef CERTFLEET_BENCH_MICRO_MICRO_BENCH_SUPPORT_H_
#define CERTFLEET_BENCH_MICRO_MICRO_BENCH_SUPPORT_H_

#include <benchmark/benchmark.h>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace certfleet::bench {

// A fresh folder made with mkdtemp under the system's temporary folder,
// removed with everything in it when the object is destroyed.
class TemporaryFolder {
 public:
  // Aborts the program when the folder cannot be made: a benchmark without
  // its fixture has nothing to measure.
  explicit TemporaryFolder(std::string_view prefix);
  ~TemporaryFolder();
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Removes the program's own flags ("--name N" or "--name=N", each name a key
// of `values`) from argv, storing their values, and leaves the rest for
// benchmark::Initialize. Returns InvalidArgument naming the flag when a value
// is missing or not a number of at least 1.
absl::Status ParsePositiveFlags(int& argc, char** argv, std::map<std::string, int>& values);

// Marks the run as failed and stops `state` with `message` (also printed).
void Fail(benchmark::State& state, std::string_view message);

// Fail with the status's text after `what`.
void Fail(benchmark::State& state, std::string_view what, const absl::Status& status);

// True when some benchmark called Fail, or the fixture could not be built.
bool RunFailed();

// Marks the run as failed outside a benchmark (fixture set-up) and prints
// `message`.
void FailSetup(std::string_view message);

}  // namespace certfleet::bench

#endif  // CERTFLEET_BENCH_MICRO_MICRO_BENCH_SUPPORT_H_
