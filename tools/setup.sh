#!/usr/bin/env bash
# Installs what weightconv needs to build and test on Debian/Ubuntu: the C libraries it links
# (libzip; oneDNN for its SGEMM; libjpeg-turbo and libspng to decode images), pkg-config to find them, and numpy for the Python reader of the native format.
# Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(pkg-config libzip-dev libdnnl-dev zlib1g-dev libturbojpeg0-dev libspng-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! python3 -c 'import numpy' >/dev/null 2>&1; then
  echo "setup: installing numpy"
  python3 -m pip install -q numpy
fi
# tools/test.sh runs the numpy-only Python tests in tools/tests with pytest.
if ! python3 -c 'import pytest' >/dev/null 2>&1; then
  echo "setup: installing pytest"
  python3 -m pip install -q pytest
fi
