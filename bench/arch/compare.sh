#!/usr/bin/env bash
# The architecture comparison: echo served by a hand-written epoll loop (the baseline) and by
# `sockit serve echo --arch A` for each architecture, under the same load. The server is
# pinned to one core and the load generator to another; each configuration gets a warm-up,
# then several rounds; the table shows medians. Message rates of good servers tie at the
# load generator's limit on a small machine, so the column that separates them is the
# server's CPU time per message (utime+stime from /proc/PID/stat over each round).
#
# usage: bench/arch/compare.sh [--archs "reactor hybrid thread pool"] [--modes "pingpong churn"]
#                              [--rounds 5] [--duration 5] [--warmup 2] [--conns 50]
#                              [--size 64] [--no-build]
# BUILD_DIR (default build/arch-bench) is configured as a Release build with benchmarks.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/arch-bench}
ARCHS="reactor hybrid thread pool"
MODES="pingpong churn"
ROUNDS=5
DURATION=5
WARMUP=2
CONNS=50
SIZE=64
BUILD=1

while [[ $# -gt 0 ]]; do
  case "$1" in
    --archs) ARCHS=$2; shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    --size) SIZE=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ $BUILD -eq 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOCKIT_BUILD_TESTS=OFF \
    -DSOCKIT_BUILD_EXAMPLES=OFF -DSOCKIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$BUILD_DIR" --target sockit_cli echo_load epoll_echo >/dev/null
fi
SOCKIT=$BUILD_DIR/bin/sockit
LOAD=$BUILD_DIR/bin/bench/echo_load
BASELINE=$BUILD_DIR/bin/bench/epoll_echo

if [[ $(nproc) -ge 2 ]]; then
  SERVER_CPU=0 LOAD_CPU=1
else
  SERVER_CPU=0 LOAD_CPU=0
  echo "compare.sh: one core only: server and load share it; figures are indicative" >&2
fi
TICKS=$(getconf CLK_TCK)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sockit-arch.XXXXXX")
SERVER_PID=""

stop_server() {
  if [[ -n $SERVER_PID ]]; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# Starts one server pinned to SERVER_CPU; sets SERVER_PID and PORT.
start_server() {
  local name=$1 log=$WORK/$1.log
  local -a cmd
  if [[ $name == epoll ]]; then
    cmd=("$BASELINE" --port 0)
  else
    cmd=("$SOCKIT" serve echo --arch "$name" --port 0 --quiet)
    # One core for the server: one reactor / worker per core, as on a real machine.
    case $name in hybrid|prefork) cmd+=(--workers 1) ;; esac
  fi
  taskset -c "$SERVER_CPU" "${cmd[@]}" 2>"$log" &
  SERVER_PID=$!
  for _ in $(seq 100); do
    PORT=$(grep -o 'listening on [^ ]*:[0-9]*' "$log" | head -1 | sed 's/.*://') || true
    [[ -n ${PORT:-} ]] && return 0
    sleep 0.1
  done
  echo "compare.sh: $name did not start:" >&2
  cat "$log" >&2
  exit 1
}

# utime + stime of the server process (all its threads, live and exited), in clock ticks.
server_ticks() {
  local stat
  stat=$(<"/proc/$SERVER_PID/stat")
  stat=${stat##*) }  # fields after "(comm) "
  awk '{print $12 + $13}' <<<"$stat"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

declare -A RATE CPU ERRS
for mode in $MODES; do
  for name in epoll $ARCHS; do
    start_server "$name"
    taskset -c "$LOAD_CPU" "$LOAD" --port "$PORT" --mode "$mode" --conns "$CONNS" --size "$SIZE" \
      --duration "$WARMUP" >/dev/null
    rates=() cpus=() errors=0
    for _ in $(seq "$ROUNDS"); do
      before=$(server_ticks)
      line=$(taskset -c "$LOAD_CPU" "$LOAD" --port "$PORT" --mode "$mode" --conns "$CONNS" \
        --size "$SIZE" --duration "$DURATION")
      after=$(server_ticks)
      messages=$(grep -o 'messages=[0-9]*' <<<"$line" | cut -d= -f2)
      rates+=("$(grep -o 'rate=[0-9.]*' <<<"$line" | cut -d= -f2)")
      errors=$((errors + $(grep -o 'errors=[0-9]*' <<<"$line" | cut -d= -f2)))
      cpus+=("$(awk -v t=$((after - before)) -v hz="$TICKS" -v m="$messages" \
        'BEGIN {printf "%.3f", (m > 0) ? t / hz * 1e6 / m : 0}')")
    done
    stop_server
    RATE[$mode,$name]=$(printf '%s\n' "${rates[@]}" | median)
    CPU[$mode,$name]=$(printf '%s\n' "${cpus[@]}" | median)
    ERRS[$mode,$name]=$errors
    echo "  $mode $name: ${RATE[$mode,$name]} msgs/s, ${CPU[$mode,$name]} us CPU/msg" >&2
  done
done

echo
echo "Echo, $CONNS connections, $SIZE-byte lines; $ROUNDS rounds of ${DURATION}s after ${WARMUP}s warm-up;"
echo "medians; server on CPU $SERVER_CPU, load on CPU $LOAD_CPU; $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs."
echo "Churn: connect, one line echoed, close (per connection)."
echo
echo "| server | mode | msgs/s | server CPU us/msg | CPU/msg vs epoll | errors |"
echo "|---|---|---:|---:|---:|---:|"
for mode in $MODES; do
  base=${CPU[$mode,epoll]}
  for name in epoll $ARCHS; do
    label=$name
    [[ $name == epoll ]] && label="epoll_echo (baseline)"
    ratio=$(awk -v c="${CPU[$mode,$name]}" -v b="$base" 'BEGIN {printf (b > 0) ? "%.2fx" : "-", c / b}')
    printf '| %s | %s | %.0f | %s | %s | %s |\n' "$label" "$mode" "${RATE[$mode,$name]}" \
      "${CPU[$mode,$name]}" "$ratio" "${ERRS[$mode,$name]}"
  done
done
