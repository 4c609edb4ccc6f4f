# The two commands: `make run` and `make test`. Everything they need is installed on the way.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run dev release test format components lint build test-rust test-e2e bench bench-pages soak fuzz clean

## Build the release site and server and serve the portal on http://127.0.0.1:3000
## (LEPTOS_SITE_ADDR overrides): what a deployment runs (from nothing on two cores about
## 10 minutes: BENCHMARKS.md).
run: release
	LEPTOS_SITE_ROOT=target/site-release ./target/release/tessera

## Serve a debug build (quicker to rebuild while working on the code).
dev: build
	LEPTOS_SITE_ROOT=target/site-debug ./target/debug/tessera

## Run every test: rustfmt's layout; the Rust unit and integration tests (SQLite and
## PostgreSQL), compiled with clippy's lints as errors; Playwright against the server that
## same build made; then a short Schemathesis pass over the enforcement API.
test: format
	scripts/setup.sh test
	@mkdir -p target
	@echo "==> the debug site (its output: target/site-debug.log), beside the tests' build"
	scripts/build-site.sh debug --site-only >target/site-debug.log 2>&1 & site=$$!; \
	  $(LINTED) cargo test --workspace --features app/ssr --no-run; built=$$?; \
	  if ! wait $$site; then tail -n 60 target/site-debug.log; exit 1; fi; tail -n 3 target/site-debug.log; exit $$built
	$(LINTED) cargo test --workspace --features app/ssr
	cd end2end && npx playwright test
	scripts/fuzz.sh 25

# Clippy's lints, every warning an error, checked as the workspace's own crates compile for
# the tests: what is tested is what was linted, and nothing is compiled twice for the gate.
LINTED = RUSTC_WORKSPACE_WRAPPER="$$(rustup which clippy-driver)" CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

components:
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy

format: components
	cargo fmt --all --check

## The gates on their own: rustfmt's layout and clippy without a single warning.
lint: format
	cargo clippy --workspace --all-targets -- -D warnings

## The debug site and server (`make dev` serves them).
build:
	scripts/setup.sh build
	scripts/build-site.sh debug

## The optimised server and site a deployment runs (target/release/tessera, serving
## LEPTOS_SITE_ROOT=target/site-release), and what the benchmarks measure.
release:
	scripts/setup.sh build
	scripts/build-site.sh release

test-rust: components
	$(LINTED) cargo test --workspace --features app/ssr

## Playwright, on the server the tests' build makes (built first if it is not there yet).
test-e2e: components
	scripts/build-site.sh debug --site-only
	$(LINTED) cargo test --workspace --features app/ssr --no-run
	cd end2end && npx playwright test

## Enforcement figures on the release build: checks/s and latency against a bare handler,
## engine time per decision, batch checks, usage ingestion, token signing; then on
## PostgreSQL with two replicas: changes followed from one to the other.
bench:
	scripts/bench.sh

## The enforcement API fuzzed by Schemathesis from its OpenAPI document (debug build).
fuzz: build
	scripts/setup.sh test
	scripts/fuzz.sh

## Page figures on the release build: wasm size and entitlements-page time to first byte.
bench-pages:
	scripts/bench-pages.sh

## Ten minutes at half the measured peak of checks, tokens, usage, instances and portal pages
## (release build, SQLite): fails on any error, an unsteady p99 or growing memory.
soak:
	scripts/bench.sh soak

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report
