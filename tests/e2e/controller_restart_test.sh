#!/usr/bin/env bash
# End to end: the controller is killed (SIGKILL) while renewals are in
# flight and started again on the same data dir and port. The agents
# reconnect by themselves, every renewal finishes, and each host got exactly
# one order (no lost and no repeated work).
#
#   controller_restart_test.sh WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
work=$1 controller=$2 agent=$3 certfleetctl=$4 emulator=$5
hosts=4
rm -rf "$work"
mkdir -p "$work"
pids=()
controller_pid=""
trap 'kill $controller_pid 2>/dev/null || true; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

port_base=$((20000 + RANDOM % 40000))
listen_port=$((port_base + 10))
start_controller() {
  "$controller" --data-dir "$work/data" --listen "127.0.0.1:$listen_port" --http-listen 127.0.0.1:0 \
    >"$work/controller.out" 2>>"$work/controller.log" &
  controller_pid=$!
  for _ in $(seq 1 100); do
    grep -q '^local CA root' "$work/controller.out" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$work/controller.out" "$work/controller.log"
  echo "FAIL: the controller did not start"
  exit 1
}
start_controller
fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$work/controller.out")
export CERTFLEET_CONTROLLER="127.0.0.1:$listen_port" CERTFLEET_DATA_DIR="$work/data"

for i in $(seq 1 "$hosts"); do
  host="$work/host$i"
  "$agent" init-iis6-host "$host" --address "127.0.0.$((200 + i))" --http-port "$port_base" \
    --https-port $((port_base + 1)) --ca-dir "$work/demo-ca" >/dev/null
  "$emulator" --host-root "$host" --log-file "$work/emulator$i.log" 2>>"$work/emulator$i.log" &
  pids+=($!)
  "$controller" token create --data-dir "$work/data" --ttl 10m >"$work/token$i"
  echo "hostname: web$i.demo.test" >"$work/agent$i.yaml"
done
for i in $(seq 1 "$hosts"); do
  for _ in $(seq 1 100); do [ -f "$work/host$i/run/iis6-emulator.pid" ] && break; sleep 0.1; done
  "$agent" run --config "$work/agent$i.yaml" --controller "127.0.0.1:$listen_port" \
    --controller-ca-sha256 "$fingerprint" --join-token-file "$work/token$i" \
    --state-dir "$work/state$i" --host-root "$work/host$i" --reconnect-max-backoff 1s \
    2>"$work/agent$i.log" &
  pids+=($!)
done

# Kill the controller as soon as the first order exists.
for _ in $(seq 1 300); do
  [ "$("$certfleetctl" orders list 2>/dev/null | awk 'NR > 1' | wc -l)" -gt 0 ] && break
  sleep 0.1
done
echo "orders when the controller was killed:"
"$certfleetctl" orders list || true
kill -KILL "$controller_pid"
wait "$controller_pid" 2>/dev/null || true
sleep 1
start_controller

done_orders=0
for _ in $(seq 1 120); do
  done_orders=$("$certfleetctl" orders list --state done 2>/dev/null | awk 'NR > 1' | wc -l)
  [ "$done_orders" -ge "$hosts" ] && break
  sleep 1
done
"$certfleetctl" orders list
if [ "$done_orders" -ne "$hosts" ]; then
  for i in $(seq 1 "$hosts"); do echo "--- agent $i"; tail -n 20 "$work/agent$i.log"; done
  echo "FAIL: $done_orders of $hosts orders done after the restart"
  exit 1
fi
total=$("$certfleetctl" orders list | awk 'NR > 1' | wc -l)
if [ "$total" -ne "$hosts" ]; then
  echo "FAIL: $total orders for $hosts hosts: work was repeated"
  exit 1
fi
for i in $(seq 1 "$hosts"); do
  "$certfleetctl" cert probe "127.0.0.$((200 + i)):$((port_base + 1))" \
    --roots "$work/data/local-ca/root.crt" --timeout 5 >/dev/null || {
    echo "FAIL: host $i does not serve a certificate of the local CA"
    exit 1
  }
done
echo "PASS"
