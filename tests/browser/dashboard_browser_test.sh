#!/usr/bin/env bash
# Browser test of the expiry dashboard. Seeds an emulated fleet on loopback
# (a controller serving its dashboard on 127.0.0.1:0 with an API token, three
# emulated IIS 6 hosts each with its iis6-emulator and its certfleet-agent), lets their
# inventory land and the renewals run, starts one renewal campaign across the
# fleet, then runs dashboard_test.mjs: Debian's
# chromium through playwright-core compares the page with the JSON API,
# stops one agent to see the page follow, and saves a screenshot.
#
#   dashboard_browser_test.sh WORK_DIR SCREENSHOT CONTROLLER AGENT CERTFLEETCTL EMULATOR
#
# Needs /usr/bin/chromium and tests/browser/node_modules (deploy/install-deps.sh
# installs both). Ports are chosen at run time; every address is loopback.
set -euo pipefail
work=$1 screenshot=$2 controller=$3 agent=$4 certfleetctl=$5 emulator=$6
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hosts=3
chromium=${CERTFLEET_CHROMIUM:-/usr/bin/chromium}

[ -x "$chromium" ] || { echo "FAIL: $chromium is missing; run deploy/install-deps.sh"; exit 1; }
command -v node >/dev/null || { echo "FAIL: node is missing; run deploy/install-deps.sh"; exit 1; }
[ -f "$here/node_modules/playwright-core/package.json" ] || {
  echo "FAIL: $here/node_modules has no playwright-core; run deploy/install-deps.sh (npm ci)"
  exit 1
}

rm -rf "$work"
mkdir -p "$work/logs" "$work/agents"
rm -f "$screenshot"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

fail() {
  local log
  for log in "$work"/logs/*; do echo "--- $log"; tail -n 25 "$log"; done
  echo "FAIL: $*"
  exit 1
}

# The controller: gRPC and HTTP both on port 0 of loopback, the API behind
# a bearer token (so the page's token handling is tested too).
api_token=$(openssl rand -hex 24)
printf '%s\n' "$api_token" >"$work/http-token"
chmod 600 "$work/http-token"
"$controller" --data-dir "$work/controller" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --http-token-file "$work/http-token" \
  >"$work/logs/controller.out" 2>"$work/logs/controller.log" &
pids+=($!)
for _ in $(seq 1 200); do
  grep -q '^dashboard: ' "$work/logs/controller.out" 2>/dev/null &&
    grep -q '^listening on port ' "$work/logs/controller.out" && break
  kill -0 "${pids[0]}" 2>/dev/null || break
  sleep 0.1
done
port=$(sed -n 's/^listening on port //p' "$work/logs/controller.out")
fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$work/logs/controller.out")
dashboard=$(sed -n 's/^dashboard: //p' "$work/logs/controller.out" | head -n 1)
[ -n "$port" ] && [ -n "$fingerprint" ] && [ -n "$dashboard" ] ||
  fail "the controller did not print its ports and dashboard address"
case "$dashboard" in
  http://127.0.0.1:*/) ;;
  *) fail "the dashboard is not on loopback: $dashboard" ;;
esac

# Emulated hosts on their own loopback addresses, sites on random ports.
port_base=$((20000 + RANDOM % 40000))
octet=$((20 + RANDOM % 200))
agent_pids=()
for i in $(seq 1 "$hosts"); do
  name=$(printf 'web%02d' "$i")
  address="127.$octet.$((RANDOM % 250 + 1)).$i"
  "$agent" init-iis6-host "$work/hosts/$name" --address "$address" --http-port "$port_base" \
    --https-port $((port_base + 1)) --ca-dir "$work/demo-ca" >/dev/null
  "$emulator" --host-root "$work/hosts/$name" --log-file "$work/logs/$name-emulator.log" \
    2>>"$work/logs/$name-emulator.log" &
  pids+=($!)
done
for i in $(seq 1 "$hosts"); do
  name=$(printf 'web%02d' "$i")
  for _ in $(seq 1 100); do
    [ -f "$work/hosts/$name/run/iis6-emulator.pid" ] && break
    sleep 0.1
  done
  [ -f "$work/hosts/$name/run/iis6-emulator.pid" ] || fail "the emulator of $name did not start"
done

# An agent per host, enrolled with a one-time join token.
for i in $(seq 1 "$hosts"); do
  name=$(printf 'web%02d' "$i")
  "$controller" token create --data-dir "$work/controller" --ttl 10m --host "$name.browser.test" \
    >"$work/agents/$name.token"
  cat >"$work/agents/$name.yaml" <<YAML
controller:
  address: 127.0.0.1:$port
  ca_sha256: $fingerprint
enrollment:
  join_token_file: $work/agents/$name.token
hostname: $name.browser.test
state_dir: $work/agents/$name
driver:
  iis6:
    host_root: $work/hosts/$name
session:
  reconnect_max_backoff: 5s
YAML
  "$agent" run --config "$work/agents/$name.yaml" 2>"$work/logs/$name-agent.log" &
  pids+=($!)
  agent_pids+=($!)
done

# Let the renewals of the expiring sites run (each host's Boutique site
# expires in 10 days), so the page shows done orders and probed sites. The
# browser test itself waits for every host to be online with its inventory.
export CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$work/controller"
deadline=$((SECONDS + 120))
while [ $SECONDS -lt $deadline ]; do
  finished=$("$certfleetctl" orders list 2>/dev/null |
    awk 'NR > 1 && ($4 == "done" || $4 == "failed" || $4 == "rolled_back") { n++ } END { print n + 0 }')
  [ "$finished" -ge "$hosts" ] && break
  sleep 0.5
done
"$certfleetctl" orders list >"$work/logs/orders-before-browser.txt" 2>&1 || true

# One renewal campaign across the fleet for the Campaigns panel, planned,
# created against the plan's fingerprint and started, as
# tests/e2e/campaign_test.sh does. Its deploys may only run in a window two
# days from now, so the canary's renewals stop before deploying and the
# certificates the other checks compare stay as they are. A renewal that
# finishes between plan and create changes the plan: plan again.
campaign_name=browser-rollout
window_day=$(LC_ALL=C date -u -d '+2 days' +%a | tr '[:upper:]' '[:lower:]')
campaign_spec=(--name "$campaign_name" --hosts 'web*' --organization "Browser Renamed AG"
  --canary 1 --waves 100 --max-failures 1 --window "$window_day 03:00 1h UTC")
campaign=""
for _ in $(seq 1 5); do
  "$certfleetctl" campaign plan "${campaign_spec[@]}" >"$work/logs/campaign-plan.txt" 2>&1 ||
    fail "the campaign could not be planned: $(cat "$work/logs/campaign-plan.txt")"
  plan_fingerprint=$(sed -n 's/.*--fingerprint \([0-9A-F]*\)$/\1/p' "$work/logs/campaign-plan.txt")
  [ -n "$plan_fingerprint" ] || fail "the campaign plan shows no fingerprint"
  campaign=$("$certfleetctl" campaign create "${campaign_spec[@]}" --fingerprint "$plan_fingerprint" \
    2>>"$work/logs/campaign-create.log" | sed -n 's/^Campaign \(campaign-[0-9a-f]*\) created.*/\1/p') || true
  [ -n "$campaign" ] && break
done
[ -n "$campaign" ] || fail "the campaign was not created (logs/campaign-create.log)"
"$certfleetctl" campaign start "$campaign" >/dev/null || fail "the campaign $campaign did not start"

# The browser test stops the last agent and watches the page follow, then
# stops the controller and watches the page say so.
last=$(printf 'web%02d' "$hosts")
if ! node "$here/dashboard_test.mjs" --url "$dashboard" --screenshot "$screenshot" \
    --hosts "$hosts" --chromium "$chromium" --token "$api_token" \
    --stop-agent-pid "${agent_pids[$((hosts - 1))]}" --stop-agent-host "$last.browser.test" \
    --controller-pid "${pids[0]}" --campaign "$campaign_name"; then
  fail "the dashboard does not show what the API answers (screenshots beside $screenshot)"
fi
echo "PASS (screenshot: $screenshot)"
