#!/usr/bin/env bash
# Integration: fleet-sim drives a real controller as a small fleet. Twenty
# simulated agents enroll through the admin API and connect (hosts list
# shows them online), their inventories land (certificates listed), a
# renewal of one simulated binding ends with its order done and the host's
# next inventory showing the new certificate; a second run with the same
# state dir enrolls nobody, keeps the deployed certificate and measures the
# dispatch of 5 rescans.
#
#   fleet_sim_test.sh WORK_DIR CONTROLLER CERTFLEETCTL FLEET_SIM
set -euo pipefail
work=$1 controller=$2 certfleetctl=$3 fleet_sim=$4
agents=20
rm -rf "$work"
mkdir -p "$work"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

fail() {
  echo "--- fleet-sim"
  tail -n 20 "$work"/sim*.out 2>/dev/null || true
  tail -n 20 "$work"/sim*.err 2>/dev/null || true
  echo "--- controller"
  tail -n 30 "$work/controller.log" 2>/dev/null || true
  echo "FAIL: $*"
  exit 1
}

# A number from the simulator's JSON report: report_value FILE KEY.
report_value() {
  sed -n "s/^  \"$2\": \([0-9.]*\),\{0,1\}$/\1/p" "$1" 2>/dev/null | head -n 1
}

"$controller" --data-dir "$work/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  >"$work/controller.out" 2>"$work/controller.log" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q '^local CA root' "$work/controller.out" && break
  sleep 0.1
done
port=$(sed -n 's/^listening on port //p' "$work/controller.out")
fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$work/controller.out")
[ -n "$port" ] || { cat "$work/controller.out"; fail "the controller did not start"; }
export CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$work/data"

# Only the operator's renewal below: no simulated certificate (5 to 400 days
# left) is due under a policy that renews in the last 1% of its life.
"$certfleetctl" policy set default --renew-at-fraction 0.01 >/dev/null

sim_options=(--controller "127.0.0.1:$port" --controller-ca-sha256 "$fingerprint"
  --data-dir "$work/data" --agents "$agents" --state-dir "$work/state" --step-delay 0)

# A wrong pin is refused before anything is enrolled.
if "$fleet_sim" "${sim_options[@]:0:2}" --controller-ca-sha256 "$(printf '0%.0s' $(seq 1 64))" \
  --data-dir "$work/data" --agents 1 --state-dir "$work/wrong-pin" >/dev/null 2>"$work/wrong-pin.err"; then
  fail "fleet-sim accepted a wrong fleet CA pin"
fi
grep -q "does not match the pinned" "$work/wrong-pin.err" || { cat "$work/wrong-pin.err"; fail "no pin message"; }

"$fleet_sim" "${sim_options[@]}" --until-signal --report "$work/run1.json" \
  >"$work/sim1.out" 2>"$work/sim1.err" &
sim=$!
pids+=($sim)

online=0
for _ in $(seq 1 300); do
  online=$("$certfleetctl" hosts list 2>/dev/null | awk '$1 ~ /^sim-/ && $4 == "yes"' | wc -l)
  [ "$online" -eq "$agents" ] && break
  sleep 0.5
done
"$certfleetctl" hosts list | head -n 5
[ "$online" -eq "$agents" ] || fail "$online of $agents simulated hosts online"

listed=0
for _ in $(seq 1 120); do
  listed=$("$certfleetctl" certs list 2>/dev/null | awk '$1 ~ /^sim-/' | wc -l)
  [ "$listed" -eq "$agents" ] && break
  sleep 0.5
done
[ "$listed" -eq "$agents" ] || fail "$listed of $agents simulated certificates listed"
"$certfleetctl" certs list --host sim-00001 --json >"$work/certs-before.json"
grep -q "Sim Fleet" "$work/certs-before.json" || fail "sim-00001's certificate is not the simulator CA's"

# A renewal of sim-00001's binding: prepare, local CA issuance, deploy.
"$certfleetctl" renew sim-00001 --reason "fleet-sim test" >/dev/null
state=""
for _ in $(seq 1 240); do
  state=$("$certfleetctl" orders list --host sim-00001 | awk 'NR == 2 { print $4 }')
  case "$state" in done | failed | rolled_back | cancelled) break ;; esac
  sleep 0.5
done
"$certfleetctl" orders list --host sim-00001
[ "$state" = done ] || fail "the renewal of sim-00001 ended '$state', expected done"
order=$("$certfleetctl" orders list --host sim-00001 | awk 'NR == 2 { print $1 }')
"$certfleetctl" orders show "$order" >"$work/order.txt"
grep -q "deployed and verified by the agent" "$work/order.txt" || { cat "$work/order.txt"; fail "no deploy in the history"; }

# The host's next inventory shows the certificate the controller's CA issued.
renewed=0
for _ in $(seq 1 120); do
  "$certfleetctl" certs list --host sim-00001 --json >"$work/certs-after.json" 2>/dev/null || true
  if grep -q "Local Issuing CA" "$work/certs-after.json" && ! grep -q "Sim Fleet Root CA" "$work/certs-after.json"; then
    renewed=1
    break
  fi
  sleep 0.5
done
[ "$renewed" -eq 1 ] || { cat "$work/certs-after.json"; fail "sim-00001's inventory does not show the new certificate"; }

kill -TERM "$sim"
wait "$sim" || fail "fleet-sim did not exit cleanly after SIGTERM"
[ "$(report_value "$work/run1.json" enrolled_this_run)" = "$agents" ] || fail "the first run did not enroll $agents agents"
[ "$(report_value "$work/run1.json" renewals_done)" -ge 1 ] || fail "the first run reports no renewal done"

# Second run, same state dir: nobody enrolls again; 5 rescans measured.
"$fleet_sim" "${sim_options[@]}" --measure-dispatch 5 --report "$work/run2.json" \
  >"$work/sim2.out" 2>"$work/sim2.err" || fail "the second run failed"
cat "$work/run2.json"
[ "$(report_value "$work/run2.json" enrolled_this_run)" = 0 ] || fail "the second run enrolled again"
grep -A6 '"dispatch_latency_ms"' "$work/run2.json" | grep -q '"count": 5' || fail "not 5 dispatch latencies"
"$certfleetctl" certs list --host sim-00001 --json >"$work/certs-again.json"
! grep -q "Sim Fleet Root CA" "$work/certs-again.json" || fail "the second run reverted sim-00001 to its old certificate"
echo "PASS"
