#!/usr/bin/env bash
# Builds and runs the whole test suite: the normal build, then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer (SANITIZE=0 skips that).
# Tests that need ../shared/corpus skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

BUILD_DIR=build bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600

if [ "${SANITIZE:-1}" = "1" ]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DNTRIAGE_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 900
fi
