"""Sources and expected values for the .wcv fixtures (run by tools/make_wcv_fixtures.sh).

Writes fixtures/wcv/src/*.safetensors with the reference safetensors writer, and for every
conversion the Swift side makes from them, fixtures/wcv/<name>.expected.json: each tensor's
dtype, shape, SHA-256 of its contiguous little-endian bytes and first values, all computed by
PyTorch itself (t.half(), t.bfloat16() for the --dtype conversions). Deterministic: fixed seed.
"""
import hashlib
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "fixtures/wcv")
SHORT = {torch.float64: "f64", torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
         torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8",
         torch.bool: "bool"}


def raw_bytes(t: torch.Tensor) -> bytes:
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def dtypes_source() -> dict:
    g = torch.Generator().manual_seed(1)
    base = torch.randn(2, 3, generator=g, dtype=torch.float64)
    return {
        "t.f64": base.clone(),
        "t.f32": base.float() * 3,
        "t.f16": (base * 100).half(),
        "t.bf16": (base * 1e30).bfloat16(),
        "t.i64": torch.tensor([[-(2**62), 1, 2], [3, 4, 2**62]], dtype=torch.int64),
        "t.i32": torch.tensor([[-(2**31), 0, 7], [8, 9, 2**31 - 1]], dtype=torch.int32),
        "t.i16": torch.tensor([[-32768, 1, 2], [3, 4, 32767]], dtype=torch.int16),
        "t.i8": torch.tensor([[-128, 1, 2], [3, 4, 127]], dtype=torch.int8),
        "t.u8": torch.tensor([[0, 1, 2], [3, 4, 255]], dtype=torch.uint8),
        "t.bool": torch.tensor([[True, False, True], [False, False, True]]),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "conv.weight": torch.randn(16, 3, 3, 3, generator=g),
    }


def small_cnn_source() -> dict:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU(),
        torch.nn.Conv2d(16, 32, 3, groups=4, bias=False), torch.nn.BatchNorm2d(32), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
                module.num_batches_tracked.fill_(1234)
        # Values at f16/bf16 rounding ties and beyond f16 range, so the conversion rule is exercised.
        model[8].bias[:4] = torch.tensor([1 + 2**-11, 1 + 3 * 2**-11, 65520.0, 1 + 2**-8])
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def expected(tensors: dict, dtype: str | None) -> dict:
    entries = []
    for name, t in tensors.items():
        if dtype is not None and t.dtype.is_floating_point:
            t = {"f16": t.half(), "bf16": t.bfloat16(), "f32": t.float()}[dtype]
        values = t.flatten()[:4]
        first = values.float().tolist() if t.dtype.is_floating_point else values.long().tolist() if t.dtype != torch.bool else values.tolist()
        entries.append({"name": name, "dtype": SHORT[t.dtype], "shape": list(t.shape),
                        "sha256": hashlib.sha256(raw_bytes(t)).hexdigest(),
                        "first": [v if v == v and abs(v) != float("inf") else str(v) for v in first]})
    return {"tensors": sorted(entries, key=lambda e: e["name"])}


def main() -> None:
    (OUT / "src").mkdir(parents=True, exist_ok=True)
    sources = {"dtypes": dtypes_source(), "small_cnn": small_cnn_source()}
    for name, tensors in sources.items():
        save_file(tensors, str(OUT / "src" / f"{name}.safetensors"), metadata={"format": "pt", "fixture": name})
    conversions = {"dtypes": ("dtypes", None), "small_cnn": ("small_cnn", None),
                   "small_cnn.f16": ("small_cnn", "f16"), "small_cnn.bf16": ("small_cnn", "bf16")}
    for out_name, (source, dtype) in conversions.items():
        doc = {"source": f"src/{source}.safetensors", "dtype": dtype, **expected(sources[source], dtype)}
        (OUT / f"{out_name}.expected.json").write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
