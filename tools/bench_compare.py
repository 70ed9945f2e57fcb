#!/usr/bin/env python3
"""Side-by-side latency of weightconv, PyTorch eager and onnxruntime on one machine in one run (issue 6),
plus the import-speed comparison (cp vs torch.load + safetensors save vs weightconv import).

    /work/.venv-tools/bin/python tools/bench_compare.py [--threads 1,2] [--batch 1,8,32] [--rounds 5] [--iterations 10]
        [--warmup 5] [--weightconv .build/release/weightconv] [--networks shufflenet_v1,mobilenet_v2,resnext,xception]
        [--skip-import] [--work DIR] [--baseline OLD_BINARY] [--portable-kernels] [--precision bf16] [--import-only]

One table per setting (each thread count with each batch size, in that order). For each full-size network
(random weights; timing does not depend on their values) at that batch size:
- PyTorch eager: torch.set_num_threads(T), torch.inference_mode(), the original implementation;
- onnxruntime: the same model exported with torch.onnx.export (TorchScript exporter, opset 17) for that batch
  size (static shapes, as PyTorch and weightconv see them), a session
  with intra_op_num_threads=T, inter_op_num_threads=1, ORT_ENABLE_ALL;
- weightconv: the same weights saved as a checkpoint, `weightconv import … -o N.wcv`, then
  `weightconv bench N.wcv --batch B --threads T --iterations K --json` — the column is skipped with a
  note when the binary or its `bench` command is not there yet.
Milliseconds are per image (a batch's time divided by its size), so that batch sizes compare directly.
With --baseline, a second weightconv binary (an earlier build) is timed in the same rounds, with its own
import of the same checkpoint, and the table adds its column and the ratio new / baseline: the before/after
check of a change, on the same machine in the same run.
With --precision bf16, weightconv runs its GEMM convolutions (1×1 and unfolded) in bfloat16 (`bench --precision bf16`) while the
baseline stays float32: with --baseline set to the same binary, the last column is bf16 / fp32.
The engines are timed in turn, round after round, so that a slow phase of a shared machine falls on all
of them alike; the table gives each engine's median of its round medians and the median of the
per-round ratios, each with its range over the rounds, with the machine and the command.

Import: a ResNeXt-50 32x4d checkpoint (~100 MB, torch.save of the state_dict) is copied with `cp`, loaded
with torch.load and written with safetensors, and (when available) imported with `weightconv import`;
each runs as a child process, best wall time of 3, peak RSS from /usr/bin/time (GNU time, apt
package `time`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

from reference_nets import megvii_shufflenet_v1, seed004_xception  # noqa: E402

NETWORKS = {
    # name: (description, builder, input size, --arch)
    "shufflenet_v1": ("ShuffleNet v1 g=3 1.0x (Megvii)", lambda: megvii_shufflenet_v1.ShuffleNetV1(
        n_class=1000, model_size="1.0x", group=3), 224, "shufflenet_v1"),
    "mobilenet_v2": ("MobileNetV2 1.0 (torchvision)", lambda: __import__("torchvision").models.mobilenet_v2(), 224,
                     "mobilenet_v2"),
    "resnext": ("ResNeXt-50 32x4d (torchvision)", lambda: __import__("torchvision").models.resnext50_32x4d(), 224,
                "resnext"),
    "xception": ("Xception (seed 004 = Cadene/timm legacy names)", lambda: seed004_xception.Xception(), 299,
                 "xception"),
}


def summarize(samples: list[float]) -> dict:
    s = sorted(samples)
    p90 = s[min(len(s) - 1, max(0, int(0.9 * len(s) + 0.999) - 1))]
    return {"median_ms": statistics.median(s), "p90_ms": p90, "min_ms": s[0]}


def cell(r: dict) -> str:
    return f"{r['median_ms']:.1f} ({r['p90_ms']:.1f}, {r['min_ms']:.1f})"


def time_calls(fn, iterations: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return summarize(samples)


def onnxruntime_runner(model, x, threads, work: Path, name: str):
    """A callable running the exported model in an onnxruntime session made once."""
    import onnxruntime as ort
    path = work / f"{name}_b{x.shape[0]}.onnx"
    if not path.exists():
        torch.onnx.export(model, (x,), str(path), opset_version=17, input_names=["input"], output_names=["logits"],
                          dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    return lambda: session.run(None, feed)


def weightconv_available(binary: str | None) -> tuple[bool, str]:
    if not binary:
        return False, "no --weightconv binary given"
    if not Path(binary).exists():
        return False, f"{binary} does not exist"
    # ArgumentParser answers `X --help` for an unknown X with the root help and exit 0, so read the
    # subcommand list instead.
    probe = subprocess.run([binary, "--help"], capture_output=True, text=True)
    listed = {line.split()[0] for line in probe.stdout.splitlines() if line.startswith("  ") and line.split()}
    for command in ("import", "bench"):
        if command not in listed:
            return False, f"`weightconv {command}` is not implemented yet in {binary}"
    return True, ""


def import_weightconv(binary, model, arch, work: Path, name: str) -> Path:
    checkpoint, wcv = work / f"{name}.pth", work / f"{name}.wcv"
    if not checkpoint.exists():
        torch.save(model.state_dict(), checkpoint)
    subprocess.run([binary, "import", str(checkpoint), "--arch", arch, "-o", str(wcv)], check=True,
                   capture_output=True)
    return wcv


def bench_weightconv(binary, wcv: Path, batch, threads, iterations, warmup, portable: bool = False,
                     precision: str = "fp32") -> dict:
    # --portable-kernels, not --kernels portable: binaries from before --kernels take it too (baselines);
    # --precision only when it is not the default, for the same reason.
    out = subprocess.run([binary, "bench", str(wcv), "--batch", str(batch), "--threads", str(threads), "--iterations",
                          str(iterations), "--warmup", str(warmup), "--json"] + (["--portable-kernels"] if portable else [])
                         + (["--precision", precision] if precision != "fp32" else []),
                         check=True, capture_output=True, text=True)
    result = json.loads(out.stdout)
    return {"median_ms": float(result["median_ms"]), "p90_ms": float(result["p90_ms"]),
            "min_ms": float(result.get("min_ms", float("nan")))}


def per_image(r: dict, batch: int) -> dict:
    return {key: value / batch for key, value in r.items()}


def int_list(text: str) -> list[int]:
    """`1,2,4` → [1, 2, 4]; every value at least 1."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least one value, each at least 1")
    return values


def across_rounds(rounds: list[dict]) -> dict:
    """One engine over the rounds: the median and extremes of its per-round medians."""
    medians = [r["median_ms"] for r in rounds]
    return {"median_ms": statistics.median(medians), "low_ms": min(medians), "high_ms": max(medians)}


def round_cell(r: dict) -> str:
    return f"{r['median_ms']:.2f} ({r['low_ms']:.2f}–{r['high_ms']:.2f})"


def ratio_cell(numerator: list[dict], denominator: list[dict]) -> str:
    """Median over rounds of the per-round ratio, with its range: a slow phase of the (shared) machine
    falls on all engines of a round alike, so per-round ratios are steadier than ratios of overall medians."""
    ratios = [a["median_ms"] / b["median_ms"] for a, b in zip(numerator, denominator)]
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"


def run_child(argv: list[str]) -> tuple[float, int, str]:
    """Wall seconds and peak RSS (bytes) of one child process, measured by GNU time: a child forked from
    this (large) Python process would report the parent's pre-exec RSS as its own peak."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M", *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)} failed: {proc.stderr[-500:]}")
        peak_kib = int(report.read().split()[-1])
    return elapsed, peak_kib * 1024, proc.stdout


def bench_import(binary: str | None, have_weightconv: bool, work: Path) -> list[tuple[str, float, int]]:
    import torchvision
    checkpoint = work / "resnext50_32x4d.pth"
    model = torchvision.models.resnext50_32x4d()
    sd = model.state_dict()
    torch.save(sd, checkpoint)
    largest = max(v.numel() * v.element_size() for v in sd.values())
    size = checkpoint.stat().st_size
    python = sys.executable
    st_script = ("import sys, time, torch; from safetensors.torch import save_file; t = time.perf_counter(); "
                 "sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True); save_file(sd, sys.argv[2]); "
                 "print(time.perf_counter() - t)")
    jobs = [("cp", ["cp", str(checkpoint), str(work / "copy.pth")]),
            # weightconv fsyncs its output before renaming it into place; this is the copy that does the same.
            ("cp + fsync (dd conv=fsync)", ["dd", f"if={checkpoint}", f"of={work / 'copy.pth'}", "bs=1M", "conv=fsync",
                                            "status=none"]),
            ("torch.load + safetensors save_file", [python, "-c", st_script, str(checkpoint),
                                                    str(work / "out.safetensors")])]
    if have_weightconv:
        jobs.append(("weightconv import", [binary, "import", str(checkpoint), "--arch", "resnext", "-o",
                                           str(work / "out.wcv")]))
        # The process alone (libraries, runtime): the fixed overhead the memory goal allows.
        jobs.append(("weightconv layouts (baseline RSS)", [binary, "layouts"]))
    rows = []
    for label, argv in jobs:
        runs = [run_child(argv) for _ in range(3)]
        rows.append((label, min(r[0] for r in runs), max(r[1] for r in runs)))
        if label.startswith("torch.load"):
            # The same job without the interpreter start and `import torch`, timed inside the child.
            rows.append(("  of which torch.load + save_file alone", min(float(r[2].split()[-1]) for r in runs), 0))
    print(f"\n### Import of a {size / 1e6:.1f} MB checkpoint (torchvision resnext50_32x4d state_dict; largest "
          f"tensor {largest / 1e6:.1f} MB)\n")
    print("| step | best wall time of 3 | vs cp | peak RSS |")
    print("|---|---:|---:|---:|")
    cp_time = rows[0][1]
    for label, seconds, rss in rows:
        memory = f"{rss / 1e6:.0f} MB" if rss else ""
        print(f"| {label} | {seconds * 1000:.0f} ms | {seconds / cp_time:.1f}x | {memory} |")
    print("\n(cp reads a file that is in the page cache: it is the floor an import is compared with; weightconv"
          " also hashes the source and every tensor (SHA-256) and fsyncs before renaming, like the dd row.)")
    return rows


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import onnxruntime
    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs (nproc), {model}; "
            f"torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, Python {platform.python_version()}")


def work_directory(args, prefix: str) -> tempfile.TemporaryDirectory | None:
    """Makes `args.work` exist; when none was given, a temporary one (returned, for the caller to clean up)."""
    temp = None
    if args.work is None:
        temp = tempfile.TemporaryDirectory(prefix=prefix)
        args.work = Path(temp.name)
    args.work.mkdir(parents=True, exist_ok=True)
    return temp


def print_preamble() -> None:
    """The machine, the load at start (with a warning when other work shares the cores) and the command."""
    print(f"Machine: {machine()}")
    load = os.getloadavg()[0]
    print(f"Load average at start: {load:.2f}" + (
        f" — WARNING: other work is running on this {os.cpu_count()}-CPU machine; PyTorch's spinning OpenMP "
        "threads suffer most from it, so these numbers are not a fair comparison" if load > 0.5 * (os.cpu_count() or 1)
        else ""))
    print(f"Command: {shlex.join([Path(sys.executable).name, *sys.argv])}")


def bench_network(args, name, model, batch, threads, wcv, baseline_wcv, failure, have_weightconv) -> None:
    """One row: the network at `batch` images and `threads` threads, the engines timed in turn each round."""
    description, _, size, _ = NETWORKS[name]
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    torch.set_num_threads(threads)
    run_ort = onnxruntime_runner(model, x, threads, args.work, name)
    pt, ort, wc, base = [], [], [], []
    for _ in range(args.rounds):
        with torch.inference_mode():
            pt.append(time_calls(lambda: model(x), args.iterations, args.warmup))
        ort.append(time_calls(run_ort, args.iterations, args.warmup))
        if wcv is not None:
            try:
                wc.append(bench_weightconv(args.weightconv, wcv, batch, threads, args.iterations, args.warmup,
                                           args.portable_kernels, args.precision))
            except (subprocess.CalledProcessError, ValueError, KeyError) as error:
                failure = str(getattr(error, "stderr", "") or error).strip().splitlines()[-1:]
                wcv = None
        if baseline_wcv is not None and wcv is not None:
            base.append(bench_weightconv(args.baseline, baseline_wcv, batch, threads, args.iterations, args.warmup,
                                         args.portable_kernels))
    pt, ort, wc, base = ([per_image(r, batch) for r in rs] for rs in (pt, ort, wc, base))
    row = f"| {description} | {size}x{size} | {round_cell(across_rounds(pt))} | {round_cell(across_rounds(ort))} |"
    if have_weightconv:
        if failure or len(wc) != len(pt):
            row += f" failed: {failure} | | |"
        else:
            row += f" {round_cell(across_rounds(wc))} | {ratio_cell(wc, pt)} | {ratio_cell(wc, ort)} |"
            if args.baseline and len(base) == len(wc):
                row += f" {round_cell(across_rounds(base))} | {ratio_cell(wc, base)} |"
    else:
        row += f" {ratio_cell(ort, pt)} |"
    print(row, flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int_list, default=[2], help="thread counts, e.g. 1,2,4")
    parser.add_argument("--batch", type=int_list, default=[1], help="batch sizes, e.g. 1,8,32")
    parser.add_argument("--iterations", type=int, default=10, help="timed runs per engine per round")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds; each runs PyTorch, onnxruntime and weightconv in turn")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--weightconv", help="path to the weightconv binary (release build)")
    parser.add_argument("--baseline", help="an earlier weightconv binary to time in the same rounds (before/after)")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--portable-kernels", action="store_true",
                        help="run weightconv (and the baseline) on its portable Swift kernels: what a processor "
                             "without AVX2 gets")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="weightconv's GEMM convolutions in float32 (default) or bfloat16; the baseline stays float32")
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--work", type=Path, help="directory for exported models (default: a temporary one)")
    parser.add_argument("--import-only", action="store_true",
                        help="only import the networks into --work as NAME.wcv (for tools/bench_memory.sh), then stop")
    args = parser.parse_args()

    if args.import_only and args.work is None:
        parser.error("--import-only keeps the imported files in --work DIR; give one")
    have_weightconv, why_not = weightconv_available(args.weightconv)
    if args.baseline:
        have_baseline, why_not_baseline = weightconv_available(args.baseline)
        if not (have_weightconv and have_baseline):
            parser.error(f"--baseline needs two working binaries: {why_not or why_not_baseline}")
    temp = work_directory(args, "bench_compare_")
    print_preamble()
    print(f"{args.rounds} rounds per setting, each timing PyTorch, onnxruntime and weightconv in turn "
          f"({args.iterations} runs each after {args.warmup} warm-up); milliseconds per image: median of the round "
          "medians (lowest–highest round); ratios: median of the per-round ratios (lowest–highest).")
    if args.portable_kernels:
        print("weightconv (and the baseline) run their portable Swift kernels (--portable-kernels).")
    if args.precision != "fp32":
        print(f"weightconv runs its GEMM convolutions in {args.precision} (--precision {args.precision}); everything "
              "else, the baseline included, is float32.")
    networks = args.networks.split(",")
    models, wcvs, baseline_wcvs, failures = {}, {}, {}, {}
    for name in networks:
        description, build, size, arch = NETWORKS[name]
        models[name] = build().eval()
        if have_weightconv:
            try:
                wcvs[name] = import_weightconv(args.weightconv, models[name], arch, args.work, name)
                if args.baseline:
                    baseline_wcvs[name] = import_weightconv(args.baseline, models[name], arch, args.work,
                                                            name + "_baseline")
            except subprocess.CalledProcessError as error:
                failures[name] = str(error.stderr or error).strip().splitlines()[-1:]
    if args.import_only:
        for name in networks:
            print(wcvs.get(name) or f"{name}: not imported ({failures.get(name) or why_not})")
        return 0 if len(wcvs) == len(networks) else 1
    header = "| network | input | PyTorch eager | onnxruntime |"
    rule = "|---|---|---:|---:|"
    if have_weightconv:
        header += " weightconv | weightconv / PyTorch | weightconv / onnxruntime |"
        rule += "---:|---:|---:|"
        if args.baseline:
            header += " baseline | weightconv / baseline |"
            rule += "---:|---:|"
    else:
        header += " onnxruntime / PyTorch |"
        rule += "---:|"
    for threads in args.threads:
        for batch in args.batch:
            print(f"\n### Batch {batch}, {threads} thread{'s' if threads > 1 else ''} (ms per image)\n")
            print(header)
            print(rule)
            for name in networks:
                bench_network(args, name, models[name], batch, threads, wcvs.get(name), baseline_wcvs.get(name),
                              failures.get(name), have_weightconv)
    if not have_weightconv:
        print(f"\nweightconv column skipped: {why_not}.")
    if not args.skip_import:
        bench_import(args.weightconv, have_weightconv, args.work)
    if temp:
        temp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
