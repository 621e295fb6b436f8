#!/usr/bin/env bash
# Runs fuzz targets (all by default) for FUZZ_RUNS executions or FUZZ_SECONDS
# seconds each, whichever comes first, JOBS at a time, and prints one
# Markdown row per target: executions, seconds, coverage, corpus size, crashes.
# usage: fuzz/run.sh [TARGET ...]   (env: FUZZ_RUNS=1000000 FUZZ_SECONDS=1800 JOBS=2)
set -euo pipefail
cd "$(dirname "$0")"
runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-1800}
jobs=${JOBS:-2}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
mkdir -p logs
one() {
  local t=$1
  cargo +nightly fuzz run "$t" -O -- -runs="$runs" -max_total_time="$seconds" -timeout=1 \
    -rss_limit_mb=512 -print_final_stats=1 > "logs/$t.log" 2>&1 || true
  local execs cov secs crashes corpus
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)
  secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "logs/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "logs/$t.log" | tail -1 | sed 's/cov: //')
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  corpus=$(ls "corpus/$t" | wc -l)
  echo "| \`$t\` | ${execs:-?} | ${secs:-?} | ${cov:-?} | $corpus | $crashes |"
}
export -f one
export runs seconds
echo "| target | executions | exec/s | coverage (edges) | corpus files | crash files |"
echo "|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'
