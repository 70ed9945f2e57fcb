#!/usr/bin/env python3
"""Logits of the engines PyTorch users accept as equivalent, for the verification rule (issue 15).

    /work/venv/bin/python tools/make_engine_references.py

Engines: PyTorch with its default settings, PyTorch on 1 thread, PyTorch with
`torch.backends.mkldnn.enabled = False`, and onnxruntime (CPU, `torch.onnx.export` TorchScript exporter,
opset 17). Every one of them is right; they differ by summation order only, and the verification rule
must accept all of them while refusing wrong weights.

Writes
  fixtures/engines/networks/<case>.npz   for every case of fixtures/networks (tools/make_network_fixtures.py),
      rebuilt exactly as that script builds it, on its stored input.npy:
        logits_<engine>        [N, classes] float32, for each engine
        classifier_scale       [] float32: the factor the final linear layer (weight and bias) is multiplied
                               by for the large-logit variant (0 where the output is a softmax)
        large_logits_<engine>  the same engines with the final layer scaled, logits reaching ~500
  fixtures/engines/layouts/resnext_torchvision.photos.npz   one noise sample and two photos
      (fixtures/images/decode) prepared by tools/make_reference.py --image with the layout's preprocessing.
  fixtures/engines/traces/<case>.npz   tools/make_reference.py --trace of one layout fixture per family
      (every layer's output; one sample at 32x32, 40x40 for Xception), for `verify --trace`.
  fixtures/engines/layouts/<case>.<engine>.npz   `input` and `logits` (what `verify --reference` reads) for
      one imported layout fixture per family, the reference.npz input run by every engine but the default
      (the default is that fixture's own reference.npz).

The default engine's logits must equal fixtures/networks/<case>/logits.npy (checked: the fixture and
this script build the same model); the script stops otherwise.
"""
from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

import make_network_fixtures as nets  # noqa: E402
from make_reference import build_model  # noqa: E402
from reference_nets import zoo  # noqa: E402
from reference_nets.common import randomize_  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures"
OUT = ROOT / "engines"
ENGINES = ["torch_default", "torch_1thread", "torch_no_mkldnn", "onnxruntime"]
LARGE_LOGITS = 500.0
# One imported layout fixture per family, with small inputs (verify --reference on a .wcv, in tests).
LAYOUT_CASES = {"resnext_torchvision": "resnext", "mobilenetv2_torchvision": "mobilenet_v2",
                "shufflenet_seed001": "shufflenet_v1", "xception_seed004": "xception"}


def run_engine(engine: str, model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    threads = torch.get_num_threads()
    try:
        with torch.no_grad():
            if engine == "torch_default":
                return model(x).numpy()
            if engine == "torch_1thread":
                torch.set_num_threads(1)
                return model(x).numpy()
            if engine == "torch_no_mkldnn":
                with torch.backends.mkldnn.flags(enabled=False):
                    return model(x).numpy()
            if engine == "onnxruntime":
                import onnxruntime as ort
                with tempfile.TemporaryDirectory() as work:
                    path = f"{work}/model.onnx"
                    torch.onnx.export(model, (x,), path, opset_version=17, input_names=["input"],
                                      output_names=["logits"], dynamo=False)
                    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
                    return session.run(None, {"input": x.numpy()})[0]
    finally:
        torch.set_num_threads(threads)
    raise ValueError(engine)


def final_linear(model: torch.nn.Module) -> torch.nn.Linear:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]


def describe(name: str, reference: np.ndarray, logits: np.ndarray) -> str:
    diff = np.abs(logits - reference).max(axis=1)
    scale = np.abs(reference).max(axis=1)
    return f"{name:40s} max|Δ| {diff.max():.3g}  max|Δ|/max|ref| {(diff / scale).max():.3g}  (max|ref| {scale.max():.4g})"


def network_case(name: str):
    impl = zoo.BY_NAME[name]
    directory = ROOT / "networks" / name
    # Exactly tools/make_network_fixtures.py make_case (seed 1), at the input size the fixture was made with.
    size = json.loads((directory / "config.json").read_text())["input_shape"][-1]
    torch.manual_seed(1)
    model = randomize_(impl.build(10), 1, calibration=zoo.make_input(impl.input_kind, size, 4, 99))
    x = torch.from_numpy(np.load(directory / "input.npy"))
    stored = np.load(directory / "logits.npy")
    arrays = {}
    for engine in ENGINES:
        arrays[f"logits_{engine}"] = run_engine(engine, model, x).astype(np.float32)
        print(describe(f"{name} {engine}", stored, arrays[f"logits_{engine}"]))
    if not np.array_equal(arrays["logits_torch_default"], stored):
        raise SystemExit(f"{name}: the rebuilt model does not reproduce logits.npy "
                         f"(max |Δ| {np.abs(arrays['logits_torch_default'] - stored).max()})")
    softmax = impl.behaviour.get("output") == "softmax"
    scale = 0.0 if softmax else float(np.ceil(LARGE_LOGITS / np.abs(stored).max()))
    arrays["classifier_scale"] = np.array(scale, dtype=np.float32)
    if scale:
        fc = final_linear(model)
        with torch.no_grad():
            fc.weight.mul_(scale)
            if fc.bias is not None:
                fc.bias.mul_(scale)
        for engine in ENGINES:
            arrays[f"large_logits_{engine}"] = run_engine(engine, model, x).astype(np.float32)
            print(describe(f"{name} ×{scale:g} {engine}", arrays["large_logits_torch_default"],
                           arrays[f"large_logits_{engine}"]))
    np.savez(OUT / "networks" / f"{name}.npz", **arrays)


def layout_case(name: str, family: str):
    folder = ROOT / "layouts" / name
    model = build_model(folder / "model.pth", family)[0]
    reference = np.load(folder / "reference.npz")
    x = torch.from_numpy(reference["input"])
    for engine in ENGINES:
        logits = run_engine(engine, model, x).astype(np.float32)
        print(describe(f"layout {name} {engine}", reference["logits"], logits))
        if engine != "torch_default":
            np.savez(OUT / "layouts" / f"{name}.{engine}.npz", input=reference["input"], logits=logits)


def photo_reference():
    """tools/make_reference.py's --image path: several inputs, photos among them, in one reference."""
    import subprocess
    images = ROOT / "images" / "decode"
    subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "make_reference.py"),
                    str(ROOT / "layouts" / "resnext_torchvision" / "model.pth"), "--arch", "resnext", "--size", "64",
                    "--batch", "1", "--image", str(images / "baseline-444.jpg"), "--image", str(images / "rgb8.png"),
                    "-o", str(OUT / "layouts" / "resnext_torchvision.photos.npz")], check=True)


TRACE_CASES = {"resnext_torchvision": ("resnext", 32), "mobilenetv2_torchvision": ("mobilenet_v2", 32),
               "shufflenet_seed001": ("shufflenet_v1", 32), "xception_seed004": ("xception", 40)}


def trace_references():
    """tools/make_reference.py --trace for one layout fixture per family (one sample, small input)."""
    import subprocess
    (OUT / "traces").mkdir(exist_ok=True)
    for name, (family, size) in TRACE_CASES.items():
        subprocess.run([sys.executable, str(Path(__file__).resolve().parent / "make_reference.py"),
                        str(ROOT / "layouts" / name / "model.pth"), "--arch", family, "--size", str(size), "--batch", "1",
                        "--trace", "-o", str(OUT / "traces" / f"{name}.npz")], check=True)


def main():
    for sub in ("networks", "layouts", "traces"):
        (OUT / sub).mkdir(parents=True, exist_ok=True)
        for old in (OUT / sub).glob("*.npz"):
            old.unlink()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads by default")
    for name in nets.CASES:
        network_case(name)
    for name, family in LAYOUT_CASES.items():
        layout_case(name, family)
    photo_reference()
    trace_references()
    total = sum(f.stat().st_size for f in OUT.rglob("*.npz"))
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
