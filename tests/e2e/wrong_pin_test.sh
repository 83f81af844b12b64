#!/usr/bin/env bash
# End to end: an agent whose pinned fleet CA fingerprint is not the
# controller's refuses to talk to it, says why, exits 1, and never sends its
# join token (the token is still unused afterwards).
#
#   wrong_pin_test.sh WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
work=$1 controller=$2 agent=$3 certfleetctl=$4
rm -rf "$work"
mkdir -p "$work"
"$controller" --data-dir "$work/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$work/controller.out" 2>&1 &
controller_pid=$!
trap 'kill $controller_pid 2>/dev/null || true; wait $controller_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  grep -q '^listening on port' "$work/controller.out" && break
  sleep 0.1
done
port=$(sed -n 's/^listening on port //p' "$work/controller.out")
[ -n "$port" ] || { cat "$work/controller.out"; echo "FAIL: the controller did not start"; exit 1; }

"$controller" token create --data-dir "$work/data" --ttl 10m --host web01.demo.test >"$work/token"
"$agent" init-iis6-host "$work/host" --address 127.0.0.250 >/dev/null
wrong_pin=$(printf '%064d' 0)
# Everything else as flags; the file only says which host.
echo "hostname: web01.demo.test" >"$work/agent.yaml"
set +e
timeout 60 "$agent" run --config "$work/agent.yaml" --controller "127.0.0.1:$port" \
  --controller-ca-sha256 "$wrong_pin" --join-token-file "$work/token" \
  --hostname web01.demo.test --state-dir "$work/state" --host-root "$work/host" \
  2>"$work/agent.log"
status=$?
set -e
cat "$work/agent.log"
[ "$status" -eq 1 ] || { echo "FAIL: the agent exited $status, expected 1"; exit 1; }
grep -q "does not match the pinned" "$work/agent.log" || {
  echo "FAIL: the agent did not say that the fingerprint does not match"
  exit 1
}
if [ -e "$work/state/identity.json" ]; then
  echo "FAIL: the agent wrote an identity"
  exit 1
fi
tokens=$(CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$work/data" \
  "$certfleetctl" token list)
echo "$tokens"
if echo "$tokens" | awk 'NR > 1' | grep -qv "unused\|valid\|active"; then
  echo "FAIL: the join token is no longer unused"
  exit 1
fi
echo "PASS"
