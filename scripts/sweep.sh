#!/usr/bin/env bash
# The full corruption sweep over the shared corpus and our fixtures: each file
# truncated at 64 points and 200 seeded bit-flip mutants, every run limited to
# 2 s. Prints the summary line; exit 1 when a run crashed, hung or blew its
# memory budget (4x the file size + 64 MiB). Usage: scripts/sweep.sh [seed]
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
ninja -C "$BUILD_DIR" ntriage_sweep >/dev/null
"$BUILD_DIR/tests/ntriage_sweep" --truncations 64 --mutants 200 --seed "${1:-1}" --time-ms 2000 \
  "${NTRIAGE_CORPUS:-../shared/corpus}" tests/fixtures/wine/out
