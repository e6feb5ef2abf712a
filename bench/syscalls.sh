#!/usr/bin/env bash
# System calls per message of every echo server: each runs under a short ping-pong load
# (arch_compare --syscalls) while perf counts its raw_syscalls:sys_enter events (strace -c
# when perf cannot), divided by the messages it echoed. sockit's reactor and hybrid, its
# uring and uring-hybrid when this sockit has them, and the peers of bench/peers that are
# built. The tracing costs the servers CPU: take CPU figures from bench/run_all.sh instead.
#
# usage: bench/syscalls.sh [--conns 50] [--size 64] [--duration 2] [--warmup 1] [--json]
# Needs a tree built with the benchmarks: BUILD_DIR (default build/bench-all, as
# bench/run_all.sh builds it).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench-all}
CONNS=50
SIZE=64
DURATION=2
WARMUP=1
OUTPUT=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --conns) CONNS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --json) OUTPUT=(--json); shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "syscalls.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

SOCKIT=$BUILD_DIR/bin/sockit
BIN=$BUILD_DIR/bin/bench
if [[ ! -x $BIN/arch_compare || ! -x $SOCKIT ]]; then
  echo "syscalls.sh: no arch_compare or sockit in $BUILD_DIR (build with bench/run_all.sh)" >&2
  exit 1
fi
if ! command -v perf >/dev/null && ! command -v strace >/dev/null; then
  echo "syscalls.sh: needs perf (linux-perf) or strace" >&2
  exit 1
fi

ARCHS=reactor,hybrid
for arch in uring uring-hybrid; do
  if "$SOCKIT" serve --help 2>/dev/null | grep -qE "^ +$arch +|[{,]$arch[,}]"; then
    ARCHS+=",$arch"
  else
    echo "syscalls.sh: this sockit has no --arch $arch: $arch skipped" >&2
  fi
done
PEERS=()
for peer in epoll:epoll_echo uring_echo:uring_echo asio:asio_echo libuv:libuv_echo \
            libevent:libevent_echo; do
  name=${peer%%:*} program=$BIN/${peer#*:}
  if [[ -x $program ]]; then
    PEERS+=(--peer "$name=$program")
  else
    echo "syscalls.sh: $program not built (library missing?): $name skipped" >&2
  fi
done

exec "$BIN/arch_compare" --sockit "$SOCKIT" --syscalls --rounds 1 --warmup "$WARMUP" \
  --duration "$DURATION" --conns "$CONNS" --size "$SIZE" --baseline epoll --archs "$ARCHS" \
  "${PEERS[@]}" "${OUTPUT[@]}"
