#!/usr/bin/env bash
# HTTP static files, side by side in one run: nginx (one worker, sendfile), h2o (one thread)
# and `sockit serve http` on each architecture, loaded by wrk on a 1 KiB and a 1 MiB file,
# keep-alive and `Connection: close`. Per server and scenario: requests/s, the server's CPU
# per request (utime+stime of its whole process tree, /proc/PID/stat, before and after each
# wrk run, over the requests wrk counted) and errors (wrk's socket errors and non-2xx).
# Rounds are interleaved (each round runs every server once, the order rotating from round
# to round); the tables give medians of the rounds and ratios to nginx. The machine drifts
# between phases, so only the ratios within one run mean anything.
#
# Usage: bench/http/run.sh [--rounds 3] [--duration 10] [--warmup 1] [--conns 50]
#                          [--servers LIST] [--build-dir DIR] [--no-build] [OUT.md]
# LIST is comma-separated, from: nginx h2o reactor hybrid uring uring-hybrid thread pool
# prefork (default: all of them). The markdown section goes to stdout and is appended to
# OUT.md when given (bench/HTTP-RESULTS.md keeps the runs; RESULTS.md points to it). Other
# sockit architectures (fork, serial) can be named in LIST. Builds the release preset's sockit_cli unless
# --no-build or --build-dir. The server runs on CPU 0, wrk (one thread) on CPU 1.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/bench/http
rounds=3
duration=10
warmup=1
conns=50
servers="nginx,h2o,reactor,hybrid,uring,uring-hybrid,thread,pool,prefork"
build_dir=""
build=1
out=""

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --build-dir) build_dir=$2; build=0; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    *) out=$1; shift ;;
  esac
done

if [[ -z $build_dir ]]; then
  build_dir=$root/build/release
  if [[ $build == 1 ]]; then
    (cd "$root" && cmake --preset release >/dev/null &&
      cmake --build --preset release --target sockit_cli >/dev/null)
  fi
fi
sockit=$build_dir/bin/sockit
# Debian's interpreter when there is one: a version manager's shim can take most of a second
# to start, which would stretch every run.
py=$(command -v /usr/bin/python3 || command -v python3 || true)
[[ -n $py ]] || { echo "run.sh: python3 is needed" >&2; exit 1; }
for tool in wrk curl taskset; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is needed" >&2; exit 1; }
done
IFS=, read -r -a server_list <<<"$servers"
for s in "${server_list[@]}"; do
  case $s in
    nginx) [[ -x /usr/sbin/nginx ]] || { echo "run.sh: nginx-light is not installed" >&2; exit 1; } ;;
    h2o) command -v h2o >/dev/null || { echo "run.sh: h2o is not installed" >&2; exit 1; } ;;
    *) [[ -x $sockit ]] || { echo "run.sh: no $sockit (build sockit_cli)" >&2; exit 1; } ;;
  esac
done

# Workers may run as another user (nginx and h2o started by root drop to nobody unless told
# otherwise): the served tree is world-readable.
work=$(mktemp -d "${TMPDIR:-/tmp}/sockit-http-bench.XXXXXX")
chmod 755 "$work"
mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
head -c $((1024 * 1024)) /dev/urandom >"$work/www/1m.bin"
chmod 755 "$work/www"
chmod 644 "$work/www/"*.bin
results=$work/results.tsv
: >"$results"

server_pid=""
stop_server() {
  if [[ -n $server_pid ]]; then
    # Its own process group (setsid), so nginx's worker and prefork's children go too.
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
  fi
}
cleanup() { stop_server; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# "ticks threads processes" for a process and all its descendants. A process's stat counts
# all its threads; cutime/cstime count children already reaped, so a worker that exits
# during a run is still counted. The command name may hold spaces: fields are counted from
# the last ") ". A process may end while it is read: cat then fails, and that is no error.
tree_stat() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
    {
      s = $0; sub(/^[0-9]+ /, "", s); pid = $1; sub(/.*\) /, "", s); split(s, f, " ")
      ppid[pid] = f[2]; ticks[pid] = f[12] + f[13] + f[14] + f[15]; thr[pid] = f[18]
    }
    END {
      in_tree[root] = 1; grew = 1
      while (grew) {
        grew = 0
        for (p in ppid) if (!(p in in_tree) && (ppid[p] in in_tree)) { in_tree[p] = 1; grew = 1 }
      }
      for (p in in_tree) if (p in ppid) { t += ticks[p]; n += thr[p]; c++ }
      print t + 0, n + 0, c + 0
    }'
}

# Starts server $1 on CPU 0 and sets server_pid and port; returns non-zero if it never
# answers.
start_server() {
  local name=$1 log=$work/$1.log user=""
  : >"$log"
  port=""
  case $name in
    nginx|h2o)
      port=$(free_port)
      if [[ $EUID == 0 ]]; then
        [[ $name == nginx ]] && user="user root;" || user="user: root"
      fi
      sed -e "s|@DIR@|$work|g" -e "s|@PORT@|$port|g" -e "s|@USER@|$user|" \
        "$here/$name.conf.in" >"$work/$name.conf"
      if [[ $name == nginx ]]; then
        setsid taskset -c 0 /usr/sbin/nginx -p "$work" -c "$work/nginx.conf" >"$log" 2>&1 &
      else
        setsid taskset -c 0 h2o -c "$work/h2o.conf" >"$log" 2>&1 &
      fi
      server_pid=$!
      ;;
    *)
      # hybrid, uring-hybrid: their default number of loops. pool and prefork serve one
      # connection per worker, so they get one worker per connection.
      local extra=()
      [[ $name == pool || $name == prefork ]] && extra=(--workers "$conns")
      setsid taskset -c 0 "$sockit" serve http --root "$work/www" --port 0 --quiet \
        --arch "$name" "${extra[@]}" >"$log" 2>&1 &
      server_pid=$!
      for _ in $(seq 100); do
        grep -q "listening on" "$log" && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
      done
      port=$(grep -o 'listening on [0-9.]*:[0-9]*' "$log" | grep -o '[0-9]*$' || true)
      ;;
  esac
  [[ -n $port ]] || return 1
  local code
  for _ in $(seq 100); do
    code=$(curl -s -o /dev/null -w '%{http_code}:%{size_download}' \
      "http://127.0.0.1:$port/1k.bin" || true)
    [[ $code == 200:1024 ]] && break
    sleep 0.05
  done
  [[ $code == 200:1024 ]] || return 1
  # Both files whole, so that the figures are for serving them.
  code=$(curl -s -o /dev/null -w '%{http_code}:%{size_download}' "http://127.0.0.1:$port/1m.bin" || true)
  [[ $code == "200:$((1024 * 1024))" ]]
}

# One wrk run against the server started; appends a line to $results.
measure() {
  local round=$1 name=$2 file=$3 mode=$4 hdr=() before after wout sample
  [[ $mode == close ]] && hdr=(-H "Connection: close")
  read -r before _ _ < <(tree_stat "$server_pid")
  wout=$work/wrk.out
  taskset -c 1 wrk -t1 -c"$conns" -d"${duration}s" "${hdr[@]}" \
    "http://127.0.0.1:$port/$file" >"$wout" 2>&1 &
  local wrk_pid=$!
  sleep "$(awk -v d="$duration" 'BEGIN { print d / 2 }')"
  sample=$(tree_stat "$server_pid")
  wait "$wrk_pid" || true
  read -r after _ _ < <(tree_stat "$server_pid")
  $py - "$round" "$name" "$file-$mode" "$((after - before))" "$sample" "$wout" \
    >>"$results" <<'PY'
import re, sys
rnd, name, scen, ticks, sample, path = sys.argv[1:]
text = open(path).read()
m = re.search(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read", text)
reqs = int(m.group(1)) if m else 0
rps = re.search(r"Requests/sec:\s*([\d.]+)", text)
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errs = sum(int(x) for x in sock.groups()) if sock else 0
_, threads, procs = sample.split()
print("\t".join([rnd, name, scen, str(reqs), rps.group(1) if rps else "0", ticks,
                 str(errs), non2xx.group(1) if non2xx else "0", threads, procs]))
PY
}

scenarios=("1k.bin keepalive" "1k.bin close" "1m.bin keepalive" "1m.bin close")
n=${#server_list[@]}
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    name=${server_list[$(((i + r) % n))]}
    if ! start_server "$name"; then
      echo "run.sh: $name did not start (round $((r + 1))):" >&2
      cat "$work/$name.log" >&2
      stop_server
      continue
    fi
    if [[ $warmup != 0 ]]; then
      taskset -c 1 wrk -t1 -c"$conns" -d"${warmup}s" "http://127.0.0.1:$port/1k.bin" \
        >/dev/null 2>&1 || true
    fi
    for s in "${scenarios[@]}"; do
      read -r file mode <<<"$s"
      measure "$((r + 1))" "$name" "$file" "$mode"
    done
    stop_server
    echo "round $((r + 1))/$rounds: $name done" >&2
  done
done

report=$work/report.md
SOCKIT_BIN=$sockit $py - "$results" "$rounds" "$duration" "$warmup" "$conns" "$servers" >"$report" <<'PY'
import os, platform, statistics, subprocess, sys, time
path, rounds, duration, warmup, conns, servers = sys.argv[1:]
conns = int(conns)
tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
order = servers.split(",")

def version(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (p.stdout + p.stderr).strip().splitlines()[0].split(" Copyright")[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not found"

model = "unknown"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        model = line.split(":", 1)[1].strip()
        break
w = print
w(f"## HTTP static files: sockit against nginx and h2o ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})")
w()
w(f"- machine: {os.cpu_count()} CPUs (nproc), {model}, kernel {platform.release()}")
w(f"- tools: {version(['/usr/sbin/nginx', '-v'])}; {version(['h2o', '--version'])}; "
  f"{version(['wrk', '-v'])}; {version([os.environ['SOCKIT_BIN'], '--version'])}")
w(f"- method: `bench/http/run.sh --rounds {rounds} --duration {duration}`: wrk, one thread, "
  f"{conns} connections, {duration} s a run, on CPU 1; the server on CPU 0. Each server is "
  f"started afresh each round, warmed up {warmup} s, then runs the four scenarios. "
  f"{rounds} interleaved round(s) (every server once a round, the order rotating). "
  "CPU us/req: utime+stime of the server's process tree (threads and child processes, "
  "/proc/PID/stat) over the run, divided by the requests wrk counted. Medians of the rounds; "
  "`vs nginx` columns: req/s as a ratio of nginx's median, and the median of the per-round "
  "ratios of CPU/req (which cancels drift between rounds). errors: wrk's socket errors plus "
  "non-2xx responses, summed over the rounds. `ran with`: the threads and processes seen "
  "mid-run (most over the rounds). nginx: one worker, sendfile on, access_log off, "
  "keepalive_requests raised; h2o: num-threads 1, no access log; sockit: `serve http --quiet`, "
  "hybrid and uring-hybrid with their default number of loops, pool and "
  f"prefork with --workers {conns} (one per connection). serial is left out: it serves one "
  f"connection at a time, so {conns - 1} of the {conns} wrk connections would wait for the "
  "whole run.")
w()

by = {}
for rnd, name, scen, reqs, rps, ticks, errs, non2xx, threads, procs in rows:
    by.setdefault(scen, {}).setdefault(name, []).append(dict(
        round=int(rnd), reqs=int(reqs), rps=float(rps),
        cpu=(int(ticks) * tick_us / int(reqs)) if int(reqs) else float("nan"),
        errs=int(errs) + int(non2xx), threads=int(threads), procs=int(procs)))

titles = {"1k.bin-keepalive": "1 KiB file, keep-alive", "1k.bin-close": "1 KiB file, Connection: close",
          "1m.bin-keepalive": "1 MiB file, keep-alive", "1m.bin-close": "1 MiB file, Connection: close"}
for scen, title in titles.items():
    runs = by.get(scen, {})
    if not runs:
        continue
    w(f"### {title}, {conns} connections")
    w()
    w("| server | ran with | req/s | CPU us/req | req/s vs nginx | CPU/req vs nginx | errors |")
    w("|---|---|---:|---:|---:|---:|---:|")
    base = runs.get("nginx", [])
    base_rps = statistics.median(r["rps"] for r in base) if base else None
    base_cpu = {r["round"]: r["cpu"] for r in base}
    for name in order:
        rs = runs.get(name)
        if not rs:
            continue
        rps = statistics.median(r["rps"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        thr = max(r["threads"] for r in rs)
        prc = max(r["procs"] for r in rs)
        ran = f"{thr} thr" + (f", {prc} proc" if prc > 1 else "")
        rr = f"{rps / base_rps:.3f}x" if base_rps else "-"
        pairs = [r["cpu"] / base_cpu[r["round"]] for r in rs
                 if base_cpu.get(r["round"]) and r["reqs"]]
        cr = f"{statistics.median(pairs):.3f}x" if pairs else "-"
        w(f"| {name} | {ran} | {rps:.0f} | {cpu:.2f} | {rr} | {cr} | {sum(r['errs'] for r in rs)} |")
    w()
    per = "; ".join(f"{n} " + " ".join(f"{r['cpu']:.2f}" for r in sorted(runs[n], key=lambda r: r["round"]))
                    for n in order if n in runs)
    w(f"Per-round CPU us/req: {per}")
    w()
PY
cat "$report"
if [[ -n $out ]]; then
  { echo; cat "$report"; } >>"$out"
fi
