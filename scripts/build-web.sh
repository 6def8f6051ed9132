#!/usr/bin/env bash
# Builds the PWA into web/dist: the wasm client (size profile), its
# JavaScript bindings (wasm-bindgen, installed by setup.sh), then the
# TypeScript app with Vite (type-checked first). The TypeScript declarations
# of the read model and edits (web/src/genere/agenda.ts) are generated from
# the Rust types and committed: the build stops first if they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo test -p wasm-client --quiet typescript_declarations_are_up_to_date >/dev/null || {
  echo "web/src/genere/agenda.ts is stale: UPDATE_EXPECT=1 cargo test -p wasm-client typescript" >&2
  exit 1
}
cargo build -p wasm-client --target wasm32-unknown-unknown --profile wasm-release --quiet
wasm-bindgen --target web --remove-name-section --remove-producers-section \
  --out-dir web/src/pkg target/wasm32-unknown-unknown/wasm-release/wasm_client.wasm
(cd web && npm run --silent build)
