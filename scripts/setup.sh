#!/usr/bin/env bash
# Installs what building and testing Tessera needs, skipping whatever is already there.
#   scripts/setup.sh build     the wasm target, end2end's npm packages
#   scripts/setup.sh test      all of the above, plus Debian's chromium and the Python
#                              packages of the tests
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}

export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  echo "==> rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "==> apt-get install nodejs npm"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi

# end2end/ holds the Playwright tests and npm's binaryen (wasm-opt for release builds).
stamp=end2end/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ end2end/package-lock.json -nt "$stamp" ]; then
  echo "==> npm ci (end2end)"
  (cd end2end && npm ci --no-audit --no-fund)
fi

if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> apt-get install chromium"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

# PyJWT verifies licences in the tests as an integrator would: an independent JWT library
# holding only the JWKS.
if [ "$mode" = test ] && ! python3 -c 'import jwt, cryptography' 2>/dev/null; then
  echo "==> pip install pyjwt[crypto]"
  python3 -m pip install --quiet --disable-pip-version-check 'pyjwt[crypto]>=2.8,<3'
fi

# Prometheus's own Python client parses /metrics in the tests, as a scraper would.
if [ "$mode" = test ] && ! python3 -c 'import prometheus_client' 2>/dev/null; then
  echo "==> pip install prometheus-client"
  python3 -m pip install --quiet --disable-pip-version-check 'prometheus-client>=0.20,<1'
fi

# The Standard Webhooks reference library verifies deliveries in the tests, as a
# receiver would: it holds only the endpoint's secret.
if [ "$mode" = test ] && ! python3 -c 'import standardwebhooks' 2>/dev/null; then
  echo "==> pip install standardwebhooks"
  python3 -m pip install --quiet --disable-pip-version-check 'standardwebhooks>=1,<2'
fi

# Schemathesis fuzzes the enforcement API from its OpenAPI document (make fuzz; a short
# pass in make test).
if [ "$mode" = test ] && ! command -v st >/dev/null; then
  echo "==> pip install schemathesis"
  python3 -m pip install --quiet --disable-pip-version-check 'schemathesis>=4.3,<5'
fi
