#!/usr/bin/env bash
# Starts (or stops) the real servers the test suite runs against, each on
# loopback in a private temporary directory: PostgreSQL 15, Redis 7 and the
# s3rver S3 server. Source it:  . scripts/test-services.sh start ... stop
# After `start`, tests find them through:
#   REFINERY_TEST_DATABASE_URL  postgresql://postgres@127.0.0.1:PORT/refinery_test
#   REFINERY_TEST_REDIS_URL     redis://127.0.0.1:PORT
#   REFINERY_TEST_S3_URL        http://127.0.0.1:PORT   (bucket refinery-test exists)
#   REFINERY_TEST_REDIS_START   the command that (re)starts Redis, empty (restart tests)
#   REFINERY_TEST_PG_CTL        a command prefix: "$REFINERY_TEST_PG_CTL stop|start"
#                               stops or restarts PostgreSQL (outage tests)
# A suite whose variable is unset skips its production-backend cases.

refinery_services_start() {
  local root pgbin
  root=$(mktemp -d /tmp/refinery-services.XXXXXX)
  chmod 755 "$root"
  export REFINERY_SERVICES_DIR=$root
  local pg_port=${REFINERY_TEST_PG_PORT:-25432}
  local redis_port=${REFINERY_TEST_REDIS_PORT:-26379}
  local s3_port=${REFINERY_TEST_S3_PORT:-24569}
  # Ports below the kernel's ephemeral range (32768+), so no outgoing
  # connection can be holding them when the servers start.
  local tools
  tools="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build-tools"

  pgbin=/usr/lib/postgresql/15/bin
  mkdir -p "$root/pg"
  local as_pg=()
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$root/pg"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$pgbin/initdb" -D "$root/pg/data" -A trust -U postgres >"$root/pg-init.log" 2>&1
  local pg_opts="-p $pg_port -k $root/pg -c listen_addresses=127.0.0.1"
  if ! "${as_pg[@]}" "$pgbin/pg_ctl" -D "$root/pg/data" -o "$pg_opts" -l "$root/pg/server.log" -w start >/dev/null ||
     ! "${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres refinery_test; then
    echo "test services: PostgreSQL did not start:" >&2
    tail -5 "$root/pg/server.log" >&2
    return 1
  fi
  export REFINERY_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/refinery_test"
  export REFINERY_TEST_PG_CTL="${as_pg[*]} $pgbin/pg_ctl -D $root/pg/data -o '$pg_opts' -l $root/pg/server.log -w"

  mkdir -p "$root/redis"
  export REFINERY_TEST_REDIS_START="redis-server --port $redis_port --bind 127.0.0.1 --save '' --appendonly no \
--daemonize yes --dir $root/redis --pidfile $root/redis/redis.pid --logfile $root/redis/redis.log"
  eval "$REFINERY_TEST_REDIS_START"
  export REFINERY_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"

  mkdir -p "$root/s3"
  "$tools/node_modules/.bin/s3rver" -d "$root/s3" -a 127.0.0.1 -p "$s3_port" --configure-bucket refinery-test \
    >"$root/s3.log" 2>&1 &
  echo $! >"$root/s3.pid"
  export REFINERY_TEST_S3_URL="http://127.0.0.1:$s3_port"
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" ping >/dev/null 2>&1 && curl -s -o /dev/null "$REFINERY_TEST_S3_URL/" && break
    sleep 0.1
  done
  if ! redis-cli -p "$redis_port" ping >/dev/null 2>&1 || ! curl -s -o /dev/null "$REFINERY_TEST_S3_URL/"; then
    echo "test services: Redis or s3rver did not start (see $root)" >&2
    return 1
  fi
  echo "test services up in $root: postgres :$pg_port, redis :$redis_port, s3 :$s3_port"
}

refinery_services_stop() {
  local root=${REFINERY_SERVICES_DIR:-}
  [ -n "$root" ] && [ -d "$root" ] || return 0
  local as_pg=()
  [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
  "${as_pg[@]}" /usr/lib/postgresql/15/bin/pg_ctl -D "$root/pg/data" -m immediate stop >/dev/null 2>&1 || true
  [ -f "$root/redis/redis.pid" ] && kill "$(cat "$root/redis/redis.pid")" 2>/dev/null || true
  [ -f "$root/s3.pid" ] && kill "$(cat "$root/s3.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$root"
  unset REFINERY_SERVICES_DIR REFINERY_TEST_REDIS_START REFINERY_TEST_DATABASE_URL REFINERY_TEST_REDIS_URL REFINERY_TEST_S3_URL REFINERY_TEST_PG_CTL
}

case "${1:-}" in
  start) refinery_services_start ;;
  stop) refinery_services_stop ;;
esac
