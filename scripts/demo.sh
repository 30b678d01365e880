#!/usr/bin/env bash
# Sets up, builds, and runs ntriage on the sample dump that ships with the project.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
SAMPLE=tests/fixtures/wine/out/crash-x64-clang.dmp
./build/ntriage "$SAMPLE" -i tests/fixtures/wine/out -c "vertarget; ~; .lastevent; .exr -1; .ecxr; k; lm"
