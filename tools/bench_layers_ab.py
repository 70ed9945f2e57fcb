#!/usr/bin/env python3
"""Per-layer before/after of two weightconv builds on one network, steadied against a drifting machine.

    python3 tools/bench_layers_ab.py FILE.wcv --before OLD/weightconv --after NEW/weightconv
        [--changed "conv 3×3"] [--rounds 8] [--threads 1] [--batch 1] [--iterations 20] [--kernels avx2]
    python3 tools/bench_layers_ab.py FILE.wcv --before B --after B --before-kernels avx512 --after-kernels avx2 --avx2-machine

The second form compares two kernel sets of one build, step by step (`--avx2-machine` holds oneDNN
to AVX2 in the runs whose set is not avx512, as on a processor without AVX-512; see
tools/bench_kernels.sh for the whole pass).

Each round runs `bench FILE --profile --json` with both builds, in alternating order (before/after,
then after/before: whichever runs second in a round tends to be a few percent faster). A shared
machine's speed drifts by up to 2× between two processes of a round, and that drift falls on every
layer of the slower process alike; so each round's per-step ratios (after / before) are divided by
that round's ratio over the steps the change does not touch ("control": every step whose operator
kind is not in --changed; all steps when --changed is not given, which leaves the ratios as they
are). The table gives, per step and per operator kind, the median over rounds of the normalised
ratio, with each round's control ratio so that a round with a large correction can be seen.
Needs only the standard library; the two builds must be the same network's steps (same plan).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys


def kind_time(steps: list[dict], kinds: set[str] | None, exclude: bool) -> float:
    """Total milliseconds of the steps whose kind is (or, with exclude, is not) in kinds."""
    return sum(s["milliseconds"] for s in steps
               if kinds is None or ((s["kind"] in kinds) != exclude))


def summarize(before: list[list[dict]], after: list[list[dict]], changed: set[str] | None) -> dict:
    """Per-round normalised ratios of `after` to `before` (lists of rounds of `bench --profile --json`
    step lists). Returns {"control": [per round], "steps": [(kind, detail, median)], "kinds":
    {kind: median of its total's normalised ratio}, "total": median normalised total ratio}."""
    if len(before) != len(after) or not before:
        raise ValueError("need the same number (at least one) of rounds for both builds")
    shape = [(s["kind"], s["detail"]) for s in before[0]]
    for steps in before + after:
        if [(s["kind"], s["detail"]) for s in steps] != shape:
            raise ValueError("the two builds' steps differ: not the same plan of the same network")
    controls, per_step, per_kind, totals = [], [[] for _ in shape], {}, []
    for b, a in zip(before, after):
        if changed:
            b_control, a_control = kind_time(b, changed, exclude=True), kind_time(a, changed, exclude=True)
            if b_control <= 0:
                raise ValueError("no untouched steps to normalise by: every step's kind is in --changed")
            control = a_control / b_control
        else:
            control = 1.0
        controls.append(control)
        for i, (x, y) in enumerate(zip(b, a)):
            per_step[i].append(y["milliseconds"] / x["milliseconds"] / control)
        for kind in {k for k, _ in shape}:
            per_kind.setdefault(kind, []).append(kind_time(a, {kind}, False) / kind_time(b, {kind}, False) / control)
        totals.append(kind_time(a, None, False) / kind_time(b, None, False) / control)
    return {
        "control": controls,
        "steps": [(k, d, statistics.median(r)) for (k, d), r in zip(shape, per_step)],
        "kinds": {k: statistics.median(r) for k, r in per_kind.items()},
        "total": statistics.median(totals),
    }


def run_of(binary: str, kernels: str | None, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The `bench --profile --json` command for one build and kernel set, and its environment:
    with --avx2-machine, oneDNN held to AVX2 unless the set is avx512."""
    command = [binary, "bench", args.file, "--profile", "--json", "--threads", str(args.threads),
               "--batch", str(args.batch), "--iterations", str(args.iterations)]
    if kernels:
        command += ["--kernels", kernels]
    environment = dict(os.environ)
    if args.avx2_machine and kernels != "avx512":
        environment["ONEDNN_MAX_CPU_ISA"] = "AVX2"
    return command, environment


def profile(binary: str, kernels: str | None, args: argparse.Namespace) -> list[dict]:
    command, environment = run_of(binary, kernels, args)
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
    except OSError as error:
        sys.exit(f"bench_layers_ab: {binary}: {error.strerror}")
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
        sys.exit(f"bench_layers_ab: {binary} bench {args.file}: {last}")
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="a .wcv file")
    parser.add_argument("--before", required=True, help="the earlier weightconv binary")
    parser.add_argument("--after", required=True, help="the changed weightconv binary")
    parser.add_argument("--changed", help="operator kinds the change touches, comma-separated (as `bench --profile` names them)")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--kernels", choices=["portable", "avx2", "avx512"])
    parser.add_argument("--before-kernels", choices=["portable", "avx2", "avx512"], help="the set of the before runs (default: --kernels)")
    parser.add_argument("--after-kernels", choices=["portable", "avx2", "avx512"], help="the set of the after runs (default: --kernels)")
    parser.add_argument("--avx2-machine", action="store_true", help="hold oneDNN to AVX2 in the runs whose set is not avx512")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("bench_layers_ab: --rounds must be at least 1")
    changed = {k.strip() for k in args.changed.split(",")} if args.changed else None
    before, after = [], []
    before_kernels = args.before_kernels or args.kernels
    after_kernels = args.after_kernels or args.kernels
    for r in range(args.rounds):
        order = [("before", args.before, before_kernels), ("after", args.after, after_kernels)]
        for name, binary, kernels in order if r % 2 == 0 else order[::-1]:
            (before if name == "before" else after).append(profile(binary, kernels, args))
    result = summarize(before, after, changed)
    print(f"{args.file}: after / before, {args.rounds} rounds, {args.threads} thread(s), batch {args.batch}"
          + (f", normalised by the steps outside {sorted(changed)}" if changed else ""))
    print("control ratio per round: " + " ".join(f"{c:.2f}" for c in result["control"]))
    print(f"whole pass: {result['total']:.3f}")
    for kind, ratio in sorted(result["kinds"].items()):
        print(f"  {kind:24s} {ratio:.3f}")
    for i, (kind, detail, ratio) in enumerate(result["steps"]):
        if changed is None or kind in changed:
            print(f"{i:4d} {kind:22s} {detail:56s} {ratio:.2f}")


if __name__ == "__main__":
    main()
