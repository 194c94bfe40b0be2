#!/usr/bin/env bash
# Start, stop or check a local Prometheus (Debian's package, unpacked into .deploy/prometheus,
# no system service) that scrapes credledger and evaluates its alert rules, on a loopback port.
#   deploy/prometheus.sh install|start|stop|status
# Environment:
#   CREDLEDGER_PROMETHEUS_PORT    port of its HTTP API and UI (default 29090)
#   CREDLEDGER_PROMETHEUS_CONFIG  its configuration (default: one written to the data directory
#                                 that scrapes 127.0.0.1:8000 every 15 s with the alert rules of
#                                 deploy/production/prometheus/)
#   CREDLEDGER_PROMETHEUS_DATA    its data directory (default .deploy/prometheus-data)
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CREDLEDGER_PROMETHEUS_PORT:-29090}"
DATA="${CREDLEDGER_PROMETHEUS_DATA:-$PWD/.deploy/prometheus-data}"
ROOT="$PWD/.deploy/prometheus"
PIDFILE="$DATA/prometheus.pid"
LOG="$DATA/prometheus.log"
# shellcheck source=deploy/service.sh
source deploy/service.sh

install() {
  [ -x "$ROOT/usr/bin/prometheus" ] && [ -x "$ROOT/usr/bin/promtool" ] && return
  echo "unpacking Prometheus from Debian's packages ..." >&2
  local download; download=$(mktemp -d)
  # Downloaded and unpacked, not installed: no system service starts, nothing needs root.
  if ! (cd "$download" && apt-get download prometheus >/dev/null 2>&1); then
    local as_root=""
    [ "$(id -u)" = 0 ] || as_root="sudo"
    $as_root apt-get update -qq >&2
    (cd "$download" && apt-get download prometheus >/dev/null 2>&1)
  fi
  mkdir -p "$ROOT"
  dpkg -x "$download"/prometheus_*.deb "$ROOT"
  rm -rf "$download"
}

default_config() {
  local rules="$PWD/deploy/production/prometheus/alerts.yml"
  cat >"$DATA/prometheus.yml" <<YAML
global:
  scrape_interval: 15s
  evaluation_interval: 15s
rule_files: ["$rules"]
scrape_configs:
  - job_name: credledger
    static_configs: [{targets: ["127.0.0.1:8000"]}]
YAML
  echo "$DATA/prometheus.yml"
}

start() {
  service_check_port "$PORT"
  install
  mkdir -p "$DATA"
  if service_running "$PIDFILE"; then echo "Prometheus on 127.0.0.1:$PORT (already running)"; return; fi
  local config="${CREDLEDGER_PROMETHEUS_CONFIG:-}"
  [ -n "$config" ] || config=$(default_config)
  service_wait_port_free "$PORT" 30
  rm -f "$PIDFILE"
  # A session of its own, and the pid of Prometheus itself (see deploy/kafka.sh).
  setsid bash -c 'echo $$ > "$0"; exec "${@}"' "$PIDFILE" "$ROOT/usr/bin/prometheus" \
    --config.file="$config" --storage.tsdb.path="$DATA/tsdb" \
    --web.listen-address="127.0.0.1:$PORT" --web.enable-lifecycle \
    </dev/null >"$LOG" 2>&1 &
  for _ in $(seq 1 40); do [ -s "$PIDFILE" ] && break; sleep 0.05; done
  service_wait_port "$PORT" "$PIDFILE" "$LOG" 30
  echo "Prometheus on 127.0.0.1:$PORT (configuration $config, data in $DATA)"
}

case "${1:-}" in
  install) install; echo "$ROOT/usr/bin/prometheus, $ROOT/usr/bin/promtool" ;;
  start) start ;;
  stop) service_stop "$PIDFILE" ;;
  status) if service_running "$PIDFILE"; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
