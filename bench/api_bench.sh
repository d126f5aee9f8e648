#!/usr/bin/env bash
# API throughput and p99 on the production backends (issue 3): a `refinery api`
# on PostgreSQL + Redis + S3 holding 1,000 documents / ~20,000 chunks, then
# `wrk -t2 -d10s --latency` at 16 and 64 connections against GET /health,
# GET /stats and POST /ingest (unique bodies: bench/ingest_unique.lua).
# With a second binary, both serve the same seeded data in turn, interleaved
# (A B A B ...; BENCH_ROUNDS rounds) at every connection count, for a
# side-by-side comparison (issue 10); ingest is then left out, so /stats
# reads the same data in every run.
# Uses the test servers in REFINERY_TEST_* if set, else starts its own
# (scripts/test-services.sh). Prints a markdown table for docs/benchmarks.md.
#   bench/api_bench.sh [path/to/refinery [path/to/other/refinery]]   (default build/refinery)
#   BENCH_CONNS="16 64 512" BENCH_ROUNDS=2 BENCH_DURATION=10s
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=$(realpath "${1:-$here/build/refinery}")
other_bin=${2:+$(realpath "$2")}
conns_list=${BENCH_CONNS:-16 64 512}
rounds=${BENCH_ROUNDS:-2}
docs=${BENCH_DOCS:-1000}
abstracts_per_doc=${BENCH_ABSTRACTS_PER_DOC:-11}  # ~1.8 chunks of 1 kB per abstract: ~20 per document
duration=${BENCH_DURATION:-10s}
[ -x "$bin" ] || { echo "no refinery binary at $bin (make build)" >&2; exit 2; }
[ -z "$other_bin" ] || [ -x "$other_bin" ] || { echo "no refinery binary at $other_bin" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)"  # wrk holds a descriptor per connection
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null

work=$(mktemp -d /tmp/refinery-api-bench.XXXXXX)
pids=()
own_services=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ ${#pids[@]} -gt 0 ] && { wait "${pids[@]}" 2>/dev/null || true; }  # not a bare wait: s3rver is our child too
  [ -n "${db:-}" ] && psql -q "$REFINERY_TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  [ "$own_services" = 1 ] && refinery_services_stop
  rm -rf "$work"
}
trap cleanup EXIT

if [ -z "${REFINERY_TEST_DATABASE_URL:-}" ]; then
  # shellcheck source=../scripts/test-services.sh
  . "$here/scripts/test-services.sh" start
  own_services=1
fi

# A database, a Redis index and a bucket of our own, so nothing else is disturbed.
db="refinery_bench_$$"
psql -q "$REFINERY_TEST_DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
redis_url="$REFINERY_TEST_REDIS_URL/8"
redis-cli -u "$redis_url" FLUSHDB >/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export DATABASE_URL="${REFINERY_TEST_DATABASE_URL%/*}/$db" REDIS_URL="$redis_url"
export REFINERY_BLOB_URL="$REFINERY_TEST_S3_URL" REFINERY_S3_BUCKET="refinery-bench-$$-$(date +%s)"
export REFINERY_S3_ACCESS_KEY=S3RVER REFINERY_S3_SECRET_KEY=S3RVER
export REFINERY_DATA_DIR="$work/data" REFINERY_LOG_LEVEL=warn
base="http://127.0.0.1:$port"

stat_of() { curl -s "$base/stats" | jq -r "$1"; }

start_api() {
  local binary=${1:-$bin}
  "$binary" api --port "$port" >>"$work/api.log" 2>&1 &
  api_pid=$!
  pids+=("$api_pid")
  for _ in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ] && return 0
    sleep 0.1
  done
  echo "api did not become healthy:" >&2; tail -20 "$work/api.log" >&2; exit 3
}

# Documents of ~20 kB: consecutive SciFact abstracts behind a unique header.
make_corpus() {
  python3 - "$here/../shared/data/scifact/corpus.jsonl" "$docs" "$abstracts_per_doc" >"$work/corpus.jsonl" <<'EOF'
import json, sys
texts = [json.loads(line)["text"] for line in open(sys.argv[1])]
n, k = int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    body = "\n\n".join(texts[(i * k + j) % len(texts)] for j in range(k))
    print(json.dumps({"title": f"Bench document {i}", "text": f"Bench document {i}.\n\n{body}"}))
EOF
}

# Ingest, then chunk and embed everything; the workers stop before wrk runs
# so the numbers are the API's alone.
seed() {
  make_corpus
  "$bin" ingest "$work/corpus.jsonl" >"$work/ingest.log" 2>&1
  local workers=()
  "$bin" worker chunk -c 2 >"$work/chunk.log" 2>&1 & workers+=($!)
  "$bin" worker embed -c 2 >"$work/embed.log" 2>&1 & workers+=($!)
  pids+=("${workers[@]}")
  local start=$SECONDS
  until [ "$(stat_of '.documents_by_stage.complete')" = "$docs" ]; do
    if [ $((SECONDS - start)) -gt 1800 ]; then echo "seeding timed out: $(curl -s "$base/stats")" >&2; exit 1; fi
    sleep 2
  done
  kill "${workers[@]}"; wait "${workers[@]}" 2>/dev/null || true
  echo "seeded $(stat_of .total_documents) documents, $(stat_of .total_chunks) chunks in $((SECONDS - start)) s" >&2
}

# One wrk run -> "| endpoint | conns | req/s | p99 | errors |".
run_wrk() {
  local label=$1 conns=$2; shift 2
  local out
  out=$(wrk -t2 -c"$conns" -d"$duration" --latency "$@")
  echo "$out" >>"$work/wrk.log"
  local rps p99 non2xx sock
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  sock=$(awk '/Socket errors:/ {gsub(",", ""); print $4+$6+$8+$10}' <<<"$out")
  local other
  other=$(awk '/answers other than 201/ {print $NF}' <<<"$out")
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$conns" "$rps" "$p99" \
    "non-2xx ${non2xx:-0}, socket ${sock:-0}${other:+, not-201 $other}"
}

stop_api() {
  kill "$api_pid" 2>/dev/null || true
  wait "$api_pid" 2>/dev/null || true
}

start_api
seed
if [ -n "$other_bin" ]; then
  stop_api
  echo "| endpoint | connections | binary | req/s | p99 | errors |"
  echo "|---|---|---|---|---|---|"
  for round in $(seq 1 "$rounds"); do
    for binary in "$bin" "$other_bin"; do
      start_api "$binary"
      name=$(basename "$(dirname "$(dirname "$binary")")")/$(basename "$(dirname "$binary")")
      for conns in $conns_list; do
        for path in /health /stats; do
          run_wrk "GET $path" "$conns" "$base$path" | sed "s#^| GET $path | $conns |#| GET $path | $conns | $name (round $round) |#"
        done
      done
      stop_api
    done
  done
  exit 0
fi
echo "| endpoint | connections | req/s | p99 | errors |"
echo "|---|---|---|---|---|"
# Reads first, while exactly the seeded documents are stored (each /ingest
# run adds thousands, which /stats would then count too).
for conns in $conns_list; do run_wrk "GET /health" "$conns" "$base/health"; done
for conns in $conns_list; do run_wrk "GET /stats" "$conns" "$base/stats"; done
for conns in 16 64; do
  run_wrk "POST /ingest" "$conns" -s "$here/bench/ingest_unique.lua" "$base/ingest" -- "c$conns-$$"
done
# What the API itself logged as going wrong (health changes, retries), if anything.
grep -E ' (warning|error) \[' "$work/api.log" | tail -20 >&2 || true
echo "after: $(stat_of .total_documents) documents, $(stat_of .total_chunks) chunks; pool $(curl -s "$base/stats" | jq -c .pool)" >&2
