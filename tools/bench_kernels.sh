#!/usr/bin/env bash
# The fast path with each kernel set side by side: `weightconv bench --kernels SET` on each .wcv
# given, the sets interleaved round by round (the machine is shared and noisy), median of the
# rounds' medians per set, and each set's ratio to avx512. ONEDNN_MAX_CPU_ISA in the environment
# (e.g. AVX2) also keeps oneDNN's SGEMM off AVX-512, as on a processor without it.
#   bash tools/bench_kernels.sh [--rounds N] [--threads T] [--batch B] [--binary PATH] A.wcv B.wcv …
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads=2 batch=1 binary=.build/release/weightconv
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "bench_kernels: give .wcv files" >&2; exit 2; }
sets=(avx512 avx2 portable)
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
printf '| network | %s | avx2 / avx512 | portable / avx512 |\n|---|---|---|---|---|---|\n' "$(IFS='|'; echo "${sets[*]/%/ ms}" | sed 's/|/ | /g')"
for file in "$@"; do
  declare -A times=()
  for _ in $(seq "$rounds"); do
    for set in "${sets[@]}"; do
      ms=$("$binary" bench "$file" --kernels "$set" --threads "$threads" --batch "$batch" --iterations 20 --json |
           sed -n 's/.*"median_ms" *: *\([0-9.eE+-]*\).*/\1/p')
      times[$set]+="$ms "
    done
  done
  declare -A m=()
  for set in "${sets[@]}"; do m[$set]=$(tr ' ' '\n' <<<"${times[$set]}" | grep . | median); done
  awk -v n="$(basename "$file" .wcv)" -v a="${m[avx512]}" -v b="${m[avx2]}" -v c="${m[portable]}" \
    'BEGIN { printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f |\n", n, a, b, c, b / a, c / a }'
  unset times m
done
