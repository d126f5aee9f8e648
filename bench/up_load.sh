#!/usr/bin/env bash
# The API under load as users run it (issue 10): through `refinery up` on
# the embedded default -- supervisor, liveness and readiness probes,
# workers and all -- `wrk -t2 -d10s --latency` at 64 and 512 connections on
# GET /stats and GET /health, then GET /health from a new connection while
# 1,000 idle and half-sent connections are held. Passes (exit 0) only with
# zero socket errors, zero non-2xx answers and the supervisor's restart
# count unchanged. With BENCH_PRODUCTION=1 the same runs on PostgreSQL,
# Redis and S3 (the servers in REFINERY_TEST_*, else its own from
# scripts/test-services.sh), then GET /stats at 16 connections while every
# Refinery connection to PostgreSQL is killed (pg_terminate_backend) once a
# second: zero failed requests and p99 under 50 ms expected.
# Prints a markdown table for docs/benchmarks.md.
#   bench/up_load.sh [path/to/refinery]      (default build/refinery)
#   BENCH_DOCS=200 BENCH_CONNS="64 512" BENCH_DURATION=10s BENCH_PRODUCTION=0
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$(realpath "${1:-$here/build/refinery}")
docs=${BENCH_DOCS:-200}
conns_list=${BENCH_CONNS:-64 512}
duration=${BENCH_DURATION:-10s}
[ -x "$bin" ] || { echo "no refinery binary at $bin (make build)" >&2; exit 2; }
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null
ulimit -n "$(ulimit -Hn)"  # wrk and the idle holder need a descriptor per connection

work=$(mktemp -d /tmp/refinery-up-load.XXXXXX)
up_pid=
killer_pid=
own_services=0
db=
cleanup() {
  [ -n "$killer_pid" ] && { kill "$killer_pid" 2>/dev/null || true; wait "$killer_pid" 2>/dev/null || true; }
  [ -n "$up_pid" ] && { kill "$up_pid" 2>/dev/null || true; wait "$up_pid" 2>/dev/null || true; }
  [ -n "$db" ] && psql -q "$REFINERY_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  [ "$own_services" = 1 ] && refinery_services_stop
  rm -rf "$work"
}
trap cleanup EXIT

production=${BENCH_PRODUCTION:-0}
if [ "$production" = 1 ]; then
  if [ -z "${REFINERY_TEST_DATABASE_URL:-}" ]; then
    # shellcheck source=../scripts/test-services.sh
    . "$here/scripts/test-services.sh" start
    own_services=1
  fi
  db="refinery_upload_$$"
  psql -q "$REFINERY_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
  redis-cli -u "$REFINERY_TEST_REDIS_URL/9" FLUSHDB >/dev/null
  export DATABASE_URL="${REFINERY_TEST_DATABASE_URL%/*}/$db" REDIS_URL="$REFINERY_TEST_REDIS_URL/9"
  export REFINERY_BLOB_URL="$REFINERY_TEST_S3_URL" REFINERY_S3_BUCKET="refinery-upload-$$-$(date +%s)"
  export REFINERY_S3_ACCESS_KEY=S3RVER REFINERY_S3_SECRET_KEY=S3RVER
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export REFINERY_DATA_DIR="$work/data" REFINERY_LOG_LEVEL=warn
cli() { "$bin" --data-dir "$work/data" "$@"; }
# Restarts of every service, summed, from the supervisor's own account.
restarts() { cli status --json | jq '[.services[].restarts] | add'; }

"$bin" up --port "$port" >"$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health/ready")" = 200 ] && break
  sleep 0.1
done
python3 - "$here/../shared/data/scifact/corpus.jsonl" "$docs" >"$work/corpus.jsonl" <<'PY'
import json, sys
for i, line in enumerate(open(sys.argv[1])):
    if i >= int(sys.argv[2]): break
    d = json.loads(line)
    print(json.dumps({"title": d["title"], "text": d["text"]}))
PY
cli ingest "$work/corpus.jsonl" >"$work/ingest.log" 2>&1
start=$SECONDS
until [ "$(curl -s "$base/stats" | jq -r '.documents_by_stage.complete // 0')" = "$docs" ]; do
  [ $((SECONDS - start)) -gt 600 ] && { echo "the pipeline did not finish: $(curl -s "$base/stats")" >&2; exit 1; }
  sleep 1
done
before=$(restarts)
failed=0

run_wrk() {
  local path=$1 conns=$2 out rps p99 non2xx sock
  out=$(wrk -t2 -c"$conns" -d"$duration" --latency "$base$path")
  echo "$out" >>"$work/wrk.log"
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$out")
  [ "${non2xx:-0}" = 0 ] && [ "${sock:-0}" = 0 ] || failed=1
  printf '| GET %s | %s | %s | %s | %s | %s |\n' "$path" "$conns" "$rps" "$p99" "${non2xx:-0}" "${sock:-0}"
}

echo "| endpoint | connections | req/s | p99 | non-2xx | socket errors |"
echo "|---|---|---|---|---|---|"
for conns in $conns_list; do
  for path in /stats /health; do run_wrk "$path" "$conns"; done
done

if [ "$production" = 1 ]; then
  # Every Refinery connection to the database killed once a second.
  ( while sleep 1; do
      psql -qAt "$REFINERY_TEST_DATABASE_URL" -c \
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()" \
        >>"$work/kills.log" 2>&1
    done ) &
  killer_pid=$!
  out=$(wrk -t2 -c16 -d"$duration" --latency "$base/stats")
  kill "$killer_pid"; wait "$killer_pid" 2>/dev/null || true; killer_pid=
  echo "$out" >>"$work/wrk.log"
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$out")
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  killed=$(awk '{s += $1} END {print s + 0}' "$work/kills.log")
  printf '| GET /stats, PostgreSQL connections killed every second (%s killed) | 16 | %s | %s | %s | %s |\n' \
    "$killed" "$rps" "$p99" "${non2xx:-0}" "${sock:-0}"
  [ "${non2xx:-0}" = 0 ] && [ "${sock:-0}" = 0 ] || failed=1
fi

# 1,000 connections held open (half silent, half stopped mid-header), then
# the time of GET /health from a new connection.
idle=$(python3 - "$port" <<'PY'
import socket, subprocess, sys, time
port = int(sys.argv[1])
held = []
for i in range(1000):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2: s.sendall(b"GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    held.append(s)
worst = 0.0
for _ in range(5):
    t = time.monotonic()
    code = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5",
                           f"http://127.0.0.1:{port}/health"], capture_output=True, text=True).stdout
    worst = max(worst, time.monotonic() - t)
    if code != "200": print(f"failed ({code})"); sys.exit(0)
print(f"{worst * 1000:.0f} ms")
PY
)
echo
echo "GET /health (new connection, worst of 5) with 1,000 connections held: $idle"
after=$(restarts)
echo "supervisor restarts: before $before, after $after"
case "$idle" in *failed*) failed=1 ;; esac
[ "$before" = "$after" ] || failed=1
grep -E 'unhealthy|killing' "$work/up.log" >&2 || true
exit "$failed"
