#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs one or all of
# them for a while, seeded from the shared corpus, our fixtures and
# fuzz/seeds/<target>. New crashers are copied into fuzz/regressions/<target>/,
# which the normal test suite replays (fuzz_replay_* tests).
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh pe_fuzzer 600   # one target, 10 minutes
#   scripts/fuzz.sh pe_fuzzer,cab_fuzzer 600   # a list, one after the other
#   scripts/fuzz.sh --build-only    # just check that every target builds
#   JOBS=2 scripts/fuzz.sh all 600  # two targets at a time (one per core)
#   NO_BUILD=1 scripts/fuzz.sh ...  # use the binaries already in build-fuzz
# Each run's last lines (libFuzzer's final "DONE cov: ... ft: ..." line and
# its stats) are kept in fuzz/corpus-work/<target>.log for docs/HARDENING.md.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${1:-all}
SECONDS_EACH=${2:-60}
CORPUS=${NTRIAGE_CORPUS:-../shared/corpus}
BUILD=build-fuzz

# NO_BUILD=1: run the targets already built (e.g. a second campaign while
# the tree is being edited).
if [ "${NO_BUILD:-0}" != "1" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DNTRIAGE_FUZZ=ON -DNTRIAGE_TESTS=OFF >/dev/null
  ninja -C "$BUILD" -j"$(nproc)"
fi
[ "$TARGET" = "--build-only" ] && { echo "fuzz targets built: $(ls "$BUILD"/fuzz/*_fuzzer | wc -l)"; exit 0; }

targets=()
if [ "$TARGET" = "all" ]; then
  for f in fuzz/*_fuzzer.cpp; do targets+=("$(basename "$f" .cpp)"); done
else
  IFS=, read -r -a targets <<< "$TARGET"
fi

run_one() {
  local t=$1
  local work="fuzz/corpus-work/$t"
  mkdir -p "$work" "fuzz/regressions/$t"
  local seeds=("fuzz/regressions/$t")
  [ -d "fuzz/seeds/$t" ] && seeds+=("fuzz/seeds/$t")
  case "$t" in
    dump_*) [ -d "$CORPUS" ] && seeds+=("$CORPUS"); seeds+=(tests/fixtures/wine/out) ;;
    pe_*) [ -d "$CORPUS" ] && seeds+=("$CORPUS/rizin-testbins" "$CORPUS/symbolic"); seeds+=(tests/fixtures/wine/out) ;;
    breakpad_*|pdb_*) [ -d "$CORPUS" ] && seeds+=("$CORPUS"); seeds+=(tests/fixtures/wine/out) ;;
    isf_*) [ -d "$CORPUS" ] && seeds+=("$CORPUS/jpcert-isf"); seeds+=(tests/fixtures/isf) ;;
    cab_*) [ -d "$CORPUS" ] && seeds+=("$CORPUS/kdlibcpp/_cab/targetapp_minidump" "$CORPUS/kdlibcpp/_cab/targetapp_test_cv_allreg_amd64") ;;
  esac
  local art="$BUILD/artifacts-$t/"
  rm -rf "$art"; mkdir -p "$art"
  set +e
  "$BUILD/fuzz/$t" "$work" "${seeds[@]}" -max_total_time="$SECONDS_EACH" -max_len=1048576 -rss_limit_mb=4096 \
    -timeout=10 -artifact_prefix="$art" -print_final_stats=1 > "fuzz/corpus-work/$t.full.log" 2>&1
  set -e
  # CPU time of this run (the children of this shell: the fuzzer alone):
  # on a loaded machine the wall-clock budget buys less CPU than it says.
  local cpu
  times > "fuzz/corpus-work/$t.times"  # a builtin with a redirection runs in this shell (a pipe would not)
  cpu=$(tail -1 "fuzz/corpus-work/$t.times" | awk '{ split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.0f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }')
  rm -f "fuzz/corpus-work/$t.times"
  { echo "== $t: ${SECONDS_EACH}s wall, ${cpu}s CPU"; grep -E "DONE|stat::" "fuzz/corpus-work/$t.full.log"; } > "fuzz/corpus-work/$t.log"
  cat "fuzz/corpus-work/$t.log"
  for crash in "$art"*; do
    [ -f "$crash" ] || continue
    cp "$crash" "fuzz/regressions/$t/"
    echo "NEW CRASHER saved: fuzz/regressions/$t/$(basename "$crash")"
  done
}
export -f run_one
export BUILD SECONDS_EACH CORPUS
printf '%s\n' "${targets[@]}" | xargs -P "${JOBS:-1}" -I{} bash -c 'run_one "$@"' _ {}
