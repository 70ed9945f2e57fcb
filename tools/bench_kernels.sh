#!/usr/bin/env bash
# The fast path with each kernel set side by side: `weightconv bench --kernels SET` on each .wcv
# given, the sets interleaved round by round (the machine is shared and noisy), median of the
# rounds' medians per set, and each set's ratio to avx512. ONEDNN_MAX_CPU_ISA in the environment
# (e.g. AVX2) also keeps oneDNN's SGEMM off AVX-512, as on a processor without it; --avx2-machine
# does that for the avx2 and portable sets only, so that their ratio to avx512 is what a processor
# without AVX-512 gets against one with it.
#   bash tools/bench_kernels.sh [--rounds N] [--threads T] [--batch B] [--binary PATH] [--avx2-machine] A.wcv B.wcv …
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads=2 batch=1 binary=.build/release/weightconv avx2_machine=0
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --avx2-machine) avx2_machine=1; shift ;;
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
      isa=()
      if [ "$avx2_machine" = 1 ] && [ "$set" != avx512 ]; then isa=(env ONEDNN_MAX_CPU_ISA=AVX2); fi
      ms=$("${isa[@]}" "$binary" bench "$file" --kernels "$set" --threads "$threads" --batch "$batch" --iterations 20 --json |
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
