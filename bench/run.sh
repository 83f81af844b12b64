#!/usr/bin/env bash
# certfleet's capacity suite: drives a fresh controller with fleet-sim (one
# process acting as N enrolled agents) and measures every performance
# target of DESIGN.md on this machine, printing one table with the target
# beside each measured value and writing the same as JSON.
#
#   bench/run.sh [--bin DIR] [--smoke] [--agents "1000 5000 10000"] [--out FILE]
#     --bin DIR   the binaries (certfleet-controller, certfleetctl,
#                 certfleet-agent, iis6-emulator, fleet-sim, http_api_bench);
#                 default: build them in build-release/ (Release)
#     --smoke     tiny sizes (20 agents, a 20-host campaign, short idle
#                 window), so that ./deploy/test.sh checks the harness
#                 itself keeps working; the numbers mean nothing
#     --agents L  the fleet sizes to connect, smallest first (default
#                 "1000 5000 10000"); the largest also runs the dispatch,
#                 restart and campaign rows
#     --out FILE  the JSON report (default bench/results/latest.json; with
#                 --smoke, WORK/report.json inside the temporary folder)
#
# The full suite takes about 10 to 15 minutes on a 2-core machine. Every
# address is on loopback. What each row measures and how is in
# docs/performance.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin=""
smoke=false
out=""
agent_counts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --smoke) smoke=true; shift ;;
    --out) out="$2"; shift 2 ;;
    --agents) read -r -a agent_counts <<<"$2"; shift 2 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$bin" ]; then
  echo "== building the Release binaries in build-release/"
  cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build-release" --parallel "$(nproc)" --target certfleet-controller \
    certfleetctl certfleet-agent iis6-emulator fleet-sim http_api_bench >/dev/null
  bin="$root/build-release/bin"
fi
for tool in certfleet-controller certfleetctl certfleet-agent iis6-emulator fleet-sim; do
  [ -x "$bin/$tool" ] || { echo "bench/run.sh: $bin/$tool is missing" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "bench/run.sh: jq is missing (deploy/install-deps.sh)" >&2; exit 2; }

if $smoke; then
  [ ${#agent_counts[@]} -gt 0 ] || agent_counts=(20)
  dispatch_samples=5
  idle_seconds=3
else
  [ ${#agent_counts[@]} -gt 0 ] || agent_counts=(1000 5000 10000)
  dispatch_samples=200
  idle_seconds=30
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/certfleet-bench.XXXXXX")"
[ -n "$out" ] || { if $smoke; then out="$work/report.json"; else out="$root/bench/results/latest.json"; fi; }
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${keep_work:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "bench/run.sh: $*" >&2
  keep_work=1
  echo "--- controller log (last 20 lines)" >&2
  tail -n 20 "$work/controller.log" >&2 2>/dev/null || true
  echo "--- fleet-sim log (last 20 lines)" >&2
  tail -n 20 "$work/fleet-sim.log" >&2 2>/dev/null || true
  exit 1
}

# One row of the report: NAME TARGET MEASURED MET (yes, no or "-").
rows="$work/rows.jsonl"
: >"$rows"
row() {
  jq -cn --arg name "$1" --arg target "$2" --arg measured "$3" --arg met "$4" \
    '{name: $name, target: $target, measured: $measured, met: $met}' >>"$rows"
  printf '  %-58s %-28s %-26s %s\n' "$1" "$2" "$3" "$4"
}
# compare VALUE OP LIMIT -> yes/no (floating point)
compare() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
  r = (op == "<") ? v < l : (op == ">=") ? v >= l : 0; print (r ? "yes" : "no") }'; }
rss_mib() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
threads_of() { ls "/proc/$1/task" | wc -l; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# report_value JQ_FILTER: from fleet-sim's JSON report, or empty.
report_value() { jq -r "$1 // empty" "$work/sim.json" 2>/dev/null || true; }
wait_for() {  # SECONDS DESCRIPTION COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after waiting for $what"
    sleep 1
  done
}

# The first start picks a free port; restarts keep it, as agents expect.
port=0
data="$work/controller"
start_controller() {
  "$bin/certfleet-controller" --data-dir "$data" --listen "127.0.0.1:$port" \
    --http-listen 127.0.0.1:0 --max-in-flight 1000 >"$work/controller.out" 2>>"$work/controller.log" &
  controller_pid=$!
  pids+=("$controller_pid")
  wait_for 60 "the controller to start" grep -q '^dashboard:' "$work/controller.out"
  port=$(sed -n 's/^listening on port //p' "$work/controller.out")
  fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$work/controller.out")
  http=$(sed -n 's|^dashboard: \(http://[^/]*\)/.*|\1|p' "$work/controller.out")
}
stop_controller() {
  kill -TERM "$controller_pid"
  wait "$controller_pid" 2>/dev/null || true
}
start_sim() {  # AGENTS [extra fleet-sim flags...]
  local agents=$1
  shift
  rm -f "$work/sim.json"
  "$bin/fleet-sim" --controller "127.0.0.1:$port" --controller-ca-sha256 "$fingerprint" \
    --data-dir "$data" --agents "$agents" --state-dir "$work/sim-state" --step-delay 20ms \
    --until-signal --report "$work/sim.json" "$@" >>"$work/fleet-sim.log" 2>&1 &
  sim_pid=$!
  pids+=("$sim_pid")
}
stop_sim() {
  kill -TERM "$sim_pid"
  wait "$sim_pid" 2>/dev/null || true
}
all_connected() { [ "$(report_value .connected)" = "$1" ]; }

echo "certfleet capacity report, $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores$($smoke && echo ' (smoke: sizes too small to mean anything)')"
printf '  %-58s %-28s %-26s %s\n' "WHAT" "TARGET (DESIGN.md)" "MEASURED" "MET"
start_controller
export CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$data"
# Renewals in this suite come from the campaign only.
"$bin/certfleetctl" policy set default --renew-at-fraction 0.01 >/dev/null

# --- agents connected, controller RSS ----------------------------------------
largest=${agent_counts[-1]}
for count in "${agent_counts[@]}"; do
  extra=()
  [ "$count" = "$largest" ] && extra=(--measure-dispatch "$dispatch_samples")
  start_sim "$count" "${extra[@]}"
  wait_for 600 "$count agents to connect" all_connected "$count"
  sleep 2
  rss=$(rss_mib "$controller_pid")
  threads=$(threads_of "$controller_pid")
  connected_in=$(report_value .seconds_to_all_connected)
  row "agents connected: $count (in ${connected_in:-?} s)" "RSS < 1024 MiB, no thread per agent" \
    "$rss MiB, $threads threads" "$(
      [ "$(compare "$rss" "<" 1024)" = yes ] && [ "$threads" -lt 200 ] && echo yes || echo no)"
  [ "$count" = "$largest" ] || stop_sim
done

# --- dispatch latency to idle agents -----------------------------------------
has_dispatch() { [ "$(report_value .dispatch_latency_ms.count)" = "$dispatch_samples" ]; }
wait_for 600 "the dispatch measurement" has_dispatch
p50=$(report_value .dispatch_latency_ms.p50)
p99=$(report_value .dispatch_latency_ms.p99)
row "work reaching an idle agent, $largest connected" "p99 < 2000 ms" \
  "p50 $p50 ms, p99 $p99 ms" "$(compare "$p99" "<" 2000)"

# --- reconnect after a controller restart ------------------------------------
reconnects_before=$(report_value .reconnects)
stop_controller
start_controller
reconnected() {
  all_connected "$largest" && [ "$(report_value .reconnects)" != "$reconnects_before" ]
}
wait_for 900 "$largest agents to reconnect" reconnected
row "all $largest agents reconnected after a restart" "(no target; reported)" \
  "$(report_value .seconds_to_all_reconnected_after_last_drop) s" "-"

# --- a campaign over every simulated host ------------------------------------
campaign_state() {
  "$bin/certfleetctl" campaign list | awk -v id="$campaign" '$1 == id { print $3 }'
}
finished() { case "$(campaign_state)" in completed | aborted | paused) return 0 ;; esac; return 1; }
# run_campaign NAME [wave flags...]: plans, creates and starts a campaign over
# every simulated host and waits for it; sets targets and wall (seconds).
run_campaign() {
  local name=$1
  shift
  local spec=(--name "$name" --hosts 'sim-*' --soak 0s --max-in-flight 1000
    --max-failure-percent 100 "$@")
  "$bin/certfleetctl" campaign plan "${spec[@]}" --json >"$work/plan.json" || fail "campaign plan failed"
  local plan_fingerprint
  plan_fingerprint=$(jq -r '.plan | .plan_fingerprint // .planFingerprint' "$work/plan.json")
  targets=$(jq -r '.plan | .binding_count // .bindingCount' "$work/plan.json")
  campaign=$("$bin/certfleetctl" campaign create "${spec[@]}" --fingerprint "$plan_fingerprint" |
    sed -n 's/^Campaign \(campaign-[0-9a-f]*\) created.*/\1/p')
  [ -n "$campaign" ] || fail "the campaign $name was not created"
  local started=$SECONDS
  "$bin/certfleetctl" campaign start "$campaign" >/dev/null
  wait_for 1800 "the campaign $name to finish" finished
  wall=$((SECONDS - started))
  [ "$wall" -gt 0 ] || wall=1
  [ "$(campaign_state)" = completed ] || fail "the campaign $name ended $(campaign_state)"
}
run_campaign bench --canary 1 --waves 10,50
row "campaign over $targets bindings on $largest hosts (canary, 10%, 50%, rest)" \
  "< 600 s for 10,000 hosts" "$wall s" "$([ "$largest" -ge 10000 ] && compare "$wall" "<" 600 || echo -)"

# --- renewals per second against RSA signing ---------------------------------
# One wave of every host, as many in flight as the controller allows.
run_campaign throughput --canary "$largest"
sign_rate=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa +2048 +bits/ { print $(NF - 1) }')
renewal_rate=$(awk -v n="$targets" -v s="$wall" 'BEGIN { printf "%.1f", n / s }')
ratio=$(awk -v r="$renewal_rate" -v s="$sign_rate" 'BEGIN { printf "%.3f", r / s }')
row "renewals per second through the local CA ($targets in one wave)" \
  ">= 0.5 x openssl rsa2048 sign/s" "$renewal_rate/s vs $sign_rate/s = $ratio" \
  "$($smoke && echo - || compare "$ratio" ">=" 0.5)"
stop_sim

# --- an idle agent -------------------------------------------------------------
host="$work/idle-host"
site_ports=$((20000 + RANDOM % 40000))
"$bin/certfleet-agent" init-iis6-host "$host" --address 127.0.0.2 --http-port "$site_ports" \
  --https-port $((site_ports + 1)) --ca-dir "$work/idle-ca" >/dev/null
"$bin/iis6-emulator" --host-root "$host" --log-file "$work/emulator.log" 2>>"$work/emulator.log" &
pids+=($!)
"$bin/certfleet-controller" token create --data-dir "$data" --ttl 10m >"$work/idle-token"
echo "hostname: idle.bench.test" >"$work/idle-agent.yaml"
"$bin/certfleet-agent" run --config "$work/idle-agent.yaml" --controller "127.0.0.1:$port" \
  --controller-ca-sha256 "$fingerprint" --join-token-file "$work/idle-token" \
  --state-dir "$work/idle-state" --host-root "$host" 2>"$work/idle-agent.log" &
agent_pid=$!
pids+=("$agent_pid")
idle_online() {
  "$bin/certfleetctl" hosts list 2>/dev/null |
    awk '$1 == "idle.bench.test" && $4 == "yes" { found = 1 } END { exit !found }'
}
wait_for 60 "the idle agent to come online" idle_online
sleep 3
ticks_before=$(cpu_ticks "$agent_pid")
sleep "$idle_seconds"
ticks_after=$(cpu_ticks "$agent_pid")
agent_rss=$(rss_mib "$agent_pid")
cpu_percent=$(awk -v t=$((ticks_after - ticks_before)) -v hz="$(getconf CLK_TCK)" -v s="$idle_seconds" \
  'BEGIN { printf "%.2f", 100 * t / hz / s }')
row "an idle agent over ${idle_seconds} s" "RSS < 20 MiB, no measurable CPU" \
  "$agent_rss MiB, ${cpu_percent}% CPU" "$(
    [ "$(compare "$agent_rss" "<" 20)" = yes ] && [ "$(compare "$cpu_percent" "<" 0.5)" = yes ] &&
      echo yes || echo no)"
stop_controller

# --- the inventory query with 100,000 certificates ------------------------------
if [ -x "$bin/http_api_bench" ]; then
  size=(--hosts 1000 --certificates-per-host 100)
  certificates=100000
  if $smoke; then size=(--hosts 20 --certificates-per-host 10); certificates=200; fi
  query_ms=$("$bin/http_api_bench" "${size[@]}" --benchmark_filter='^BM_CertificatesExpiringWithin30Days$' \
    --benchmark_format=json 2>>"$work/http_api_bench.log" |
    jq -r '.benchmarks[0].real_time | . * 100 | round / 100')
  row "\"expiring within 30 days\", $certificates certificates" \
    "< 50 ms" "$query_ms ms" "$(compare "$query_ms" "<" 50)"
else
  row "\"expiring within 30 days\", 100000 certificates" "< 50 ms" "not built (libbenchmark-dev)" "-"
fi

mkdir -p "$(dirname "$out")"
jq -s --arg when "$(date -u +%FT%TZ)" --arg cores "$(nproc)" --argjson smoke "$smoke" \
  '{measured_at: $when, cores: ($cores | tonumber), smoke: $smoke, rows: .}' "$rows" >"$out"
echo "report written to $out"
