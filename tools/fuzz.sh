#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (instrumented with -sanitize=fuzzer,address) and runs each one.
#
#   tools/fuzz.sh                 # every target, 60 s each
#   tools/fuzz.sh --seconds 600   # longer
#   tools/fuzz.sh --runs 1000000  # a fixed number of executions per target
#   tools/fuzz.sh --ci            # CI: every target briefly on the committed corpus only
#   tools/fuzz.sh --target FuzzPickle
#
# Seeds: fixtures/fuzz/<target>/ (committed, small) plus the real fixtures and ../shared/corpus.
# New inputs found while fuzzing go to .build-fuzz-corpus/<target>/ (not committed). A crash, leak or
# timeout leaves its reproducer in fuzz/artifacts/<target>/ and makes the script exit 1: copy it to
# fixtures/fuzz/<target>/ as a regression seed and into the reader's malformed-file tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

seconds=60 runs="" ci=0 only=""
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --ci) ci=1; shift ;;
    --target) only="$2"; shift 2 ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

targets=$(sed -n 's/.*executableTarget(name: "\(Fuzz[A-Za-z]*\)".*/\1/p' fuzz/Package.swift)
[ -n "$only" ] && targets="$only"

echo "fuzz.sh: building $(echo $targets | wc -w) targets with -sanitize=fuzzer,address" >&2
(cd fuzz && swift build --sanitize fuzzer --sanitize address 2>&1 | grep -E "error:" >&2) && exit 1
status=0
summary=()
for t in $targets; do
  bin="fuzz/.build/debug/$t"
  [ -x "$bin" ] || { echo "fuzz.sh: $t did not build" >&2; exit 1; }
  seeds="fixtures/fuzz/$t"
  work=".build-fuzz-corpus/$t"
  mkdir -p "$work" "fuzz/artifacts/$t" "$seeds"
  args=(-artifact_prefix="fuzz/artifacts/$t/" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1)
  if ((ci)); then
    # Run every committed seed once, then a few seconds of mutation.
    args+=(-max_total_time=8)
    dirs=("$work" "$seeds")
  else
    if [ -n "$runs" ]; then args+=(-runs="$runs"); else args+=(-max_total_time="$seconds"); fi
    dirs=("$work" "$seeds")
    [ -d fixtures/checkpoints ] && dirs+=(fixtures/checkpoints)
    [ -d fixtures/hostile ] && dirs+=(fixtures/hostile)
    [ -d ../shared/corpus/picklescan/data ] && dirs+=(../shared/corpus/picklescan/data ../shared/corpus/picklescan/data2)
  fi
  log="fuzz/artifacts/$t/last-run.log"
  if "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then result=ok; else result=FAILED; status=1; fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  summary+=("$t: $result, ${execs:-?} executions, ${secs:-?} exec/s")
  if [ "$result" = FAILED ]; then grep -E "ERROR|SUMMARY|Test unit written" "$log" | head -5 >&2 || true; fi
done
printf '%s\n' "${summary[@]}"
exit $status
