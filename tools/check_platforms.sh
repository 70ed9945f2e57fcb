#!/usr/bin/env bash
# Checks that the C targets compile for the platforms weightconv claims but this machine cannot run:
# aarch64 Linux (syntax only, against Debian's arm64 cross headers, installed here when missing).
# The AVX-512 kernels must drop out there (CKernels guards them with __x86_64__), leaving the
# portable SGEMM and the thread pool.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d /usr/aarch64-linux-gnu/include ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "check_platforms: installing libc6-dev-arm64-cross"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libc6-dev-arm64-cross >/dev/null
fi

cc=$(command -v clang)
status=0
for target in aarch64-linux-gnu x86_64-linux-gnu; do
  sysroot=()
  [ "$target" = aarch64-linux-gnu ] && sysroot=(--sysroot=/usr/aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include)
  for dir in Sources/C*/; do
    for file in "$dir"*.c; do
      [ -e "$file" ] || continue
      if ! "$cc" --target="$target" "${sysroot[@]}" -fsyntax-only -Wall -Werror -I"${dir}include" "$file"; then
        echo "check_platforms: $file does not compile for $target"
        status=1
      fi
    done
  done
done
if [ "$status" -eq 0 ]; then echo "check_platforms: C targets compile for aarch64-linux-gnu and x86_64-linux-gnu"; fi
exit "$status"
