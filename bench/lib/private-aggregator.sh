# Sourced by bench scripts: a private PostgreSQL in a temporary folder and the real aggregator binary
# (`serve`, default settings) on free loopback ports, both stopped and removed on exit.
#
#   . "$repo/bench/lib/private-aggregator.sh"
#   start_private_aggregator <repo> <config> <work-prefix>
# Sets: work (the temporary folder), pg (a postgresql:// URL of the aggregator's database), url
# (http://127.0.0.1:PORT), agg_pid. The aggregator inherits the environment: export a setting to
# change it (e.g. Ingest__Writers=2). It logs warnings and errors only, as bench-core's does.

pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
agg_pid="" work=""

stop_private_aggregator() {
  if [ -n "$agg_pid" ]; then kill "$agg_pid" 2>/dev/null && wait "$agg_pid" 2>/dev/null || true; fi
  if [ -n "$work" ]; then
    as_pg "$pgbin/pg_ctl" -D "$work/pg" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
  fi
}

start_private_aggregator() {
  local repo=$1 config=$2 prefix=$3
  local aggregator="$repo/src/Aggregator/bin/$config/net10.0/agentmeter-aggregator.dll"
  [ -f "$aggregator" ] || { echo "$aggregator not built (dotnet build src/Aggregator -c $config)" >&2; exit 2; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")
  chmod 755 "$work"
  trap stop_private_aggregator EXIT
  [ "$(id -u)" = 0 ] && chown postgres "$work"
  local pgport port
  pgport=$(free_port) port=$(free_port)
  as_pg "$pgbin/initdb" -D "$work/pg" -U agentmeter --auth=trust -E UTF8 --locale=C --no-sync >/dev/null
  # shared_buffers as the aggregator's own launcher sets it (PostgresLauncher).
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" \
    -o "-p $pgport -k $work -c listen_addresses=127.0.0.1 -c shared_buffers=128MB ${AGENTMETER_BENCH_PG_OPTIONS:-}" -w start >/dev/null
  pg="postgresql://agentmeter@127.0.0.1:$pgport/postgres"
  url="http://127.0.0.1:$port"
  env ConnectionStrings__Postgres="Host=127.0.0.1;Port=$pgport;Username=agentmeter;Database=postgres" \
    Logging__LogLevel__Default=Warning \
    dotnet "$aggregator" serve --urls "$url" >"$work/aggregator.log" 2>&1 &
  agg_pid=$!
  for _ in $(seq 1 600); do curl -sf "$url/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -sf "$url/readyz" >/dev/null || { echo "aggregator not ready:" >&2; tail -20 "$work/aggregator.log" >&2; exit 1; }
}

# The aggregator's peak resident memory so far (VmHWM), in MiB.
aggregator_peak_mib() { awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$agg_pid/status"; }
load_average() { cut -d' ' -f1-3 /proc/loadavg; }
