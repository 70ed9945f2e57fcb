#!/bin/sh
# Builds tools/bench_share_layout.c with the executor's thread pool and prints its table
# (the measurement behind PreparedConvolution.split). Needs a C compiler (cc) and pthreads.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -O2 -I"$root/Sources/CThreadPool/include" "$root/tools/bench_share_layout.c" \
   "$root/Sources/CThreadPool/ThreadPool.c" -o "$out/bench_share_layout" -lpthread
echo "$(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1 /proc/loadavg)"
"$out/bench_share_layout"
