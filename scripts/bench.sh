#!/usr/bin/env bash
# Builds the benchmarks (Release, NTRIAGE_BENCH=ON) and runs them all, then
# prints one table: ours, the peer measured in the same run, and the ratio
# peer/ours (above 1: ntriage is faster). Not part of CI: timings depend on
# the machine and its load. See docs/BENCHMARKS.md.
#
#   scripts/bench.sh                    # build-bench/, every bench
#   scripts/bench.sh /tmp/bb            # another build directory
#   scripts/bench.sh build-bench pdb    # only benches whose name contains "pdb"
#   scripts/bench.sh build-bench kernel # the kernel-dump scaling bench (writes its dumps once)
#   BENCH_ARGS=--benchmark_min_time=2 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-bench}
ONLY=${2:-}
JOBS=${JOBS:-2}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNTRIAGE_BENCH=ON -DNTRIAGE_TESTS=OFF \
  "${launcher[@]}" >/dev/null

benches=()
for src in bench/*_bench.cpp; do
  name=$(basename "$src" .cpp)
  [[ -z "$ONLY" || "$name" == *"$ONLY"* ]] && benches+=("$name")
done
[ ${#benches[@]} -gt 0 ] || { echo "no bench matches '$ONLY'" >&2; exit 1; }
ninja -C "$BUILD" -j"$JOBS" "${benches[@]}"

# The kernel-dump scaling bench reads sparse 1, 4 and 16 GiB bitmap dumps
# (about 70 MiB of disk in all): written once into $BUILD/kernel-dumps.
if [[ " ${benches[*]} " == *" kernel_bitmap_bench "* ]]; then
  export NTRIAGE_KERNEL_BENCH_DUMPS="$PWD/$BUILD/kernel-dumps"
  [[ "$BUILD" = /* ]] && NTRIAGE_KERNEL_BENCH_DUMPS="$BUILD/kernel-dumps"
  missing=()
  for gib in 1 4 16; do
    [ -f "$NTRIAGE_KERNEL_BENCH_DUMPS/bitmap-${gib}gib.dmp" ] || missing+=("$gib")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== writing kernel bench dumps (${missing[*]} GiB) into $NTRIAGE_KERNEL_BENCH_DUMPS"
    "$BUILD/bench/make_kernel_bench_dumps" "$NTRIAGE_KERNEL_BENCH_DUMPS" "${missing[@]}"
  fi
fi

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
for b in "${benches[@]}"; do
  echo "== $b"
  out=$(mktemp)
  log=$(mktemp)
  # Output to a file first: with a pipe the bench's stdout is block-buffered
  # and would interleave with its stderr. No colour codes, so that the
  # "summary" lines start their line.
  # shellcheck disable=SC2086 # BENCH_ARGS is a list of flags
  if ! "$BUILD/bench/$b" --benchmark_color=false --benchmark_out="$out" --benchmark_out_format=json \
      ${BENCH_ARGS:-} >"$log" 2>&1; then
    echo "!! $b failed" >&2
  fi
  cat "$log"
  sed -n "s/^.*summary\t/$b\t/p" "$log" >>"$summary"
  rm -f "$log"
  # A bench without its own summary lines (no peer): list its benchmarks.
  if ! grep -q "^$b"$'\t' "$summary"; then
    python3 - "$out" "$b" >>"$summary" <<'EOF'
import json, sys
runs = json.load(open(sys.argv[1])).get("benchmarks", [])
scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}
for r in runs:
    if r.get("run_type") == "iteration":
        ms = r["real_time"] * scale.get(r.get("time_unit", "ns"), 1e-6)
        cpu = r["cpu_time"] * scale.get(r.get("time_unit", "ns"), 1e-6)
        print(f"{sys.argv[2]}\t{r['name']}\t{ms:.3f}\t-\t-\t{cpu:.3f}\t-\t-")
EOF
  fi
  rm -f "$out"
done

echo
echo "== summary (ms per iteration, wall clock then CPU time; ratio = peer / ours, above 1 means"
echo "   ntriage is faster; CPU time is the fairer one on a loaded machine)"
python3 - "$summary" <<'EOF'
import sys
head = ("bench", "what", "ours ms", "peer ms", "ratio", "ours CPU ms", "peer CPU ms", "CPU ratio")
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
rows = [(r + ["-"] * len(head))[:len(head)] for r in rows]
w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
fmt = lambda r: "  ".join(r[i].ljust(w[i]) if i < 2 else r[i].rjust(w[i]) for i in range(len(head)))
print(fmt(head))
for r in rows:
    print(fmt(r))
EOF
