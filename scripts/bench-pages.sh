#!/usr/bin/env bash
# Portal figures on the release build: the wasm bundle's size, the time to first byte of
# the entitlements page for a signed-in admin (N requests on loopback, default 50), and in
# Chromium, for portal and console pages, when each is interactive and the script and wasm
# it took on the wire (RUNS loads each, default 10). Then the console at a vendor's size:
# SCALE customers (default 100,000) with ten audit events and a hundred usage events each,
# seeded into a new database at start; for each list, its HTML's size and time to first
# byte as vendor staff (N requests each).
#   scripts/bench-pages.sh        (make bench-pages)
#   SCALE=0 scripts/bench-pages.sh   (without the part at scale)
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
kill $server 2>/dev/null; wait $server 2>/dev/null || true

scale=${SCALE:-100000}
[ "$scale" -gt 0 ] || exit 0
started=$(date +%s)
DATABASE_URL="sqlite://$dir/scale.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT=target/site-release TESSERA_BENCH_SCALE="$scale" \
  RUST_LOG=warn target/release/tessera >"$dir/scale.log" 2>&1 &
server=$!
until curl -fs "$base/health" >/dev/null; do
  kill -0 $server 2>/dev/null || { cat "$dir/scale.log"; exit 1; }
  sleep 1
done
echo "at scale: $scale customers, $((scale * 10)) audit events, $((scale * 100)) usage events seeded and served in $(($(date +%s) - started)) s" \
  "(database $(du -m "$dir/scale.db" | cut -f1) MB; server resident $(($(awk '/VmRSS/ {print $2}' /proc/$server/status) / 1024)) MB)"
rm -f "$dir/jar"
curl -fs -c "$dir/jar" -o /dev/null -H 'accept: application/json' \
  --data-urlencode email=staff@tessera.example --data-urlencode password=tessera-demo "$base/api/sign_in"
# The second page of customers starts after the first page's last.
after=$(curl -fs -b "$dir/jar" -H 'accept: text/html' "$base/customers" | grep -o 'after=[0-9]*' | head -1)
measure() {
  local path=$1
  for _ in $(seq 3); do curl -fs -b "$dir/jar" -o /dev/null -H 'accept: text/html' "$base$path"; done
  for _ in $(seq "$n"); do
    curl -fs -b "$dir/jar" -o /dev/null -H 'accept: text/html' -w '%{time_starttransfer} %{size_download}\n' "$base$path"
  done | sort -g | awk -v n="$n" -v path="$path" '
    { v[NR] = $1 * 1000; if ($2 > size) size = $2 }
    END { printf "  %-42s %7.1f KB  TTFB median %6.2f ms  p95 %6.2f ms  max %6.2f ms\n", path, size / 1024, v[int((n + 1) / 2)], v[int(n * 0.95)], v[n] }'
}
echo "console pages at scale as vendor staff, $n requests each:"
for path in /dashboard /customers "/customers?$after" "/customers?search=customer+4242" "/customers?search=admin%40scale-4242.example" \
  /customers?show=trial-ending /customers?show=term-ending /customers?show=renewing /customers?show=near-limit \
  /customers/scale-4242 /audit "/audit?customer=scale-4242" "/audit?kind=request" "/audit?actor=nobody" \
  "/audit?actor=admin%40scale-4242." "/audit?actor=scale-42" "/audit?actor=scale-42&kind=request" \
  "/instances?customer=scale-42" "/instances?customer=scale-42&search=build-agent-4242" /approvals "/approvals?overdue=true"; do
  measure "$path"
done
