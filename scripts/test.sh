#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole suite under
# AddressSanitizer + UBSan (g++), the threaded tests under ThreadSanitizer, builds
# everything with clang 14 (warnings as errors) and runs clang-tidy on the C++ files the
# last commit changed, runs each libFuzzer target for a bounded time (scripts/fuzz.sh), and
# builds the tool, examples and libraries the way a user or packager does (plain CMake
# Release, no preset), failing on any compiler warning, and runs unsanitized the tests that
# cannot run under a sanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

jobs=$(nproc)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

echo "== AddressSanitizer + UndefinedBehaviorSanitizer (g++)"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ctest --preset asan -j "$jobs"

echo "== ThreadSanitizer: threaded tests (g++)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan -j "$jobs" --target sockit_threaded_tests
ctest --preset tsan -j "$jobs"

echo "== clang 14 build with -Werror"
cmake --preset clang >/dev/null
cmake --build --preset clang -j "$jobs"

# A full run over every file costs about 10 s of CPU per file: only the files the last
# commit changed are checked, against the clang build's compile_commands.json.
echo "== clang-tidy on the C++ files of the last commit"
tidy_files=()
if git rev-parse -q --verify HEAD~1 >/dev/null 2>&1; then
  while IFS= read -r file; do
    # Only files the clang build compiles (not bench/ or the install consumer).
    if grep -qF "\"file\": \"$PWD/$file\"" build/clang/compile_commands.json; then
      tidy_files+=("$file")
    fi
  done < <(git diff --name-only --diff-filter=d HEAD~1 -- '*.cpp')
fi
if ((${#tidy_files[@]} == 0)); then
  echo "(no C++ source changed by the last commit)"
else
  printf '%s\n' "${tidy_files[@]}" |
    xargs -P "$jobs" -n 4 clang-tidy -p build/clang --quiet
fi

# Every parser that reads a peer's or a file's bytes, fuzzed for a bounded time (about
# 2 minutes in all on 2 cores): a crash, leak, timeout or broken invariant fails the run.
echo "== libFuzzer targets (clang 14, ASan + UBSan), ${FUZZ_SECONDS:-15} s each"
scripts/fuzz.sh

# The packager's path: no preset, so no -Werror, the default generator. A clean build each
# time, so that warnings of files built by an earlier run count too. The tool and the
# examples, with every library they link, as users and packagers build them; of the test
# programs (built above by g++ and clang with -Werror), the ones run below.
echo "== plain CMake Release build (g++, -O3) of the tool, examples and libraries, no compiler warning allowed"
cmake -B build/plain -DCMAKE_BUILD_TYPE=Release -DSOCKIT_BUILD_TESTS=ON >/dev/null
cmake --build build/plain -j "$jobs" --clean-first --target sockit_cli sockit_examples \
  drain_flush_error_test server_faults_test server_faults_threaded_test socket_test 2>&1 |
  tee build/plain/build.log
if grep -q "warning:" build/plain/build.log; then
  echo "compiler warnings in the plain Release build:" >&2
  grep "warning:" build/plain/build.log >&2
  exit 1
fi

# A server with no descriptor to spare cannot run under the sanitizers, which need
# descriptors of their own: those tests skip themselves there and run here, unsanitized.
echo "== tests of a server out of descriptors (plain Release build)"
ctest --test-dir build/plain -R 'DrainFlushError|RunningOutOfDescriptors' -j "$jobs" \
  --output-on-failure --timeout 300

echo "== all tests passed"
