#!/usr/bin/env python3
"""Writes fixtures/layouts/<case>/{model.pth | model.safetensors, reference.npz, expected.json}: one
checkpoint per layout profile and per quirk that real files have, each made by the real implementation
(torchvision, timm and pretrainedmodels from PyPI; the seeds', Megvii's and mmpretrain's code restated
in tools/reference_nets/), with seeded random weights and non-trivial BN statistics.

reference.npz: `input` (N x 3 x H x W float32, the network's input after preprocessing) and `logits`
(N x classes float32) from the ORIGINAL implementation's forward in eval mode. For F16/BF16 cases the
logits are those of the original forward with the weights rounded to that dtype (what the stored
weights compute in float32), and `logits_before_rounding` holds the float32 model's.

expected.json: what the import must find — family, layout, implementation, the configuration it must
infer, behaviour, preprocessing, every tensor key in the file with dtype and shape (nested dicts
flattened with '.'), the wrapper prefix, the mapping of every model key onto its canonical name and the
canonical key set with canonical shapes (from the canonical reference net built for this case), and the
expected outcome (import, refuse a foreign network by name, or report missing tensors).

Every importable case is self-checked before it is written: the canonical net, loaded strictly with the
mapped (and repaired) weights, must reproduce the reference logits within 1e-5.

Usage: /work/.venv-tools/bin/python tools/make_layout_fixtures.py [CASE ...]   (~40 s)
Deterministic (fixed seeds): a rerun writes identical bytes, except in legacy-format files, whose storage
keys are the storages' memory addresses (torch.serialization._legacy_save writes str(storage._cdata), as
every real legacy file has); their tensors and logits are identical.
Budget: fixtures/layouts stays under 27 MB (the script prints the total).
"""
from __future__ import annotations

import copy
import io
import json
import shutil
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

from reference_nets import key_mapping, zoo  # noqa: E402
from reference_nets.common import DTYPE_NAMES, flatten_tensors, randomize_  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "layouts"
CLASSES = 10


def nbt(key: str) -> bool:
    return key.endswith("num_batches_tracked")


@dataclass
class Case:
    name: str
    impl: str
    notes: list[str] = field(default_factory=list)
    fmt: str = "zip"                          # zip | legacy | safetensors
    wrap: Callable[[dict, nn.Module], object] | None = None
    prefix: str = ""                          # the flattened prefix the wrap puts before model keys
    dtype: torch.dtype | None = None
    transform: Callable[[dict], dict] | None = None   # applied to the (unwrapped) state_dict
    repairs: str | None = None                # which tensors the transform bent out of canonical shape
    outcome: dict = field(default_factory=lambda: {"outcome": "import"})
    seed: int = 1


def drop_nbt(sd: dict) -> dict:
    return {k: v for k, v in sd.items() if not nbt(k)}


def pointwise_2d(sd: dict) -> dict:
    """Cadene's older Xception files: pointwise kernels [out, in] (the Keras port stored them so)."""
    return {k: (v[:, :, 0, 0].clone() if k.endswith("pointwise.weight") else v) for k, v in drop_nbt(sd).items()}


def depthwise_3d(sd: dict) -> dict:
    """Even older ones: depthwise kernels [C, k, k] as well."""
    out = pointwise_2d(sd)
    return {k: (v[:, 0].clone() if k.endswith(".conv1.weight") and v.dim() == 4 and v.shape[1] == 1 else v)
            for k, v in out.items()}


def module_prefix(sd: dict) -> dict:
    return {"module." + k: v for k, v in sd.items()}


def sgd_state(model: nn.Module) -> dict:
    """A real optimizer state: SGD with momentum after one step, on a copy so the weights stay put."""
    twin = copy.deepcopy(model).train()
    opt = torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    twin(zoo.make_input("normalized", 64, 2, 7)).square().mean().backward()
    opt.step()
    return opt.state_dict()


def compiled_keys(model: nn.Module, wrap_in_dataparallel: bool) -> list[str]:
    """The keys torch.compile (and DataParallel around it) really give, to check the prefix the case writes."""
    compiled = torch.compile(model)
    return list((nn.DataParallel(compiled) if wrap_in_dataparallel else compiled).state_dict().keys())


def compiled(prefix: str, wrap_in_dataparallel: bool):
    def wrap(sd: dict, model: nn.Module) -> dict:
        assert compiled_keys(model, wrap_in_dataparallel) == [prefix + k for k in model.state_dict()], prefix
        return {prefix + k: v for k, v in sd.items()}
    return wrap


def timm_training_checkpoint(sd: dict, model: nn.Module) -> dict:
    """timm's train.py (CheckpointSaver._save) with --model-ema: the model's own weights under
    'state_dict' and the EMA copy under 'state_dict_ema'. Here the EMA copy is the model the reference
    logits come from (timm's load_checkpoint takes it, use_ema=True); 'state_dict' holds the same
    weights moved by a training step's worth of noise, so taking the wrong one fails verification."""
    import argparse
    generator = torch.Generator().manual_seed(5)
    trained = {k: (v + 0.05 * torch.randn(v.shape, generator=generator) * v.abs().mean()
                   if v.is_floating_point() else v.clone()) for k, v in sd.items()}
    return {"epoch": 41, "arch": "mobilenetv2_seed002", "state_dict": trained, "optimizer": sgd_state(model),
            "version": 2, "args": argparse.Namespace(model="mobilenetv2_seed002", lr=0.1, model_ema=True),
            "state_dict_ema": sd, "metric": 71.3}


CASES: list[Case] = [
    # ShuffleNet v1 ------------------------------------------------------------------------------
    Case("shufflenet_seed000", "seed000",
         ["ends in nn.Softmax: reference 'logits' are probabilities; fc weights scaled by 0.1 so it does "
          "not saturate"]),
    Case("shufflenet_seed001", "seed001"),
    Case("shufflenet_seed001_legacy", "seed001", ["legacy (pre-1.6) serialization"], fmt="legacy"),
    Case("shufflenet_megvii", "megvii",
         ["saved as Megvii's train.py does: {'state_dict': DataParallel(model).state_dict()}",
          "input is BGR 0-255 without normalisation; AvgPool2d(7) is a global pool only when the last map is 7x7"],
         wrap=lambda sd, m: {"state_dict": module_prefix(sd)}, prefix="state_dict.module."),
    Case("shufflenet_mmpretrain", "mmpretrain", ["saved as mmengine does: {'meta': ..., 'state_dict': ...}"],
         wrap=lambda sd, m: {"meta": {"mmpretrain_version": "1.2.0", "epoch": 300, "iter": 375300},
                             "state_dict": sd}, prefix="state_dict."),
    # MobileNetV2 ---------------------------------------------------------------------------------
    Case("mobilenetv2_torchvision", "torchvision_mobilenet_v2"),
    Case("mobilenetv2_timm", "timm_mobilenetv2_035"),
    Case("mobilenetv2_seed002", "seed002"),
    Case("mobilenetv2_seed002_f16", "seed002", ["model.half().state_dict()"], dtype=torch.float16),
    Case("mobilenetv2_seed002_checkpoint", "seed002",
         ["a training checkpoint as pytorch/examples imagenet saves it: epoch, arch, DataParallel "
          "state_dict, best_acc1, optimizer state (SGD momentum buffers are tensors too)"],
         wrap=lambda sd, m: {"epoch": 3, "arch": "mobilenet_v2", "state_dict": module_prefix(sd),
                             "best_acc1": torch.tensor(12.5), "optimizer": sgd_state(m)},
         prefix="state_dict.module."),
    Case("mobilenetv2_seed002_ema", "seed002", ["an EMA copy saved as {'ema': ..., 'updates': ...}"],
         wrap=lambda sd, m: {"ema": sd, "updates": 12000}, prefix="ema."),
    Case("mobilenetv2_seed002_dataparallel", "seed002",
         ["nn.DataParallel(model).state_dict(): every key starts with 'module.'"],
         wrap=lambda sd, m: module_prefix(sd), prefix="module."),
    Case("mobilenetv2_seed002_model_key", "seed002", ["saved as {'model': state_dict, 'epoch': 3}"],
         wrap=lambda sd, m: {"model": sd, "epoch": 3}, prefix="model."),
    Case("mobilenetv2_seed002_compiled", "seed002",
         ["torch.compile(model).state_dict(): every key starts with '_orig_mod.'"],
         wrap=compiled("_orig_mod.", False), prefix="_orig_mod."),
    Case("mobilenetv2_seed002_dataparallel_compiled", "seed002",
         ["nn.DataParallel(torch.compile(model)).state_dict(), inside {'model': ...}: 'model.module._orig_mod.'"],
         wrap=lambda sd, m: {"model": compiled("module._orig_mod.", True)(sd, m)}, prefix="model.module._orig_mod."),
    Case("mobilenetv2_seed002_timm_ema", "seed002",
         ["timm train.py checkpoint with --model-ema: state_dict (weights moved by noise) and state_dict_ema (the "
          "reference's weights), optimizer, argparse args; import takes state_dict_ema as timm's load_checkpoint does"],
         wrap=timm_training_checkpoint, prefix="state_dict_ema."),
    Case("mobilenetv2_seed002_no_num_batches_tracked", "seed002",
         ["num_batches_tracked removed, as in files saved before PyTorch 0.4.1"], transform=drop_nbt),
    # ResNeXt -------------------------------------------------------------------------------------
    Case("resnext_torchvision", "torchvision_resnext"),
    Case("resnext_torchvision_truncated_classifier", "torchvision_resnext",
         ["the classifier was cut off (a backbone-only save): fc.weight and fc.bias are missing"],
         transform=lambda sd: {k: v for k, v in sd.items() if not k.startswith("fc.")},
         outcome={"outcome": "missing", "missing": ["fc.bias", "fc.weight"]}),
    Case("resnext_timm", "timm_resnext"),
    Case("resnext_timm_bf16", "timm_resnext", ["model.bfloat16().state_dict()"], dtype=torch.bfloat16),
    Case("resnext_seed003", "seed003"),
    Case("resnext_cadene", "cadene_resnext101_32x4d",
         ["pretrainedmodels' Torch7-converted graph: features.N nested Sequentials, last_linear",
          "AvgPool2d((7, 7), (1, 1)) is a global pool only when the last map is 7x7"]),
    # Xception ------------------------------------------------------------------------------------
    Case("xception_seed004", "seed004"),
    Case("xception_cadene", "cadene_xception",
         ["a fine-tuned save of pretrainedmodels' model: fc was renamed last_linear after loading"]),
    Case("xception_cadene_legacy_2d_pointwise_3d_depthwise", "cadene_xception",
         ["old Cadene files: pointwise kernels stored 2-D [out, in] and (the oldest) depthwise kernels 3-D "
          "[C, k, k]; legacy serialization; no num_batches_tracked (saved before PyTorch 0.4.1)"],
         fmt="legacy", transform=depthwise_3d, repairs="pointwise_2d+depthwise_3d"),
    Case("xception_timm_legacy_safetensors", "timm_legacy_xception",
         ["timm legacy_xception saved with safetensors.torch.save_file (as the hub ships timm weights)"],
         fmt="safetensors"),
]

FOREIGN = [
    ("foreign_timm_xception41", "xception41", "timm aligned Xception"),
    ("foreign_timm_resnext50d_32x4d", "resnext50d_32x4d", "ResNeXt-D"),
    ("foreign_timm_seresnext50_32x4d", "seresnext50_32x4d", "SE-ResNeXt"),
    ("foreign_timm_legacy_seresnext50_32x4d", "legacy_seresnext50_32x4d", "SE-ResNeXt"),
    ("foreign_timm_mobilenetv2_110d", "mobilenetv2_110d", "depth multiplier"),
]


def save(obj, path: Path, fmt: str) -> None:
    if fmt == "safetensors":
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in obj.items()}, str(path), metadata={"format": "pt"})
    else:
        torch.save(obj, path, _use_new_zipfile_serialization=(fmt == "zip"))


def key_list(obj) -> list[dict]:
    return [{"name": k, "dtype": DTYPE_NAMES[v.dtype], "shape": list(v.shape)} for k, v in flatten_tensors(obj)]


def write_json(path: Path, value) -> None:
    # One top-level field per line, each compact: readable in a diff, small on disk.
    lines = [f"{json.dumps(k)}: {json.dumps(v, separators=(',', ':'))}" for k, v in value.items()]
    path.write_text("{\n" + ",\n".join(lines) + "\n}\n")


# The reference nets' behaviour names (tools/reference_nets, the implementations' own terms) in the one
# vocabulary weightconv's layout files and configurations use (docs/layout-format.md). stem_bias is not
# there: the import reads it from the keys (`conv1.bias` exists or not).
CONFIGURATION_BEHAVIOUR = {
    ("bn_eps", None): lambda v: ("eps", v),
    ("stride_on", None): lambda v: ("stridePlacement", v),
    ("stem_relu", None): lambda v: ("stemActivation", "relu" if v else "identity"),
    ("shuffle_placement", None): lambda v: ("shufflePlacement", {"after_compress": "afterCompress",
                                                                 "after_depthwise": "afterDepthwise"}[v]),
    ("shuffle_order", None): lambda v: ("shufflePermutation", {"paper": "groupsFirst", "megvii": "groupsLast"}[v]),
    ("shuffle_first_unit", None): lambda v: ("shuffleAfterUngroupedCompress", v),
    ("concat_relu", None): lambda v: ("concatActivation", {"both": "all", "main": "mainBranch"}[v]),
    ("output", None): lambda v: ("outputSoftmax", v == "softmax"),
}


def configuration_behaviour(behaviour: dict) -> dict:
    return dict(CONFIGURATION_BEHAVIOUR[(k, None)](v) for k, v in behaviour.items() if k != "stem_bias")


def make_case(case: Case) -> dict:
    impl = zoo.BY_NAME[case.impl]
    torch.manual_seed(case.seed)
    model = impl.build(CLASSES)
    calibration = zoo.make_input(impl.input_kind, impl.input_size, 4, 99)
    randomize_(model, case.seed, calibration)
    behaviour = impl.behaviour
    if behaviour.get("output") == "softmax":
        with torch.no_grad():
            model.fc.weight.mul_(0.1)
    x = zoo.make_input(impl.input_kind, impl.input_size, impl.batch)
    with torch.no_grad():
        logits_f32 = model(x)
    extra = {}
    if case.dtype is not None:
        model = model.to(case.dtype)
        with torch.no_grad():
            logits = copy.deepcopy(model).float()(x)
        extra["logits_before_rounding"] = logits_f32.numpy()
    else:
        logits = logits_f32
    sd = model.state_dict()
    mapping_fn = key_mapping.MAPPINGS[(impl.family, impl.layout)]
    # Canonical weights: mapped from the unbent state_dict, widened to float32 for the self-check.
    canonical_sd = {mapping_fn(k): v.float() if v.is_floating_point() else v for k, v in sd.items()}
    stored = case.transform(dict(sd)) if case.transform else dict(sd)
    obj = case.wrap(stored, model) if case.wrap else stored

    shapes = {k: tuple(v.shape) for k, v in canonical_sd.items()}
    net = zoo.canonical_net(impl.family, shapes, behaviour).eval()
    net.load_state_dict(canonical_sd)
    with torch.no_grad():
        got = net(x)
    err = ((got - logits).abs().max() / max(1.0, logits.abs().max().item())).item()
    assert err <= 1e-5, f"{case.name}: canonical net differs from the original by {err:.2e}"

    canonical_keys = [{"name": k, "shape": list(v.shape)} for k, v in net.state_dict().items() if not nbt(k)]
    mapping = {k: mapping_fn(k) for k in stored if not nbt(k)}
    if case.outcome["outcome"] == "import":
        assert sorted(mapping.values()) == sorted(c["name"] for c in canonical_keys), case.name

    out = ROOT / case.name
    out.mkdir(parents=True, exist_ok=True)
    file_name = "model.safetensors" if case.fmt == "safetensors" else "model.pth"
    save(obj, out / file_name, case.fmt)
    np.savez(out / "reference.npz", input=x.numpy().astype(np.float32), logits=logits.float().numpy(), **extra)
    file_keys = key_list(obj)
    model_keys = {case.prefix + k for k in stored}
    expected = {
        "case": case.name,
        "family": impl.family,
        "layout": impl.layout,
        "implementation": impl.source,
        "width": impl.width_note,
        "file": file_name,
        "format": case.fmt,
        "dtype": DTYPE_NAMES[case.dtype] if case.dtype else "f32",
        "wrapper_prefix": case.prefix,
        "expect": case.outcome,
        "configuration": zoo.configuration(impl.family, net, shapes),
        "behaviour": behaviour,
        "configuration_behaviour": configuration_behaviour(behaviour),
        "preprocessing": impl.preprocessing,
        "input_shape": list(x.shape),
        "repairs": case.repairs,
        "keys": file_keys,
        "outside_keys": [k["name"] for k in file_keys if k["name"] not in model_keys],
        "mapping": mapping,
        "canonical_keys": canonical_keys,
        "tolerance_note": "logits self-checked against the canonical reference net at 1e-5 relative to "
                          "max(1, max|logit|)",
        "notes": case.notes,
    }
    write_json(out / "expected.json", expected)
    return expected


def make_foreign(name: str, model_name: str, refused_as: str) -> None:
    import timm
    model = timm.create_model(model_name, pretrained=False, num_classes=10)
    # Names are what recognition reads; the tensors are zero-size stand-ins to keep the fixture tiny.
    sd = {k: torch.empty(0, dtype=v.dtype) for k, v in model.state_dict().items()}
    out = ROOT / name
    out.mkdir(parents=True, exist_ok=True)
    save(sd, out / "model.pth", "zip")
    write_json(out / "expected.json", {
        "case": name,
        "family": None,
        "implementation": f"timm.create_model('{model_name}')",
        "file": "model.pth", "format": "zip", "wrapper_prefix": "",
        "expect": {"outcome": "refuse", "foreign": refused_as},
        "keys": key_list(sd),
        "real_shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
        "notes": ["a network weightconv does not model: recognised and refused by name; tensors are "
                  "zero-size stand-ins with the real names (real shapes under real_shapes)"],
    })


def main(selected: list[str]) -> int:
    ROOT.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        if selected and case.name not in selected:
            continue
        shutil.rmtree(ROOT / case.name, ignore_errors=True)
        expected = make_case(case)
        size = sum(f.stat().st_size for f in (ROOT / case.name).iterdir())
        print(f"{case.name:45} {expected['layout']:12} {len(expected['keys']):4} tensors {size / 1024:8.1f} KiB")
    for name, model_name, refused_as in FOREIGN:
        if selected and name not in selected:
            continue
        shutil.rmtree(ROOT / name, ignore_errors=True)
        make_foreign(name, model_name, refused_as)
        print(f"{name:45} foreign")
    if not selected:
        write_readme()
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    print(f"total {total / 1e6:.2f} MB ({total / 2**20:.2f} MiB) in {ROOT}")
    return 0


def write_readme() -> None:
    lines = ["# fixtures/layouts", "",
             "Generated by `tools/make_layout_fixtures.py` (do not edit by hand). One directory per case: the",
             "checkpoint as a user has it, `reference.npz` (input, logits from the original implementation) and",
             "`expected.json` (what the import must find). Widths are narrowed as `width` in expected.json says.", "",
             "| case | family | layout | file | notes |", "|---|---|---|---|---|"]
    for case in CASES:
        impl = zoo.BY_NAME[case.impl]
        file = "model.safetensors" if case.fmt == "safetensors" else f"model.pth ({case.fmt})"
        notes = "; ".join(case.notes) or impl.source
        lines.append(f"| {case.name} | {impl.family} | {impl.layout} | {file} | {notes} |")
    for name, model_name, refused_as in FOREIGN:
        lines.append(f"| {name} | — | refused: {refused_as} | model.pth (zip) | timm `{model_name}` key list, "
                     "zero-size tensors |")
    (ROOT / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
