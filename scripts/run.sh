#!/usr/bin/env bash
# The main job: installs what is missing, builds a release sockit and runs its server.
# Extra arguments go to the server, e.g. scripts/run.sh --arch reactor --port 0
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/release/bin/sockit serve echo "$@"
