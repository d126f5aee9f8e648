#!/usr/bin/env bash
# Installs the Debian 12 packages Refinery builds and tests with, if missing.
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git curl
  libboost1.81-dev libcurl4-openssl-dev nlohmann-json3-dev libsqlite3-dev libssl-dev
  libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libpq-dev libhiredis-dev libgumbo-dev
  postgresql-15 redis-server python3-botocore
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The S3 server the tests run against (npm), kept inside the project.
tools="$(cd "$(dirname "$0")/.." && pwd)/build-tools"
if [ ! -x "$tools/node_modules/.bin/s3rver" ]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" s3rver@3.7.1 >/dev/null
fi
