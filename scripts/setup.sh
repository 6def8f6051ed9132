#!/usr/bin/env bash
# Installs what building and running Essaim needs, idempotently, without
# root: the wasm32 Rust target, wasm-bindgen-cli (the browser client) and the
# npm packages that build the web app (web/package.json's `dependencies`).
# What only the tests need is installed by scripts/setup-tests.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "setup: adding the wasm32-unknown-unknown Rust target"
    rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in
# Cargo.lock. Not `--locked`: the CLI's own lock names a crate version the
# registry mirror lacks. About 3.5 minutes, once.
bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]; then
    echo "setup: compiling wasm-bindgen-cli $bindgen (about 3.5 minutes, once)"
    cargo install wasm-bindgen-cli --version "$bindgen" --quiet
fi

# The web app's build packages, pinned in web/package-lock.json. `npm
# install` rather than `npm ci` (see setup-tests.sh); reinstalled only when
# the lock changed. A stamp says which set is there: `build` (this script,
# `--omit=dev`) or `all` (setup-tests.sh), which also builds.
command -v npm >/dev/null || { echo "setup: Node.js 20 or later with npm is needed to build the web app" >&2; exit 1; }
lock=$(cat web/package-lock.json web/package.json | sha256sum | cut -d' ' -f1)
installed=$(cat web/node_modules/.essaim-lock 2>/dev/null || true)
if [ "$installed" != "build $lock" ] && [ "$installed" != "all $lock" ]; then
    echo "setup: installing the web app's build packages (npm)"
    (cd web && npm install --omit=dev --no-audit --no-fund --loglevel=error)
    echo "build $lock" >web/node_modules/.essaim-lock
fi
