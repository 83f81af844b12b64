#!/usr/bin/env bash
# End to end, the manual CA flow: the order waits for a person; uploading the
# wrong files (the CA's intermediate, its root, the host's current
# certificate, a certificate of another issuer) is refused with a diagnosis
# that names what the file is and changes nothing; the right file (signed by
# the CA for the order's CSR) is accepted, deployed and verified.
#
#   manual_ca_test.sh WORK_DIR CONTROLLER AGENT CERTFLEETCTL EMULATOR
set -euo pipefail
work=$1 controller=$2 agent=$3 certfleetctl=$4 emulator=$5
rm -rf "$work"
mkdir -p "$work"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$controller" --data-dir "$work/data" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >"$work/controller.out" 2>"$work/controller.log" &
pids+=($!)
for _ in $(seq 1 100); do grep -q '^local CA root' "$work/controller.out" && break; sleep 0.1; done
port=$(sed -n 's/^listening on port //p' "$work/controller.out")
fingerprint=$(sed -n 's/^fleet CA fingerprint (agents pin it): //p' "$work/controller.out")
[ -n "$port" ] || fail "the controller did not start"
export CERTFLEET_CONTROLLER="127.0.0.1:$port" CERTFLEET_DATA_DIR="$work/data"
"$certfleetctl" policy set default --connector manual >/dev/null

port_base=$((20000 + RANDOM % 40000))
address=127.0.0.230
"$agent" init-iis6-host "$work/host" --address "$address" --http-port "$port_base" \
  --https-port $((port_base + 1)) >/dev/null
ca="$work/host-ca"
"$emulator" --host-root "$work/host" --log-file "$work/emulator.log" 2>>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -f "$work/host/run/iis6-emulator.pid" ] && break; sleep 0.1; done
current=$("$certfleetctl" cert probe "$address:$((port_base + 1))" --roots "$ca/root.crt" --timeout 5 |
  sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ -n "$current" ] || fail "the site does not serve its certificate"

"$controller" token create --data-dir "$work/data" --ttl 10m >"$work/token"
echo "hostname: web01.demo.test" >"$work/agent.yaml"
"$agent" run --config "$work/agent.yaml" --controller "127.0.0.1:$port" \
  --controller-ca-sha256 "$fingerprint" --join-token-file "$work/token" \
  --state-dir "$work/state" --host-root "$work/host" 2>"$work/agent.log" &
pids+=($!)

order=""
for _ in $(seq 1 120); do
  order=$("$certfleetctl" orders list --state awaiting_issuance 2>/dev/null | awk 'NR == 2 { print $1 }')
  [ -n "$order" ] && break
  sleep 0.5
done
[ -n "$order" ] || { tail -n 30 "$work/agent.log"; fail "no order came to wait for issuance"; }
"$certfleetctl" orders csr "$order" -o "$work/order.csr" >/dev/null

# refused FILE PATTERN: the upload is refused and its diagnosis matches.
refused() {
  local output
  output=$("$certfleetctl" cert upload "$1" 2>&1) && fail "uploading $1 was accepted: $output"
  echo "$output"
  echo "$output" | grep -qi "$2" || fail "the diagnosis of $1 does not say '$2'"
  [ "$("$certfleetctl" orders list --state awaiting_issuance | awk 'NR == 2 { print $1 }')" = "$order" ] ||
    fail "a refused upload changed the order"
}
refused "$ca/intermediate.crt" "(intermediate_certificate)"
refused "$ca/root.crt" "(root_certificate)"
refused "$work/host/stores/MY/$current.cer" "(older_certificate_of_same_host)"
# A server certificate for the same name from another CA, for another key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/other-ca.key" -subj "/CN=Other Root CA" \
  -days 30 -out "$work/other-ca.crt" 2>/dev/null
openssl req -new -newkey rsa:2048 -nodes -keyout "$work/other.key" \
  -subj "/CN=www.boutique-zuerich.example.test" -out "$work/other.csr" 2>/dev/null
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$work/other.ext"
openssl x509 -req -in "$work/other.csr" -CA "$work/other-ca.crt" -CAkey "$work/other-ca.key" \
  -set_serial 7 -days 30 -extfile "$work/other.ext" -out "$work/other.crt" 2>/dev/null
refused "$work/other.crt" "(answers_no_request)"

openssl x509 -req -in "$work/order.csr" -CA "$ca/intermediate.crt" -CAkey "$ca/intermediate.key" \
  -set_serial "0x$(openssl rand -hex 12)" -days 90 -sha256 -copy_extensions copy \
  -out "$work/issued.crt" 2>/dev/null
cat "$work/issued.crt" "$ca/intermediate.crt" "$ca/root.crt" >"$work/issued-bundle.pem"
"$certfleetctl" cert upload "$work/issued-bundle.pem" || fail "the right file was refused"

state=""
for _ in $(seq 1 120); do
  state=$("$certfleetctl" orders list | awk -v order="$order" '$1 == order { print $4 }')
  case "$state" in done|rolled_back|failed|cancelled) break ;; esac
  sleep 0.5
done
"$certfleetctl" orders show "$order"
[ "$state" = done ] || fail "the order ended '$state', expected done"
issued=$(openssl x509 -in "$work/issued.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
served=$("$certfleetctl" cert probe "$address:$((port_base + 1))" --roots "$ca/root.crt" --timeout 5 |
  sed -n 's/.*thumbprint \([0-9A-F]*\),.*/\1/p' | head -n 1)
[ "$served" = "$issued" ] || fail "the site serves '$served', expected the uploaded $issued"
echo "PASS"
