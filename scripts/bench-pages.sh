#!/usr/bin/env bash
# Portal figures on the release build: the wasm bundle's size, the time to first byte of
# the entitlements page for a signed-in admin (N requests on loopback, default 50), and in
# Chromium, for portal and console pages, when each is interactive and the script and wasm
# it took on the wire (RUNS loads each, default 10).
#   scripts/bench-pages.sh        (make bench-pages)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-50}

scripts/setup.sh build >/dev/null
scripts/build-site.sh release >/dev/null 2>&1

pkg=target/site-release/pkg
hash=$(awk '/^wasm:/ {print $2}' target/site-release/hash.txt)
wasm="$pkg/tessera.$hash.wasm" js="$pkg/tessera.$hash.js"
wasm_raw=$(stat -c %s "$wasm")
wasm_gz=$(stat -c %s "$wasm.gz")
wasm_br=$(stat -c %s "$wasm.br")
js_raw=$(stat -c %s "$js")
js_gz=$(stat -c %s "$js.gz")

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
DATABASE_URL="sqlite://$dir/bench.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site-release \
  RUST_LOG=warn target/release/tessera >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fs "$base/health" >/dev/null && break; sleep 0.1; done

curl -fs -c "$dir/jar" -o /dev/null -H 'accept: application/json' \
  --data-urlencode email=ada@initech.example --data-urlencode password=tessera-demo "$base/api/sign_in"
page() { curl -fs -b "$dir/jar" -o /dev/null -H 'accept: text/html' -w '%{time_starttransfer}\n' "$base/entitlements"; }
for _ in $(seq 5); do page >/dev/null; done
for _ in $(seq "$n"); do page; done >"$dir/ttfb"

sort -g "$dir/ttfb" | awk -v n="$n" '
  { v[NR] = $1 * 1000 }
  END {
    printf "entitlements page TTFB over %d requests (ms): median %.2f  p90 %.2f  min %.2f  max %.2f\n",
      n, v[int((n + 1) / 2)], v[int(n * 0.9)], v[1], v[n]
  }'
(cd end2end && node hydration.mjs "$base" "${RUNS:-10}")
printf 'release wasm: %d bytes raw, %d bytes gzip, %d bytes brotli (as served); JS glue: %d raw, %d gzip\n' "$wasm_raw" "$wasm_gz" "$wasm_br" "$js_raw" "$js_gz"
