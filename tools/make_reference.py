#!/usr/bin/env python3
"""Writes the reference file `weightconv import --reference REF.npz` consumes, for any checkpoint.

    /work/.venv-tools/bin/python tools/make_reference.py MODEL.pth --arch resnext -o REF.npz
        [--layout NAME] [--size N] [--batch N] [--seed N] [--canonical] [--image PHOTO.jpg ...] [--trace]

Loads MODEL.pth (zip or legacy, with torch.load(weights_only=True): nothing in the file is executed) or
a .safetensors file, unwraps {'state_dict' | 'model' | 'ema' | …} and `module.` prefixes, recognises the
layout among the architecture's (reference_nets/key_mapping.py), then runs the ORIGINAL PyTorch
implementation of that layout (torchvision, timm, pretrainedmodels, or the restated seed / Megvii /
mmpretrain code), built with the classes and width the weights show and loaded strictly. When no original
constructor fits the weights (an unusual width or depth), or with --canonical, it runs weightconv's
canonical reference net instead, which tools/check_reference_nets.py proves equal to every implementation.

REF.npz holds `input` (N x 3 x H x W float32) and `logits` (N x classes float32), computed in float32
(F16/BF16 weights widened). The input is --batch seeded noise samples (N(0, 1) for normalised inputs,
integers 0-255 for Megvii's BGR input) followed by one sample per --image, prepared with the layout's own
preprocessing (Pillow): converted to RGB, the shorter side resized to size / crop_ratio (bilinear;
crop_ratio 0.875 unless the layout says otherwise), centre-cropped to size x size, put in the layout's
channel order, divided by its pixel scale, then (x - mean) / std per channel.

With --trace (implies --canonical, whose module names are the converted file's tensor names), REF.npz also
holds what `weightconv verify --trace` compares layer by layer: `trace.<module>` the output of every
convolution and linear module, and `trace.<conv>@bn` the output of the batch norm that follows a
convolution (forward hooks, in execution order; the batch norm is filed under the convolution that fed it,
which is how weightconv's graph names the fused step).
"""
from __future__ import annotations

import argparse
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

from reference_nets import key_mapping, zoo  # noqa: E402
from reference_nets.common import flatten_tensors  # noqa: E402

WRAPPERS = ("state_dict", "model", "model_state_dict", "module", "ema", "model_ema", "state_dict_ema", "net",
            "network", "params", "weights", "student")


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    obj = torch.load(path, map_location="cpu", weights_only=True)
    return dict(flatten_tensors(obj))


def candidate_models(tensors: dict[str, torch.Tensor]):
    """(prefix, state_dict) for every prefix made only of wrapper segments, longest first."""
    prefixes = {""}
    for key in tensors:
        prefix = ""
        for segment in key.split(".")[:-1]:
            if segment not in WRAPPERS:
                break
            prefix += segment + "."
            prefixes.add(prefix)
    for prefix in sorted(prefixes, key=len, reverse=True):
        yield prefix, {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def unbend(sd: dict[str, torch.Tensor], like: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Cadene's old 2-D pointwise / 3-D depthwise kernels reshaped to the module's 4-D parameters."""
    out = {}
    for k, v in sd.items():
        target = like.get(k)
        if target is not None and v.shape != target.shape and v.numel() == target.numel() and v.dim() in (2, 3):
            v = v.reshape(target.shape)
        out[k] = v
    return out


def original_candidates(layout: str, family: str, classes: int):
    """Constructors of the original implementation for a layout, most common first."""
    import timm
    import torchvision
    from reference_nets import (megvii_shufflenet_v1, mmpretrain_shufflenet_v1, seed000_shufflenet,
                                seed001_shufflenet, seed002_mobilenetv2, seed003_resnext, seed004_xception)
    c = classes
    if family == "mobilenet_v2":
        if layout == "torchvision":
            for w in (1.0, 0.35, 0.5, 0.75, 1.3, 1.4):
                yield f"torchvision mobilenet_v2(width_mult={w})", \
                    lambda w=w: torchvision.models.mobilenet_v2(width_mult=w, num_classes=c)
        elif layout == "timm":
            for name in timm.list_models("mobilenetv2_*"):
                yield f"timm {name}", lambda name=name: timm.create_model(name, pretrained=False, num_classes=c)
        elif layout == "seed002":
            yield "seed 002 MobileNetV2", lambda: seed002_mobilenetv2.MobileNetV2(n_classes=c)
    elif family == "resnext":
        if layout == "torchvision":
            for name in ("resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d"):
                yield f"torchvision {name}", lambda name=name: getattr(torchvision.models, name)(num_classes=c)
        elif layout == "seed003":
            for depths in ([3, 4, 6, 3], [3, 4, 23, 3], [3, 8, 36, 3]):
                yield f"seed 003 ResNeXt{depths}", lambda d=depths: seed003_resnext.ResNeXt(
                    seed003_resnext.ResNeXtBottleNeck, d, num_classes=c)
        elif layout == "cadene":
            yield "pretrainedmodels resnext101_32x4d", lambda: zoo._full_cadene_resnext(c)
    elif family == "xception":
        if layout == "seed004":
            yield "seed 004 Xception", lambda: seed004_xception.Xception(num_classes=c)
        elif layout == "cadene":
            yield "pretrainedmodels xception", lambda: zoo._full_cadene_xception(c)
    elif family == "shufflenet_v1":
        if layout == "seed001":
            for g in (3, 1, 2, 4, 8):
                yield f"seed 001 ShuffleNet(groups={g})", lambda g=g: seed001_shufflenet.ShuffleNet(groups=g, num_classes=c)
        elif layout == "seed000":
            for g in (3, 1, 2, 4, 8):
                yield f"seed 000 ShuffleNetV1(groups={g})", \
                    lambda g=g: seed000_shufflenet.ShuffleNetV1(3, groups=g, num_classes=c)
        elif layout == "megvii":
            for g in (3, 8):
                for size in ("1.0x", "0.5x", "1.5x", "2.0x"):
                    yield f"Megvii ShuffleNetV1(group={g}, {size})", lambda g=g, s=size: \
                        megvii_shufflenet_v1.ShuffleNetV1(n_class=c, model_size=s, group=g)
        elif layout == "mmpretrain":
            for g in (3, 1, 2, 4, 8):
                for w in (1.0, 0.5, 1.5, 2.0):
                    yield f"mmpretrain ShuffleNetV1(groups={g}, widen_factor={w})", lambda g=g, w=w: \
                        mmpretrain_shufflenet_v1.ImageClassifier(groups=g, widen_factor=w, num_classes=c)


def recognise(tensors, family: str, layout: str | None):
    for prefix, sd in candidate_models(tensors):
        # Specific renamings first; the canonical (identity) layout last, since it "maps" anything.
        layouts = sorted(key_mapping.MAPPINGS.items(), key=lambda item: item[1] is key_mapping.identity)
        for (fam, name), mapping in layouts:
            if fam != family or (layout and name != layout):
                continue
            fingerprint = re.compile(key_mapping.FINGERPRINTS[(fam, name)])
            if not any(fingerprint.search(k) for k in sd):
                continue
            try:
                renamed = {mapping(k): v for k, v in sd.items()}
            except key_mapping.Unmapped:
                continue
            if not _looks_canonical(family, renamed):
                continue
            return prefix, name, sd, renamed
    raise SystemExit(f"no {family} layout{' ' + layout if layout else ''} matches the tensor names "
                     f"(first: {list(tensors)[:3]})")


def _looks_canonical(family: str, renamed: dict) -> bool:
    anchor = {"mobilenet_v2": "features.0.0.weight", "resnext": "layer1.0.conv1.weight",
              "xception": "block1.rep.0.conv1.weight", "shufflenet_v1": "stages.0.0.compress.weight"}[family]
    return anchor in renamed


CLASSIFIER = {"mobilenet_v2": "classifier.1.weight", "resnext": "fc.weight", "xception": "fc.weight",
              "shufflenet_v1": "fc.weight"}


def build_model(path: Path, arch: str, layout: str | None = None, canonical: bool = False, dtype: str = "f32"):
    """The float32 eval-mode PyTorch model a checkpoint's weights describe: (model, what ran, layout, prefix, impl)."""
    tensors = load_tensors(path)
    if dtype != "f32":
        # Round to nearest even, as weightconv's writer does, then compute in float32 as its reader does:
        # the reference is then what the converted file computes, not what the float32 source did.
        target = {"f16": torch.float16, "bf16": torch.bfloat16}[dtype]
        tensors = {k: v.to(target).float() if v.is_floating_point() else v for k, v in tensors.items()}
    prefix, layout, sd, renamed = recognise(tensors, arch, layout)
    impl = next(i for i in zoo.IMPLEMENTATIONS if i.family == arch and i.layout == layout)
    if CLASSIFIER[arch] not in renamed:
        raise SystemExit(f"{path}: no classifier ({CLASSIFIER[arch]} after renaming): a truncated "
                         "checkpoint has no logits to compare")
    classes = renamed[CLASSIFIER[arch]].shape[0]
    model, ran = None, None
    if not canonical:
        for description, build in original_candidates(layout, arch, classes):
            candidate = build()
            source = {k: v for k, v in sd.items()}
            try:
                candidate.load_state_dict(unbend(source, candidate.state_dict()), strict=True)
            except (RuntimeError, KeyError):
                continue
            model, ran = candidate, description
            break
    if model is None:
        shapes = {k: tuple(v.shape) for k, v in renamed.items()}
        model = zoo.canonical_net(arch, shapes, impl.behaviour)
        canonical_shapes = model.state_dict()
        model.load_state_dict(unbend({k: v.float() for k, v in renamed.items()}, canonical_shapes), strict=True)
        ran = f"weightconv canonical {arch} net (tools/reference_nets), behaviour of {layout}"
    return model.float().eval(), ran, layout, prefix, impl


def prepare_image(path: Path, preprocessing: dict, size: int) -> np.ndarray:
    """One photo as the layout's network expects it: [3, size, size] float32 (see the module docstring)."""
    from PIL import Image
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    crop_ratio = preprocessing.get("crop_ratio") or 0.875
    short = max(size, round(size / crop_ratio))
    width, height = image.size
    scale = short / min(width, height)
    resized = image.resize((max(short, round(width * scale)), max(short, round(height * scale))), Image.BILINEAR)
    left, top = (resized.width - size) // 2, (resized.height - size) // 2
    pixels = np.asarray(resized.crop((left, top, left + size, top + size)), dtype=np.float32)  # [H, W, RGB]
    if preprocessing.get("channel_order", "RGB") == "BGR":
        pixels = pixels[:, :, ::-1]
    pixels = pixels / np.float32(preprocessing.get("pixel_scale", 255.0))
    mean = np.asarray(preprocessing.get("mean", [0, 0, 0]), dtype=np.float32)
    std = np.asarray(preprocessing.get("std", [1, 1, 1]), dtype=np.float32)
    return np.ascontiguousarray(((pixels - mean) / std).transpose(2, 0, 1), dtype=np.float32)


def traced(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, np.ndarray]]:
    """The logits and every convolution's, linear layer's and batch norm's output (see the docstring)."""
    outputs: dict[str, np.ndarray] = {}
    last_conv = [None]

    def hook(name):
        def record(module, inputs, output):
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                if last_conv[0] is not None:
                    outputs[f"trace.{last_conv[0]}@bn"] = output.detach().numpy().astype(np.float32)
                return
            if isinstance(module, torch.nn.Conv2d):
                last_conv[0] = name
            outputs[f"trace.{name}"] = output.detach().numpy().astype(np.float32)
        return record

    handles = [module.register_forward_hook(hook(name)) for name, module in model.named_modules()
               if isinstance(module, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.modules.batchnorm._BatchNorm))]
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return logits, outputs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--arch", required=True, choices=["xception", "mobilenet_v2", "shufflenet_v1", "resnext"])
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--layout")
    parser.add_argument("--size", type=int, help="input height = width (default: the layout's training size)")
    parser.add_argument("--batch", type=int, default=2, help="seeded noise samples (0 with --image: photos only)")
    parser.add_argument("--image", type=Path, action="append", default=[],
                        help="a photo to add as one more sample, prepared with the layout's preprocessing (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--canonical", action="store_true", help="run the canonical reference net")
    parser.add_argument("--trace", action="store_true",
                        help="also store every layer's output for `weightconv verify --trace` (runs the canonical net)")
    parser.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32",
                        help="round the weights as `weightconv import --dtype` will store them before running")
    args = parser.parse_args()

    model, ran, layout, prefix, impl = build_model(args.model, args.arch, args.layout, args.canonical or args.trace,
                                                   args.dtype)
    size = args.size or impl.preprocessing["input_size"][0]
    samples = [zoo.make_input(impl.input_kind, size, args.batch, args.seed)] if args.batch > 0 else []
    samples += [torch.from_numpy(prepare_image(path, impl.preprocessing, size))[None] for path in args.image]
    if not samples:
        raise SystemExit("no input: give --batch N > 0 or at least one --image")
    x = torch.cat(samples)
    if args.trace:
        logits, trace = traced(model, x)
    else:
        with torch.no_grad():
            logits = model(x)
        trace = {}
    np.savez(args.output, input=x.numpy().astype(np.float32), logits=logits.float().numpy(), **trace)
    print(f"{args.model}: layout {layout} (prefix '{prefix}'), ran {ran}; input {list(x.shape)} "
          f"({args.batch} x {impl.input_kind} noise, {len(args.image)} image(s)), logits {list(logits.shape)} -> {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
