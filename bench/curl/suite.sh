#!/usr/bin/env bash
# The whole curl ingest benchmark on a private PostgreSQL and the real aggregator binary (Release,
# default settings), one command: bench/curl/run.sh for real time and backfill, JSON and NDJSON,
# with --clients each (default 4 and 1), every line beside its own same-run psql \copy baseline.
#
#   bench/curl/suite.sh [--events 200000] [--clients 4,1] [--runs 3] [--days-back 10] [--config Release]
#                       [--times shuffled|ordered]   (ordered: events in time order, for comparison; see run.sh)
#   (make bench-curl builds the aggregator first; BENCH_ARGS passes these)
#
# Prints the markdown table: one row per line of run.sh, then the aggregator's peak resident memory
# (VmHWM) and the load average before and after.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
events=200000 clients=4,1 runs=3 days_back=10 config=Release times=shuffled
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --days-back) days_back=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    --times) times=$2; shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
for tool in curl psql python3; do command -v $tool >/dev/null || { echo "$tool not found" >&2; exit 2; }; done
. "$repo/bench/lib/private-aggregator.sh"
start_private_aggregator "$repo" "$config" agentmeter-curl-bench

load_before=$(load_average)
rows=()
for back in 0 "$days_back"; do
  for format in json ndjson; do
    for c in ${clients//,/ }; do
      out=$("$here/run.sh" --pg "$pg" --url "$url" --events "$events" --clients "$c" --format "$format" --days-back "$back" --runs "$runs" --times "$times")
      echo "$out" | grep '^run ' >&2
      rows+=("$(echo "$out" | tail -1)")
    done
  done
done
echo
echo "| curl line | events/s | psql \\copy rows/s | ratio |"
echo "| --- | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "Aggregator peak resident memory (VmHWM): $(aggregator_peak_mib) MiB; load average before $load_before, after $(load_average); $(date -u '+%Y-%m-%d %H:%M') UTC, commit $(git -C "$repo" rev-parse --short HEAD)"
