#!/usr/bin/env bash
# Start, stop or check a local Apache Kafka 4 broker for credledger, idempotently: KRaft mode
# (one node, broker and controller), loopback ports, data under .deploy/kafka in the project.
# The broker's jars come from Maven Central (org.apache.kafka:kafka_2.13 and its dependencies,
# resolved by Maven once and cached in .deploy/kafka/libs); it runs with `java`.
#   deploy/kafka.sh start|stop|status
# Environment: CREDLEDGER_KAFKA_PORT (default 29092: PLAINTEXT; the controller listens on the
# next port, and a SASL_PLAINTEXT listener with mechanism PLAIN on the one after, for user
# "credledger" with a password generated at first start into .deploy/kafka/sasl-password),
# CREDLEDGER_KAFKA_VERSION (default 4.4.0), CREDLEDGER_KAFKA_JVM_OPTIONS (default
# "-Xms256m -Xmx768m -XX:TieredStopAtLevel=1"; see below).
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${CREDLEDGER_KAFKA_PORT:-29092}"
CONTROLLER_PORT=$((PORT + 1))
SASL_PORT=$((PORT + 2))
VERSION="${CREDLEDGER_KAFKA_VERSION:-4.4.0}"
HOME_DIR="$PWD/.deploy/kafka"
LIBS="$HOME_DIR/libs-$VERSION"
DATA="$HOME_DIR/data"
CONFIG="$HOME_DIR/server.properties"
PIDFILE="$HOME_DIR/kafka.pid"
LOG="$HOME_DIR/kafka.log"
SASL_PASSWORD_FILE="$HOME_DIR/sasl-password"
# The broker's JIT stops at its first tier (C1): on two cores the optimising compiler (C2) took
# close to half the broker's CPU through a run's first 120,000 credentials, more than its
# faster code saved (docs/benchmarks.md, forty-ninth session). A broker with cores to spare
# and a long life can drop the flag through CREDLEDGER_KAFKA_JVM_OPTIONS.
read -r -a JVM_OPTIONS <<< "${CREDLEDGER_KAFKA_JVM_OPTIONS:--Xms256m -Xmx768m -XX:TieredStopAtLevel=1}"
# Request threads by the machine's cores, not Kafka's defaults (3 network threads a listener,
# 8 I/O threads), which are sized for larger brokers.
CORES=$(nproc)
NETWORK_THREADS=$(( CORES / 2 > 0 ? CORES / 2 : 1 ))
# shellcheck source=deploy/service.sh
source deploy/service.sh

fetch() {
  [ -f "$LIBS/.complete" ] && return
  mkdir -p "$HOME_DIR/resolve"
  # A throwaway project whose only purpose is to name the broker, so that Maven copies the
  # broker with every runtime dependency into one folder.
  cat > "$HOME_DIR/resolve/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.credledger</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-simple</artifactId>
      <version>1.7.36</version>
    </dependency>
  </dependencies>
</project>
POM
  echo "fetching the Kafka $VERSION broker from Maven Central ..." >&2
  mvn -q -f "$HOME_DIR/resolve/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS" >&2
  touch "$LIBS/.complete"
}

write_config() {
  if [ ! -s "$SASL_PASSWORD_FILE" ]; then
    (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$SASL_PASSWORD_FILE")
  fi
  local password; password=$(cat "$SASL_PASSWORD_FILE")
  (umask 077 && rm -f "$CONFIG" && cat > "$CONFIG" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_credledger="$password";
log.dirs=$DATA
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=$NETWORK_THREADS
num.io.threads=$CORES
PROPS
  )
}

start() {
  service_check_port "$PORT"
  service_check_port "$CONTROLLER_PORT"
  service_check_port "$SASL_PORT"
  fetch
  mkdir -p "$HOME_DIR"
  if service_running "$PIDFILE"; then
    echo "Kafka on 127.0.0.1:$PORT (already running)"
    return
  fi
  write_config
  service_wait_port_free "$PORT" 60
  service_wait_port_free "$CONTROLLER_PORT" 60
  service_wait_port_free "$SASL_PORT" 60
  local java=(java "${JVM_OPTIONS[@]}" -Dorg.slf4j.simpleLogger.showDateTime=true
    '-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS' -cp "$LIBS/*")
  if [ ! -f "$DATA/meta.properties" ]; then
    local cluster
    cluster=$("${java[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
    "${java[@]}" kafka.tools.StorageTool format --standalone -t "$cluster" -c "$CONFIG" >/dev/null
  fi
  # A session of its own: the broker outlives whatever started it, until stopped. The pid
  # is written by the process that becomes the broker, whether or not setsid had to fork.
  rm -f "$PIDFILE"
  setsid bash -c 'echo $$ > "$0"; exec "${@}"' "$PIDFILE" "${java[@]}" kafka.Kafka "$CONFIG" \
    </dev/null >>"$LOG" 2>&1 &
  for _ in $(seq 1 40); do [ -s "$PIDFILE" ] && break; sleep 0.05; done
  service_wait_port "$PORT" "$PIDFILE" "$LOG" 60
  echo "Kafka on 127.0.0.1:$PORT, SASL on $SASL_PORT (data in $DATA)"
}

case "${1:-}" in
  start) start ;;
  stop) service_stop "$PIDFILE" ;;
  status) if service_running "$PIDFILE"; then echo "running (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
