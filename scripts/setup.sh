#!/usr/bin/env bash
# Installs every Debian 12 package that building and testing ntriage needs.
# Idempotent: packages already present are skipped by apt. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libzydis-dev libfmt-dev libcli11-dev nlohmann-json3-dev libedit-dev
  libmspack-dev libcurl4-openssl-dev liblzma-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang libclang-rt-dev
  lldb-16 llvm-16
  python3
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
