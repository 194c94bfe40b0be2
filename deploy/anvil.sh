#!/usr/bin/env bash
# Start, stop or check a local Ethereum node (Anvil, npm @foundry-rs/anvil) for credledger,
# idempotently, on a loopback port, with its chain state kept under .deploy/anvil-node.
#   deploy/anvil.sh start|stop|status
# Environment: CREDLEDGER_ANVIL_PORT (default 28545), CREDLEDGER_ANVIL_CHAIN_ID (default 31337;
# 11155111 makes Blockcerts documents name Sepolia), CREDLEDGER_ANVIL_HOME (the directory of
# the chain's state, log and pid file; default .deploy/anvil-node).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CREDLEDGER_ANVIL_PORT:-28545}"
CHAIN_ID="${CREDLEDGER_ANVIL_CHAIN_ID:-31337}"
HOME_DIR="${CREDLEDGER_ANVIL_HOME:-$PWD/.deploy/anvil-node}"
PIDFILE="$HOME_DIR/anvil.pid"
LOG="$HOME_DIR/anvil.log"
# shellcheck source=deploy/service.sh
source deploy/service.sh

binary() {
  [ -x .deploy/anvil/node_modules/.bin/anvil ] ||
    npm install --silent --no-audit --no-fund --prefix .deploy/anvil @foundry-rs/anvil >&2
  # The npm package's launcher starts the platform binary as a child; run the binary itself,
  # so that stopping it stops the node.
  local found
  found=$(find .deploy/anvil/node_modules/@foundry-rs -type f -name anvil -perm -u+x 2>/dev/null |
    grep -v "/.bin/" | head -n 1)
  echo "${found:-.deploy/anvil/node_modules/.bin/anvil}"
}

start() {
  service_check_port "$PORT"
  mkdir -p "$HOME_DIR"
  if service_running "$PIDFILE"; then echo "Anvil on 127.0.0.1:$PORT (already running)"; return; fi
  local anvil; anvil=$(binary)
  service_wait_port_free "$PORT" 30
  # A session of its own, and the pid of the node itself (see deploy/kafka.sh).
  rm -f "$PIDFILE"
  setsid bash -c 'echo $$ > "$0"; exec "${@}"' "$PIDFILE" "$anvil" --host 127.0.0.1 \
    --port "$PORT" --chain-id "$CHAIN_ID" --silent --state "$HOME_DIR/state.json" \
    --state-interval 1 </dev/null >"$LOG" 2>&1 &
  for _ in $(seq 1 40); do [ -s "$PIDFILE" ] && break; sleep 0.05; done
  service_wait_port "$PORT" "$PIDFILE" "$LOG" 15
  echo "Anvil on 127.0.0.1:$PORT, chain id $CHAIN_ID (state in $HOME_DIR)"
}

case "${1:-}" in
  start) start ;;
  stop) service_stop "$PIDFILE" ;;
  status) if service_running "$PIDFILE"; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
