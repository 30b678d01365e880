#!/usr/bin/env bash
# Builds and runs the whole test suite: the normal build, then the same suite
# under AddressSanitizer + UndefinedBehaviorSanitizer (SANITIZE=0 skips that).
# Tests that need ../shared/corpus skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
BUILD_DIR=build bash scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600 | tee -a "$LOG"

if [ "${SANITIZE:-1}" = "1" ]; then
  BUILD_DIR=build-asan BUILD_TYPE=Debug bash scripts/build.sh -DNTRIAGE_SANITIZE=ON
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$(nproc)" --timeout 900 | tee -a "$LOG"
fi

# Every libFuzzer target must build (clang), and replay its seeds plus a
# short deterministic run without a finding. Long campaigns: scripts/fuzz.sh.
if [ "${FUZZ:-1}" = "1" ]; then
  bash scripts/fuzz.sh --build-only
  for f in build-fuzz/fuzz/*_fuzzer; do
    t=$(basename "$f")
    # A target without findings has no regressions folder (git keeps no empty folders).
    inputs=()
    [ -d "fuzz/regressions/$t" ] && inputs+=("fuzz/regressions/$t")
    [ -d "fuzz/seeds/$t" ] && inputs+=("fuzz/seeds/$t")
    mkdir -p "build-fuzz/smoke-$t"
    "$f" "build-fuzz/smoke-$t" "${inputs[@]}" -runs=3000 -seed=1 -max_len=65536 -timeout=10 \
      -artifact_prefix="build-fuzz/smoke-$t-" >/dev/null 2>&1 || { echo "fuzz smoke run failed: $t"; exit 1; }
    echo "fuzz smoke: $t ok"
  done
fi

# One closing line over every ctest run above ("N passed, N failed").
total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' "$LOG" |
  awk '{f+=$1; t+=$2} END {printf "%d passed, %d failed", t-f, f}')
echo "$total"

