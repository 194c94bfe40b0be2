# Shared by the deploy scripts: a background service known by its pid file.
# shellcheck shell=bash

# service_running PIDFILE: whether the process the pid file names is alive.
service_running() {
  [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

# service_check_port PORT: refuse a port inside the kernel's ephemeral range. While a service
# is down its clients keep reconnecting; one of those attempts can be given the service's own
# port as its local port and connect to itself (a TCP self-connect), and the service then
# cannot bind its port when it starts again. Ports below the range never collide.
service_check_port() {
  local port=$1 low high
  read -r low high < /proc/sys/net/ipv4/ip_local_port_range || return 0
  if [ "$port" -ge "$low" ] && [ "$port" -le "$high" ]; then
    echo "port $port is inside the ephemeral range $low-$high (net.ipv4.ip_local_port_range):" \
      "a reconnecting client could take it; choose a port below $low" >&2
    return 1
  fi
}

# service_wait_port PORT PIDFILE LOG SECONDS: wait until the port accepts connections; fail
# (showing the log's end) if the process dies or the time runs out.
service_wait_port() {
  local port=$1 pidfile=$2 log=$3 seconds=$4
  local tries=$((seconds * 4))
  for _ in $(seq 1 "$tries"); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! service_running "$pidfile"; then
      tail -n 30 "$log" >&2
      echo "the service exited before opening port $port" >&2
      return 1
    fi
    sleep 0.25
  done
  echo "nothing opened port $port within ${seconds}s" >&2
  return 1
}

# service_wait_port_free PORT SECONDS: wait until nothing listens on the port any more (a
# service just stopped may hold it for a moment; starting again before would fail to bind).
service_wait_port_free() {
  local port=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 4))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || return 0
    sleep 0.25
  done
  echo "port $port is still taken after ${seconds}s" >&2
  return 1
}

# service_stop PIDFILE: stop the process politely, then for good after 60 seconds.
service_stop() {
  local pidfile=$1
  if service_running "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pidfile"
}
