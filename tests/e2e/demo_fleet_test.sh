#!/usr/bin/env bash
# End to end: deploy/demo-fleet.sh --once with three hosts against this
# build's binaries must renew every expiring site, verified by the agent's
# handshake, by the controller's own probe and by a handshake from here
# (the script's exit status says so), and leave no process behind.
#
#   demo_fleet_test.sh DEMO_SCRIPT WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
script=$1 work=$2
shift 2
bin="$work/bin"
rm -rf "$work"
mkdir -p "$bin"
for binary in "$@"; do ln -s "$binary" "$bin/$(basename "$binary")"; done

# Ports chosen at run time: a random base; each host has its own address.
port_base=$((20000 + RANDOM % 40000))
if ! "$script" --bin "$bin" --hosts 3 --once --dir "$work/demo" --port-base "$port_base" \
    >"$work/output.txt" 2>&1; then
  cat "$work/output.txt"
  for log in "$work"/demo/logs/*; do echo "--- $log"; tail -n 30 "$log"; done
  echo "FAIL: the demo fleet did not renew and verify every host"
  exit 1
fi
cat "$work/output.txt"
grep -q "3 of 3 orders done; 3 confirmed by the controller's own probe" "$work/output.txt" || {
  echo "FAIL: the summary does not report three confirmed renewals"
  exit 1
}
if pgrep -f "$work/demo/" >/dev/null; then
  echo "FAIL: processes of the demo are still running:"
  pgrep -fa "$work/demo/"
  exit 1
fi
echo "PASS"
