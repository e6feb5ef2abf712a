#!/usr/bin/env bash
# A forwarder in front of an echo server, as a peer for arch_compare, so forwarders are
# compared by their own CPU per message under the same load. arch_compare runs a peer as
# one program (with --port 0, ignored here), so the forwarder is named by the link it is
# run through:
#   arch_compare --peer sockit=bench/proxy/proxy-sockit --peer socat=bench/proxy/proxy-socat \
#                --peer haproxy=bench/proxy/proxy-haproxy
# The upstream echo (UPSTREAM, default build/bench/bin/bench/epoll_echo) runs detached and
# pinned to UPSTREAM_CPU (default 1), so only the forwarder is measured: this script prints
# "listening on 127.0.0.1:PORT" and then becomes the forwarder (exec). Upstream pids are
# appended to ${TMPDIR:-/tmp}/proxy_peer.pids for the caller to end.
set -euo pipefail
name=$(basename "$0")
kind=${name#proxy-}
root=$(cd "$(dirname "$0")/../.." && pwd)
sockit=${SOCKIT:-$root/build/bench/bin/sockit}
upstream=${UPSTREAM:-$root/build/bench/bin/bench/epoll_echo}
pids=${TMPDIR:-/tmp}/proxy_peer.pids

# The line arch_compare waits for, once the forwarder exec'd below has had time to bind.
announce() { (sleep 0.5; echo "listening on 127.0.0.1:$1" >&2) & }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

log=$(mktemp)
setsid taskset -c "${UPSTREAM_CPU:-1}" "$upstream" --port 0 2>"$log" &
echo $! >>"$pids"
for _ in $(seq 100); do grep -q "listening on" "$log" && break; sleep 0.05; done
up=$(grep -o 'listening on [0-9.]*:[0-9]*' "$log" | grep -o '[0-9]*$')
rm -f "$log"

case $kind in
  sockit)
    exec "$sockit" proxy 0 "127.0.0.1:$up" --quiet ;;  # prints its own "listening on"
  socat)
    port=$(free_port)
    announce "$port"
    exec socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,nodelay" "TCP:127.0.0.1:$up,nodelay" ;;
  haproxy)
    port=$(free_port)
    cfg=$(mktemp --suffix .cfg)
    cat >"$cfg" <<CFG
global
  nbthread 1
  maxconn 4096
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend in
  bind 127.0.0.1:$port
  default_backend out
backend out
  server echo 127.0.0.1:$up
CFG
    announce "$port"
    exec haproxy -db -f "$cfg" ;;
  *)
    echo "run as proxy-sockit, proxy-socat or proxy-haproxy (links to proxy_peer.sh)" >&2
    exit 2 ;;
esac
