#!/usr/bin/env bash
# Builds and runs Essaim. The README's run command.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
exec cargo run --release --quiet -p server --bin essaim -- "$@"
