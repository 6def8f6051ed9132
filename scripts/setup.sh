#!/usr/bin/env bash
# Installs what building and testing Essaim needs, idempotently, without root:
# the wasm32 Rust target (the core must build for the browser).
# System packages (Chromium for browser tests) are installed by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi
