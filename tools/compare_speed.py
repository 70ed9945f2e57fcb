#!/usr/bin/env python3
"""Times PyTorch eager, onnxruntime and weightconv's fast path on the same four full-size networks, in one
run on one machine, and prints a table of median milliseconds and ratios.

    /work/.venv-tools/bin/python tools/compare_speed.py [--threads 2] [--batch 1] [--iterations 30] [--markdown]

PyTorch: torch.set_num_threads(T), eval mode, torch.inference_mode(). onnxruntime: the same module exported
with torch.onnx.export (opset 17), intra_op_num_threads=T, graph optimizations on. weightconv: the
`engine-bench` executable (release build: swift build -c release --product engine-bench), whose networks
have the same architecture with deterministic random weights (timing does not depend on the values).
Runs are interleaved per network so that machine load affects all three alike.
"""
import argparse
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

warnings.filterwarnings("ignore")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def models():
    import torchvision
    from reference_nets import megvii_shufflenet_v1, seed004_xception
    return [
        ("shufflenet_v1_g3", lambda: megvii_shufflenet_v1.ShuffleNetV1(n_class=1000, model_size="1.0x", group=3), 224),
        ("shufflenet_v1_g8", lambda: megvii_shufflenet_v1.ShuffleNetV1(n_class=1000, model_size="1.0x", group=8), 224),
        ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(), 224),
        ("resnext50_32x4d", lambda: torchvision.models.resnext50_32x4d(), 224),
        ("xception", lambda: seed004_xception.Xception(num_classes=1000), 299),
    ]


def median_ms(fn, iterations, warmup=3):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples)


def time_torch(model, x, iterations):
    with torch.inference_mode():
        return median_ms(lambda: model(x), iterations)


def time_onnxruntime(model, x, threads, iterations):
    import onnxruntime as ort
    buffer = io.BytesIO()
    with torch.no_grad():
        torch.onnx.export(model, (x,), buffer, opset_version=17, input_names=["x"], output_names=["y"], dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    return median_ms(lambda: session.run(None, feed), iterations)


def time_weightconv(name, threads, batch, iterations):
    binary = ROOT / ".build" / "release" / "engine-bench"
    out = subprocess.run([str(binary), "--json", "--threads", str(threads), "--batch", str(batch),
                          "--iterations", str(iterations), name], check=True, capture_output=True, text=True).stdout
    return json.loads(out)[name]["median_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for name, build, size in models():
        if args.names and name not in args.names:
            continue
        model = build().eval()
        x = torch.randn(args.batch, 3, size, size)
        t = time_torch(model, x, args.iterations)
        o = time_onnxruntime(model, x, args.threads, args.iterations)
        w = time_weightconv(name, args.threads, args.batch, args.iterations)
        rows.append((name, size, t, o, w))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    print(f"machine: {cpu}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; batch {args.batch}, "
          f"{args.threads} threads; torch {torch.__version__}; median of {args.iterations}")
    header = ["network", "input", "PyTorch eager ms", "onnxruntime ms", "weightconv ms", "vs PyTorch", "vs onnxruntime"]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
    else:
        print("  ".join(f"{h:>16s}" for h in header))
    for name, size, t, o, w in rows:
        cells = [name, f"{size}x{size}", f"{t:.1f}", f"{o:.1f}", f"{w:.1f}", f"{t / w:.2f}x faster" if w < t else f"{w / t:.2f}x slower",
                 f"{w / o:.2f}x of ORT"]
        print(("| " + " | ".join(cells) + " |") if args.markdown else "  ".join(f"{c:>16s}" for c in cells))


if __name__ == "__main__":
    main()
