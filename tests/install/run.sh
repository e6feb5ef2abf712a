#!/usr/bin/env bash
# Installs this build into a scratch prefix, then builds and runs two consumers (the core
# library; the TLS and auth libraries) twice each: once through the CMake package
# (find_package(sockit)) and once through pkg-config (sockit.pc; sockit-tls.pc and
# sockit-auth.pc).
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
out=$("$work/cmake/tls_auth_consumer")
echo "cmake package: $out"
[[ $out == "tls and auth: certificate made, password verified" ]]

libdir=$(find "$prefix" -name sockit.pc -printf '%h\n' | head -n1)
export PKG_CONFIG_PATH=$libdir
# shellcheck disable=SC2046
"$cxx" $flags "$src/tests/install/consumer/main.cpp" -o "$work/pc-consumer" \
  $(pkg-config --cflags --libs sockit)
out=$("$work/pc-consumer")
echo "pkg-config: $out"
[[ $out == ping\ via\ 127.0.0.1:* ]]
# shellcheck disable=SC2046
"$cxx" $flags "$src/tests/install/consumer/tls_auth.cpp" -o "$work/pc-tls-auth-consumer" \
  $(pkg-config --cflags --libs sockit-tls sockit-auth)
out=$("$work/pc-tls-auth-consumer")
echo "pkg-config: $out"
[[ $out == "tls and auth: certificate made, password verified" ]]
