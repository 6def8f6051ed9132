#!/usr/bin/env bash
# Runs every test of Essaim. The README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh

echo "== format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== tests (unit, simulation, property, golden, integration)"
# The crash test runs the real `essaim` binary; build it up front.
cargo build -p server --bin essaim --quiet
cargo test --workspace

echo "== sync-core builds for wasm32-unknown-unknown (no OS dependency)"
cargo build -p sync-core --target wasm32-unknown-unknown --quiet

echo "== all tests passed"
