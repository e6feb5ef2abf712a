#!/usr/bin/env bash
# Soak test of the event-loop architectures: for each of reactor, hybrid, uring and
# uring-hybrid, one `sockit serve echo` takes many connections of verified echoes (sockit
# bench pingpong, in rounds until the echo count is reached), then churned connections
# (bench churn), and one `sockit serve chat` holds a room where some members never read.
# The server's RSS is sampled every second from /proc/PID/status; each phase is bounded in
# time. Any bench error, a server that dies, or a chat reader that misses a message fails.
#
#   bench/soak.sh --quick                        # a minute or two: small numbers
#   bench/soak.sh --archs reactor --max-seconds 600
#
# Defaults: 10,000 connections with 10 million verified echoes, 1 million churned
# connections, chat with 1,000 members of which 100 never read. They need a raised
# descriptor limit (the script raises its soft limit as far as the hard one allows) and
# take long: run them on a machine of their own.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/soak.sh [options]
  --sockit PATH        the sockit binary [build/release/bin/sockit, else build/asan/bin/sockit]
  --archs LIST         comma-separated [reactor,hybrid,uring,uring-hybrid]
  --conns N            echo connections [10000]
  --echoes N           verified echoes to reach [10000000]
  --churn N            churned connections to reach [1000000]
  --chat-members N     chat members [1000]
  --chat-silent N      of which never read [100]
  --chat-seconds S     seconds of chat traffic [60]
  --max-seconds S      upper bound on each echo and churn phase [3600]
  --round-seconds S    seconds per bench round [10]
  --quick              200 conns, 200,000 echoes, 20,000 churned, chat 100/10 for 5 s,
                       phases bounded at 30 s, 3 s rounds
EOF
}

root=$(cd "$(dirname "$0")/.." && pwd)
sockit=""
archs="reactor,hybrid,uring,uring-hybrid"
conns=10000 echoes=10000000 churn=1000000
chat_members=1000 chat_silent=100 chat_seconds=60
max_seconds=3600 round_seconds=10

while [[ $# -gt 0 ]]; do
  case "$1" in
    --sockit) sockit=$2; shift 2 ;;
    --archs) archs=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --echoes) echoes=$2; shift 2 ;;
    --churn) churn=$2; shift 2 ;;
    --chat-members) chat_members=$2; shift 2 ;;
    --chat-silent) chat_silent=$2; shift 2 ;;
    --chat-seconds) chat_seconds=$2; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --round-seconds) round_seconds=$2; shift 2 ;;
    --quick)
      conns=200 echoes=200000 churn=20000
      chat_members=100 chat_silent=10 chat_seconds=5
      max_seconds=30 round_seconds=3
      shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "soak: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -z "$sockit" ]]; then
  for candidate in "$root/build/release/bin/sockit" "$root/build/asan/bin/sockit"; do
    if [[ -x "$candidate" ]]; then sockit=$candidate; break; fi
  done
fi
[[ -x "$sockit" ]] || { echo "soak: no sockit binary (build one or pass --sockit)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "soak: python3 runs the chat members" >&2; exit 2; }

# Each connection costs a descriptor in the server and one in the client (each a process
# of its own, inheriting the limit).
needed=$(((conns > chat_members ? conns : chat_members) + 256))
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt "$needed" ]]; then
  echo "soak: the descriptor limit $(ulimit -n) is below the $needed needed" >&2
  exit 2
fi

work=$(mktemp -d)
server_pid=""
sampler_pid=""
cleanup() {
  [[ -n "$sampler_pid" ]] && kill "$sampler_pid" 2>/dev/null || true
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

failures=0
fail() { echo "  FAIL: $*"; failures=$((failures + 1)); }

# start_server SERVICE ARCH: sets server_pid and port, and starts the RSS sampler.
start_server() {
  local service=$1 arch=$2
  : >"$work/server.err"
  "$sockit" serve "$service" --arch "$arch" --port 0 --quiet --max-conns 0 \
    2>"$work/server.err" &
  server_pid=$!
  port=""
  for _ in $(seq 1 300); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9]*\) .*/\1/p' "$work/server.err" | head -n1)
    [[ -n "$port" ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z "$port" ]]; then
    fail "$service on $arch did not start: $(cat "$work/server.err")"
    server_pid=""
    return 1
  fi
  : >"$work/rss"
  (
    while kill -0 "$server_pid" 2>/dev/null; do
      awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null >>"$work/rss" || true
      sleep 1
    done
  ) &
  sampler_pid=$!
}

# stop_server: SIGTERM, wait, report the RSS samples (KiB) as first/max/last.
stop_server() {
  local label=$1
  kill -TERM "$server_pid" 2>/dev/null || true
  local status=0
  wait "$server_pid" || status=$?
  kill "$sampler_pid" 2>/dev/null || true
  wait "$sampler_pid" 2>/dev/null || true
  server_pid="" sampler_pid=""
  [[ $status -eq 0 ]] || fail "$label: server exited with status $status: $(tail -n3 "$work/server.err")"
  if [[ -s "$work/rss" ]]; then
    awk -v label="$label" 'NR == 1 { first = $1 } { if ($1 > max) max = $1; last = $1 }
      END { printf "  %s RSS: %d samples, first %.1f MiB, max %.1f MiB, last %.1f MiB\n",
            label, NR, first / 1024, max / 1024, last / 1024 }' "$work/rss"
  fi
}

# json_field FILE NAME: a top-level number of sockit bench --json output.
json_field() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); f=sys.argv[2]
print(d["errors"]["total"] if f == "errors" else d.get(f, 0))' "$1" "$2"
}

# bench_until ARCH MODE TARGET FIELD CONNS: bench rounds until FIELD sums to TARGET or
# max_seconds pass; prints the totals.
bench_until() {
  local arch=$1 mode=$2 target=$3 field=$4 n=$5
  local total=0 errors=0 rounds=0 start=$SECONDS
  while [[ $total -lt $target && $((SECONDS - start)) -lt $max_seconds ]]; do
    local left=$((max_seconds - (SECONDS - start)))
    local seconds=$((round_seconds < left ? round_seconds : left))
    local out="$work/bench.json"
    local extra=()
    [[ $mode == churn ]] && extra=(--sources 64)
    "$sockit" bench 127.0.0.1 "$port" --mode "$mode" --conns "$n" --duration "$seconds" \
      --warmup 0 --timeout 30 --json "${extra[@]}" >"$out" 2>"$work/bench.err" || true
    if [[ ! -s "$out" ]]; then
      fail "$arch $mode: bench printed nothing: $(cat "$work/bench.err")"
      break
    fi
    total=$((total + $(json_field "$out" "$field")))
    errors=$((errors + $(json_field "$out" errors)))
    rounds=$((rounds + 1))
    kill -0 "$server_pid" 2>/dev/null || { fail "$arch $mode: the server died"; break; }
  done
  echo "  $mode: $total $field in $rounds round(s), $((SECONDS - start)) s, $errors error(s)"
  [[ $errors -eq 0 ]] || fail "$arch $mode: $errors bench error(s)"
  [[ $total -ge $target ]] || echo "  ($mode stopped at --max-seconds before $target $field)"
}

cat >"$work/chat.py" <<'EOF'
# Chat members: N join, the silent ones never read a byte; the others read everything.
# Talkers (one in ten readers) each send a numbered line every 50 ms for the given
# seconds. Afterwards every reader must have seen every talker's last line. Prints one
# summary line; exits 1 on a failure.
import selectors, socket, sys, time

port, members, silent, seconds = (int(a) for a in sys.argv[1:5])
sel = selectors.DefaultSelector()
conns = []
for i in range(members):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"m%d\n" % i)
    s.setblocking(False)
    conns.append(s)
    if i >= silent:
        sel.register(s, selectors.EVENT_READ, i)
received = {i: bytearray() for i in range(silent, members)}
readers = list(range(silent, members))
talkers = readers[::10]

def pump(timeout):
    for key, _ in sel.select(timeout):
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            continue
        if not data:
            sel.unregister(key.fileobj)
            continue
        received[key.data] += data

# Everyone has joined once the last member's welcome arrived.
deadline = time.monotonic() + 60
while time.monotonic() < deadline and b"Welcome" not in received[members - 1]:
    pump(0.1)
sent = 0
end = time.monotonic() + seconds
number = 0
while time.monotonic() < end:
    number += 1
    for t in talkers:
        try:
            conns[t].send(b"msg %d from m%d\n" % (number, t))
            sent += 1
        except BlockingIOError:
            pass
    stop = time.monotonic() + 0.05
    while time.monotonic() < stop:
        pump(0.01)
final = [b"m%d: msg %d from m%d\n" % (t, number, t) for t in talkers]
deadline = time.monotonic() + 60
def missing():
    return sum(1 for r in readers for t, line in zip(talkers, final)
               if r != t and line not in received[r])
while time.monotonic() < deadline and missing():
    pump(0.1)
lost = missing()
total = sum(len(v) for v in received.values())
print("  chat: %d members (%d never read), %d talkers sent %d lines, readers got %d bytes, "
      "%d last lines missing" % (members, silent, len(talkers), sent, total, lost))
sys.exit(1 if lost else 0)
EOF

echo "soak: $sockit"
echo "soak: archs $archs; $conns conns to $echoes echoes; $churn churned;" \
  "chat $chat_members members ($chat_silent silent) for $chat_seconds s; phases <= $max_seconds s"
IFS=, read -r -a arch_list <<<"$archs"
for arch in "${arch_list[@]}"; do
  echo "== $arch"
  if start_server echo "$arch"; then
    bench_until "$arch" pingpong "$echoes" messages "$conns"
    bench_until "$arch" churn "$churn" connections 64
    stop_server "echo"
  fi
  if start_server chat "$arch"; then
    python3 "$work/chat.py" "$port" "$chat_members" "$chat_silent" "$chat_seconds" ||
      fail "$arch chat: readers missed lines"
    stop_server "chat"
  fi
done
if [[ $failures -eq 0 ]]; then
  echo "soak: passed"
else
  echo "soak: $failures failure(s)"
  exit 1
fi
