#!/usr/bin/env bash
# Installs this build into a scratch prefix, then builds and runs a consumer twice: once
# through the CMake package (find_package(sockit)) and once through pkg-config.
# Usage: run.sh SOURCE_DIR BUILD_DIR WORK_DIR CXX [SANITIZE]
set -euo pipefail
src=$1 build=$2 work=$3 cxx=$4 sanitize=${5:-}
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

flags=""
if [[ -n $sanitize ]]; then flags="-fsanitize=$sanitize"; fi

cmake -S "$src/tests/install/consumer" -B "$work/cmake" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build "$work/cmake" >/dev/null
out=$("$work/cmake/consumer")
echo "cmake package: $out"
[[ $out == ping\ via\ 127.0.0.1:* ]]

libdir=$(find "$prefix" -name sockit.pc -printf '%h\n' | head -n1)
export PKG_CONFIG_PATH=$libdir
# shellcheck disable=SC2046
"$cxx" $flags "$src/tests/install/consumer/main.cpp" -o "$work/pc-consumer" \
  $(pkg-config --cflags --libs sockit)
out=$("$work/pc-consumer")
echo "pkg-config: $out"
[[ $out == ping\ via\ 127.0.0.1:* ]]
