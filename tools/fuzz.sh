#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/ (instrumented with -sanitize=fuzzer,address, optimised so a
# million executions take minutes, not hours) and runs each one in turn, printing its executions.
#
#   tools/fuzz.sh                 # every target, 60 s each
#   tools/fuzz.sh --seconds 600   # longer
#   tools/fuzz.sh --runs 1000000  # a fixed number of executions per target
#   tools/fuzz.sh --ci            # CI: every target briefly (≤60 s in all) on the committed corpus only
#   tools/fuzz.sh --target FuzzPickle --runs 1000000
#   tools/fuzz.sh --debug         # unoptimised build (better stack traces, ~10x fewer executions/s)
#
# Seeds: fixtures/fuzz/<target>/ (committed, small; regenerate with tools/make_fuzz_seeds.py) plus,
# outside CI, the real fixtures and the hostile set. New inputs found while fuzzing go to
# .build-fuzz-corpus/<target>/ (not committed). A crash, leak or timeout leaves its reproducer in
# fuzz/artifacts/<target>/ and makes the script exit 1: copy it to fixtures/fuzz/<target>/ as a
# regression seed and into the reader's malformed-file tests. LeakSanitizer is on (ASan's default
# on Linux): a leak fails the run like a crash.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60 runs="" ci=0 only="" config=release
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --ci) ci=1; shift ;;
    --target) only="$2"; shift 2 ;;
    --debug) config=debug; shift ;;
    *) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
  esac
done

# One folder per target in fuzz/Sources (FuzzSupport is what they share); Package.swift declares
# them when WEIGHTCONV_FUZZ is set.
targets=$(ls fuzz/Sources | grep -v '^FuzzSupport$')
[ -n "$only" ] && targets="$only"
count=$(echo $targets | wc -w)

# One combined -sanitize=fuzzer,address: swiftc keeps only the last of several -sanitize= flags, and
# `swift build --sanitize fuzzer --sanitize address` passes two (in no fixed order), so the Swift code
# ended up either without coverage counters or without AddressSanitizer. The --sanitize options stay
# for what SwiftPM does with them (C flags, linking libFuzzer's main); the -Xswiftc flag comes last.
export WEIGHTCONV_FUZZ=1
build=(swift build -c "$config" --scratch-path .build-fuzz --sanitize fuzzer --sanitize address
       -Xswiftc -sanitize=fuzzer,address)
echo "fuzz.sh: building $count targets ($config, -sanitize=fuzzer,address)" >&2
build_log=$(mktemp)
# Each target's product alone: a plain `swift build` would also build the command line and the
# layouts plugin's tool with the sanitizer flags.
if ! (for t in $targets; do "${build[@]}" --product "$t" || exit 1; done) >"$build_log" 2>&1; then
  grep -E "error:" "$build_log" >&2 || tail -20 "$build_log" >&2
  rm -f "$build_log"
  exit 1
fi
rm -f "$build_log"
bindir=$("${build[@]}" --show-bin-path)
# A build without coverage counters fuzzes blind ("no interesting inputs"): refuse to run it.
if ! nm "$bindir/FuzzSupport.build/FuzzSupport.swift.o" 2>/dev/null | grep __sanitizer_cov >/dev/null; then
  echo "fuzz.sh: the Swift code was built without coverage instrumentation" >&2
  exit 1
fi

# CI: the whole run (seeds plus mutation) stays under a minute.
per_target=$(( ci ? 40 / count : 0 ))
((ci)) && ((per_target < 1)) && per_target=1

status=0
summary=()
for t in $targets; do
  bin="$bindir/$t"
  [ -x "$bin" ] || { echo "fuzz.sh: $t did not build" >&2; exit 1; }
  seeds="fixtures/fuzz/$t"
  mkdir -p "fuzz/artifacts/$t" "$seeds"
  args=(-artifact_prefix="fuzz/artifacts/$t/" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1)
  if ((ci)); then
    # New inputs go to a scratch folder, never into the committed seeds.
    work=$(mktemp -d)
    args+=(-max_total_time="$per_target")
    dirs=("$work" "$seeds")
  else
    work=".build-fuzz-corpus/$t"
    mkdir -p "$work"
    if [ -n "$runs" ]; then args+=(-runs="$runs"); else args+=(-max_total_time="$seconds"); fi
    dirs=("$work" "$seeds")
    case "$t" in
      FuzzPickle|FuzzTorchZip|FuzzLegacy|FuzzNpz|FuzzNpy)
        [ -d fixtures/hostile ] && dirs+=(fixtures/hostile)
        [ -d fixtures/hostile/picklescan/data ] && dirs+=(fixtures/hostile/picklescan/data fixtures/hostile/picklescan/data2)
        ;;
    esac
  fi
  log="fuzz/artifacts/$t/last-run.log"
  started=$(date +%s)
  if "$bin" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then result=ok; else result=FAILED; status=1; fi
  elapsed=$(( $(date +%s) - started ))
  ((ci)) && rm -rf "$work"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
  summary+=("$t: $result, ${execs:-?} executions in ${elapsed}s (${rate:-?} exec/s, peak RSS ${rss:-?} MB)")
  echo "${summary[-1]}" >&2
  if [ "$result" = FAILED ]; then grep -E "ERROR|SUMMARY|Test unit written|fuzz harness" "$log" | head -5 >&2 || true; fi
done
printf '%s\n' "${summary[@]}"
exit $status
