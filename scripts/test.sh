#!/usr/bin/env bash
# The whole test suite, as CI runs it (`make test`):
#  0. scripts/check-rules.sh: the architecture's rules (which module may
#     include which, unit tests that do not sleep, one home for randomness,
#     backoff and SQLite handles), in a second, before anything builds;
#  1. an optimised build with -Werror runs every test (unit, conformance,
#     integration, then e2e and timing, which need the optimised binary);
#  2. an AddressSanitizer + UBSan build runs unit, conformance, integration.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/check-rules.sh
scripts/install-deps.sh
jobs=${JOBS:-$(nproc)}
# Real PostgreSQL, Redis and S3 servers on loopback for the production-backend
# cases; stopped (and their data removed) however this script ends.
. scripts/test-services.sh
trap refinery_services_stop EXIT
refinery_services_start

# Line tables only (-g1) in both builds: enough for every stack trace and
# sanitizer report, and less compile time than full debug info (-16% here, a
# third with the sanitizers).
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
  -DREFINERY_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest -LE 'e2e|timing' -j"$jobs" --output-on-failure)
(cd build && ctest -L 'e2e|timing' --output-on-failure)

# -O0: under the sanitizers -O1 compiled 3x slower (44 s vs 16 s for one
# test file) and saved less test time than that costs (docs/benchmarks.md).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" \
  -DREFINERY_SANITIZE=ON -DREFINERY_WERROR=ON -DREFINERY_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" --target checks
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest -L 'unit|conformance|integration' -j"$jobs" --output-on-failure)
