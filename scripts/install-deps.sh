#!/usr/bin/env bash
# Installs every Debian package sockit's build, tests, examples and tools need.
# Idempotent: installs only what is missing, and does nothing when all is present.
set -euo pipefail

packages=(
  # toolchain
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config make git
  clang-format clang-tidy
  # libraries
  libssl-dev libcli11-dev libfmt-dev nlohmann-json3-dev liburing-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # peers of the benchmark comparison (bench/peers), never needed by the main build
  libasio-dev libuv1-dev libevent-dev
  # forwarders `sockit proxy` is compared with (bench/proxy)
  haproxy
  # counts the system calls per message of each server (bench/syscalls.sh)
  linux-perf
  # real peers used by the tests (python3-websockets: the WebSocket client of
  # websocket_test, for /usr/bin/python3), and process tools
  ruby netcat-openbsd socat curl python3 python3-websockets procps util-linux iproute2 openssl
  # TLS peer for the TLS client tests (started by the test itself, never as a service)
  nginx-light
  # clients of the HTTP server tests: a load generator and a headless browser
  wrk chromium
  # /etc/services and /etc/protocols, for service-name lookups ("http" -> 80)
  netbase
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
