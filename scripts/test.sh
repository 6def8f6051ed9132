#!/usr/bin/env bash
# Runs every test of Essaim. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup-tests.sh

# The browser tests drive Debian's Chromium (playwright-core cannot
# download browsers here). Installed when missing if we may (root).
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null
    else
        echo "setup: Chromium is needed for the browser tests: sudo apt-get install chromium" >&2
        exit 1
    fi
fi

echo "== format and lints (at ${SECONDS} s)"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== tests (unit, simulation, property, golden, integration) (at ${SECONDS} s)"
# The default build (a village's relay) has no PostgreSQL or NATS client:
# those come only with the `cluster` feature.
if cargo tree -p server -e normal --prefix none | grep -qE '^(postgres|tokio-postgres|async-nats) '; then
    echo "the default build of the relay depends on PostgreSQL or NATS clients" >&2
    exit 1
fi
cargo build -p server --bin essaim --quiet
# The crash and cluster tests run the real `essaim` binary, with the
# `cluster` feature; build it up front.
cargo build -p server --bin essaim --features cluster --quiet
cargo test --workspace

echo "== benchmarks, smoke sizes, against the relay and the reference JS server (at ${SECONDS} s)"
cargo build -p bench --bin essaim-bench --quiet
target/debug/essaim-bench compare --smoke
# The cluster mode's: SQLite, PostgreSQL and three relays on PostgreSQL
# and NATS (the `essaim` beside it was built with `--features cluster`).
target/debug/essaim-bench cluster --smoke

echo "== sync-core builds for wasm32-unknown-unknown (no OS dependency) (at ${SECONDS} s)"
cargo build -p sync-core --target wasm32-unknown-unknown --quiet

echo "== web app: wasm client, type check, Vite build (at ${SECONDS} s)"
./scripts/build-web.sh

echo "== web app end to end, in Chromium, against the relay binary (at ${SECONDS} s)"
(cd web && node --test --test-reporter=spec tests/)

echo "== all tests passed (at ${SECONDS} s)"
