#!/usr/bin/env bash
# Installs every Debian package certfleet needs to build, test and run.
# Idempotent and non-interactive: when everything is present it only checks
# and returns within a second. Run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git
  # runtime libraries and their headers
  libssl-dev openssl libsqlite3-dev sqlite3
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libcli11-dev nlohmann-json3-dev libpugixml-dev libyaml-cpp-dev libcpp-httplib-dev libbenchmark-dev
  # IANA time zones (campaign maintenance windows, absl::LoadTimeZone)
  tzdata
  # tests (chromium: the dashboard's browser test)
  libgtest-dev libgmock-dev chromium
  # the capacity suite (bench/run.sh reads fleet-sim's JSON report)
  jq
)
# The browser test runs on Node.js with playwright-core from the npm registry.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

# tests/browser/node_modules from its package-lock.json (npm ci), when it is
# missing or older than the lock file; otherwise nothing to do.
install_browser_test_modules() {
  local browser_dir
  browser_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/browser"
  [ -f "$browser_dir/package-lock.json" ] || return 0
  local installed="$browser_dir/node_modules/.package-lock.json"
  if [ -f "$installed" ] && [ ! "$browser_dir/package-lock.json" -nt "$installed" ] &&
      [ ! "$browser_dir/package.json" -nt "$installed" ]; then
    return 0
  fi
  echo "install-deps: npm ci in tests/browser"
  (cd "$browser_dir" && npm ci --no-audit --no-fund --loglevel=error)
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_browser_test_modules
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "install-deps: missing packages (${missing[*]}) and not root; run as root or install sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
install_browser_test_modules
echo "install-deps: done"
