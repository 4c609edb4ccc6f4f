#!/usr/bin/env bash
# The databases a release leaves behind, as SQL, for the migrations test to upgrade
# (server/tests/api/migrations.rs): the server of COMMIT, built in a worktree of its own,
# started with the demo on SQLite and on PostgreSQL, used a little (sign-ins, usage, a
# token, a check by license key), stopped, and dumped with the engines' own tools.
#
# usage: scripts/release-fixture.sh COMMIT [OUT_DIR]   (default server/tests/fixtures/previous-release)
#
# The deployments' secret is the one the tests start servers with (REPLICA_SECRET in
# server/tests/api/helpers.rs). BENCH_PG (default the local server) holds the PostgreSQL
# database while it is made; FIXTURE_TARGET (default target/fixture) the release's build.
set -euo pipefail
cd "$(dirname "$0")/.."
commit=${1:?usage: scripts/release-fixture.sh COMMIT [OUT_DIR]}
out=${2:-server/tests/fixtures/previous-release}
target=$(realpath -m "${FIXTURE_TARGET:-target/fixture}")
pg=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
secret=5ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2e75ec2
full=$(git rev-parse "$commit")

work=$(mktemp -d)
db=tessera_fixture_$$
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  git worktree remove --force "$work/tree" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
git worktree add --detach "$work/tree" "$full" >/dev/null
echo "==> building the server of $full (into $target)"
(cd "$work/tree" && CARGO_TARGET_DIR="$target" cargo build -p server --bin tessera 2>&1 | tail -n 1)

# Starts the release on $1 with the demo, waits until it serves; its address in $base.
start() {
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  DATABASE_URL="$1" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$work" TESSERA_SECRET="$secret" TESSERA_DEMO=1 \
    RUST_LOG=warn "$target/debug/tessera" >"$work/server.log" 2>&1 &
  server=$!
  base="http://127.0.0.1:$port"
  for _ in $(seq 600); do curl -fs "$base/health" >/dev/null && return 0; sleep 0.1; done
  cat "$work/server.log"; return 1
}

# What a deployment does in a day, a little of each.
use() {
  local email
  for email in ada@initech.example staff@tessera.example grace@globex.example; do
    curl -fs -o /dev/null -c "$work/jar-$email" -H "Origin: $base" -H 'accept: application/json' \
      --data-urlencode "email=$email" --data-urlencode password=tessera-demo "$base/api/sign_in"
  done
  curl -fs -o /dev/null "$base/api/v1/usage" -H 'Authorization: Bearer tsk_demo_acme' -H 'Content-Type: application/json' \
    -d '{"events":[{"event_id":"release-fixture-1","customer":"initech","feature":"api.calls","quantity":250}]}'
  curl -fs -o /dev/null "$base/api/v1/tokens" -H 'Authorization: Bearer tsk_demo_acme' -H 'Content-Type: application/json' \
    -d '{"customer":"initech"}'
  local key
  key=$(sed -n 's/^Demo license key ([^)]*): //p' "$work/server.log" | head -n 1)
  curl -fs -o /dev/null "$base/api/v1/check" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
    -d '{"feature":"reports.export","user":"ada@initech.example"}'
}

stop() {
  kill -INT "$server"
  wait "$server" || true
  server=
}

mkdir -p "$out"
echo "==> SQLite"
start "sqlite://$work/tessera.db"
use
stop
{
  echo "-- The SQLite database of Tessera $full with its demo data, made by scripts/release-fixture.sh."
  sqlite3 "$work/tessera.db" .dump
} >"$out/sqlite.sql"

echo "==> PostgreSQL"
psql -q "$pg/postgres" -c "CREATE DATABASE $db"
start "$pg/$db"
use
stop
{
  echo "-- The PostgreSQL database of Tessera $full with its demo data, made by scripts/release-fixture.sh."
  pg_dump --no-owner --no-privileges "$pg/$db"
} >"$out/postgres.sql"
echo "$full" >"$out/COMMIT"
ls -l "$out"
