#!/usr/bin/env bash
# Installs every Debian package sockit's build, tests, examples and tools need.
# Idempotent: installs only what is missing, and otherwise only makes sure no system nginx
# or Prometheus service runs (the tests start their own nginx, and need only promtool).
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
  # promtool, which checks the `serve --metrics` exposition (metrics_test)
  prometheus
  # the Redis that chat rooms shared across servers meet on (chat_redis_test starts its
  # own on a port it picks) and its command-line client
  redis-server redis-tools
  # clients of the HTTP server tests: a load generator and a headless browser
  wrk chromium
  # /etc/services and /etc/protocols, for service-name lookups ("http" -> 80)
  netbase
)

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi

# The tests start their own nginx on port 0; Debian's nginx package starts a system nginx
# on port 80 too, and its prometheus package a Prometheus server on port 9090. Where systemd
# runs, those services are stopped and disabled (again on every run, in case an upgrade or
# an earlier install started them); a no-op when they are not there.
stop_system_services() {
  [[ -d /run/systemd/system ]] || return 0
  local unit
  for unit in nginx.service prometheus.service; do
    systemctl cat "$unit" >/dev/null 2>&1 || continue
    if systemctl is-enabled --quiet "$unit" || systemctl is-active --quiet "$unit"; then
      echo "install-deps: stopping and disabling the system $unit" >&2
      $sudo systemctl disable --now --quiet "$unit"
    fi
  done
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  stop_system_services
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# While packages install, a policy-rc.d that answers 101 ("action not allowed") keeps their
# maintainer scripts from starting services (nginx, haproxy, prometheus). One that is already there
# belongs to the machine and is left alone.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# Written by sockit scripts/install-deps.sh while it installs.\nexit 101\n' |
    $sudo tee "$policy" >/dev/null
  $sudo chmod 755 "$policy"
  trap '$sudo rm -f "$policy"' EXIT
fi
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
stop_system_services
