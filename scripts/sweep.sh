#!/usr/bin/env bash
# The full corruption sweep over the shared corpus and our fixtures: each file
# truncated at 64 points and 200 seeded bit-flip mutants, every run limited to
# 2 s. Kernel dumps get the kernel command set, and two synthetic kernel dumps
# (bitmap, full) of the kernel-dump builder join the corpus. Prints the summary
# line; exit 1 when a run crashed, hung or blew its memory budget (4x the file
# size + 64 MiB). Inputs of crashes and timeouts are kept in
# $BUILD_DIR/sweep-findings.
#
#   scripts/sweep.sh [seed] [sweep options...]
#   scripts/sweep.sh 1 --kernel-only                    # kernel dumps only
#   scripts/sweep.sh 1 --kernel-only --kernel-symbols ../shared/corpus/jpcert-isf
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
CORPUS=${NTRIAGE_CORPUS:-../shared/corpus}
SEED=${1:-1}
shift || true
ninja -C "$BUILD_DIR" ntriage_sweep >/dev/null
"$BUILD_DIR/tests/ntriage_sweep" --truncations 64 --mutants 200 --seed "$SEED" --time-ms 2000 \
  --synthetic-kernel-dumps "$CORPUS/jpcert-isf/ntkrnlmp.pdb/5278AFF86C341677D7D7835C85B7B844-1.json.xz" \
  --save-findings "$BUILD_DIR/sweep-findings" "$@" \
  "$CORPUS" tests/fixtures/wine/out
