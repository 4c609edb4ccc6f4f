# The two commands: `make run` and `make test`. Everything they need is installed on the way.
SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)

.PHONY: run dev test lint build build-release test-rust test-e2e bench bench-pages fuzz clean

## Build the release site and serve the portal on http://127.0.0.1:3000 (LEPTOS_SITE_ADDR overrides).
run: build-release
	LEPTOS_SITE_ROOT=target/site-release ./target/release/tessera

## Serve a debug build (quicker to rebuild while working on the code).
dev: build
	LEPTOS_SITE_ROOT=target/site-debug ./target/debug/tessera

## Run every test: the format and lint gates, Rust unit and integration tests (SQLite and
## PostgreSQL), Playwright, then a short Schemathesis pass over the enforcement API.
test: lint build test-rust test-e2e
	scripts/fuzz.sh 25

## The gates: rustfmt's layout and clippy without a single warning.
lint:
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

build:
	scripts/setup.sh test
	scripts/build-site.sh debug

build-release:
	scripts/setup.sh build
	scripts/build-site.sh release

test-rust:
	cargo test --workspace --features app/ssr

test-e2e:
	cd end2end && npx playwright test

## Enforcement figures on the release build: checks/s and latency against a bare handler,
## engine time per decision, batch checks, usage ingestion, token signing.
bench:
	scripts/bench.sh

## The enforcement API fuzzed by Schemathesis from its OpenAPI document (debug build).
fuzz: build
	scripts/fuzz.sh

## Page figures on the release build: wasm size and entitlements-page time to first byte.
bench-pages:
	scripts/bench-pages.sh

clean:
	cargo clean
	rm -rf end2end/node_modules end2end/test-results end2end/playwright-report
