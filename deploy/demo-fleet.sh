#!/usr/bin/env bash
# certfleet demo fleet: a controller, N emulated IIS 6 hosts each with its
# iis6-emulator and its certfleet-agent, and the renewal of every certificate
# that is about to expire, through the controller's local CA.
#
# ./deploy/quickstart.sh builds certfleet and runs this script; the
# end-to-end test runs it against the test build. It uses only the binaries
# in --bin and loopback addresses (127.0.x.y, one per host).
#
#   deploy/demo-fleet.sh --bin DIR [--hosts N] [--once] [--dir DIR] [--sha1-hosts N]
#                        [--ca local|manual] [--port-base PORT] [--timeout SECONDS]
#     --bin DIR         folder holding certfleet-controller, certfleet-agent,
#                       certfleetctl and iis6-emulator
#     --hosts N         number of emulated hosts (default 5, at most 200)
#     --sha1-hosts N    the first N hosts' certificates are signed with SHA-1,
#                       a fleet waiting for its SHA-256 migration (default 0;
#                       docs/campaigns.md)
#     --once            exit after the renewals; the exit status says whether
#                       every renewal was done and verified
#     --dir DIR         where the demo lives (default $TMPDIR/certfleet-demo);
#                       emptied first
#     --ca manual       the orders wait for a person: the script says how to
#                       take each CSR to a CA and upload what it returns; with
#                       --once it plays that person itself, signing with the
#                       demo CA through openssl (docs/manual-ca.md)
#     --port-base PORT  first of three consecutive ports each host's sites use
#                       (HTTP, then two HTTPS; default 18080)
#     --timeout SECONDS how long to wait for the renewals (default 60 + 5 per host)
set -euo pipefail

bin=""
demo_dir="${TMPDIR:-/tmp}/certfleet-demo"
hosts=5
sha1_hosts=0
once=false
port_base=18080
timeout=""
ca=local
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) bin="$2"; shift 2 ;;
    --hosts) hosts="$2"; shift 2 ;;
    --sha1-hosts) sha1_hosts="$2"; shift 2 ;;
    --once) once=true; shift ;;
    --dir) demo_dir="$2"; shift 2 ;;
    --port-base) port_base="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    --ca) ca="$2"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "demo-fleet: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
for tool in certfleet-controller certfleet-agent certfleetctl iis6-emulator; do
  if [ -z "$bin" ] || [ ! -x "$bin/$tool" ]; then
    echo "demo-fleet: --bin must name the folder holding $tool" >&2
    exit 2
  fi
done
if ! [[ "$hosts" =~ ^[0-9]+$ ]] || [ "$hosts" -lt 1 ] || [ "$hosts" -gt 200 ]; then
  echo "demo-fleet: --hosts takes a number from 1 to 200" >&2
  exit 2
fi
if ! [[ "$sha1_hosts" =~ ^[0-9]+$ ]] || [ "$sha1_hosts" -gt "$hosts" ]; then
  echo "demo-fleet: --sha1-hosts takes a number from 0 to the number of hosts ($hosts)" >&2
  exit 2
fi
if ! [[ "$port_base" =~ ^[0-9]+$ ]] || [ "$port_base" -lt 1024 ] || [ "$port_base" -gt 65000 ]; then
  echo "demo-fleet: --port-base takes a port from 1024 to 65000" >&2
  exit 2
fi
if [ "$ca" != local ] && [ "$ca" != manual ]; then
  echo "demo-fleet: --ca takes local or manual" >&2
  exit 2
fi
timeout="${timeout:-$((60 + 5 * hosts))}"
[ "$ca" = manual ] && [ "$once" = false ] && timeout=86400
http_port=$port_base
https_port=$((port_base + 1))

step() { printf '\n==> %s\n' "$*"; }

pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an interrupted earlier run on the same folder.
for pid_file in "$demo_dir"/hosts/*/run/iis6-emulator.pid "$demo_dir"/run/*.pid; do
  [ -f "$pid_file" ] && kill "$(cat "$pid_file")" 2>/dev/null || true
done
rm -rf "$demo_dir"
mkdir -p "$demo_dir/hosts" "$demo_dir/agents" "$demo_dir/logs" "$demo_dir/run"
data_dir="$demo_dir/controller"

step "Starting certfleet-controller (data dir $data_dir)"
"$bin/certfleet-controller" --data-dir "$data_dir" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  >"$demo_dir/logs/controller.out" 2>"$demo_dir/logs/controller.log" &
pids+=($!)
echo $! >"$demo_dir/run/controller.pid"
for _ in $(seq 1 100); do
  grep -q '^local CA root' "$demo_dir/logs/controller.out" 2>/dev/null && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then break; fi
  sleep 0.1
done
port=$(sed -n 's/^listening on port //p' "$demo_dir/logs/controller.out")
dashboard=$(sed -n 's/^dashboard: //p' "$demo_dir/logs/controller.out")
fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$demo_dir/logs/controller.out")
if [ -z "$port" ] || [ -z "$fingerprint" ]; then
  echo "demo-fleet: the controller did not start; its log:" >&2
  cat "$demo_dir/logs/controller.out" "$demo_dir/logs/controller.log" >&2
  exit 1
fi
local_root="$data_dir/local-ca/root.crt"
[ "$ca" = manual ] && local_root="$demo_dir/demo-ca/root.crt"
export CERTFLEET_CONTROLLER="127.0.0.1:$port"
export CERTFLEET_DATA_DIR="$data_dir"
echo "  listening on 127.0.0.1:$port; agents pin the fleet CA $fingerprint"
if [ "$ca" = manual ]; then
  "$bin/certfleetctl" policy set default --connector manual \
    --description "Renewals wait for a person at the CA's portal (demo --ca manual)" >/dev/null
  echo "  renewal policy 'default' now uses the manual connector"
fi

step "Creating $hosts emulated IIS 6 hosts, each served by an iis6-emulator"
names=()
addresses=()
for i in $(seq 1 "$hosts"); do
  name=$(printf 'web%02d' "$i")
  address="127.0.$(( (i + 10) / 250 )).$(( (i + 10) % 250 + 1 ))"
  names+=("$name")
  addresses+=("$address")
  hash=sha256
  [ "$i" -le "$sha1_hosts" ] && hash=sha1
  "$bin/certfleet-agent" init-iis6-host "$demo_dir/hosts/$name" --address "$address" \
    --http-port "$http_port" --https-port "$https_port" --ca-dir "$demo_dir/demo-ca" \
    --signature-hash "$hash" >/dev/null
  "$bin/iis6-emulator" --host-root "$demo_dir/hosts/$name" \
    --log-file "$demo_dir/logs/$name-emulator.log" 2>>"$demo_dir/logs/$name-emulator.log" &
  pids+=($!)
done
for name in "${names[@]}"; do
  for _ in $(seq 1 100); do
    [ -f "$demo_dir/hosts/$name/run/iis6-emulator.pid" ] && break
    sleep 0.1
  done
  if [ ! -f "$demo_dir/hosts/$name/run/iis6-emulator.pid" ]; then
    echo "demo-fleet: the emulator of $name did not start; its log:" >&2
    cat "$demo_dir/logs/$name-emulator.log" >&2
    exit 1
  fi
done

# probe ADDRESS:PORT ROOTS -> "THUMBPRINT|VALID UNTIL|yes/NO"
probe() {
  local output verified=yes
  output=$("$bin/certfleetctl" cert probe "$1" --roots "$2" --timeout 5 2>&1) || verified=NO
  printf '%s|%s|%s\n' \
    "$(printf '%s\n' "$output" | sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)" \
    "$(printf '%s\n' "$output" | sed -n 's/.*valid until \(.*\)$/\1/p' | head -n 1)" \
    "$verified"
}

declare -A before
for i in "${!names[@]}"; do
  for p in "$https_port" $((https_port + 1)); do
    before["${names[$i]}:$p"]=$(probe "${addresses[$i]}:$p" "$demo_dir/demo-ca/root.crt")
  done
done
printf '  %-6s %-20s %-42s %s\n' HOST ENDPOINT "SERVED THUMBPRINT" "VALID UNTIL"
for i in "${!names[@]}"; do
  for p in "$https_port" $((https_port + 1)); do
    IFS='|' read -r thumbprint until _ <<<"${before[${names[$i]}:$p]}"
    printf '  %-6s %-20s %-42s %s\n' "${names[$i]}" "${addresses[$i]}:$p" "${thumbprint:-?}" "${until:-?}"
  done
done

step "Enrolling an agent per host (one-time join tokens, pinned fleet CA)"
for i in "${!names[@]}"; do
  name=${names[$i]}
  "$bin/certfleet-controller" token create --data-dir "$data_dir" --ttl 10m \
    --host "$name.demo.test" >"$demo_dir/agents/$name.token"
  chmod 600 "$demo_dir/agents/$name.token"
  cat >"$demo_dir/agents/$name.yaml" <<YAML
controller:
  address: 127.0.0.1:$port
  ca_sha256: $fingerprint
enrollment:
  join_token_file: $demo_dir/agents/$name.token
hostname: $name.demo.test
state_dir: $demo_dir/agents/$name
labels:
  environment: demo
driver:
  iis6:
    host_root: $demo_dir/hosts/$name
session:
  reconnect_max_backoff: 5s
YAML
  "$bin/certfleet-agent" run --config "$demo_dir/agents/$name.yaml" \
    2>"$demo_dir/logs/$name-agent.log" &
  pids+=($!)
done
echo "  $hosts agents started; logs in $demo_dir/logs"

step "Renewing what expires soon (policy: renew when a third of the lifetime remains)"
# order states by count, e.g. "done=3 deploying=2"
order_states() {
  "$bin/certfleetctl" orders list 2>/dev/null | awk 'NR > 1 { count[$4]++ }
    END { for (state in count) printf "%s=%d ", state, count[state] }'
}
deadline=$((SECONDS + timeout))
last=""
finished=0
while [ $SECONDS -lt $deadline ]; do
  states=$(order_states || true)
  if [ "$states" != "$last" ]; then
    printf '  %3ds  orders: %s\n' "$SECONDS" "${states:-none yet}"
    last=$states
  fi
  finished=0
  for state in done rolled_back cancelled; do
    count=$(printf '%s\n' "$states" | tr ' ' '\n' | sed -n "s/^$state=//p")
    finished=$((finished + ${count:-0}))
  done
  [ "$finished" -ge "$hosts" ] && break
  if [ "$ca" = manual ]; then
    for order in $("$bin/certfleetctl" orders list --state awaiting_issuance 2>/dev/null | awk 'NR > 1 { print $1 }'); do
      [ -e "$demo_dir/manual/$order.told" ] && continue
      mkdir -p "$demo_dir/manual"
      touch "$demo_dir/manual/$order.told"
      if [ "$once" = true ]; then
        # Play the person at the CA: take the CSR, sign it with the demo
        # CA, upload the PEM bundle the CA returns.
        "$bin/certfleetctl" orders csr "$order" -o "$demo_dir/manual/$order.csr" >/dev/null
        openssl x509 -req -in "$demo_dir/manual/$order.csr" -CA "$demo_dir/demo-ca/intermediate.crt" \
          -CAkey "$demo_dir/demo-ca/intermediate.key" -set_serial "0x$(openssl rand -hex 12)" \
          -days 90 -sha256 -copy_extensions copy -out "$demo_dir/manual/$order.crt" 2>/dev/null
        cat "$demo_dir/manual/$order.crt" "$demo_dir/demo-ca/intermediate.crt" \
          "$demo_dir/demo-ca/root.crt" >"$demo_dir/manual/$order-bundle.pem"
        "$bin/certfleetctl" cert upload "$demo_dir/manual/$order-bundle.pem" | sed 's/^/  /'
      else
        cat <<TELL
  Order $order waits for you:
    $bin/certfleetctl orders csr $order -o $order.csr      # submit it at your CA
    $bin/certfleetctl cert upload FILE                      # what the CA returned, any format
    (try the demo CA: openssl x509 -req -in $order.csr -CA $demo_dir/demo-ca/intermediate.crt
       -CAkey $demo_dir/demo-ca/intermediate.key -days 90 -copy_extensions copy -out $order.crt)
TELL
      fi
    done
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo-fleet: a process of the demo stopped; see $demo_dir/logs" >&2
      break 2
    fi
  done
  sleep 1
done

step "Summary"
failures=0
printf '%-6s %-20s %-42s %-22s -> %-42s %-22s %s\n' HOST ENDPOINT "OLD THUMBPRINT" "OLD EXPIRY" \
  "NEW THUMBPRINT" "NEW EXPIRY" "VERIFIED BY HANDSHAKE"
for i in "${!names[@]}"; do
  endpoint="${addresses[$i]}:$https_port"
  IFS='|' read -r old_thumbprint old_until _ <<<"${before[${names[$i]}:$https_port]}"
  IFS='|' read -r new_thumbprint new_until verified <<<"$(probe "$endpoint" "$local_root")"
  if [ "$verified" != yes ] || [ -z "$new_thumbprint" ] || [ "$new_thumbprint" = "$old_thumbprint" ]; then
    failures=$((failures + 1))
    verified=NO
  fi
  printf '%-6s %-20s %-42s %-22s -> %-42s %-22s %s\n' "${names[$i]}" "$endpoint" \
    "${old_thumbprint:-?}" "${old_until:-?}" "${new_thumbprint:-?}" "${new_until:-?}" "$verified"
done
done_orders=$("$bin/certfleetctl" orders list --state done 2>/dev/null | awk 'NR > 1' | wc -l)
confirmed=$(for order in $("$bin/certfleetctl" orders list --state done 2>/dev/null | awk 'NR > 1 { print $1 }'); do
  "$bin/certfleetctl" orders show "$order"; done | grep -c "confirmed by the controller's probe" || true)
echo
echo "$done_orders of $hosts orders done; $confirmed confirmed by the controller's own probe."

cat <<MSG

The demo lives in $demo_dir (hosts/, agents/, logs/, controller/). Explore with:
  the dashboard: $dashboard (JSON API under ${dashboard}api/v1/, metrics at ${dashboard}metrics)
  export CERTFLEET_CONTROLLER=127.0.0.1:$port CERTFLEET_DATA_DIR=$data_dir
  $bin/certfleetctl hosts list
  $bin/certfleetctl certs list --expiring-within 30d
  $bin/certfleetctl orders list
  $bin/certfleetctl orders show ORDER
  $bin/certfleetctl cert probe ${addresses[0]}:$https_port --roots $local_root
MSG

status=0
if [ "$failures" -gt 0 ] || [ "$done_orders" -lt "$hosts" ] || [ "$confirmed" -lt "$hosts" ]; then
  echo "demo-fleet: not every renewal was done and verified; see $demo_dir/logs and certfleetctl orders list" >&2
  status=1
fi
if [ "$once" = false ]; then
  echo
  echo "Serving until Ctrl-C."
  wait "${pids[0]}" || true
fi
exit "$status"
