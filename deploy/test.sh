#!/usr/bin/env bash
# Installs the dependencies, configures, builds with every core and runs the
# whole test suite with ctest. Exits non-zero on any failure.
#
#   ./deploy/test.sh                 # everything
#   BUILD_DIR=build-asan CMAKE_ARGS=-DCERTFLEET_SANITIZE=ON ./deploy/test.sh
#   CTEST_ARGS="-L unit" ./deploy/test.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir="${BUILD_DIR:-build}"
jobs="$(nproc 2>/dev/null || echo 2)"

./deploy/install-deps.sh

# shellcheck disable=SC2086
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo ${CMAKE_ARGS:-}
cmake --build "$build_dir" --parallel "$jobs"

cd "$build_dir"
# shellcheck disable=SC2086
ctest --output-on-failure --parallel "$jobs" --timeout 600 ${CTEST_ARGS:-}
