#!/usr/bin/env python3
"""Time to first answer (issue 17): how long from nothing loaded to the first logits.

    /work/.venv-tools/bin/python tools/bench_first_answer.py [--weightconv .build/release/weightconv]
        [--threads 2] [--rounds 5] [--networks shufflenet_v1,mobilenet_v2,resnext,xception] [--work DIR]

For each full-size network of tools/bench_compare.py (random weights, batch 1), in rounds, each engine in turn:
- weightconv, in the process: what `weightconv bench N.wcv --iterations 1 --warmup 0 --json` reports as
  open_ms (opening and validating the .wcv, building and folding the network, planning the fast path, and
  the GEMM library's kernel generation, which runs alongside) plus first_pass_ms (the first forward pass).
- weightconv, the whole process: the wall time of that same process, which adds process start (the Swift
  runtime and the shared libraries), making the random input and exit. An upper bound.
- onnxruntime: in a fresh Python process with onnxruntime and numpy already imported (their import is not
  counted), InferenceSession(N.onnx) with the options bench_compare.py uses (ORT_ENABLE_ALL, intra-op
  threads T) plus its first session.run, timed inside the process. The in-process figures are the like
  for like comparison: neither counts its process start.
The files are read once before the rounds, so both start from the page cache. The table gives the
median over rounds (lowest–highest) and the median of the per-round ratios.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_compare  # noqa: E402  (the networks, the import and the ONNX export are bench_compare's)

ORT_CHILD = """
import sys, time
import numpy as np
import onnxruntime as ort
path, threads, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
x = np.random.default_rng(0).standard_normal((1, 3, side, side), dtype=np.float32)
start = time.perf_counter()
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
session.run(None, {"input": x})
print((time.perf_counter() - start) * 1000)
"""


def weightconv_first_answer(binary: str, wcv: Path, threads: int) -> tuple[float, float]:
    """(open + first pass as the process reports them, the whole process's wall time), in ms."""
    start = time.perf_counter()
    out = subprocess.run([binary, "bench", str(wcv), "--iterations", "1", "--warmup", "0", "--threads", str(threads),
                          "--json"], check=True, capture_output=True, text=True)
    whole = (time.perf_counter() - start) * 1000
    result = json.loads(out.stdout)
    if "open_ms" not in result:
        sys.exit(f"{binary}: its bench --json has no open_ms (a build from before 2026-12-07); use a newer one")
    return float(result["open_ms"]) + float(result["first_pass_ms"]), whole


def onnxruntime_first_answer(onnx: Path, threads: int, side: int) -> float:
    out = subprocess.run([sys.executable, "-c", ORT_CHILD, str(onnx), str(threads), str(side)], check=True,
                         capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weightconv", default=".build/release/weightconv")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--networks", default=",".join(bench_compare.NETWORKS))
    parser.add_argument("--work", type=Path, help="directory for the exported models (default: a temporary one)")
    args = parser.parse_args()
    available, why_not = bench_compare.weightconv_available(args.weightconv)
    if not available:
        parser.error(why_not)
    temp = bench_compare.work_directory(args, "bench_first_answer_")
    bench_compare.print_preamble()
    print(f"{args.rounds} rounds, batch 1, {args.threads} threads; milliseconds from nothing loaded to the first "
          "logits: median over rounds (lowest–highest); ratio: median of the per-round ratios.\n")
    print("| network | weightconv (open + first pass) | onnxruntime (session + first run) | weightconv / onnxruntime "
          "| weightconv (whole process) | whole process / onnxruntime |")
    print("|---|---:|---:|---:|---:|---:|")
    import torch
    for name in args.networks.split(","):
        description, build, side, arch = bench_compare.NETWORKS[name]
        model = build().eval()
        wcv = bench_compare.import_weightconv(args.weightconv, model, arch, args.work, name)
        # bench_compare's runner exports the ONNX file (static batch 1) when it is not there yet.
        bench_compare.onnxruntime_runner(model, torch.randn(1, 3, side, side), args.threads, args.work, name)
        onnx = args.work / f"{name}_b1.onnx"
        for path in (wcv, onnx):
            path.read_bytes()  # into the page cache, for both alike
        ours, whole, theirs = [], [], []
        for _ in range(args.rounds):
            inside, process = weightconv_first_answer(args.weightconv, wcv, args.threads)
            ours.append(inside)
            whole.append(process)
            theirs.append(onnxruntime_first_answer(onnx, args.threads, side))

        def cell(values: list[float]) -> str:
            return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"

        def ratio(numerators: list[float]) -> str:
            ratios = [a / b for a, b in zip(numerators, theirs)]
            return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
        print(f"| {description} | {cell(ours)} | {cell(theirs)} | {ratio(ours)} | {cell(whole)} | {ratio(whole)} |",
              flush=True)
    if temp:
        temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
