#!/usr/bin/env bash
# Regenerates the expected output of tests/golden/*.golden from the current
# build. Review every diff by hand against WinDbg's conventions before
# committing: a golden file is only as good as that review.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/ntriage}
CORPUS=${NTRIAGE_CORPUS:-../shared/corpus}
for g in tests/golden/*.golden; do
  dump=$(sed -n 's/^dump: //p' "$g" | head -1)
  cmds=$(sed -n 's/^commands: //p' "$g" | head -1)
  images=$(sed -n 's/^images: //p' "$g" | head -1)
  symbols=$(sed -n 's/^symbols: //p' "$g" | head -1)
  symargs=()
  case "$symbols" in
    "") ;;
    fixture:*) symargs=(-y "tests/fixtures/${symbols#fixture:}") ;;
    corpus:*) symargs=(-y "$CORPUS/${symbols#corpus:}") ;;
    *) symargs=(-y "$symbols") ;;
  esac
  imgargs=()
  case "$images" in
    "") ;;
    fixture:*) imgargs=(-i "tests/fixtures/${images#fixture:}") ;;
    corpus:*) imgargs=(-i "$CORPUS/${images#corpus:}") ;;
    *) imgargs=(-i "$images") ;;
  esac
  case "$dump" in
    corpus:*) path="$CORPUS/${dump#corpus:}" ;;
    fixture:*) path="tests/fixtures/${dump#fixture:}" ;;
    *) path="$dump" ;;
  esac
  [ -r "$path" ] || { echo "skip $g: $path missing"; continue; }
  header=$(sed '/^----$/q' "$g")
  # Corpus and fixture paths read <corpus>/ and <fixtures>/ (see golden_test.cpp).
  { printf '%s\n' "$header"; "$BIN" "$path" "${imgargs[@]}" "${symargs[@]}" -c "$cmds" |
      sed -e "s|$CORPUS/|<corpus>/|g" -e "s|tests/fixtures/|<fixtures>/|g"; } > "$g.new" || true
  mv "$g.new" "$g"
  echo "updated $g"
done

# Kernel goldens (tests/golden/kernel/*.golden) come from synthetic dumps that
# test_commands builds in-process (kernel_golden_test.cpp, kernel_x86_seeds_test.cpp);
# with NTRIAGE_UPDATE_GOLDEN=1 those tests rewrite them instead of comparing.
TEST_COMMANDS=${TEST_COMMANDS:-$(dirname "$BIN")/tests/test_commands}
if [ -x "$TEST_COMMANDS" ]; then
  [ -d "$CORPUS" ] && export NTRIAGE_CORPUS="$(cd "$CORPUS" && pwd)"
  NTRIAGE_UPDATE_GOLDEN=1 "$TEST_COMMANDS" --gtest_filter='*Golden.TranscriptMatches/*' > /dev/null
  echo "updated tests/golden/kernel/*.golden"
else
  echo "skip tests/golden/kernel: $TEST_COMMANDS not built"
fi
