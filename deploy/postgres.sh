#!/usr/bin/env bash
# Start, stop or check a local PostgreSQL for credledger, idempotently, on a loopback port,
# with its data under .deploy/postgres in the project.
#   deploy/postgres.sh start|stop|status
# Environment: CREDLEDGER_POSTGRES_PORT (default 25432). Creates role and database
# "credledger" (password "credledger", for this local cluster only).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CREDLEDGER_POSTGRES_PORT:-25432}"
DATA="$PWD/.deploy/postgres"
LOG="$PWD/.deploy/postgres.log"
# shellcheck source=deploy/service.sh
source deploy/service.sh

bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ]; then
    echo "installing PostgreSQL from Debian's packages ..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$dir"
}

# PostgreSQL refuses to run as root: run it as the postgres user when we are root.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  service_check_port "$PORT"
  local bin; bin=$(bindir)
  mkdir -p "$PWD/.deploy"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$DATA" && chmod 755 "$PWD/.deploy"
    as_owner "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null
  fi
  if ! as_owner "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    touch "$LOG"; [ "$(id -u)" = 0 ] && chown postgres "$LOG"
    as_owner "$bin/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
      -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on" start >/dev/null
  fi
  local psql=("$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_roles WHERE rolname='credledger'")" != 1 ]; then
    "${psql[@]}" -c "CREATE ROLE credledger LOGIN CREATEDB PASSWORD 'credledger'"
  fi
  if [ "$("${psql[@]}" -c "SELECT 1 FROM pg_database WHERE datname='credledger'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE credledger OWNER credledger"
  fi
  echo "PostgreSQL on 127.0.0.1:$PORT (data in $DATA)"
}

stop() {
  local bin; bin=$(bindir)
  if [ -f "$DATA/PG_VERSION" ]; then
    as_owner "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) as_owner "$(bindir)/pg_ctl" -D "$DATA" status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
