#!/usr/bin/env bash
# The test command: installs what is missing, then builds and runs the whole suite under
# AddressSanitizer + UBSan (g++), the threaded tests under ThreadSanitizer, and checks that
# clang 14 and the optimised g++ build of scripts/run.sh build everything warning-free.
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

echo "== g++ release build with -Werror (what scripts/run.sh builds; -O3 warns differently)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"

echo "== all tests passed"
