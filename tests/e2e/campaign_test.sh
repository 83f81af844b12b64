#!/usr/bin/env bash
# End to end: a SHA-1 to SHA-256 migration campaign across three emulated
# hosts still on SHA-1 (init-iis6-host --signature-hash sha1), planned,
# created against the plan's fingerprint and started from certfleetctl. The
# canary (web1) renews and verifies; the next wave holds web2 and web3, and
# web3's IIS cannot use the local CA's intermediate (the emulator withholds
# it), so its deploy rolls back. With a failure budget of 0 the campaign
# pauses by itself, naming the budget; web3 serves its old certificate again.
# Aborting then ends the campaign with nothing half-done.
#
#   campaign_test.sh WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
work=$1 controller=$2 agent=$3 certfleetctl=$4 emulator=$5
hosts=3
rm -rf "$work"
mkdir -p "$work"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

fail() {
  for i in $(seq 1 "$hosts"); do
    echo "--- agent $i"
    tail -n 15 "$work/agent$i.log" 2>/dev/null || true
  done
  echo "--- controller"
  tail -n 30 "$work/controller.log" 2>/dev/null || true
  echo "FAIL: $*"
  exit 1
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

# The campaign, not the schedule, renews here: the default policy renews
# only in the last 1% of a certificate's life.
"$certfleetctl" policy set default --renew-at-fraction 0.01 >/dev/null

port_base=$((20000 + RANDOM % 40000))
for i in $(seq 1 "$hosts"); do
  host="$work/host$i"
  "$agent" init-iis6-host "$host" --address "127.0.0.$((220 + i))" --http-port "$port_base" \
    --https-port $((port_base + 1)) --ca-dir "$work/demo-ca" --signature-hash sha1 >/dev/null
  withhold=()
  [ "$i" -eq 3 ] && withhold=(--withhold-intermediate "certfleet Local Issuing CA")
  "$emulator" --host-root "$host" --log-file "$work/emulator$i.log" "${withhold[@]}" \
    2>>"$work/emulator$i.log" &
  pids+=($!)
  "$controller" token create --data-dir "$work/data" --ttl 10m >"$work/token$i"
  echo "hostname: web$i.demo.test" >"$work/agent$i.yaml"
done
old3=""
for i in $(seq 1 "$hosts"); do
  for _ in $(seq 1 100); do [ -f "$work/host$i/run/iis6-emulator.pid" ] && break; sleep 0.1; done
  "$agent" run --config "$work/agent$i.yaml" --controller "127.0.0.1:$port" \
    --controller-ca-sha256 "$fingerprint" --join-token-file "$work/token$i" \
    --state-dir "$work/state$i" --host-root "$work/host$i" --verify-timeout 2s \
    2>"$work/agent$i.log" &
  pids+=($!)
done
old3=$("$certfleetctl" cert probe "127.0.0.223:$((port_base + 1))" --roots "$work/demo-ca/root.crt" \
  --timeout 5 | sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ -n "$old3" ] || fail "web3 does not serve its certificate"

# Every host's inventory is in before planning.
for _ in $(seq 1 100); do
  [ "$("$certfleetctl" hosts list 2>/dev/null | grep -c online)" -eq "$hosts" ] && break
  sleep 0.2
done
sleep 1

spec=(--name sha256-migration --hosts 'web*' --current-signature-hash sha1
  --organization "Demo Renamed AG" --signature-hash sha256 --canary 1 --waves 100 --max-failures 0)
"$certfleetctl" campaign plan "${spec[@]}" >"$work/plan.txt" || { cat "$work/plan.txt"; fail "plan"; }
cat "$work/plan.txt"
grep -q "^Wave 0 (canary): 1 hosts" "$work/plan.txt" || fail "the plan has no canary wave of one host"
grep -q "^Wave 1: 2 hosts" "$work/plan.txt" || fail "the plan's second wave is not the other two hosts"
grep -q "O=Demo Renamed AG" "$work/plan.txt" || fail "the plan does not show the new subject"
grep -Eq " sha1 .* sha256 " "$work/plan.txt" || fail "the plan does not show SHA-1 to SHA-256"
[ "$("$certfleetctl" orders list | awk 'NR > 1' | wc -l)" -eq 0 ] || fail "planning created orders"
plan_fingerprint=$(sed -n 's/.*--fingerprint \([0-9A-F]*\)$/\1/p' "$work/plan.txt")

if "$certfleetctl" campaign create "${spec[@]}" --fingerprint 00 2>"$work/stale.err"; then
  fail "a campaign was created against a wrong fingerprint"
fi
grep -q "fleet changed" "$work/stale.err" || { cat "$work/stale.err"; fail "no stale-plan message"; }
campaign=$("$certfleetctl" campaign create "${spec[@]}" --fingerprint "$plan_fingerprint" |
  sed -n 's/^Campaign \(campaign-[0-9a-f]*\) created.*/\1/p')
[ -n "$campaign" ] || fail "the campaign was not created"
# A webhook for campaign events whose receiver is down: the controller must
# try to deliver each event and record the failure.
"$certfleetctl" webhook set --name ops --url "http://127.0.0.1:9/hook" \
  --event campaign_state_changed >/dev/null
"$certfleetctl" campaign start "$campaign" >/dev/null

state=""
for _ in $(seq 1 180); do
  state=$("$certfleetctl" campaign list | awk -v id="$campaign" '$1 == id { print $3 }')
  case "$state" in paused | completed | aborted) break ;; esac
  sleep 1
done
"$certfleetctl" campaign show "$campaign" | tee "$work/show.txt"
[ "$state" = paused ] || fail "the campaign is '$state', expected paused by its failure budget"
grep -q "budget" "$work/show.txt" || fail "the pause does not name the failure budget"
grep -q "^Wave 0: succeeded" "$work/show.txt" || fail "the canary wave did not succeed"
grep -q "rolled_back" "$work/show.txt" || fail "web3's renewal is not shown rolled back"

# The canary serves its new certificate with the new organisation; web3 its
# old one.
"$certfleetctl" cert probe "127.0.0.221:$((port_base + 1))" --roots "$work/data/local-ca/root.crt" \
  --timeout 5 | grep -q "Demo Renamed AG" || fail "web1 does not serve a certificate with O=Demo Renamed AG"
served3=$("$certfleetctl" cert probe "127.0.0.223:$((port_base + 1))" --roots "$work/demo-ca/root.crt" \
  --timeout 5 | sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ "$served3" = "$old3" ] || fail "web3 serves '$served3' after its rollback, expected $old3"

# Abort: every renewal has finished, so it is aborted at once.
for _ in $(seq 1 60); do
  "$certfleetctl" campaign abort "$campaign" --reason "fix web3's chain first" >"$work/abort.txt" && break
  sleep 1
done
for _ in $(seq 1 60); do
  state=$("$certfleetctl" campaign list | awk -v id="$campaign" '$1 == id { print $3 }')
  [ "$state" = aborted ] && break
  sleep 1
done
[ "$state" = aborted ] || fail "the campaign is '$state' after the abort, expected aborted"
open=$("$certfleetctl" orders list | awk 'NR > 1 && ($4 == "due" || $4 == "csr_requested" ||
  $4 == "awaiting_issuance" || $4 == "issued" || $4 == "deploying" || $4 == "verifying")' | wc -l)
[ "$open" -eq 0 ] || fail "$open orders are still open after the abort"
for _ in $(seq 1 50); do
  "$certfleetctl" webhook list | awk 'NR == 2 && $NF > 0 { found = 1 } END { exit !found }' && break
  sleep 0.2
done
"$certfleetctl" webhook list
"$certfleetctl" webhook list | awk 'NR == 2 && $NF > 0 { found = 1 } END { exit !found }' ||
  fail "no delivery of the campaign's events was attempted"
echo "PASS"
