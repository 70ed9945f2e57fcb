#!/usr/bin/env python3
"""Seed corpus for the fuzz targets in fuzz/: minimal valid inputs of each kind, written by torch,
numpy and safetensors themselves (and by the Swift writer for .wcv), into fixtures/fuzz/<Target>/.

    /work/.venv-tools/bin/python tools/make_fuzz_seeds.py [--weightconv .build/debug/weightconv]

Deterministic: fixed seeds, fixed names, no timestamps (zip entries from torch carry none). The
regression seeds (crash reproducers, named crash-* / regression-*) in those folders are kept.
Budget: the whole fixtures/fuzz tree stays under 2 MB.
"""
import argparse
import collections
import io
import json
import os
import pickle
import pickletools
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save as safetensors_save

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "fuzz"
TARGETS = ["FuzzPickle", "FuzzTorchZip", "FuzzLegacy", "FuzzWeightFile", "FuzzSafetensors", "FuzzNpz", "FuzzNpy",
           "FuzzStrictJSON"]


def reset(target):
    folder = OUT / target
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if not path.name.startswith(("crash-", "regression-", "leak-", "timeout-", "oom-")):
            path.unlink()
    return folder


def tiny_state(seed, dtype=torch.float32):
    """A conv + bn + linear state_dict whose every storage fits in 1 KiB (FuzzPickle's storages)."""
    g = torch.Generator().manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, bias=False), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                              torch.nn.Linear(4, 2))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in net.state_dict().items()}, net


def torch_zip(obj, protocol=2):
    buffer = io.BytesIO()
    torch.save(obj, buffer, pickle_protocol=protocol)
    return buffer.getvalue()


def data_pkl(zip_bytes):
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        name = next(n for n in archive.namelist() if n.endswith("/data.pkl"))
        return archive.read(name)


def pickle_seeds():
    folder = reset("FuzzPickle")
    state, net = tiny_state(1)
    # data.pkl of real checkpoints: FuzzPickle puts them in a zip with storages "0".."11" of 1 KiB.
    for protocol in (2, 3, 4, 5):
        (folder / f"state_dict_p{protocol}.pkl").write_bytes(data_pkl(torch_zip(state, protocol)))
    base = torch.arange(64, dtype=torch.float32)
    views = {"view": base[8:24].view(4, 4), "transposed": base[:16].view(4, 4).t(), "shared": base,
             "scalar": torch.tensor(3.5), "empty": torch.zeros(0, 3), "half": torch.ones(5, dtype=torch.float16),
             "bf16": torch.ones(3, dtype=torch.bfloat16), "i64": torch.arange(4), "bool": torch.tensor([True, False]),
             "u8": torch.arange(6, dtype=torch.uint8), "param": torch.nn.Parameter(torch.ones(2))}
    (folder / "views_and_dtypes.pkl").write_bytes(data_pkl(torch_zip(views)))
    wrapped = {"epoch": 7, "arch": "tiny", "best_acc1": 0.5, "state_dict": collections.OrderedDict(state),
               "optimizer": {"lr": 0.1, "momentum": 0.9}, "args": {"seed": 3, "names": ["a", "b"], "flag": None}}
    (folder / "wrapped.pkl").write_bytes(data_pkl(torch_zip(wrapped)))
    (folder / "whole_model.pkl").write_bytes(data_pkl(torch_zip(net)))
    # Bare pickles of plain values, every protocol: the opcodes torch.save never writes.
    plain = {"int": 1, "neg": -5, "big": 2**70, "-big": -(2**80), "float": 1.25, "str": "naïve ✓", "bytes": b"\x00\x01",
             "tuple": (1, (2, 3)), "list": [1, [2, [3]]], "set": {1, 2}, "frozen": frozenset({3}), "none": None,
             "bool": True, "ordered": collections.OrderedDict(a=1), "shared": [[0]] * 3, "bytearray": bytearray(b"ab")}
    for protocol in range(0, 6):
        (folder / f"plain_p{protocol}.pkl").write_bytes(pickle.dumps(plain, protocol=protocol))
    # Refused shapes the machine must name, not run (copies of the classic payloads, harmless here).
    (folder / "reduce_global.pkl").write_bytes(b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00echo\x85R.")
    (folder / "stack_global.pkl").write_bytes(b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x011\x85R.")
    (folder / "memo_and_marks.pkl").write_bytes(b"\x80\x02(K\x01K\x02q\x00h\x00h\x00tq\x01]q\x02(h\x01h\x01e.")


def zip_seeds():
    folder = reset("FuzzTorchZip")
    state, net = tiny_state(2)
    (folder / "state_dict.pt").write_bytes(torch_zip({k: v for k, v in list(state.items())[:3]}))
    (folder / "half.pt").write_bytes(torch_zip({"w": torch.ones(2, 3, dtype=torch.float16), "b": torch.zeros(3)}))
    base = torch.arange(24, dtype=torch.float32)
    (folder / "views.pt").write_bytes(torch_zip({"a": base.view(4, 6)[:, 1:3], "b": base, "c": base.view(6, 4).t()}))
    (folder / "wrapped.pt").write_bytes(torch_zip({"epoch": 1, "model": {"x": torch.ones(2)}}, protocol=4))
    # torch never deflates, but other writers do (and zip tools re-pack): the reader inflates.
    plain = torch_zip({"w": torch.arange(32, dtype=torch.float32).view(4, 8)})
    repacked = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as source, zipfile.ZipFile(repacked, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info.filename))
    (folder / "deflated.pt").write_bytes(repacked.getvalue())


def legacy_seeds():
    folder = reset("FuzzLegacy")
    state, _ = tiny_state(3)

    def legacy(obj):
        buffer = io.BytesIO()
        torch.save(obj, buffer, _use_new_zipfile_serialization=False)
        return stable_legacy_keys(buffer.getvalue())

    # One storage per file: the record order of several storages follows their memory addresses.
    flat = torch.cat([v.flatten() for v in list(state.values())[:3]])
    (folder / "state_dict.pt").write_bytes(legacy({"conv.weight": flat[:108].view(4, 3, 3, 3), "bn.weight": flat[108:112],
                                                   "bn.bias": flat[112:116]}))
    base = torch.arange(24, dtype=torch.float32)
    (folder / "views.pt").write_bytes(legacy({"a": base.view(4, 6)[:, 1:3], "b": base}))
    (folder / "int64.pt").write_bytes(legacy({"steps": torch.arange(3)}))
    (folder / "wrapped.pt").write_bytes(legacy({"epoch": 2, "state_dict": {"w": torch.ones(2, 2, dtype=torch.float64)}}))


def stable_legacy_keys(data):
    """The legacy format names storages by their memory address; rename them to same-length indices
    (in the same sorted order) so the seeds are byte-identical from run to run."""
    stream = io.BytesIO(data)
    for _ in range(3):
        pickle.load(stream)
    for _ in pickletools.genops(stream):  # the object: walked, not loaded
        pass
    keys = pickle.load(stream)
    # Protocol 2 writes each key as BINUNICODE ('X', 4-byte length, UTF-8): rewrite whole opcodes so
    # the lengths stay right whatever the addresses' digit counts were.
    for index, key in enumerate(sorted(keys)):
        def binunicode(text):
            return b"X" + struct.pack("<I", len(text)) + text.encode()
        assert data.count(binunicode(key)) >= 2
        data = data.replace(binunicode(key), binunicode(f"k{index}"))
    return data


def safetensors_seeds():
    folder = reset("FuzzSafetensors")
    rng = np.random.default_rng(4)
    tensors = {"conv.weight": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
               "bn.running_mean": np.zeros(2, np.float32), "fc.bias": np.ones(3, np.float16),
               "steps": np.array([7], np.int64), "mask": np.array([True, False]), "u": np.arange(5, dtype=np.uint8)}
    (folder / "mixed.safetensors").write_bytes(safetensors_save(tensors, metadata={"format": "pt", "note": "seed"}))
    (folder / "single.safetensors").write_bytes(safetensors_save({"w": np.arange(4, dtype=np.float64)}))
    (folder / "empty_tensor.safetensors").write_bytes(safetensors_save({"e": np.zeros((0, 4), np.float32),
                                                                         "s": np.array(2.0, np.float32)}))
    return tensors


def wcv_seeds(weightconv):
    folder = reset("FuzzWeightFile")
    if weightconv is None or not Path(weightconv).exists():
        print("make_fuzz_seeds: no weightconv binary; FuzzWeightFile seeds skipped (pass --weightconv)", file=sys.stderr)
        return
    rng = np.random.default_rng(5)
    sources = {
        "mixed": {"conv.weight": rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "fc.bias": np.ones(3, np.float16),
                  "steps": np.array([7], np.int64), "mask": np.array([True, False])},
        "single": {"w": np.arange(4, dtype=np.float32)},
    }
    with tempfile.TemporaryDirectory() as scratch:
        for name, tensors in sources.items():
            source = Path(scratch) / f"{name}.safetensors"
            source.write_bytes(safetensors_save(tensors))
            out = folder / f"{name}.wcv"
            subprocess.run([weightconv, "import", str(source), "-o", str(out)], check=True, stdout=subprocess.DEVNULL)


def numpy_seeds():
    npy = reset("FuzzNpy")
    arrays = {"f4": np.arange(6, dtype="<f4").reshape(2, 3), "f8": np.array([1.5, -2.0]), "f2": np.ones(3, np.float16),
              "i8": np.arange(3, dtype=np.int64), "i4": np.arange(3, dtype=np.int32), "u1": np.arange(4, dtype=np.uint8),
              "b1": np.array([True, False]), "scalar": np.array(1.0, np.float32), "empty": np.zeros((0, 2), "<f4"),
              "big_endian": np.arange(4, dtype=">f4"), "fortran": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))}
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        (npy / f"{name}.npy").write_bytes(buffer.getvalue())
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.arange(3, dtype="<f4"), version=(2, 0))
    (npy / "version2.npy").write_bytes(buffer.getvalue())

    npz = reset("FuzzNpz")
    rng = np.random.default_rng(6)
    reference = {"input": rng.standard_normal((1, 3, 4, 4)).astype(np.float32),
                 "logits": rng.standard_normal((1, 5)).astype(np.float32)}
    for name, save in (("reference.npz", np.savez), ("compressed.npz", np.savez_compressed)):
        buffer = io.BytesIO()
        save(buffer, **reference)
        (npz / name).write_bytes(normalised_zip(buffer.getvalue()))
    buffer = io.BytesIO()
    np.savez(buffer, a=np.arange(3, dtype=np.int64), b=np.array([True]), c=np.ones(2, ">f8"))
    (npz / "mixed.npz").write_bytes(normalised_zip(buffer.getvalue()))


def normalised_zip(data):
    """numpy stamps entries with the current time; rewrite them with a fixed one so seeds are stable."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = info.compress_type
            target.writestr(entry, source.read(info.filename))
    return out.getvalue()


def json_seeds(tensors):
    folder = reset("FuzzStrictJSON")
    header = safetensors_save(tensors, metadata={"format": "pt"})
    length = struct.unpack("<Q", header[:8])[0]
    (folder / "safetensors_header.json").write_bytes(header[8:8 + length].rstrip(b" "))
    documents = {
        "wcv_document.json": {"architecture": {"family": "resnext", "config": {"depth": 50, "groups": 32}},
                              "preprocessing": {"input_size": [3, 224, 224], "mean": [0.485, 0.456, 0.406],
                                                "std": [0.229, 0.224, 0.225], "interpolation": "bilinear", "crop_ratio": 0.875},
                              "layout": "torchvision", "original_keys": {"a": "module.a"}, "provenance": None,
                              "metadata": {"epoch": 90, "opaque": {"$opaque": "numpy.float64", "summary": "0.5"}},
                              "verification": {"input": "__verify__.input", "logits": "__verify__.logits",
                                               "atol": 1e-4, "rtol": 1e-3, "top_k": 5}},
        "numbers.json": [0, -0, 1.5, -2.5e-3, 1e300, 12345678901234567890, -9223372036854775808, 3.0],
        "strings.json": ["", "\u00e9", "\U0001F600", "tab\tnewline\n", "quote\"backslash\\", "\u0001"],
        "nested.json": [[[[{"a": [{}]}]]]],
    }
    for name, value in documents.items():
        (folder / name).write_text(json.dumps(value, ensure_ascii=(name == "strings.json")) + "\n")
    (folder / "literals.json").write_bytes(b' {"t": true, "f": false, "n": null} ')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weightconv", default=str(ROOT / ".build" / "debug" / "weightconv"),
                        help="the CLI that writes the .wcv seeds")
    args = parser.parse_args()
    torch.manual_seed(0)
    pickle_seeds()
    zip_seeds()
    legacy_seeds()
    tensors = safetensors_seeds()
    wcv_seeds(args.weightconv)
    numpy_seeds()
    json_seeds(tensors)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"make_fuzz_seeds: {sum(1 for p in OUT.rglob('*') if p.is_file())} files, {total} bytes in {OUT}")
    if total > 2 * 1024 * 1024:
        sys.exit("make_fuzz_seeds: over the 2 MB budget")


if __name__ == "__main__":
    main()
