#!/usr/bin/env bash
# Runs every fuzz target for <minutes> each, one after the other (one job:
# the machine's cores are shared), and prints executions and findings per
# target. Usage: fuzz/run.sh <minutes> [target…]
set -euo pipefail
cd "$(dirname "$0")"
minutes=${1:?usage: fuzz/run.sh <minutes> [target…]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire_decode repo_empty repo_territory agenda_reader)
mkdir -p logs
printf '%-16s %12s %10s %8s %s\n' target executions exec/s cov findings
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(ls "artifacts/$t" | wc -l)
  # -ignore_crashes/-fork keep going after a finding, so one known crash
  # does not end the campaign; every crashing input lands in artifacts/.
  cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time=$((minutes * 60)) -rss_limit_mb=2048 -timeout=10 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -print_final_stats=1 >"logs/$t.log" 2>&1 || true
  # (grep finds nothing in some logs: `|| true` keeps `pipefail` from
  # ending the campaign there.)
  runs=$( (grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" || true) | awk '{s+=$2} END {print s+0}')
  [ "$runs" -gt 0 ] || runs=$( (grep -oE '^#[0-9]+' "logs/$t.log" || true) | tail -1 | tr -d '#')
  cov=$( (grep -oE 'cov: [0-9]+' "logs/$t.log" || true) | tail -1 | awk '{print $2}')
  after=$(ls "artifacts/$t" | wc -l)
  printf '%-16s %12s %10s %8s %s\n' "$t" "${runs:-0}" "$(( ${runs:-0} / (minutes * 60) ))" "${cov:-?}" "$((after - before)) new in fuzz/artifacts/$t"
done
