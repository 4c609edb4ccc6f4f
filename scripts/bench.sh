#!/usr/bin/env bash
# Enforcement benchmark (make bench): builds release, starts the server on a fresh SQLite
# database with CUSTOMERS demo-like customers (default 1,000), and loads it on loopback
# from a separate process (tessera-load) over keep-alive connections. The bare handler is
# loaded the same way, so the check figure also reads as a ratio that survives a noisy
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${CUSTOMERS:-1000}
secs=${BENCH_SECONDS:-10}
check_secs=${CHECK_SECONDS:-5}
conns=${CONNECTIONS:-32}

cargo build --release -p server --bins 2>&1 | tail -n 1

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
DATABASE_URL="sqlite://$dir/bench.db" LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$dir" \
  TESSERA_BENCH_CUSTOMERS="$customers" TESSERA_DEMO=1 TESSERA_FORWARDED=1 TESSERA_WEBHOOK_PRIVATE_NETWORKS=1 RUST_LOG=warn target/release/tessera >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 600); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { cat "$dir/server.log"; exit 1; }

# `scripts/bench.sh flood` runs only the checks during a sign-in flood; `scripts/bench.sh pg`
# only the part on PostgreSQL; `scripts/bench.sh soak` (make soak) only the soak, which no
# other part runs.
only=${1:-all}
load() { target/release/tessera-load --url "127.0.0.1:$port" --customers "$customers" --seconds "$secs" "$@"; }
load_short() { target/release/tessera-load --url "127.0.0.1:$port" --customers "$customers" --seconds "$check_secs" "$@"; }
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $customers customers; ${secs}s per run; load generator on the same cores"
if [ "$only" = all ]; then
  target/release/tessera-load --mode engine
  # Bare and check take turns, three rounds each, so that drift on a shared machine hits
  # both alike; the ratio reported is the median of the three rounds.
  rps() { sed -E 's/.* ([0-9]+) req\/s.*/\1/' <<<"$1"; }
  # The same checks authorised by each customer's license key (check-key) take their turn
  # too, as a ratio to the vendor key's.
  ratio() { awk -v a="$(rps "$1")" -v b="$(rps "$2")" 'BEGIN { printf "%.2f", a / b }'; }
  median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
  ratios=(); key_ratios=()
  for round in 1 2 3; do
    bare=$(load_short --mode bare --connections "$conns"); echo "round $round $bare"
    check=$(load_short --mode check --connections "$conns"); echo "round $round $check"
    keyed=$(load_short --mode check-key --connections "$conns"); echo "round $round $keyed"
    ratios+=("$(ratio "$check" "$bare")")
    key_ratios+=("$(ratio "$keyed" "$check")")
  done
  printf 'check / bare throughput per round: %s\n' "${ratios[*]}"
  echo "check / bare throughput (median): $(median "${ratios[@]}")"
  printf 'license-key check / vendor-key check throughput per round: %s\n' "${key_ratios[*]}"
  echo "license-key check / vendor-key check throughput (median): $(median "${key_ratios[@]}")"
  load --mode checks --connections 4
  load --mode usage --connections 4
  load --mode tokens --connections "$conns"
  load --mode licences --connections "$conns"
  # The provisioning API's writes (a customer created, with its audit event, each), then
  # webhooks to a receiver on loopback: a backlog drained, and writes at 20 a second timed
  # from each write's answer to its delivery.
  load --mode provision --connections 4
  load --mode webhooks --rate 20
fi
# Checks alone, then the same checks while a credential-stuffing run guesses 200 passwords
# a second from ever new accounts and addresses (unbounded, that is 200 argon2 hashes a
# second, several cores' worth): the enforcement API's p99 with and without it.
# First as fast as answers come (the machine's limit, shared with the flood), then three
# rounds at a steady STEADY_RATE checks a second (a busy deployment's load), each check
# timed from when it was due. The flood starts first and outlasts the checks.
flood_secs=$((check_secs + 1))
if [ "$only" = all ] || [ "$only" = flood ]; then
quiet=$(load_short --mode check --connections 16); echo "checks alone: $quiet"
load_short --mode sign-in-flood --connections 16 --rate 200 --seconds "$flood_secs" >"$dir/flood" &
flood=$!
sleep 0.5
flooded=$(load_short --mode check --connections 16); echo "checks during a sign-in flood: $flooded"
wait $flood; echo "the flood (200 guesses/s; 401 hashed and refused, 429 turned away unhashed, all counted as errors): $(cat "$dir/flood")"
steady=${STEADY_RATE:-5000}
for round in 1 2 3; do
  echo "round $round steady $steady checks/s alone: $(load_short --mode check --connections 16 --rate "$steady")"
  load_short --mode sign-in-flood --connections 16 --rate 200 --seconds "$flood_secs" >"$dir/flood" &
  flood=$!
  sleep 0.5
  echo "round $round steady $steady checks/s during a sign-in flood: $(load_short --mode check --connections 16 --rate "$steady")"
  wait $flood; echo "round $round the flood: $(cat "$dir/flood")"
  # The control: as many requests a second to the bare handler, which does nothing, so
  # that what any 200 extra requests a second cost these two cores is told apart from
  # what sign-ins cost.
  load_short --mode bare --connections 16 --rate 200 --seconds "$flood_secs" >"$dir/control" &
  control=$!
  sleep 0.5
  echo "round $round steady $steady checks/s during 200 bare requests/s: $(load_short --mode check --connections 16 --rate "$steady")"
  wait $control
done
fi

# PostgreSQL (BENCH_PG, default the local server): the same customers seeded into a new
# database, dropped afterwards. Checks in batches, usage and tokens as above; then a second
# replica on the same database: the time from a change answered by one to the changed answer
# of a check on the other, again once each replica's change feed was cut (each reloads
# everything and listens again), and checks with one replica and with two.
if [ "$only" = all ] || [ "$only" = pg ]; then
  pg=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
  db=tessera_bench_$$
  psql -q "$pg/postgres" -c "CREATE DATABASE $db"
  # Started in this shell (not in a command substitution), so that it can wait for them.
  replica() {
    DATABASE_URL="$pg/$db" LEPTOS_SITE_ADDR="127.0.0.1:$1" LEPTOS_SITE_ROOT="$dir" TESSERA_SECRET="$(printf 'be%.0s' $(seq 32))" \
      TESSERA_BENCH_CUSTOMERS="$customers" TESSERA_DEMO=1 RUST_LOG=warn target/release/tessera >"$dir/replica-$1.log" 2>&1 &
  }
  healthy() {
    for _ in $(seq 1200); do curl -fs "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.1; done
    cat "$dir/replica-$1.log"; return 1
  }
  free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
  p1=$(free_port); replica "$p1"; r1=$!
  trap 'kill $server $r1 ${r2:-} 2>/dev/null; wait $server $r1 ${r2:-} 2>/dev/null || true; psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"; rm -rf "$dir"' EXIT
  healthy "$p1"
  p2=$(free_port); replica "$p2"; r2=$!
  healthy "$p2"
  at() { target/release/tessera-load --url "127.0.0.1:$1" --customers "$customers" --seconds "$secs" "${@:2}"; }
  echo "PostgreSQL $(psql -tA "$pg/postgres" -c 'SHOW server_version'): two replicas on one database"
  echo "postgres $(at "$p1" --mode checks --connections 4)"
  echo "postgres $(at "$p1" --mode usage --connections 4)"
  echo "postgres $(at "$p1" --mode tokens --connections "$conns")"
  at "$p1" --mode propagation --peer "127.0.0.1:$p2"
  cut=$(psql -tA "$pg/postgres" -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$db' AND query ILIKE 'LISTEN%'")
  echo "change feeds cut: $cut"
  at "$p1" --mode propagation --peer "127.0.0.1:$p2"
  short() { target/release/tessera-load --url "127.0.0.1:$1" --customers "$customers" --seconds "$check_secs" "${@:2}"; }
  echo "checks, one replica: $(short "$p1" --mode check --connections "$conns")"
  short "$p1" --mode check --connections $((conns / 2)) >"$dir/one" &
  one=$!
  other=$(short "$p2" --mode check --connections $((conns / 2)))
  wait $one
  echo "checks, two replicas (half the connections each): $(cat "$dir/one") + $other"
fi

# The soak (make soak): checks, tokens, usage batches, instance activations and releases and
# portal pages mixed, first as fast as they go (the peak), then SOAK_SECONDS (default 600) at
# half that rate, reported a minute at a time with the server's memory; it fails on an error,
# an unsteady p99 or memory that grew by more than a tenth.
if [ "$only" = soak ]; then
  if ! target/release/tessera-load --url "127.0.0.1:$port" --customers "$customers" --mode soak --connections "$conns" \
    --seconds "${SOAK_SECONDS:-600}" --window "${SOAK_WINDOW:-60}" --server-pid "$server"; then
    echo "the server's log ends:"; tail -n 40 "$dir/server.log"; exit 1
  fi
fi
