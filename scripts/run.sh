#!/usr/bin/env bash
# Builds and runs Essaim. The README's run command.
# With no arguments: the relay on 127.0.0.1:3030, data in ./data, serving the
# PWA built in web/dist. Anyone may create a territory from the app
# (`--creation ouverte`); everything else needs an invitation link, which the
# app creates and shares. On an empty data directory it first creates
# demonstration territories (`essaim demo`), readable by anyone;
# `./scripts/run.sh --no-demo` skips them. Other arguments are passed to
# `essaim` instead, e.g. `./scripts/run.sh serve --listen 0.0.0.0:3030
# --url https://agenda.example.org`, or `./scripts/run.sh --help`.
# Installs only what running needs (scripts/setup.sh), and says what it is
# doing while it builds.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=1
if [ "${1:-}" = "--no-demo" ]; then
  demo=0
  shift
fi

echo "== Essaim: tools (scripts/setup.sh)"
./scripts/setup.sh
echo "== Essaim: web app (wasm client, then Vite)"
./scripts/build-web.sh
echo "== Essaim: relay (release build; the first one takes several minutes)"
cargo build --release -p server --bin essaim
essaim=target/release/essaim
if [ "$#" -eq 0 ]; then
  url=http://127.0.0.1:3030
  # Only on an empty data directory: never demonstrations next to real territories.
  if [ "$demo" = 1 ] && [ -z "$("$essaim" territory list --data ./data)" ]; then
    echo "== Essaim: demonstration territories (essaim demo; --no-demo skips them)"
    "$essaim" demo --data ./data --url "$url"
  fi
  set -- serve --listen 127.0.0.1:3030 --data ./data --creation ouverte --web web/dist
  echo "== Essaim: $url/ (Ctrl-C stops it)"
fi
exec "$essaim" "$@"
