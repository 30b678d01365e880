#!/usr/bin/env bash
# Configures and builds ntriage (and its tests) into build/ with Ninja.
# Usage: scripts/build.sh [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${BUILD_DIR:-build}"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" "$@"
ninja -C "$BUILD_DIR" -j"${JOBS:-$(nproc)}"
