#!/usr/bin/env bash
# Builds the whole site without cargo-leptos: the wasm bundle that hydrates the pages,
# its JS glue, the CSS and public files, and beside them the server binary.
#   scripts/build-site.sh debug|release [--site-only]
# The site lands in target/site-<profile>; the server reads it via LEPTOS_SITE_ROOT.
# --site-only leaves the server out (`make test` builds it with the tests, in one go).
# The wasm and the server are built at the same time (each has a profile of its own, so
# neither waits for the other's lock), the wasm and its binder at a lower priority: the
# server's build (or the tests', beside `--site-only`) is the longer chain of crates, and the
# wasm's takes the cores whenever that chain leaves one idle (BENCHMARKS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-debug}
site_only=${2:-}
site=target/site-$profile
pkg=$site/pkg

case "$profile" in
  debug)   wasm_flags=(--profile wasm-dev);       wasm_dir=wasm-dev;     server_flags=() ;;
  release) wasm_flags=(--profile wasm-release);   wasm_dir=wasm-release; server_flags=(--release) ;;
  *) echo "usage: $0 debug|release" >&2; exit 2 ;;
esac

if [ "$profile" = release ]; then
  # Panic messages name their source files: the registry's path is the build machine's
  # business, not the bundle's (shorter, too).
  # Flags for a target replace .cargo/config.toml's: its --cfg is repeated here.
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--cfg erase_components --remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src/="
fi

mkdir -p target
# The binder of wasm and JavaScript (scripts/bindgen, built once per machine) is needed only
# once the wasm is compiled.
bindgen_log=target/bindgen-build.log
bindgen_bin=target/bindgen/release/tessera-bindgen
nice -n 10 cargo build --manifest-path scripts/bindgen/Cargo.toml --release --locked --target-dir target/bindgen >"$bindgen_log" 2>&1 &
bindgen=$!

server_log=target/server-$profile.log
if [ "$site_only" != --site-only ]; then
  echo "==> server ($profile), beside the wasm (its output: $server_log)"
  cargo build -p server --bin tessera "${server_flags[@]}" >"$server_log" 2>&1 &
  server=$!
fi
trap 'kill $bindgen ${server:-} 2>/dev/null || true' EXIT

echo "==> wasm ($profile)"
nice -n 10 cargo build -p app --lib --target wasm32-unknown-unknown --no-default-features --features hydrate "${wasm_flags[@]}"

if ! wait $bindgen; then
  cat "$bindgen_log"
  exit 1
fi
mkdir -p "$pkg"
"$bindgen_bin" "target/wasm32-unknown-unknown/$wasm_dir/app.wasm" "$pkg" tessera

if [ "$profile" = release ]; then
  # Debian's wasm-opt breaks the bundle; only npm's binaryen is used. -O1, not -Oz: of the
  # bundle as served, brotli's bytes are fewer (213,202 against 227,918; gzip 269,707
  # against 300,561) though the raw file is larger, and it runs in 4 s instead of 16, at
  # the end of every release build (BENCHMARKS.md).
  wasm_opt=end2end/node_modules/.bin/wasm-opt
  if [ -x "$wasm_opt" ]; then
    echo "==> wasm-opt"
    "$wasm_opt" -O1 --enable-bulk-memory --enable-nontrapping-float-to-int \
      -o "$pkg/tessera_bg.opt.wasm" "$pkg/tessera_bg.wasm"
    mv "$pkg/tessera_bg.opt.wasm" "$pkg/tessera_bg.wasm"
  else
    echo "    (no npm wasm-opt in end2end/node_modules: the bundle stays unoptimised)"
  fi
fi

cat style/main.css $(ls style/*.css | grep -v "^style/main.css$" | sort) > "$pkg/tessera.css"
cp -R public/. "$site/"

# Content-hashed names, so that browsers may keep each file for a year: a new build is a
# new name. hash.txt tells the server (and Leptos's loader) which names to use.
hash=$(cat "$pkg/tessera.js" "$pkg/tessera_bg.wasm" "$pkg/tessera.css" | sha256sum | cut -c1-16)
rm -f "$pkg"/tessera.*.js "$pkg"/tessera.*.wasm "$pkg"/tessera.*.css "$pkg"/*.br "$pkg"/*.gz
mv "$pkg/tessera.js" "$pkg/tessera.$hash.js"
mv "$pkg/tessera_bg.wasm" "$pkg/tessera.$hash.wasm"
mv "$pkg/tessera.css" "$pkg/tessera.$hash.css"
printf 'js: %s\nwasm: %s\ncss: %s\n' "$hash" "$hash" "$hash" > "$site/hash.txt"
echo "==> precompress (brotli, gzip)"
fast=(); [ "$profile" = debug ] && fast=(--fast)
node scripts/compress.mjs "${fast[@]}" "$pkg/tessera.$hash.js" "$pkg/tessera.$hash.wasm" "$pkg/tessera.$hash.css"

if [ "$site_only" = --site-only ]; then
  trap - EXIT
  exit 0
fi
echo "==> waiting for the server ($profile)"
if ! wait $server; then
  trap - EXIT
  tail -n 60 "$server_log"
  exit 1
fi
trap - EXIT
tail -n 1 "$server_log"
