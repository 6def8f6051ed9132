#!/usr/bin/env bash
# Builds and runs Essaim. The README's run command.
# With no arguments: the relay on 127.0.0.1:3030, data in ./data, serving the
# PWA built in web/dist, in open mode (--open): anyone who reaches it reads and
# writes every document without an invitation, which is fine on your own
# machine only. Without --open, only holders of an invitation link get in
# (`essaim territory create`, `essaim invite`). Arguments are passed to
# `essaim` instead, e.g. `./scripts/run.sh serve --listen 0.0.0.0:3030
# --url https://agenda.example.org`, or `./scripts/run.sh --help`.
# Installs only what running needs (scripts/setup.sh), and says what it is
# doing while it builds.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Essaim: tools (scripts/setup.sh)"
./scripts/setup.sh
echo "== Essaim: web app (wasm client, then Vite)"
./scripts/build-web.sh
echo "== Essaim: relay (release build; the first one takes several minutes)"
cargo build --release -p server --bin essaim
if [ "$#" -eq 0 ]; then
  set -- serve --listen 127.0.0.1:3030 --data ./data --open --web web/dist
  echo "== Essaim: http://127.0.0.1:3030/ (Ctrl-C stops it)"
fi
exec target/release/essaim "$@"
