#!/usr/bin/env bash
# Ingest as an independent client sees it: curl processes posting generated bodies to a running
# aggregator, beside psql \copy (CSV) of the same rows into a plain table with a text primary key,
# on the same PostgreSQL, in the same run. Best of --runs for each line, interleaved.
#
#   bench/curl/run.sh --pg 'postgresql://user:pw@127.0.0.1:5432/agentmeter' \
#       [--url http://127.0.0.1:8080] [--events 200000] [--clients 4] [--format json|ndjson] \
#       [--days-back 0] [--runs 3] [--times shuffled|ordered]
#   AGENTMETER_TOKEN: the ingest (or admin) token, when the aggregator asks for one.
#
# --pg must name the aggregator's own database: stored events are counted there after each run.
# Prints one line per measurement and, last, a markdown table row:
#   | curl, <format>, <mode>, <clients> client(s) | events/s | psql \copy rows/s | ratio |
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=http://127.0.0.1:8080 pg="" events=200000 clients=4 format=json days_back=0 runs=3 times=shuffled
while [ $# -gt 0 ]; do
  case "$1" in
    --url) url=$2; shift 2 ;;
    --pg) pg=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --format) format=$2; shift 2 ;;
    --days-back) days_back=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --times) times=$2; shift 2 ;;
    *) echo "unknown argument $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ -n "$pg" ] || { echo "--pg is required: the aggregator's database, for the baseline and the stored count" >&2; exit 2; }
export PGOPTIONS="-c client_min_messages=warning"
for tool in curl psql python3; do command -v $tool >/dev/null || { echo "$tool not found" >&2; exit 2; }; done

work=$(mktemp -d "${TMPDIR:-/tmp}/agentmeter-curl-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
content_type=application/json
[ "$format" = ndjson ] && content_type=application/x-ndjson
mode="real time (the last hour)"
[ "$days_back" -gt 0 ] && mode="backfill ($days_back days back)"
[ "$times" = ordered ] && mode="$mode, times in order"

now() { date +%s.%N; }
rate() { python3 -c "print(round($1 / ($3 - $2)))"; }

best_copy=0 best_http=0
for run in $(seq 1 "$runs"); do
  dir="$work/run-$run"
  python3 "$here/generate.py" --events "$events" --format "$format" --days-back "$days_back" --times "$times" \
    --seed $((31337 + run)) --out "$dir" >/dev/null

  # Baseline: the same rows into a plain table with a text primary key.
  psql -X -q -v ON_ERROR_STOP=1 "$pg" -c "DROP TABLE IF EXISTS bench_curl_copy" -c "CREATE TABLE bench_curl_copy (
      event_id text PRIMARY KEY, type text, time timestamptz, agent_id text, tool_name text, server_label text,
      user_id text, tenant_id text, model text, status text, latency_ms double precision, request_bytes bigint,
      response_bytes bigint, input_tokens bigint, output_tokens bigint)" -c "CHECKPOINT"
  t0=$(now)
  psql -X -q -v ON_ERROR_STOP=1 "$pg" -c "\\copy bench_curl_copy FROM '$dir/events.csv' WITH (FORMAT csv)"
  t1=$(now)
  copy=$(rate "$events" "$t0" "$t1")
  psql -X -q "$pg" -c "DROP TABLE bench_curl_copy" -c "CHECKPOINT"

  # One curl process per client, each posting its share of the bodies over one kept-alive connection.
  bodies=("$dir"/batch-*."$format")
  for c in $(seq 0 $((clients - 1))); do
    cfg="$dir/client-$c.cfg"
    : >"$cfg"
    for i in $(seq "$c" "$clients" $((${#bodies[@]} - 1))); do
      {
        [ -s "$cfg" ] && echo "next"
        echo "url = \"$url/api/v1/events\""
        echo "header = \"Content-Type: $content_type\""
        [ -n "${AGENTMETER_TOKEN:-}" ] && echo "header = \"Authorization: Bearer $AGENTMETER_TOKEN\""
        echo "data-binary = \"@${bodies[$i]}\""
        echo "output = \"/dev/null\""
        echo "write-out = \"%{http_code}\\n\""
      } >>"$cfg"
    done
  done
  t0=$(now)
  for c in $(seq 0 $((clients - 1))); do
    curl -s -K "$dir/client-$c.cfg" >"$dir/codes-$c.txt" &
  done
  wait
  t1=$(now)
  http=$(rate "$events" "$t0" "$t1")
  bad=$(cat "$dir"/codes-*.txt | grep -vc '^200$' || true)
  [ "$bad" -eq 0 ] || { echo "run $run: $bad request(s) not answered 200: $(sort "$dir"/codes-*.txt | uniq -c | tr '\n' ' ')" >&2; exit 1; }
  run_id=$(head -c 4096 "${bodies[0]}" | grep -o '"event_id":"ev-[0-9]*' | head -1 | sed 's/.*ev-//')
  stored=$(psql -X -qAt "$pg" -c "SELECT count(*) FROM usage_events WHERE event_id LIKE 'ev-$run_id-%'")
  [ "$stored" -eq "$events" ] || { echo "run $run: $stored events stored, $events posted" >&2; exit 1; }

  echo "run $run: psql \\copy $copy rows/s, curl $http events/s ($clients clients, $format, $mode)"
  [ "$copy" -gt "$best_copy" ] && best_copy=$copy
  [ "$http" -gt "$best_http" ] && best_http=$http
  rm -rf "$dir"
done
ratio=$(python3 -c "print(f'{$best_http / $best_copy:.2f}')")
echo "| curl, $format, $mode, $clients client(s) | $best_http | $best_copy | ${ratio}× |"
