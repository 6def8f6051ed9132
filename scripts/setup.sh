#!/usr/bin/env bash
# Installs what building and testing Essaim needs, idempotently, without root:
# the wasm32 Rust target and wasm-bindgen-cli (the browser client), Python
# and npm packages for tests and the web app.
# System packages (Chromium for browser tests) are installed by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in
# Cargo.lock. Not `--locked`: the CLI's own lock names a crate version the
# registry mirror lacks. About 3.5 minutes, once.
bindgen=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen" ]; then
    cargo install wasm-bindgen-cli --version "$bindgen" --quiet
fi

# The rhythm engine's oracle test (tests/it/rythme_oracle.rs) runs
# python-dateutil and zoneinfo with a pinned tzdata, in a venv under target/
# so that the system Python is left alone. Needs python3 with venv and PyPI.
# The feeds' oracle (tests/it/flux_oracle.rs) adds icalendar and
# recurring-ical-events in the same venv.
venv=target/rythme-oracle-venv
if ! "$venv/bin/python3" -c 'import dateutil, tzdata; from importlib.metadata import version as v; assert (dateutil.__version__, tzdata.__version__, v("icalendar"), v("recurring-ical-events")) == ("2.9.0.post0", "2026.6", "7.3.2", "3.8.2")' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check 'python-dateutil==2.9.0.post0' 'tzdata==2026.6' \
        'icalendar==7.3.2' 'recurring-ical-events==3.8.2'
fi

# The interoperability tests (tests/it/interop.rs) run the real JavaScript
# automerge-repo, pinned in tests/interop/package-lock.json. `npm install`
# rather than `npm ci`: the lock names optional native packages
# (@cbor-extract/*) that a registry mirror may lack, and cbor-x works without
# them. Reinstalled only when the lock file changed (stamp in node_modules).
# The same package pins schema-dts and TypeScript, which check that the
# JSON-LD feeds use only schema.org's vocabulary (tests/it/flux_oracle.rs).
# The web app (web/) is built with Vite and tested with playwright-core,
# pinned in web/package-lock.json, installed the same way.
for dir in tests/interop web; do
    stamp="$dir/node_modules/.essaim-lock.sha256"
    if ! sha256sum --status -c "$stamp" 2>/dev/null; then
        command -v npm >/dev/null || { echo "setup: npm (Node 20) is needed for $dir" >&2; exit 1; }
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
        sha256sum "$dir/package-lock.json" "$dir/package.json" >"$stamp"
    fi
done
