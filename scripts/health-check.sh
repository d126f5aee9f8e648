#!/bin/sh
# Thin wrapper around `refinery doctor`, e.g. `watch -n 5 ./scripts/health-check.sh`
# or `./scripts/health-check.sh --json`. Exit status: 0 healthy, 1 unhealthy,
# 2 bad configuration. REFINERY_BIN overrides the binary (default: build/refinery
# next to this script's directory).
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
bin=${REFINERY_BIN:-"$here/../build/refinery"}
if [ ! -x "$bin" ]; then
  echo "health-check: $bin not found; run \`make build\` first" >&2
  exit 2
fi
exec "$bin" doctor "$@"
