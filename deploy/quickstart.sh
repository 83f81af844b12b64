#!/usr/bin/env bash
# certfleet quickstart: from a fresh Debian machine to a running demo fleet.
#
# Today it installs the dependencies, builds certfleet (Release), creates N
# emulated IIS 6 hosts (each on its own loopback address, sharing one demo CA),
# starts an iis6-emulator for each so that their sites are served over real
# TLS, shows what the IIS 6 driver sees on each host, and checks every secure
# binding "from another machine" with a real TLS handshake.
#
# What it does not do yet: renew. The controller's agent sessions and the
# renewal flow are still being built; when they land, this same script starts
# a controller and an agent per host and renews every certificate that is
# about to expire. It never pretends otherwise.
#
#   ./deploy/quickstart.sh [--hosts N] [--once] [--dir DIR]
#     --hosts N   number of emulated hosts (default 5, at most 200)
#     --once      exit after the checks instead of serving until Ctrl-C
#     --dir DIR   where the demo fleet lives (default $TMPDIR/certfleet-quickstart)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
demo_dir="${TMPDIR:-/tmp}/certfleet-quickstart"
hosts=5
once=false
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts="$2"; shift 2 ;;
    --once) once=true; shift ;;
    --dir) demo_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done
if ! [[ "$hosts" =~ ^[0-9]+$ ]] || [ "$hosts" -lt 1 ] || [ "$hosts" -gt 200 ]; then
  echo "quickstart: --hosts takes a number from 1 to 200" >&2
  exit 2
fi

step() { printf '\n==> %s\n' "$*"; }

# Stops every emulator this script (or an interrupted earlier run) started.
stop_emulators() {
  local pid_file
  for pid_file in "$demo_dir"/hosts/*/run/iis6-emulator.pid; do
    [ -f "$pid_file" ] || continue
    kill "$(cat "$pid_file")" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}

step "Installing dependencies (Debian packages)"
"$root/deploy/install-deps.sh"

step "Building certfleet (Release) in $root/build-release"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCERTFLEET_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-release" --parallel "$(nproc)" \
  --target certfleetctl certfleet_agent iis6_emulator
bin="$root/build-release/bin"

step "Creating $hosts emulated IIS 6 hosts in $demo_dir"
stop_emulators
rm -rf "$demo_dir"
mkdir -p "$demo_dir/hosts"
trap stop_emulators EXIT
for i in $(seq 1 "$hosts"); do
  name=$(printf 'web%02d' "$i")
  address="127.0.$(( (i + 10) / 250 )).$(( (i + 10) % 250 + 1 ))"
  "$bin/certfleet-agent" init-iis6-host "$demo_dir/hosts/$name" --address "$address" \
    --ca-dir "$demo_dir/ca" >/dev/null
  echo "  $name on $address"
done

step "Starting an iis6-emulator for each host"
for host_dir in "$demo_dir"/hosts/*/; do
  name=$(basename "$host_dir")
  "$bin/iis6-emulator" --host-root "$host_dir" --log-file "$demo_dir/$name-emulator.log" &
done
for host_dir in "$demo_dir"/hosts/*/; do
  for _ in $(seq 1 100); do
    [ -f "$host_dir/run/iis6-emulator.pid" ] && break
    sleep 0.1
  done
  if [ ! -f "$host_dir/run/iis6-emulator.pid" ]; then
    echo "quickstart: the emulator of $host_dir did not start; see its log:" >&2
    cat "$demo_dir/$(basename "$host_dir")-emulator.log" >&2
    exit 1
  fi
done
echo "  all $hosts emulators are serving"

first_host="$demo_dir/hosts/web01"
step "What the IIS 6 driver sees on web01 (certfleet-agent inventory)"
"$bin/certfleet-agent" inventory --host-root "$first_host"

step "Checking every secure binding with a real TLS handshake (certfleetctl cert probe)"
printf '%-6s %-16s %-42s %-22s %s\n' HOST ENDPOINT "SERVED THUMBPRINT" "VALID UNTIL" VERIFIED
failures=0
for host_dir in "$demo_dir"/hosts/*/; do
  name=$(basename "$host_dir")
  address=$(sed -n 's/^address=//p' "$host_dir/emulation.conf")
  for port in $(grep -o 'SecureBindings="[^"]*"' "$host_dir/inetsrv/MetaBase.xml" | grep -o ':[0-9]*:' | tr -d ':'); do
    if output=$("$bin/certfleetctl" cert probe "$address:$port" --roots "$demo_dir/ca/root.crt" --timeout 5); then
      verified=yes
    else
      verified=NO
      failures=$((failures + 1))
    fi
    thumbprint=$(printf '%s\n' "$output" | sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
    until=$(printf '%s\n' "$output" | sed -n 's/.*valid until \(.*\)$/\1/p' | head -n 1)
    printf '%-6s %-16s %-42s %-22s %s\n' "$name" "$address:$port" "${thumbprint:-?}" "${until:-?}" "$verified"
  done
done

step "Saying what a downloaded file is (certfleetctl cert inspect)"
some_cer=$(ls "$first_host"/stores/MY/*.cer | head -n 1)
"$bin/certfleetctl" cert inspect "$some_cer"

cat <<MSG

The demo fleet is in $demo_dir: hosts/webNN are emulated IIS 6 hosts, ca/ is
their demo CA, webNN-emulator.log the emulators' logs. Try:
  $bin/certfleet-agent inventory --host-root $first_host --json
  $bin/certfleetctl cert probe <address>:8443 --roots $demo_dir/ca/root.crt
  $bin/certfleetctl cert inspect $some_cer --json

Not there yet: the controller's agent sessions and the renewal itself (one site
per host expires in 10 days and is what the full demo will renew).
MSG

if [ "$failures" -gt 0 ]; then
  echo "quickstart: $failures binding(s) did not verify" >&2
  exit 1
fi
if [ "$once" = false ]; then
  echo
  echo "Serving until Ctrl-C."
  wait
fi
