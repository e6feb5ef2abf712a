#!/usr/bin/env bash
# TLS benchmark: `sockit serve echo --arch reactor` in plaintext and with --tls-cert/--tls-key,
# measured by tls_bench (ping-pong of 64-byte lines over N connections; handshakes per second
# with K in flight). Server and load pinned to different cores, a warm-up run first, then
# ROUNDS rounds alternating plaintext and TLS, medians. Writes bench/TLS-RESULTS.md.
#
# Usage: bench/tls/run.sh [--rounds 3] [--seconds 5] [--conns 50] [--handshake-conns 16]
#                         [--build-dir DIR] [--no-build] [--out FILE]
# Builds only the two programs it runs, in Release with benchmarks on: by default through
# the `bench` preset (build/bench), with --build-dir in a directory of your own.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
rounds=3
seconds=5
conns=50
handshake_conns=16
build_dir=""
build=1
out="$root/bench/TLS-RESULTS.md"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --handshake-conns) handshake_conns=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ -z $build_dir ]]; then
  build_dir="$root/build/bench"
  if [[ $build == 1 ]]; then
    (cd "$root" && cmake --preset bench >/dev/null && cmake --build --preset bench --target sockit_cli tls_bench)
  fi
elif [[ $build == 1 ]]; then
  cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DSOCKIT_BUILD_TESTS=OFF -DSOCKIT_BUILD_BENCH=ON >/dev/null
  cmake --build "$build_dir" --target sockit_cli tls_bench
fi
sockit="$build_dir/bin/sockit"
load="$build_dir/bin/bench/tls_bench"
for program in "$sockit" "$load"; do
  [[ -x $program ]] || { echo "run.sh: $program is missing (build first)" >&2; exit 1; }
done

# Server on one core, load on another (the last two cores; one core: both share it).
cores=$(nproc)
if (( cores >= 2 )); then
  server_cpu=$((cores - 2))
  load_cpu=$((cores - 1))
else
  server_cpu=0
  load_cpu=0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sockit-tls-bench.XXXXXX")
servers=()
cleanup() {
  for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${servers[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

"$sockit" cert localhost --out "$work" >/dev/null

# start_server NAME [ARGS...]: sets port_NAME and pid_NAME.
start_server() {
  local name=$1
  shift
  taskset -c "$server_cpu" "$sockit" serve echo --arch reactor --host 127.0.0.1 --port 0 \
    --quiet "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  servers+=("$pid")
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/$name.log")
    [[ -n $port ]] && break
    sleep 0.1
  done
  [[ -n $port ]] || { echo "run.sh: $name server did not start:" >&2; cat "$work/$name.log" >&2; exit 1; }
  printf -v "port_$name" '%s' "$port"
  printf -v "pid_$name" '%s' "$pid"
}

start_server plain
start_server tls --tls-cert "$work/localhost.crt" --tls-key "$work/localhost.key"

# bench VARIANT MODE CONNS SECONDS WARMUP: one tls_bench run, its key=value line on stdout.
bench() {
  local variant=$1 mode=$2 n=$3 secs=$4 warm=$5
  local port_var="port_$variant" pid_var="pid_$variant"
  local tls_args=()
  [[ $variant == tls ]] && tls_args=(--tls --ca "$work/localhost.crt" --server-name 127.0.0.1)
  taskset -c "$load_cpu" "$load" --port "${!port_var}" --server-pid "${!pid_var}" \
    --mode "$mode" --conns "$n" --seconds "$secs" --warmup "$warm" "${tls_args[@]}"
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "warm-up..." >&2
for variant in plain tls; do
  bench "$variant" echo "$conns" 1 0 >/dev/null
  bench "$variant" handshake "$handshake_conns" 1 0 >/dev/null
done

raw="$work/raw.txt"
: >"$raw"
for round in $(seq "$rounds"); do
  for variant in plain tls; do
    for mode in echo handshake; do
      n=$conns
      [[ $mode == handshake ]] && n=$handshake_conns
      line=$(bench "$variant" "$mode" "$n" "$seconds" 1)
      echo "round $round $variant: $line" >&2
      echo "round=$round variant=$variant $line" >>"$raw"
    done
  done
done

# stat VARIANT MODE KEY: the median of KEY over the rounds.
stat() {
  grep " variant=$1 mode=$2 " "$raw" | while read -r l; do field "$3" " $l"; done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
fmt() { awk -v v="$1" 'BEGIN { printf "%.'"${2:-0}"'f", v }'; }

e_plain=$(stat plain echo rate); e_tls=$(stat tls echo rate)
eu_plain=$(stat plain echo server_us_per_op); eu_tls=$(stat tls echo server_us_per_op)
el_plain=$(stat plain echo load_cpu_pct); el_tls=$(stat tls echo load_cpu_pct)
es_plain=$(stat plain echo server_cpu_pct); es_tls=$(stat tls echo server_cpu_pct)
h_plain=$(stat plain handshake rate); h_tls=$(stat tls handshake rate)
hu_plain=$(stat plain handshake server_us_per_op); hu_tls=$(stat tls handshake server_us_per_op)
hl_plain=$(stat plain handshake load_cpu_pct); hl_tls=$(stat tls handshake load_cpu_pct)
hs_plain=$(stat plain handshake server_cpu_pct); hs_tls=$(stat tls handshake server_cpu_pct)
errors=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) { split($i, kv, "="); s += kv[2] } } END { print s + 0 }' "$raw")

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
openssl_version=$(openssl version 2>/dev/null || echo "OpenSSL (version unknown)")
protocol=$(grep -m1 " variant=tls mode=echo " "$raw" | sed -n 's/.* protocol=\([^ ]*\) cipher=\([^ ]*\).*/\1, \2/p')

{
  echo "# TLS benchmark: reactor echo, plaintext vs TLS"
  echo
  echo "Written by \`bench/tls/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "- Machine: ${cpu_model:-unknown CPU}, $cores cores; kernel $(uname -r)"
  echo "- $openssl_version; server \`sockit serve echo --arch reactor --quiet\` (Release)," \
    "with \`--tls-cert/--tls-key\` from \`sockit cert localhost\` (EC P-256) for TLS"
  echo "- Server pinned to CPU $server_cpu, load (\`tls_bench\`, one thread, epoll," \
    "sockit's TlsTransport, certificate verification on) to CPU $load_cpu"
  echo "- $rounds rounds of ${seconds} s each (after 1 s unmeasured), plaintext and TLS" \
    "alternating; one warm-up run of each first; medians below; errors in all runs: $errors"
  echo "- Load average (1, 5, 15 min) before: $load_before; after: $load_after. Other work on"
  echo "  the machine takes CPU from both sides; the server-CPU-per-operation rows are the"
  echo "  least sensitive to it"
  echo
  echo "## Echo: $conns connections, 64-byte lines, ping-pong"
  echo
  echo "| | plaintext | TLS | TLS / plaintext |"
  echo "|---|---:|---:|---:|"
  echo "| messages/s | $(fmt "$e_plain") | $(fmt "$e_tls") | $(ratio "$e_tls" "$e_plain") |"
  echo "| server CPU per message (µs) | $(fmt "$eu_plain" 2) | $(fmt "$eu_tls" 2) | $(ratio "$eu_tls" "$eu_plain") |"
  echo "| server CPU busy (%) | $(fmt "$es_plain") | $(fmt "$es_tls") | |"
  echo "| load generator CPU busy (%) | $(fmt "$el_plain") | $(fmt "$el_tls") | |"
  echo
  echo "## Handshakes: $handshake_conns in flight, connect + full handshake + close"
  echo
  echo "Plaintext is the bare TCP connect and close: the baseline a TLS handshake adds to."
  echo "Every TLS connection is a full handshake (no session resumption)."
  echo
  echo "| | plaintext (TCP only) | TLS | TLS / plaintext |"
  echo "|---|---:|---:|---:|"
  echo "| connections/s | $(fmt "$h_plain") | $(fmt "$h_tls") | $(ratio "$h_tls" "$h_plain") |"
  echo "| server CPU per connection (µs) | $(fmt "$hu_plain" 1) | $(fmt "$hu_tls" 1) | $(ratio "$hu_tls" "$hu_plain") |"
  echo "| server CPU busy (%) | $(fmt "$hs_plain") | $(fmt "$hs_tls") | |"
  echo "| load generator CPU busy (%) | $(fmt "$hl_plain") | $(fmt "$hl_tls") | |"
  echo
  echo "Server CPU is utime + stime from /proc/PID/stat over the measured interval (10 ms"
  echo "ticks), divided by the messages or connections completed in it. A side near 100%"
  echo "busy set the rate (the load generator does about as much TLS work as the server);"
  echo "when neither is, other processes held the CPUs and the rates say less than the CPU"
  echo "cost per operation, which is the number to compare."
  if [[ -n $protocol ]]; then echo; echo "Negotiated: $protocol."; fi
  echo
  echo "## Every run"
  echo
  echo '```'
  cat "$raw"
  echo '```'
} >"$out"
echo "wrote $out" >&2
