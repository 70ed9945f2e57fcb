#!/usr/bin/env bash
# A loaded network's memory against what it must hold (issue 17): the peak resident set of
# `weightconv bench FILE` (GNU time's maximum RSS: the whole process, libraries included) next to
# the bytes bench reports: the weights the fast path holds (folded, Float32) and the activation
# buffers and scratch planned for the input. The runtime's own share (Swift, Foundation and oneDNN
# libraries, worker threads) is measured as bench's peak on a network of 0.35 MB of weights
# (fixtures/examples/shufflenet_seed001.wcv) less that network's weights and buffers; the ratio is
# (peak − runtime) / (weights + activations). With --baseline, an earlier binary's peak on the
# same file, in the same run. Files: `tools/bench_compare.py --import-only --work DIR` imports the
# four full-size networks as DIR/NAME.wcv.
#   bash tools/bench_memory.sh [--binary PATH] [--baseline OLD_BINARY] [--batch B] [--threads T] A.wcv B.wcv …
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/release/weightconv baseline="" batch=1 threads=2
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "bench_memory: give .wcv files" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "bench_memory: needs GNU time (apt-get install time)" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# bench FILE with BINARY: prints "PEAK_KB JSON" (JSON empty for a binary that does not report memory).
measure() {
  /usr/bin/time -f %M -o "$out/rss" "$1" bench "$2" --batch "$batch" --threads "$threads" --iterations 3 --warmup 1 \
    --json >"$out/json"
  echo "$(cat "$out/rss") $(cat "$out/json")"
}
field() { jq -r ".$1 // 0" <<<"$2"; }

read -r small_kb small_json <<<"$(measure "$binary" fixtures/examples/shufflenet_seed001.wcv)"
runtime_kb=$(( small_kb - ($(field weight_bytes "$small_json") + $(field activation_bytes "$small_json")) / 1024 ))
echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs"
echo "Command: bash tools/bench_memory.sh --binary $binary${baseline:+ --baseline $baseline} --batch $batch --threads $threads $*"
awk -v r="$runtime_kb" -v s="$small_kb" \
  'BEGIN { printf "Runtime share: %.1f MB (peak %.1f MB on shufflenet_seed001.wcv less its weights and buffers); MB = 10^6 bytes\n", r * 1024 / 1e6, s * 1024 / 1e6 }'
echo
header="| network | weights in file MB | weights held MB | activations MB | peak RSS MB | peak / (weights + activations) | (peak − runtime) / (weights + activations) |"
rule="|---|---:|---:|---:|---:|---:|---:|"
[ -n "$baseline" ] && header+=" baseline peak RSS MB | baseline (peak − runtime) / (weights + activations) |" && rule+="---:|---:|"
echo "$header"; echo "$rule"
for file in "$@"; do
  read -r kb json <<<"$(measure "$binary" "$file")"
  file_bytes=$(field file_weight_bytes "$json") held=$(field weight_bytes "$json") act=$(field activation_bytes "$json")
  row=$(awk -v n="$(basename "$file" .wcv)" -v f="$file_bytes" -v w="$held" -v a="$act" -v p="$kb" -v r="$runtime_kb" \
    'BEGIN { printf "| %s | %.1f | %.1f | %.1f | %.1f | %.2f | %.2f |", n, f / 1e6, w / 1e6, a / 1e6, p * 1024 / 1e6,
            p * 1024 / (w + a), (p - r) * 1024 / (w + a) }')
  if [ -n "$baseline" ]; then
    read -r base_kb _ <<<"$(measure "$baseline" "$file")"
    row+=$(awk -v w="$held" -v a="$act" -v p="$base_kb" -v r="$runtime_kb" \
      'BEGIN { printf " %.1f | %.2f |", p * 1024 / 1e6, (p - r) * 1024 / (w + a) }')
  fi
  echo "$row"
done
