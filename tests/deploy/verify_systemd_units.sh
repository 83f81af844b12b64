#!/usr/bin/env bash
# Checks deploy/systemd/*.service with systemd-analyze: every directive is
# known and well-formed, and ExecStart names a real executable (the units'
# /usr/local/bin paths are pointed at the freshly built binaries).
#
#   verify_systemd_units.sh UNIT_DIR CONTROLLER_BINARY AGENT_BINARY
# Exit 77 (ctest: skipped) when systemd-analyze is not installed.
set -euo pipefail
unit_dir="$1"
controller_binary="$2"
agent_binary="$3"

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd-analyze is not installed: skipping"
  exit 77
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for unit in "$unit_dir"/*.service; do
  sed -e "s#/usr/local/bin/certfleet-controller#$controller_binary#" \
      -e "s#/usr/local/bin/certfleet-agent#$agent_binary#" \
      "$unit" > "$work/$(basename "$unit")"
done
shopt -s nullglob
units=("$work"/*.service)
if [ ${#units[@]} -ne 2 ]; then
  echo "expected the controller and agent units in $unit_dir, found ${#units[@]}"
  exit 1
fi
# systemd-analyze prints one line per problem (unknown directive, bad value,
# missing executable); a clean unit prints nothing.
output="$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify --man=no "${units[@]}" 2>&1 || true)"
if [ -n "$output" ]; then
  echo "systemd-analyze found problems:"
  echo "$output"
  exit 1
fi
echo "ok: ${#units[@]} units verified"
