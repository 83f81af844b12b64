#!/usr/bin/env bash
# certfleet quickstart: from a fresh Debian machine to something running.
#
# Today it installs the dependencies, builds certfleet (Release), makes a
# small demonstration PKI with openssl (root, intermediate, a server
# certificate and the files a CA portal hands out: .crt, .cer, .p7b, a CSR,
# a key) and shows what `certfleetctl cert inspect` says about each file.
#
# The controller, the agents and the emulated IIS 6 fleet are not built yet;
# once they are, this script runs the full renewal demo instead. It never
# pretends otherwise.
#
#   ./deploy/quickstart.sh [--dir DIR]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
demo_dir="${TMPDIR:-/tmp}/certfleet-quickstart"
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) demo_dir="$2"; shift 2 ;;
    --once) shift ;;  # accepted now so that scripts written for the full demo keep working
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
done

step() { printf '\n==> %s\n' "$*"; }

step "Installing dependencies (Debian packages)"
"$root/deploy/install-deps.sh"

step "Building certfleet (Release) in $root/build-release"
cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCERTFLEET_BUILD_TESTS=OFF >/dev/null
cmake --build "$root/build-release" --parallel "$(nproc)" --target certfleetctl
ctl="$root/build-release/bin/certfleetctl"

step "Making a demonstration PKI in $demo_dir"
rm -rf "$demo_dir"
mkdir -p "$demo_dir"
cd "$demo_dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/O=certfleet demo/CN=certfleet Demo Root CA" -keyout root.key -out DemoRootCA.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -subj "/O=certfleet demo/CN=certfleet Demo Intermediate CA" -keyout intermediate.key -out intermediate.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > ca.ext
openssl x509 -req -in intermediate.csr -CA DemoRootCA.crt -CAkey root.key -CAcreateserial \
  -days 1825 -extfile ca.ext -out DemoIntermediateCA.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/C=JP/O=Example K.K./CN=www.example.test" \
  -addext "subjectAltName=DNS:www.example.test" -keyout server.key -out server.csr 2>/dev/null
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:www.example.test\n' > leaf.ext
openssl x509 -req -in server.csr -CA DemoIntermediateCA.crt -CAkey intermediate.key \
  -CAcreateserial -days 25 -extfile leaf.ext -out ssl_example.crt 2>/dev/null
openssl x509 -in ssl_example.crt -outform DER -out ssl_example.cer
openssl crl2pkcs7 -nocrl -certfile DemoIntermediateCA.crt -certfile DemoRootCA.crt -outform DER \
  -out DemoChain.p7b
echo "<html><body>404 Not Found</body></html>" > wrong-download.crt

for file in ssl_example.crt ssl_example.cer DemoChain.p7b DemoIntermediateCA.crt server.csr server.key; do
  step "certfleetctl cert inspect $file"
  "$ctl" cert inspect "$file"
done

step "certfleetctl cert inspect wrong-download.crt (a file that is not a certificate)"
if "$ctl" cert inspect wrong-download.crt; then
  echo "quickstart: expected certfleetctl to refuse wrong-download.crt" >&2
  exit 1
fi

cat <<MSG

Done. The demonstration files are in $demo_dir; try for example
  $ctl cert inspect $demo_dir/ssl_example.cer --json

What is not there yet: the controller, the agents and the emulated IIS 6
fleet (see the project's issues). When they land, this same command starts a
controller, several emulated IIS 6 hosts and their agents, and renews every
certificate that is about to expire.
MSG
