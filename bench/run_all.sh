#!/usr/bin/env bash
# The whole performance comparison in one session: builds a Release tree with the
# benchmarks, then runs the harness (bench/compare: arch_compare) for each scenario with our
# `reactor` and `hybrid` beside echo servers on raw epoll, Asio, libuv, libevent and a
# thread per connection (bench/peers), plus the counting-allocator run and the codec
# micro-benchmarks, and writes bench/RESULTS.md (and one SVG chart per scenario in
# bench/results/). Server on one core, load on the other; medians of --rounds rounds.
#
# usage: bench/run_all.sh [--rounds 3] [--duration 2] [--warmup 1] [--no-build] [--resume]
# (--resume keeps the scenarios already measured in $BUILD_DIR/run-all and runs the rest)
# BUILD_DIR defaults to build/bench-all. Takes about 6-8 minutes on 2 vCPUs. Run it by hand:
# it is never part of the test command.
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
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
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

# Both sides hold 10,000 sockets in the idle scenario.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PEERS=()
for peer in epoll:epoll_echo asio:asio_echo libuv:libuv_echo libevent:libevent_echo \
            thread-per-conn:thread_echo; do
  name=${peer%%:*} program=$BIN/${peer#*:}
  if [[ -x $program ]]; then
    PEERS+=(--peer "$name=$program")
  else
    echo "run_all.sh: $program not built (library missing?): $name skipped" >&2
  fi
done

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
scenario pingpong-64B-50c --archs reactor,hybrid "${PEERS[@]}" --conns 50 --size 64 "${D[@]}"
scenario pingpong-64B-500c --archs reactor,hybrid "${PEERS[@]}" --conns 500 --size 64 "${D[@]}"
scenario pingpong-64KiB-10c --archs reactor,hybrid "${PEERS[@]}" --conns 10 --size 65536 "${D[@]}"
scenario latency-64B-1c --archs reactor,hybrid "${PEERS[@]}" --conns 1 --size 64 "${D[@]}"
scenario churn-64B-50c --archs reactor,hybrid,prefork,pool "${PEERS[@]}" --mode churn \
  --conns 50 --size 64 --sources 64 "${D[@]}"
scenario idle-10000c --archs reactor,hybrid "${PEERS[@]}" --mode idle --conns 10000 \
  --duration 1 --timeout 20
# The architecture comparison: every architecture under the same echo load, beside raw epoll.
# serial is left out of ping-pong: with 50 connections held open it serves one and the
# other 49 wait for ever; it takes part in churn, where each connection ends at once.
EPOLL_PEER=()
for p in "${PEERS[@]}"; do
  if [[ $p == epoll=* ]]; then EPOLL_PEER=(--peer "$p"); fi
done
scenario arch-pingpong-64B-50c --archs thread,fork,prefork,pool,reactor,hybrid \
  "${EPOLL_PEER[@]}" --conns 50 --size 64 "${D[@]}"
scenario arch-churn-64B-50c --archs serial,thread,fork,prefork,pool,reactor,hybrid \
  "${EPOLL_PEER[@]}" --mode churn --conns 50 --size 64 --sources 64 "${D[@]}"
# The tail at 10,000 connections: each round opens them afresh, so it measures how long a
# new client waits for its first answer while thousands are busy, as well as the steady state.
scenario latency-64B-10000c --archs reactor,hybrid "${EPOLL_PEER[@]}" --conns 10000 --size 64 \
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
w("Written by `bench/run_all.sh`; the numbers below are what that run measured, nothing else.")
w("")
w(f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}")
w(f"- machine: {os.cpu_count()} CPUs (nproc), {model()}, kernel {platform.release()}")
w(f"- method: each server pinned to one CPU, the load (`arch_compare`, with `sockit bench`'s load generator) to the other; "
  f"{warmup} s warm-up per server, then {rounds} rounds of {duration} s; medians of the rounds. "
  "Figure of merit: the server's CPU time (utime+stime of its process tree, /proc/PID/stat) "
  "per message; `core` is the busy time of the server's CPU from /proc/stat (it includes "
  "softirq work and anything else scheduled there, so it is noisier). Rates tie at the load "
  "generator's limit on 2 vCPUs and are shown for reference only.")
w("")

def table(title, data, figure="cpu"):
    w(f"## {title}")
    w("")
    if not data:
        w("(no result: the scenario failed)")
        w("")
        return
    base = target(data, data["baseline"])
    if figure == "rss":
        w("| server | held | RSS KiB / connection | vs epoll | errors |")
        w("|---|---:|---:|---:|---:|")
        for t in data["targets"]:
            m = t["median"]
            b = base["rss_kib_per_connection"] if base else 0
            ratio = f"{m['rss_kib_per_connection'] / b:.2f}x" if b > 0 else "-"
            w(f"| {t['name']} | {m['messages']} | {m['rss_kib_per_connection']:.2f} | {ratio} | "
              f"{sum(t['errors'].values())} |")
    else:
        unit = "conns/s" if data["mode"] == "churn" else "msgs/s"
        key = {"p50": "p50_us", "p999": "p999_us"}.get(figure, "cpu_us_per_message")
        label = {"p50": "p50", "p999": "p99.9"}.get(figure, "CPU/msg")
        w(f"| server | {unit} | MiB/s | p50 us | p99 us | p99.9 us | CPU us/msg | core us/msg | "
          f"{label} vs epoll | errors |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for t in data["targets"]:
            m = t["median"]
            b = base[key] if base else 0
            ratio = f"{m[key] / b:.3f}x" if b > 0 else "-"
            w(f"| {t['name']} | {m['rate']:.0f} | {m['mib_per_second']:.1f} | {m['p50_us']:.1f} | "
              f"{m['p99_us']:.1f} | {m['p999_us']:.1f} | {m['cpu_us_per_message']:.3f} | "
              f"{m['core_us_per_message']:.3f} | {ratio} | {sum(t['errors'].values())} |")
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
for arch in ("reactor", "hybrid"):
    a, e = cpu("latency-64B-10000c", arch, "p999_us"), cpu("latency-64B-10000c", "epoll", "p999_us")
    check(f"latency-64B-10000c: {arch} p99.9 <= 1.2 x epoll", a, e * 1.2 if e else None,
          a is not None and e is not None and a <= e * 1.2,
          (paired("latency-64B-10000c", arch, "epoll", "p999_us"), 1.2, False))
m = target(data["idle-10000c"], "reactor")
rss = m["rss_kib_per_connection"] if m else None
check("idle: reactor RSS KiB/connection <= 2", rss, 2.0, rss is not None and rss <= 2.0)
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
if os.path.exists(notes_path):
    w(open(notes_path).read().rstrip())
    w("")
with open(out_path, "w") as f:
    f.write("\n".join(lines))
print(f"run_all.sh: wrote {out_path}", file=sys.stderr)
PY
