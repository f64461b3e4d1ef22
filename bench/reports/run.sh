#!/usr/bin/env bash
# The FOCUS export as an independent client sees it: curl downloading GET /api/v1/reports/focus for a
# month of generated usage_stats rows from the real aggregator binary, beside psql \copy of a
# hand-written query over the same rows to a file, on the same private PostgreSQL, in the same run.
# Best of --runs for each, interleaved; the aggregator's peak resident memory (VmHWM) at the end.
#
#   bench/reports/run.sh [--rows 1000000] [--runs 3] [--config Release]
#
# Prints one line per measurement and, last, a markdown table row:
#   | rows | curl s | psql \copy s | ratio | aggregator peak MiB | load average |
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
rows=1000000 runs=3 config=Release
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --config) config=$2; shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
for tool in curl psql python3; do command -v $tool >/dev/null || { echo "$tool not found" >&2; exit 2; }; done
. "$repo/bench/lib/private-aggregator.sh"
start_private_aggregator "$repo" "$config" agentmeter-reports-bench
export PGOPTIONS="-c client_min_messages=warning"

# The month before the current one: closed, and recent enough that no retention pass rolls it up.
month=$(python3 -c 'import datetime as d; t=d.date.today().replace(day=1); print((t - d.timedelta(days=1)).strftime("%Y-%m"))')

# One row per (day, user) of the month: 10 tenants, 200 agents, 17 tools, 5 servers, 4 models; every 50th unpriced.
psql -X -q -v ON_ERROR_STOP=1 "$pg" -v rows="$rows" -v month="$month-01" <<'SQL'
INSERT INTO usage_stats (date, agent_id, tool_name, mcp_server_label, user_id, tenant_id, model, call_count, success_count,
    failure_count, total_latency_ms, avg_latency_ms, p95_latency_ms, latency_histogram, estimated_input_tokens,
    estimated_output_tokens, estimated_cost, currency)
SELECT d::date, 'agent-' || (i % 200), 'tool-' || (i % 17), 'server-' || (i % 5), 'user-' || i, 'tenant-' || (i % 10),
       'model-' || (i % 4), 10, 9, 1, 1000, 100, 180, '{0,0,10}', 1000 + i % 777, 300 + i % 333,
       CASE WHEN i % 50 = 0 THEN NULL ELSE round((i % 9973) / 1000.0 + 0.0000000001 * (i % 7), 10) END,
       CASE WHEN i % 50 = 0 THEN NULL ELSE 'USD' END
FROM generate_series(:'month'::date, (:'month'::date + interval '1 month - 1 day'), interval '1 day') d,
     generate_series(0, ceil(:rows / extract(day FROM (:'month'::date + interval '1 month - 1 day')))::int - 1) i
LIMIT :rows;
ANALYZE usage_stats;
SQL
stored=$(psql -X -qAt "$pg" -c "SELECT count(*) FROM usage_stats")
echo "month $month: $stored usage_stats rows"

# Baseline: the same rows, summed per key and ordered alike, written as CSV by psql.
baseline="\\copy (SELECT date, tenant_id, agent_id, model, tool_name, mcp_server_label, user_id, currency, sum(call_count),
  sum(estimated_input_tokens), sum(estimated_output_tokens), sum(estimated_cost) FROM usage_stats
  WHERE date >= '$month-01' AND date < '$month-01'::date + interval '1 month'
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 ORDER BY date, tenant_id COLLATE \"C\", agent_id COLLATE \"C\", model COLLATE \"C\",
  tool_name COLLATE \"C\", mcp_server_label COLLATE \"C\", user_id COLLATE \"C\", currency COLLATE \"C\") TO '$work/baseline.csv' WITH (FORMAT csv, HEADER)"
now() { date +%s.%N; }
best_copy=999999 best_http=999999
for run in $(seq 1 "$runs"); do
  t0=$(now); psql -X -q -v ON_ERROR_STOP=1 "$pg" -c "$baseline"; t1=$(now)
  copy=$(python3 -c "print(round($t1 - $t0, 2))")
  read -r code seconds < <(curl -s -o "$work/focus.csv" -w '%{http_code} %{time_total}\n' "$url/api/v1/reports/focus?month=$month")
  [ "$code" = 200 ] || { echo "run $run: HTTP $code" >&2; head -c 500 "$work/focus.csv" >&2; exit 1; }
  lines=$(($(wc -l <"$work/focus.csv") - 1))
  [ "$lines" -eq "$stored" ] || { echo "run $run: $lines FOCUS rows for $stored usage_stats rows" >&2; exit 1; }
  echo "run $run: psql \\copy ${copy} s, curl ${seconds} s ($lines rows, $(du -m "$work/focus.csv" | cut -f1) MB), load $(cut -d' ' -f1-3 /proc/loadavg)"
  best_copy=$(python3 -c "print(min($best_copy, $copy))")
  best_http=$(python3 -c "print(min($best_http, round($seconds, 2)))")
done
peak=$(aggregator_peak_mib)
echo "| $stored | $best_http | $best_copy | $(python3 -c "print(f'{$best_http / $best_copy:.2f}')")× | $peak | $(cut -d' ' -f1-3 /proc/loadavg) |"
