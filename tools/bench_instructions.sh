#!/usr/bin/env bash
# Instructions executed by `weightconv bench` under callgrind, for two binaries side by side: a
# before/after comparison that does not depend on what else the (shared, noisy) machine is doing.
# Counts include opening and planning; forward passes dominate with --iterations 3.
#
#   bash tools/bench_instructions.sh OLD_BINARY NEW_BINARY FILE.wcv… [-- BENCH_OPTIONS…]
# e.g. bash tools/bench_instructions.sh /tmp/old/weightconv .build/release/weightconv net.wcv -- --portable-kernels
set -euo pipefail
old=$1 new=$2; shift 2
files=()
while (($#)) && [ "$1" != "--" ]; do files+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
options=("$@")
command -v valgrind >/dev/null || { echo "bench_instructions: needs valgrind (apt-get install valgrind)"; exit 1; }

# valgrind 3.19 cannot read the debug information Swift 6 writes ("possibly corrupted debuginfo
# file"), so it runs stripped copies.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
strip -o "$scratch/old" "$old"
strip -o "$scratch/new" "$new"
old="$scratch/old" new="$scratch/new"

count() {
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" bench "$2" --threads 1 --iterations 3 --warmup 0 \
    "${options[@]}" 2>"$out" >/dev/null
  sed -n 's/.*Collected : *\([0-9]*\).*/\1/p' "$out"
  grep -q "Collected" "$out" || { echo "bench_instructions: valgrind failed on $1 $2: $(tail -n 3 "$out")" >&2; rm -f "$out"; exit 1; }
  rm -f "$out"
}

echo "| file | options | old (instructions) | new | new / old |"
echo "|---|---|---:|---:|---:|"
for file in "${files[@]}"; do
  a=$(count "$old" "$file")
  b=$(count "$new" "$file")
  echo "| $(basename "$file") | ${options[*]:-(default)} | $a | $b | $(python3 -c "print(f'{$b / $a:.4f}')") |"
done
