#!/usr/bin/env bash
# The enforcement API fuzzed from its own OpenAPI document with Schemathesis: every
# operation with requests the document allows and requests it does not; fails on a 5xx,
# an answer the document does not declare, or a request the document allows but the
# server refuses as malformed.
#   scripts/fuzz.sh [examples per operation]   (make fuzz: 200; make test: 25)
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-200}
profile=${TESSERA_PROFILE:-debug}

if ! command -v st >/dev/null; then
  echo "==> pip install schemathesis"
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
[ -x "target/$profile/tessera" ] || cargo build -p server --bin tessera $([ "$profile" = release ] && echo --release)

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
DATABASE_URL="sqlite://$dir/fuzz.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$dir" TESSERA_DEMO=1 RUST_LOG=warn \
  "target/$profile/tessera" >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done

st run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --header "Authorization: Bearer tsk_demo_acme" \
  --checks all \
  --max-examples "$examples" \
  --seed 20261203 \
  --workers 2 \
  --no-color
