#!/usr/bin/env bash
# End to end: the agent is killed (SIGKILL) in the middle of a renewal, at
# the most delicate point: the site's binding already names the new
# certificate on disk, IIS has been asked to restart, and nothing has been
# verified yet. The emulator delays its reload (--reload-delay) so that the
# kill lands there every time: its log line "reloading in" means the agent
# sent SIGHUP from its restart step and is waiting for the reload.
#
# Restarted on the same state dir, the agent reads its journal, resumes the
# same deploy job (restart, verify, backup) instead of starting again, and
# the order ends done: the new certificate is served and verified, the
# temporary site is gone, and the host got one order and one deploy job.
#
#   agent_kill_test.sh WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
work=$1 controller=$2 agent=$3 certfleetctl=$4 emulator=$5
rm -rf "$work"
mkdir -p "$work"
pids=()
agent_pid=""
trap 'kill $agent_pid 2>/dev/null || true; for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT

fail() {
  echo "--- agent log"
  tail -n 40 "$work/agent.log" 2>/dev/null || true
  echo "--- emulator log"
  tail -n 20 "$work/emulator.log" 2>/dev/null || true
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
[ -n "$port" ] || { cat "$work/controller.out" "$work/controller.log"; fail "the controller did not start"; }
export CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$work/data"

port_base=$((20000 + RANDOM % 40000))
address=127.0.0.241
https="$address:$((port_base + 1))"
"$agent" init-iis6-host "$work/host" --address "$address" --http-port "$port_base" \
  --https-port $((port_base + 1)) >/dev/null
"$emulator" --host-root "$work/host" --log-file "$work/emulator.log" --reload-delay 5 \
  2>>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 1 100); do
  [ -f "$work/host/run/iis6-emulator.pid" ] && break
  sleep 0.1
done
old=$("$certfleetctl" cert probe "$https" --roots "$work/host-ca/root.crt" --timeout 5 |
  sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ -n "$old" ] || fail "the site does not serve its certificate"

"$controller" token create --data-dir "$work/data" --ttl 10m >"$work/token"
echo "hostname: web01.demo.test" >"$work/agent.yaml"
start_agent() {
  "$agent" run --config "$work/agent.yaml" --controller "127.0.0.1:$port" \
    --controller-ca-sha256 "$fingerprint" --join-token-file "$work/token" \
    --state-dir "$work/state" --host-root "$work/host" --reconnect-max-backoff 1s \
    2>>"$work/agent.log" &
  agent_pid=$!
}
start_agent

# The agent's restart step has sent SIGHUP once the emulator schedules the
# reload; until the delay passes, the agent waits for it.
for _ in $(seq 1 600); do
  grep -q 'reloading in' "$work/emulator.log" && break
  sleep 0.1
done
grep -q 'reloading in' "$work/emulator.log" || fail "the deploy never reached its restart step"
kill -KILL "$agent_pid"
wait "$agent_pid" 2>/dev/null || true
echo "agent killed in its restart step; order then:"
"$certfleetctl" orders list
state=$("$certfleetctl" orders list | awk 'NR == 2 { print $4 }')
case "$state" in
  deploying | verifying) ;;
  *) fail "the order was '$state' when the agent was killed, expected deploying" ;;
esac
grep -q 'certfleet-temporary' "$work/host/inetsrv/MetaBase.xml" &&
  fail "the temporary site should already be deleted before the restart step"

start_agent
for _ in $(seq 1 120); do
  state=$("$certfleetctl" orders list | awk 'NR == 2 { print $4 }')
  case "$state" in done | failed | rolled_back | cancelled) break ;; esac
  sleep 1
done
order=$("$certfleetctl" orders list | awk 'NR == 2 { print $1 }')
"$certfleetctl" orders show "$order" || true
[ "$state" = done ] || fail "the order ended '$state' after the agent restarted, expected done"
"$certfleetctl" orders show "$order" | grep -q "confirmed by the controller's probe" ||
  fail "the resumed deploy reported no endpoint, so the controller could not probe the site"

grep -q "^.*resumed job " "$work/agent.log" ||
  fail "the restarted agent did not resume the job from its journal"
orders=$("$certfleetctl" orders list | awk 'NR > 1' | wc -l)
[ "$orders" -eq 1 ] || fail "$orders orders for one site: work was repeated"
deploys=$("$certfleetctl" jobs list --order "$order" | awk '$2 == "deploy"' | wc -l)
[ "$deploys" -eq 1 ] || fail "$deploys deploy jobs for the order: the deploy was started again"

served=$("$certfleetctl" cert probe "$https" --roots "$work/data/local-ca/root.crt" --timeout 5 |
  sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ -n "$served" ] || fail "the site does not serve a certificate of the local CA after the resume"
[ "$served" != "$old" ] || fail "the site still serves the old certificate $old"
# The agent's inventory after the job probed the site from the host.
for _ in $(seq 1 50); do
  "$certfleetctl" hosts show web01.demo.test | grep -q " matches " && break
  sleep 0.2
done
"$certfleetctl" hosts show web01.demo.test | grep -q " matches " ||
  fail "the host's inventory does not show the site serving its bound certificate"
if grep -q 'certfleet-temporary' "$work/host/inetsrv/MetaBase.xml"; then
  fail "the temporary site is still in MetaBase.xml"
fi
echo "PASS: resumed after the kill, order done, new certificate $served served and verified"
