#!/usr/bin/env bash
# The whole performance comparison in one session: builds a Release tree with the
# benchmarks, then runs the harness (bench/compare: arch_compare) for each scenario with our
# `reactor` and `hybrid` (and `uring`, `uring-hybrid` when this sockit has them) beside echo
# servers on raw epoll, raw io_uring, Asio, libuv, libevent and a thread per connection
# (bench/peers), the system calls per message of each (bench/syscalls.sh), plus the
# counting-allocator run and the codec micro-benchmarks, and writes bench/RESULTS.md (and
# one SVG chart per scenario in bench/results/). Server on one core, load on the other;
# medians of --rounds rounds.
#
# usage: bench/run_all.sh [--rounds 3] [--duration 2] [--warmup 1] [--no-build] [--resume]
# (--resume keeps the scenarios already measured in $BUILD_DIR/run-all and runs the rest)
# BUILD_DIR defaults to build/bench-all. Takes about 12-15 minutes on 2 vCPUs. Run it by
# hand: it is never part of the test command.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build/bench-all}
ROUNDS=3
DURATION=2
WARMUP=1
BUILD=1
RESUME=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --resume) RESUME=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "run_all.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

if [[ $BUILD -eq 1 ]]; then
  # -Wno-restrict: g++ 12 at -O3 reports false -Wrestrict positives inside libstdc++.
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSOCKIT_BUILD_TESTS=OFF \
    -DSOCKIT_BUILD_EXAMPLES=OFF -DSOCKIT_BUILD_BENCH=ON -DCMAKE_CXX_FLAGS=-Wno-restrict >/dev/null
  cmake --build "$BUILD_DIR" -j"$(nproc)" >/dev/null
fi
SOCKIT=$BUILD_DIR/bin/sockit
BIN=$BUILD_DIR/bin/bench
RESULTS_DIR=$ROOT/bench/results
mkdir -p "$RESULTS_DIR"
# Raw results stay in the build tree, so --resume can rerun only what is missing.
WORK=$BUILD_DIR/run-all
if [[ $RESUME -eq 0 ]]; then rm -rf "$WORK"; fi
mkdir -p "$WORK"

# Both sides hold 10,000 sockets in the idle and 10,000-connection scenarios.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PEERS=()
for peer in epoll:epoll_echo uring_echo:uring_echo asio:asio_echo libuv:libuv_echo \
            libevent:libevent_echo thread-per-conn:thread_echo; do
  name=${peer%%:*} program=$BIN/${peer#*:}
  if [[ -x $program ]]; then
    PEERS+=(--peer "$name=$program")
  else
    echo "run_all.sh: $program not built (library missing?): $name skipped" >&2
  fi
done
# The two raw loops alone, for the scenarios that compare against the floors only.
FLOORS=()
for p in "${PEERS[@]}"; do
  if [[ $p == epoll=* || $p == uring_echo=* ]]; then FLOORS+=(--peer "$p"); fi
done

# sockit's io_uring architectures, where this sockit has them (`sockit serve --help` lists
# its architectures).
URING=""
LINE_ARCHS=reactor
for arch in uring uring-hybrid; do
  if "$SOCKIT" serve --help 2>/dev/null | grep -qE "^ +$arch +|[{,]$arch[,}]"; then
    URING+=",$arch"
    if [[ $arch == uring ]]; then LINE_ARCHS+=,uring; fi
  else
    echo "run_all.sh: this sockit has no --arch $arch: $arch skipped" >&2
  fi
done
EVENT_ARCHS=reactor,hybrid$URING

COMMON=(--rounds "$ROUNDS" --warmup "$WARMUP" --baseline epoll --json)

scenario() {
  local name=$1
  shift
  echo "== $name" >&2
  if [[ $RESUME -eq 1 && -s $WORK/$name.json ]]; then return 0; fi
  "$BIN/arch_compare" --sockit "$SOCKIT" "${COMMON[@]}" --plot "$RESULTS_DIR/$name.svg" "$@" \
    >"$WORK/$name.json" || echo "run_all.sh: $name reported errors (see its table)" >&2
}

D=(--duration "$DURATION")
scenario pingpong-64B-50c --archs "$EVENT_ARCHS" "${PEERS[@]}" --conns 50 --size 64 "${D[@]}"
scenario pingpong-64B-500c --archs "$EVENT_ARCHS" "${PEERS[@]}" --conns 500 --size 64 "${D[@]}"
scenario pingpong-64KiB-10c --archs "$EVENT_ARCHS" "${PEERS[@]}" --conns 10 --size 65536 \
  "${D[@]}"
scenario latency-64B-1c --archs "$EVENT_ARCHS" "${PEERS[@]}" --conns 1 --size 64 "${D[@]}"
scenario churn-64B-50c --archs "$EVENT_ARCHS,prefork,pool" "${PEERS[@]}" --mode churn \
  --conns 50 --size 64 --sources 64 "${D[@]}"
scenario idle-10000c --archs "$EVENT_ARCHS" "${PEERS[@]}" --mode idle --conns 10000 \
  --duration 1 --timeout 20
# 10,000 connections in ping-pong, against the two raw loops: opening them takes most of a
# second, so each round settles for 2 s before it is measured.
scenario pingpong-64B-10000c --archs "$EVENT_ARCHS" "${FLOORS[@]}" --conns 10000 --size 64 \
  --settle 2 --timeout 20 "${D[@]}"
# A line protocol: with --max-line, echo reads line by line (LineSession), as every other
# line service does, instead of passing bytes through; the raw loops still pass them through.
scenario line-64B-50c --archs "$LINE_ARCHS" "${FLOORS[@]}" \
  --serve-args="--max-line 8192" --conns 50 --size 64 "${D[@]}"
# System calls per message: its own short run, since tracing costs the servers CPU.
echo "== syscalls-64B-50c" >&2
if [[ $RESUME -eq 0 || ! -s $WORK/syscalls-64B-50c.json ]]; then
  BUILD_DIR=$BUILD_DIR "$ROOT/bench/syscalls.sh" --json --warmup "$WARMUP" --duration "$DURATION" \
    >"$WORK/syscalls-64B-50c.json" || echo "run_all.sh: syscalls-64B-50c reported errors" >&2
fi
# The architecture comparison: every architecture under the same echo load, beside raw epoll.
# serial is left out of ping-pong: with 50 connections held open it serves one and the
# other 49 wait for ever; it takes part in churn, where each connection ends at once.
EPOLL_PEER=()
for p in "${PEERS[@]}"; do
  if [[ $p == epoll=* ]]; then EPOLL_PEER=(--peer "$p"); fi
done
scenario arch-pingpong-64B-50c --archs "thread,fork,prefork,pool,$EVENT_ARCHS" \
  "${EPOLL_PEER[@]}" --conns 50 --size 64 "${D[@]}"
scenario arch-churn-64B-50c --archs "serial,thread,fork,prefork,pool,$EVENT_ARCHS" \
  "${EPOLL_PEER[@]}" --mode churn --conns 50 --size 64 --sources 64 "${D[@]}"
# The tail at 10,000 connections: each round opens them afresh, so it measures how long a
# new client waits for its first answer while thousands are busy, as well as the steady state.
scenario latency-64B-10000c --archs "$EVENT_ARCHS" "${EPOLL_PEER[@]}" --conns 10000 --size 64 \
  --duration 5 --timeout 20

echo "== allocations per message" >&2
"$BIN/reactor_alloc" --conns 50 --messages 50000 >"$WORK/alloc.txt" 2>/dev/null ||
  echo "run_all.sh: reactor_alloc saw allocations" >&2
"$BIN/reactor_alloc" --coroutine --conns 50 --messages 50000 >"$WORK/alloc-coroutine.txt" \
  2>/dev/null || echo "run_all.sh: reactor_alloc --coroutine saw allocations" >&2
echo "== codec and parser micro-benchmarks" >&2
for micro in codec http; do
  if [[ -x $BIN/${micro}_bench ]]; then
    "$BIN/${micro}_bench" --benchmark_min_time=0.2 --benchmark_format=json \
      >"$WORK/$micro.json" 2>/dev/null || true
  fi
done

python3 - "$WORK" "$ROOT/bench/RESULTS.md" "$ROOT/bench/profiling.md" "$ROUNDS" "$DURATION" \
  "$WARMUP" <<'PY'
import datetime, json, os, platform, subprocess, sys

work, out_path, notes_path, rounds, duration, warmup = sys.argv[1:7]

def load(name):
    try:
        with open(os.path.join(work, name + ".json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"

def target(data, name):
    if not data:
        return None
    for t in data["targets"]:
        if t["name"] == name:
            return t["median"]
    return None

lines = []
w = lines.append
w("# Benchmark results")
w("")
w("Written by `bench/run_all.sh`; the tables are what that run measured, nothing else. The")
w("dated sections after them (from bench/profiling.md) are runs by hand, each with its own")
w("date and its peers in the same run.")
w("")
w(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
w(f"- machine: {os.cpu_count()} CPUs (nproc), {model()}, kernel {platform.release()}")
w(f"- method: each server pinned to one CPU, the load (`arch_compare`, with `sockit bench`'s load generator) to the other; "
  f"{warmup} s warm-up per server, then {rounds} rounds of {duration} s; medians of the rounds. "
  "Figure of merit: the server's CPU time (utime+stime of its process tree, /proc/PID/stat) "
  "per message; `core` is the busy time of the server's CPU from /proc/stat (it includes "
  "softirq work and anything else scheduled there, so it is noisier). Rates tie at the load "
  "generator's limit on 2 vCPUs and are shown for reference only. `ran with`: the `--workers` "
  "the harness gave a server, and the most threads (io_uring's kernel workers aside) and "
  "processes it ran under load. `uring_echo` is a plain liburing loop (bench/peers), the "
  "io_uring counterpart of `epoll`; `uring` and `uring-hybrid` are sockit's io_uring "
  "architectures, measured when the sockit built has them.")
w("")

# What a server ran with: the --workers the harness gave it, and the threads and processes
# seen under load (io_uring's kernel workers aside).
def ran_with(t):
    parts = []
    if t.get("workers"):
        parts.append(f"--workers {t['workers']}")
    if t.get("threads"):
        parts.append(f"{t['threads']} thr")
    if t.get("processes", 0) > 1:
        parts.append(f"{t['processes']} proc")
    return ", ".join(parts) or "-"

def table(title, data, figure="cpu"):
    w(f"## {title}")
    w("")
    if not data:
        w("(no result: the scenario failed)")
        w("")
        return
    if data.get("serve_args"):
        w(f"`sockit serve` ran with `{' '.join(data['serve_args'])}`.")
        w("")
    if data.get("settle_s"):
        w(f"Each round ran {data['settle_s']:g} s of load before its measured "
          f"{data['duration_s']:g} s.")
        w("")
    base = target(data, data["baseline"])
    if figure == "rss":
        w("| server | ran with | held | RSS KiB / connection | vs epoll | errors |")
        w("|---|---|---:|---:|---:|---:|")
        for t in data["targets"]:
            m = t["median"]
            b = base["rss_kib_per_connection"] if base else 0
            ratio = f"{m['rss_kib_per_connection'] / b:.2f}x" if b > 0 else "-"
            w(f"| {t['name']} | {ran_with(t)} | {m['messages']} | "
              f"{m['rss_kib_per_connection']:.2f} | {ratio} | {sum(t['errors'].values())} |")
    elif figure == "syscalls":
        w(f"System calls counted with {data.get('syscall_tool') or '(nothing: no perf, no strace)'} "
          "over the whole round, divided by the messages echoed. The tracing costs CPU: the CPU "
          "column is for reading beside the other scenarios' only.")
        w("")
        w("| server | ran with | msgs/s | syscalls/msg | CPU us/msg (traced) | errors |")
        w("|---|---|---:|---:|---:|---:|")
        for t in data["targets"]:
            m = t["median"]
            calls = m.get("syscalls_per_message")
            w(f"| {t['name']} | {ran_with(t)} | {m['rate']:.0f} | "
              f"{'-' if calls is None or calls < 0 else f'{calls:.3f}'} | "
              f"{m['cpu_us_per_message']:.3f} | {sum(t['errors'].values())} |")
    else:
        unit = "conns/s" if data["mode"] == "churn" else "msgs/s"
        key = {"p50": "p50_us", "p999": "p999_us"}.get(figure, "cpu_us_per_message")
        label = {"p50": "p50", "p999": "p99.9"}.get(figure, "CPU/msg")
        w(f"| server | ran with | {unit} | MiB/s | p50 us | p99 us | p99.9 us | CPU us/msg | "
          f"core us/msg | {label} vs epoll | errors |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for t in data["targets"]:
            m = t["median"]
            b = base[key] if base else 0
            ratio = f"{m[key] / b:.3f}x" if b > 0 else "-"
            w(f"| {t['name']} | {ran_with(t)} | {m['rate']:.0f} | {m['mib_per_second']:.1f} | "
              f"{m['p50_us']:.1f} | {m['p99_us']:.1f} | {m['p999_us']:.1f} | "
              f"{m['cpu_us_per_message']:.3f} | {m['core_us_per_message']:.3f} | {ratio} | "
              f"{sum(t['errors'].values())} |")
        rounds_text = "; ".join(
            f"{t['name']} " + " ".join(f"{r[key]:.3f}" for r in t["rounds"]) for t in data["targets"])
        w("")
        w(f"Per-round {label if figure != 'cpu' else 'CPU us/msg'}{' us' if figure != 'cpu' else ''}: "
          f"{rounds_text}")
    w("")

checks = []
def check(label, value, limit, ok, pair=None):
    # pair: (median of per-round ratios, bound, strict) or None
    paired_text = "-"
    if pair is not None and pair[0] is not None:
        ratio, bound, strict = pair
        pair_ok = ratio < bound if strict else ratio <= bound
        paired_text = f"{ratio:.3f}x ({'<' if strict else '<='} {bound:.2f}x): " + (
            "met" if pair_ok else "MISSED")
    if value is None or limit is None:
        checks.append(f"| {label} | - | - | not measured | - |")
    else:
        checks.append(f"| {label} | {value:.3f} | {limit:.3f} | {'met' if ok else 'MISSED'} | "
                      f"{paired_text} |")

scenarios = [
    ("pingpong-64B-50c", "Ping-pong, 64 B, 50 connections", "cpu"),
    ("pingpong-64B-500c", "Ping-pong, 64 B, 500 connections", "cpu"),
    ("pingpong-64KiB-10c", "64 KiB messages, 10 connections", "cpu"),
    ("latency-64B-1c", "One connection, 64 B: round-trip latency", "p50"),
    ("churn-64B-50c", "Churn: connect, 64 B echo, close (50 in flight, 64 source addresses)", "cpu"),
    ("idle-10000c", "10,000 idle connections: server memory", "rss"),
    ("pingpong-64B-10000c", "Ping-pong, 64 B, 10,000 connections", "cpu"),
    ("line-64B-50c", "A line protocol: echo line by line (--max-line 8192), 64 B, 50 connections",
     "cpu"),
    ("syscalls-64B-50c", "System calls per message: ping-pong, 64 B, 50 connections", "syscalls"),
    ("arch-pingpong-64B-50c", "Architectures: ping-pong, 64 B, 50 connections", "cpu"),
    ("arch-churn-64B-50c", "Architectures: churn (connect, 64 B echo, close)", "cpu"),
    ("latency-64B-10000c", "Ping-pong, 64 B, 10,000 connections: the latency tail", "p999"),
]
data = {name: load(name) for name, _, _ in scenarios}

def cpu(name, who, key="cpu_us_per_message"):
    m = target(data[name], who)
    return m[key] if m else None

# Rounds are interleaved (each round measures every server in turn), so round i of two
# servers comes from the same minutes: the median of the per-round ratios cancels the
# machine's drift between rounds.
def paired(name, a, b, key="cpu_us_per_message"):
    d = data[name]
    if not d:
        return None
    rounds = {t["name"]: [r[key] for r in t["rounds"]] for t in d["targets"]}
    ra, rb = rounds.get(a), rounds.get(b)
    if not ra or not rb or len(ra) != len(rb):
        return None
    ratios = sorted(x / y for x, y in zip(ra, rb) if y > 0)
    if not ratios:
        return None
    n = len(ratios)
    return ratios[n // 2] if n % 2 else (ratios[n // 2 - 1] + ratios[n // 2]) / 2

for name in ("pingpong-64B-50c", "pingpong-64B-500c"):
    r, e = cpu(name, "reactor"), cpu(name, "epoll")
    check(f"{name}: reactor CPU/msg <= 1.02 x epoll", r, e * 1.02 if e else None,
          r is not None and e is not None and r <= e * 1.02,
          (paired(name, "reactor", "epoll"), 1.02, False))
    for peer in ("asio", "libuv", "libevent"):
        p = cpu(name, peer)
        check(f"{name}: reactor CPU/msg < {peer}", r, p, r is not None and p is not None and r < p,
              (paired(name, "reactor", peer), 1.0, True))
r = cpu("pingpong-64KiB-10c", "reactor")
peers = [(cpu("pingpong-64KiB-10c", p), p) for p in ("epoll", "asio", "libuv", "libevent")]
peers = [(v, p) for v, p in peers if v is not None]
best, best_name = min(peers) if peers else (None, None)
check(f"pingpong-64KiB-10c: reactor CPU/msg <= best peer ({best_name})", r, best,
      r is not None and best is not None and r <= best,
      (paired("pingpong-64KiB-10c", "reactor", best_name), 1.0, False))
r, e = cpu("latency-64B-1c", "reactor", "p50_us"), cpu("latency-64B-1c", "epoll", "p50_us")
check("latency-64B-1c: reactor p50 <= 1.05 x epoll", r, e * 1.05 if e else None,
      r is not None and e is not None and r <= e * 1.05,
      (paired("latency-64B-1c", "reactor", "epoll", "p50_us"), 1.05, False))
r, e = cpu("churn-64B-50c", "reactor"), cpu("churn-64B-50c", "epoll")
check("churn: reactor CPU/conn <= 1.05 x epoll", r, e * 1.05 if e else None,
      r is not None and e is not None and r <= e * 1.05,
      (paired("churn-64B-50c", "reactor", "epoll"), 1.05, False))
for arch in ("prefork", "pool"):
    a = cpu("churn-64B-50c", arch)
    check(f"churn: {arch} CPU/conn <= 1.4 x reactor", a, r * 1.4 if r else None,
          a is not None and r is not None and a <= r * 1.4,
          (paired("churn-64B-50c", arch, "reactor"), 1.4, False))
for arch in ("reactor", "hybrid", "uring", "uring-hybrid"):
    a, e = cpu("latency-64B-10000c", arch, "p999_us"), cpu("latency-64B-10000c", "epoll", "p999_us")
    check(f"latency-64B-10000c: {arch} p99.9 <= 1.2 x epoll", a, e * 1.2 if e else None,
          a is not None and e is not None and a <= e * 1.2,
          (paired("latency-64B-10000c", arch, "epoll", "p999_us"), 1.2, False))
m = target(data["idle-10000c"], "reactor")
rss = m["rss_kib_per_connection"] if m else None
check("idle: reactor RSS KiB/connection <= 2", rss, 2.0, rss is not None and rss <= 2.0)

# sockit's io_uring loop against raw epoll, and against the plain liburing loop (the peer
# uring_echo: "uring" is the name of sockit's architecture).
def ratio_check(name, who, against, bound, label):
    a, b = cpu(name, who), cpu(name, against)
    check(f"{name}: {label}", a, b * bound if b else None,
          a is not None and b is not None and a <= b * bound,
          (paired(name, who, against), bound, False))

for name in ("pingpong-64B-50c", "pingpong-64B-500c"):
    ratio_check(name, "uring", "epoll", 0.85, "uring CPU/msg <= 0.85 x epoll")
ratio_check("pingpong-64KiB-10c", "uring", "epoll", 1.0, "uring CPU/msg <= epoll")
ratio_check("churn-64B-50c", "uring", "epoll", 1.0, "uring CPU/conn <= epoll")
for name in ("pingpong-64B-50c", "pingpong-64B-500c", "pingpong-64KiB-10c", "churn-64B-50c"):
    unit = "conn" if name.startswith("churn") else "msg"
    ratio_check(name, "uring", "uring_echo", 1.05, f"uring CPU/{unit} <= 1.05 x uring_echo")
for arch in ("uring", "uring-hybrid"):
    m = target(data["syscalls-64B-50c"], arch)
    calls = m.get("syscalls_per_message") if m else None
    check(f"syscalls-64B-50c: {arch} system calls/msg < 0.5", calls, 0.5,
          calls is not None and calls < 0.5)
    m = target(data["idle-10000c"], arch)
    rss = m["rss_kib_per_connection"] if m else None
    check(f"idle: {arch} RSS KiB/connection <= 1", rss, 1.0, rss is not None and rss <= 1.0)
alloc_line = ""
try:
    alloc_line = open(os.path.join(work, "alloc.txt")).read().strip()
    per = float(alloc_line.rsplit("=", 1)[1])
    check("reactor heap allocations per message == 0", per, 0.0, per == 0.0)
except (OSError, ValueError, IndexError):
    check("reactor heap allocations per message == 0", None, None, False)
try:
    coroutine_line = open(os.path.join(work, "alloc-coroutine.txt")).read().strip()
    per = float(coroutine_line.rsplit("=", 1)[1])
    check("coroutine echo heap allocations per message == 0", per, 0.0, per == 0.0)
    alloc_line += "\n" + coroutine_line
except (OSError, ValueError, IndexError):
    check("coroutine echo heap allocations per message == 0", None, None, False)

w("## Targets")
w("")
w("`measured` and `limit` compare the medians of each server's rounds (the figure of merit). "
  "Rounds are interleaved: each round measures every server in turn, so round i of every "
  "server comes from the same minutes; the last column compares the servers round by round "
  "(the median of the per-round ratios), which cancels the drift of the machine's speed "
  "between rounds.")
w("")
w("| target | measured | limit | | per-round ratio, median |")
w("|---|---:|---:|---|---|")
lines.extend(checks)
w("")
for name, title, figure in scenarios:
    table(title, data[name], figure)
    if os.path.exists(os.path.join(os.path.dirname(out_path), "results", name + ".svg")):
        w(f"![{title}](results/{name}.svg)")
        w("")
w("## Heap allocations per message (reactor, steady state)")
w("")
w("`bench/alloc/reactor_alloc` replaces operator new, runs `echo` (and, with `--coroutine`, "
  "an echo coroutine awaiting read_some and write_all) on an in-process reactor Server and "
  "counts allocations while 50 connections ping-pong 64-byte lines:")
w("")
w("```")
w(alloc_line or "(not run)")
w("```")
w("")
micro = [b for name in ("codec", "http") for b in ((load(name) or {}).get("benchmarks", []))]
if micro:
    w("## Codec and HTTP parser micro-benchmarks (Google Benchmark)")
    w("")
    w("| benchmark | ns/op | bytes/s |")
    w("|---|---:|---:|")
    for b in micro:
        bps = b.get("bytes_per_second")
        w(f"| {b['name']} | {b['real_time']:.1f} | "
          f"{(f'{bps / 2**20:.0f} MiB/s') if bps else '-'} |")
    w("")
tls_path = os.path.join(os.path.dirname(out_path), "TLS-RESULTS.md")
if os.path.exists(tls_path):
    w("## TLS")
    w("")
    w("TLS echo on the reactor against plaintext, and handshakes per second, are measured by")
    w("`bench/tls/run.sh` in [TLS-RESULTS.md](TLS-RESULTS.md) (its own date and conditions).")
    w("")
w("## HTTP static files")
w("")
w("nginx, h2o and `sockit serve http` on each architecture under wrk (1 KiB and 1 MiB files,")
w("keep-alive and `Connection: close`) are measured by `bench/http/run.sh bench/HTTP-RESULTS.md`")
w("in [HTTP-RESULTS.md](HTTP-RESULTS.md) (its own date and conditions).")
w("")
if os.path.exists(notes_path):
    w(open(notes_path).read().rstrip())
    w("")
with open(out_path, "w") as f:
    f.write("\n".join(lines))
print(f"run_all.sh: wrote {out_path}", file=sys.stderr)
PY
