#!/usr/bin/env bash
# Sets up, builds, and runs ntriage on the sample dump that ships with the project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
SAMPLE=tests/fixtures/wine/out/crash-x64-clang.dmp
# The sample's PDB lies beside it: -y names the functions and source lines in `k`.
./build/ntriage "$SAMPLE" -i tests/fixtures/wine/out -y tests/fixtures/wine/out --offline \
  -c "vertarget; ~; .lastevent; .exr -1; .ecxr; k; lm"
