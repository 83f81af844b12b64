#!/usr/bin/env bash
# certfleet quickstart: from a fresh Debian machine to a demo fleet renewed.
#
# Installs the dependencies (Debian packages), builds certfleet (Release),
# then runs deploy/demo-fleet.sh: a controller, N emulated IIS 6 hosts each
# served over real TLS by an iis6-emulator and managed by its own
# certfleet-agent (enrolled with a one-time token and the pinned fleet CA),
# and the renewal of every certificate that is about to expire through the
# controller's local CA, each verified by TLS handshakes. It prints the
# progress, a summary table and the commands to explore further.
#
#   ./deploy/quickstart.sh [--hosts N] [--once] [--dir DIR] [--ca local|manual]
#     --hosts N   number of emulated hosts (default 5, at most 200)
#     --once      exit after the renewals; the exit status says whether every
#                 renewal succeeded (default: serve until Ctrl-C)
#     --dir DIR   where the demo lives (default $TMPDIR/certfleet-quickstart)
#     --ca manual the orders wait for a person at a CA's portal: it says what
#                 to run (docs/manual-ca.md); with --once it plays that person
# Running it again starts over in the same folder.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
demo_arguments=(--dir "${TMPDIR:-/tmp}/certfleet-quickstart")
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts|--dir|--ca) demo_arguments+=("$1" "$2"); shift 2 ;;
    --once) demo_arguments+=(--once); shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

printf '\n==> %s\n' "Installing dependencies (Debian packages)"
"$root/deploy/install-deps.sh"

printf '\n==> %s\n' "Building certfleet (Release) in $root/build-release"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCERTFLEET_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-release" --parallel "$(nproc)" \
  --target certfleet_controller certfleetctl certfleet_agent iis6_emulator

exec "$root/deploy/demo-fleet.sh" --bin "$root/build-release/bin" "${demo_arguments[@]}"
