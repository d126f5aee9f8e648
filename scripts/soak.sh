#!/usr/bin/env bash
# Chaos soak (issue 4): ingests SciFact abstracts into a fresh `refinery up`
# while a random worker holding leased jobs is kill -9ed every 2 s and the
# API once, then checks that every document is complete, its chunks exactly a
# fresh chunking of its text, and every queue empty. It runs the e2e test
# tests/e2e/chaos_soak_e2e_test.cpp (one implementation) with more documents.
#   scripts/soak.sh [--docs N] [--production] [--seed S] [--build DIR]
# (N of 300 or more: the test demands at least 5 kills that hit work.)
# --production runs on PostgreSQL + Redis + S3: the servers in REFINERY_TEST_*
# if set, else its own from scripts/test-services.sh (stopped on exit).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
docs=1000
backend=embedded
build=$here/build
seed=
while [ $# -gt 0 ]; do
  case "$1" in
    --docs) docs=$2; shift 2 ;;
    --production) backend=production; shift ;;
    --seed) seed=$2; shift 2 ;;
    --build) build=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# The test drives $build/refinery; both must be current.
[ -f "$build/CMakeCache.txt" ] || { echo "soak.sh: no build in $build (make build)" >&2; exit 2; }
cmake --build "$build" -j"$(nproc)" --target refinery chaos_soak_e2e_test >/dev/null

if [ "$backend" = production ] && [ -z "${REFINERY_TEST_DATABASE_URL:-}" ]; then
  . "$here/scripts/test-services.sh"
  trap refinery_services_stop EXIT
  refinery_services_start
elif [ "$backend" = embedded ]; then
  # The production case would skip anyway; keep it from using stray servers.
  unset REFINERY_TEST_DATABASE_URL REFINERY_TEST_REDIS_URL REFINERY_TEST_S3_URL
fi

log=$(mktemp /tmp/refinery-soak.XXXXXX.log)
echo "soak: $docs documents on $backend ($(date)), log in $log"
status=0
env REFINERY_SOAK_DOCS="$docs" ${seed:+REFINERY_SOAK_SEED="$seed"} \
  "$build/chaos_soak_e2e_test" --gtest_filter="Backends/ChaosSoak.*/$backend" >"$log" 2>&1 || status=$?
grep '^soak:' "$log" || true
if [ "$status" -eq 0 ] && grep -q '^\[  PASSED  \] 1 test' "$log"; then
  echo "soak: PASSED ($(grep -o '([0-9]* ms total)' "$log" | tail -1))"
else
  echo "soak: FAILED (exit $status); see $log" >&2
  grep -E 'Failure|Expected|Which is|actual' "$log" | head -20 >&2 || true
  exit 1
fi
