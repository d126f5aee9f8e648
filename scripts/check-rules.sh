#!/usr/bin/env bash
# The architecture's rules, checked rather than trusted (CI runs this before
# building; it takes a second):
#  1. a module includes only the modules it may depend on (the table below,
#     also in docs/architecture.md);
#  2. tests labelled `unit` never sleep or wait on the wall clock;
#  3. random engines and backoff arithmetic live only in src/core;
#  4. sqlite3 handles are opened only by the one SQLite layer (src/core/sqlite*).
# Prints every violation as FILE:LINE: why, and exits 1 if there is any.
set -uo pipefail
cd "$(dirname "$0")/.."

# Which modules each module may include (besides itself). Modules of later
# issues are listed so the plan is written down before the code arrives.
declare -A ALLOWED=(
  [core]=""
  [store]="core"
  [queue]="core"
  [blob]="core"
  [llm]="core"
  [control]="core"
  [supervisor]="core"
  [text]="core"
  [knowledge]="core store llm text"
  [search]="core store llm text"
  [crawl]="core store blob text"
  [pipeline]="core store queue blob llm text knowledge search crawl"
  [api]="core store queue blob llm text knowledge search crawl pipeline control"
  [cli]="core store queue blob llm text knowledge search crawl pipeline control api supervisor"
)

failures=0
fail() { echo "$1"; failures=$((failures + 1)); }

# 1. Include rules.
for dir in src/*/; do
  module=$(basename "$dir")
  if [ -z "${ALLOWED[$module]+set}" ]; then
    fail "src/$module: a module not in the dependency table of scripts/check-rules.sh"
    continue
  fi
  while IFS=: read -r file line text; do
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$text")
    [ "$target" = "$module" ] && continue
    [ -d "src/$target" ] || continue
    case " ${ALLOWED[$module]} " in
      *" $target "*) ;;
      *) fail "$file:$line: $module may not include $target ($text)" ;;
    esac
  done < <(grep -nE '^#include "[a-z_]+/' "$dir"*.h "$dir"*.cpp 2>/dev/null)
done

# 2. Unit tests do not sleep: any file under tests/ that CMake labels unit.
while IFS= read -r file; do
  case "$file" in
    *_conformance_test.cpp|*_integration_test.cpp|*_timing_test.cpp|tests/e2e/*) continue ;;
  esac
  grep -nE 'sleep_for|sleep_until|usleep|nanosleep|\bsleep\(|\bWaitUntil\(' "$file" |
    while IFS=: read -r line text; do echo "$file:$line: a unit test sleeps or polls the clock ($text)"; done
done < <(find tests -name '*_test.cpp' | sort) > /tmp/check-rules-sleep.$$
if [ -s /tmp/check-rules-sleep.$$ ]; then
  cat /tmp/check-rules-sleep.$$
  failures=$((failures + $(wc -l < /tmp/check-rules-sleep.$$)))
fi
rm -f /tmp/check-rules-sleep.$$

# 3. Randomness and backoff only in core.
while IFS=: read -r file line text; do
  fail "$file:$line: random engines and backoff belong in src/core (core/random.h, core/backoff.h): $text"
done < <(grep -rnE 'std::(mt19937|mt19937_64|minstd_rand|default_random_engine|random_device|ranlux)|[^a-z_:]s?rand\(|ldexp|std::pow\(2|(backoff|delay|pause|wait)[a-z_]*\s*\*\s*2\b|<<\s*attempt' \
           src --include='*.cpp' --include='*.h' | grep -v '^src/core/')

# 4. One SQLite layer.
while IFS=: read -r file line text; do
  fail "$file:$line: sqlite3 handles are opened by src/core/sqlite.* only: $text"
done < <(grep -rnE 'sqlite3_open' src tests --include='*.cpp' --include='*.h' | grep -v '^src/core/sqlite')

if [ "$failures" -gt 0 ]; then
  echo "check-rules: $failures violation(s)"
  exit 1
fi
echo "check-rules: ok"
