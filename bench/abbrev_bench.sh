#!/usr/bin/env bash
# Abbreviation quality on ../shared/data/abbrev-dev through `refinery
# extract`, as a user would run it: prints precision, recall and F1
# (record them in docs/benchmarks.md). Usage: bench/abbrev_bench.sh [BINARY] [DATA_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:-$here/../build/refinery}"
data="${2:-$here/../../shared/data/abbrev-dev}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
start=$(date +%s.%N)
"$binary" extract --profile research --json "$data/docs.jsonl" > "$out/pred.jsonl"
end=$(date +%s.%N)
docs=$(wc -l < "$data/docs.jsonl")
awk -v d="$docs" -v s="$start" -v e="$end" 'BEGIN { printf "abbrev-dev: %d documents extracted in %.2f s\n", d, e - s }'
/usr/bin/python3 "$here/abbrev_score.py" "$data/gold.jsonl" "$out/pred.jsonl" "${@:3}"
