#!/usr/bin/env bash
# End to end: a host whose IIS cannot use the local CA's intermediate (the
# emulator withholds it, so the renewed site would serve an incomplete
# chain) fails verification on the host; the agent rolls back to the old
# certificate, which is served again, and the order ends rolled_back with
# the reason.
#
#   rollback_test.sh WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
work=$1 controller=$2 agent=$3 certfleetctl=$4 emulator=$5
rm -rf "$work"
mkdir -p "$work"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

"$controller" --data-dir "$work/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$work/controller.out" 2>"$work/controller.log" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q '^local CA root' "$work/controller.out" && break
  sleep 0.1
done
port=$(sed -n 's/^listening on port //p' "$work/controller.out")
fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$work/controller.out")
[ -n "$port" ] || { cat "$work/controller.out"; echo "FAIL: the controller did not start"; exit 1; }
export CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$work/data"

port_base=$((20000 + RANDOM % 40000))
address=127.0.0.240
"$agent" init-iis6-host "$work/host" --address "$address" --http-port "$port_base" \
  --https-port $((port_base + 1)) >/dev/null
"$emulator" --host-root "$work/host" --log-file "$work/emulator.log" \
  --withhold-intermediate "certfleet Local Issuing CA" 2>>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 1 100); do
  [ -f "$work/host/run/iis6-emulator.pid" ] && break
  sleep 0.1
done
old=$("$certfleetctl" cert probe "$address:$((port_base + 1))" --roots "$work/host-ca/root.crt" --timeout 5 |
  sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ -n "$old" ] || { echo "FAIL: the site does not serve its certificate"; exit 1; }

"$controller" token create --data-dir "$work/data" --ttl 10m >"$work/token"
echo "hostname: web01.demo.test" >"$work/agent.yaml"
"$agent" run --config "$work/agent.yaml" --controller "127.0.0.1:$port" \
  --controller-ca-sha256 "$fingerprint" --join-token-file "$work/token" \
  --state-dir "$work/state" --host-root "$work/host" --verify-timeout 2s 2>"$work/agent.log" &
pids+=($!)

state=""
for _ in $(seq 1 180); do
  state=$("$certfleetctl" orders list 2>/dev/null | awk 'NR == 2 { print $4 }')
  case "$state" in rolled_back|done|failed|cancelled) break ;; esac
  sleep 1
done
order=$("$certfleetctl" orders list | awk 'NR == 2 { print $1 }')
"$certfleetctl" orders show "$order" || true
if [ "$state" != rolled_back ]; then
  tail -n 40 "$work/agent.log"
  echo "FAIL: the order ended '$state', expected rolled_back"
  exit 1
fi
"$certfleetctl" orders show "$order" | grep -qi "intermediate\|chain" || {
  echo "FAIL: the order's history does not say the chain was the problem"
  exit 1
}
served=$("$certfleetctl" cert probe "$address:$((port_base + 1))" --roots "$work/host-ca/root.crt" --timeout 5 |
  sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
if [ "$served" != "$old" ]; then
  echo "FAIL: the site serves '$served' after the rollback, expected the old $old"
  exit 1
fi
echo "PASS"
