#!/usr/bin/env bash
# Adds up the TRX files of one test run and prints the plain line CI reads:
# "N passed, N failed, N skipped". Exits non-zero when a test failed or none ran.
set -euo pipefail
dir=${1:?usage: test-summary.sh RESULTS_DIR}
passed=0 failed=0 skipped=0
shopt -s nullglob
for trx in "$dir"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" || true)
  get() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # xunit's skips show up as total - executed (the notExecuted counter stays 0).
  skipped=$((skipped + $(get total) - $(get executed)))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
