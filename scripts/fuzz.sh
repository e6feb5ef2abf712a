#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang 14, ASan + UBSan) and runs each
# over its checked-in seed corpus (tests/fuzz/corpus/TARGET/) for a bounded time, as many
# at once as there are cores. Fails on any crash, leak, timeout or broken invariant, and
# prints the input that did it. New inputs go to a scratch directory, never into the
# checked-in corpus.
#   scripts/fuzz.sh                      every target, FUZZ_SECONDS (15) each
#   FUZZ_SECONDS=60 scripts/fuzz.sh fuzz_url fuzz_line_codec
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-15}
jobs=${FUZZ_JOBS:-$(nproc)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$jobs"

bin=build/fuzz/tests/fuzz
targets=("$@")
if ((${#targets[@]} == 0)); then
  for source in tests/fuzz/fuzz_*.cpp; do
    targets+=("$(basename "$source" .cpp)")
  done
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/sockit-fuzz.XXXXXX")

dict_for() {
  case $1 in
    fuzz_http_request_target) ;;
    fuzz_http_*) echo tests/fuzz/dict/http.dict ;;
    fuzz_websocket_utf8 | fuzz_websocket_close_frame) ;;
    fuzz_websocket_*) echo tests/fuzz/dict/websocket.dict ;;
    fuzz_command_service) echo tests/fuzz/dict/command.dict ;;
    fuzz_url) echo tests/fuzz/dict/url.dict ;;
  esac
}

# Where a second implementation exists, the target's inputs (seeds and new) go through both:
# URLs through Python's urllib.parse as well.
differential() {
  local target=$1 dir=$2
  if [[ $target == fuzz_url ]]; then
    tests/fuzz/url_differential.py "$bin/$target" "tests/fuzz/corpus/$target" "$dir/corpus" \
      >>"$dir/log" 2>&1
  fi
}

# One target: its new inputs in $scratch/TARGET/corpus, a crashing input in $scratch/TARGET/.
run_one() {
  local target=$1 dir=$scratch/$1 dict
  mkdir -p "$dir/corpus"
  local args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
              -artifact_prefix="$dir/")
  dict=$(dict_for "$target")
  if [[ -n $dict ]]; then args+=(-dict="$dict"); fi
  if "$bin/$target" "${args[@]}" "$dir/corpus" "tests/fuzz/corpus/$target" >"$dir/log" 2>&1 &&
    differential "$target" "$dir"; then
    echo "$target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" |
      grep -o '[0-9]*$') executions in ${seconds} s, no failure"
  else
    echo "$target FAILED; the end of its log ($dir/log):" >&2
    tail -n 40 "$dir/log" >&2
    for input in "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-*; do
      [[ -e $input ]] && echo "$target: the failing input is $input" >&2
    done
    return 1
  fi
}

for target in "${targets[@]}"; do
  if [[ ! -x $bin/$target ]]; then
    echo "no fuzz target $target (tests/fuzz/$target.cpp)" >&2
    exit 2
  fi
done

echo "fuzzing ${#targets[@]} targets for ${seconds} s each, $jobs at a time (scratch: $scratch)"
for target in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do
    wait -n || true  # each run leaves its verdict in its directory
  done
  (run_one "$target" && touch "$scratch/$target/passed") &
done
wait

failed=0
for target in "${targets[@]}"; do
  [[ -e $scratch/$target/passed ]] || failed=1
done
if ((failed)); then
  echo "fuzzing failed; inputs and logs are in $scratch" >&2
  exit 1
fi
rm -rf "$scratch"
echo "== fuzzing passed"
