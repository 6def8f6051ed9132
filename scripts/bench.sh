#!/usr/bin/env bash
# Compares Essaim's relay with the reference JavaScript sync server
# (automerge-repo 2.5.6, tests/interop/server.mjs) on the same machine, in
# the same run, and prints the table recorded in docs/benchmarks.md.
#   scripts/bench.sh                      # every workload, full sizes
#   scripts/bench.sh --only fan-out --clients 50
#   scripts/bench.sh --smoke              # tiny sizes, seconds
#   scripts/bench.sh cluster [--smoke]    # SQLite, PostgreSQL, 3 relays on PostgreSQL + NATS
set -euo pipefail
cd "$(dirname "$0")/.."
# The reference server is the interoperability tests' automerge-repo, and
# the cluster bench runs PostgreSQL and NATS: the tests' set-up has both.
./scripts/setup-tests.sh
# 10,000 idle connections need as many descriptors on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [ "${1:-}" = cluster ]; then
    shift
    cargo build --release --quiet -p server --bin essaim --features cluster -p bench --bin essaim-bench
    exec target/release/essaim-bench cluster "$@"
fi
cargo build --release --quiet -p server --bin essaim -p bench --bin essaim-bench
exec target/release/essaim-bench compare "$@"
