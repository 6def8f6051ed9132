#!/usr/bin/env bash
# Builds the PWA into web/dist: the wasm client (size profile), its
# JavaScript bindings (wasm-bindgen, installed by setup.sh), then the
# TypeScript app with Vite (type-checked first).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build -p wasm-client --target wasm32-unknown-unknown --profile wasm-release --quiet
wasm-bindgen --target web --remove-name-section --remove-producers-section \
  --out-dir web/src/pkg target/wasm32-unknown-unknown/wasm-release/wasm_client.wasm
(cd web && npm run --silent build)
