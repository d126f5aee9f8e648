#!/usr/bin/env bash
# `make run`: build, start `refinery up` on the embedded default in
# ./refinery-data (REFINERY_DATA_DIR), ingest the project's own docs so search
# answers at once, and stay in the foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target refinery

port=${REFINERY_PORT:-8000}
build/refinery up "$@" &
up_pid=$!
trap 'kill -TERM $up_pid 2>/dev/null; wait $up_pid' INT TERM
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/health/live" >/dev/null 2>&1 && break
  sleep 0.1
done
build/refinery ingest README.md docs --wait --timeout 60 || true
echo "refinery is up: http://127.0.0.1:$port  (try: build/refinery search 'self-healing queue'; Ctrl-C stops)"
wait $up_pid
