#!/usr/bin/env python3
"""Writes fixtures/inferred/<case>/{model.pth, reference.npz, expected.json}: checkpoints of public
implementations that weightconv has NO layout file for (their model code restated in tools/reference_nets/),
which `import --arch auto --reference` must map by inference alone, plus refusals: a network outside the
four families, and a checkpoint with one tensor dropped or reshaped is made by the Swift test itself.

expected.json: family, the mapping of every file key onto its canonical name (checked here: the canonical
reference net loaded strictly with the mapped weights reproduces the original logits within 1e-5), the
behaviour in weightconv's vocabulary, and for refusals the first tensor that does not fit.

Usage: /work/venv/bin/python tools/make_inferred_fixtures.py [CASE ...]   (~15 s; deterministic, fixed seeds)
Budget: fixtures/inferred stays under 8 MB.
"""
from __future__ import annotations

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

from reference_nets import (dli14_mobilenetv2, dxy_resnext, prlz77_resnext, tonylins_mobilenetv2,  # noqa: E402
                            weiaicunzai_shufflenet, weiaicunzai_xception, zoo)
from reference_nets.common import DTYPE_NAMES, flatten_tensors, randomize_, scaled_torch_nn  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "inferred"
CLASSES = 10


def nbt(key: str) -> bool:
    return key.endswith("num_batches_tracked")


def tonylins_mapping(key: str) -> str:
    # features.N.conv.{0,1,3,4,6,7} -> torchvision's conv.{0.0, 0.1, 1.0, 1.1, 2, 3}; stem, last conv, classifier.1 as is.
    parts = key.split(".")
    if parts[0] == "features" and len(parts) > 3 and parts[2] == "conv":
        canonical = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}[parts[3]]
        return ".".join(parts[:3] + [canonical] + parts[4:])
    return key


def dli14_mapping(expanding_blocks: set[int], last_index: int) -> Callable[[str], str]:
    def mapping(key: str) -> str:
        parts = key.split(".")
        if parts[0] == "features" and len(parts) > 3 and parts[2] == "conv":
            table = ({"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"} if int(parts[1]) in expanding_blocks
                     else {"0": "0.0", "1": "0.1", "3": "1", "4": "2"})
            return ".".join(parts[:3] + [table[parts[3]]] + parts[4:])
        if parts[0] == "conv":
            return ".".join(["features", str(last_index)] + parts[1:])
        if parts[0] == "classifier":
            return ".".join(["classifier", "1"] + parts[1:])
        return key
    return mapping


RESNEXT_LEAVES = {"conv_reduce": "conv1", "bn_reduce": "bn1", "conv_conv": "conv2", "bn": "bn2", "conv_expand": "conv3",
                  "bn_expand": "bn3", "shortcut.shortcut_conv": "downsample.0", "shortcut.shortcut_bn": "downsample.1",
                  "downsample.0": "downsample.0", "downsample.1": "downsample.1"}


def cifar_resnext_mapping(key: str) -> str:
    """prlz77's and D-X-Y's names onto torchvision's: conv_1_3x3/bn_1 -> conv1/bn1, stage_S.<block I> -> layerS.I,
    classifier -> fc."""
    parts = key.split(".")
    if parts[0] == "conv_1_3x3":
        return ".".join(["conv1"] + parts[1:])
    if parts[0] == "bn_1":
        return ".".join(["bn1"] + parts[1:])
    if parts[0] == "classifier":
        return ".".join(["fc"] + parts[1:])
    stage = parts[0].removeprefix("stage_")
    block = parts[1].rsplit("_", 1)[-1]          # 'stage_1_bottleneck_0' (prlz77) or '0' (D-X-Y)
    module, leaf = ".".join(parts[2:-1]), parts[-1]
    return f"layer{stage}.{block}.{RESNEXT_LEAVES[module]}.{leaf}"


SHUFFLENET_LEAVES = {"compress_conv1": "compress", "compress_bn1": "compress_bn", "dw_conv2": "depthwise",
                     "dw_bn2": "depthwise_bn", "expand_conv3": "expand", "expand_bn3": "expand_bn"}


def pytorchcv_shufflenet_mapping(key: str) -> str:
    """pytorchcv's features.init_block.{conv,bn} -> conv1/bn1, features.stageS.unitU.<leaf> -> stages.S-1.U-1.<leaf>,
    output -> fc."""
    parts = key.split(".")
    if parts[0] == "output":
        return ".".join(["fc"] + parts[1:])
    if parts[1] == "init_block":
        return ".".join([{"conv": "conv1", "bn": "bn1"}[parts[2]]] + parts[3:])
    stage, unit = int(parts[1].removeprefix("stage")) - 1, int(parts[2].removeprefix("unit")) - 1
    return ".".join([f"stages.{stage}.{unit}", SHUFFLENET_LEAVES[parts[3]]] + parts[4:])


def weiaicunzai_shufflenet_mapping(key: str) -> str:
    """conv1.{conv,bn} -> conv1/bn1; stageN.U.bottlneck.0.pointwise.{0,1} -> compress(_bn), depthwise.depthwise.{0,1}
    -> depthwise(_bn), expand.pointwise.{0,1} -> expand(_bn) under stages.N-2.U; fc as is."""
    parts = key.split(".")
    if parts[0] == "conv1":
        return ".".join([{"conv": "conv1", "bn": "bn1"}[parts[1]]] + parts[2:])
    if parts[0] == "fc":
        return key
    prefix = f"stages.{int(parts[0].removeprefix('stage')) - 2}.{parts[1]}"
    module = {"bottlneck": "compress", "depthwise": "depthwise", "expand": "expand"}[parts[2]]
    rest = parts[3:] if parts[2] != "bottlneck" else parts[4:]   # bottlneck.0 is the PointwiseConv2d
    bn = rest[1] == "1"                                          # pointwise.1 / depthwise.1: the BN
    return ".".join([prefix, module + ("_bn" if bn else "")] + rest[2:])


def separable_leaf(leaf: str) -> str:
    return {"dw_conv": "conv1", "pw_conv": "pointwise", "depthwise": "conv1", "pointwise": "pointwise"}[leaf]


def pytorchcv_xception_mapping(model: nn.Module) -> Callable[[str], str]:
    """pytorchcv's units numbered through the stages -> Cadene's block1..N; a unit's identity_conv.{conv,bn} ->
    skip/skipbn, body.blockK.{conv.dw_conv, conv.pw_conv, bn} -> rep (separable at 3(K-1) + start, its BN next; start
    0 in the first unit (no leading ReLU), else 1); init_block.conv1/conv2.{conv,bn} -> conv1/bn1, conv2/bn2;
    final_block.conv1/conv2 -> conv3/bn3, conv4/bn4; output -> fc."""
    units = [f"{stage}.{unit}" for stage, module in model.features.named_children() if stage.startswith("stage")
             for unit, _ in module.named_children()]

    def mapping(key: str) -> str:
        parts = key.split(".")
        if parts[0] == "output":
            return ".".join(["fc"] + parts[1:])
        if parts[1] == "init_block":
            n = parts[2].removeprefix("conv")
            return ".".join([f"conv{n}" if parts[3] == "conv" else f"bn{n}"] + parts[4:])
        if parts[1] == "final_block":
            n = int(parts[2].removeprefix("conv")) + 2
            if parts[3] == "conv":
                return ".".join([f"conv{n}", separable_leaf(parts[4])] + parts[5:])
            return ".".join([f"bn{n}"] + parts[4:])
        block = units.index(f"{parts[1]}.{parts[2]}") + 1
        if parts[3] == "identity_conv":
            return ".".join([f"block{block}", "skip" if parts[4] == "conv" else "skipbn"] + parts[5:])
        start = 0 if block == 1 else 1
        index = 3 * (int(parts[4].removeprefix("block")) - 1) + start
        if parts[5] == "conv":
            return ".".join([f"block{block}.rep.{index}", separable_leaf(parts[6])] + parts[7:])
        return ".".join([f"block{block}.rep.{index + 1}"] + parts[6:])
    return mapping


def weiaicunzai_xception_mapping(key: str) -> str:
    """entry_flow.conv1/conv2.{0,1} -> conv1/bn1, conv2/bn2; entry_flow.conv{3,4,5}_residual -> block1..3.rep (same
    indices: Cadene's Block numbers its ReLUs as this Sequential does), conv{3,4,5}_shortcut.{0,1} -> skip/skipbn;
    middel_flow.middel_block.I.convK.{1,2} -> block(4+I).rep.(3(K-1)+1, +2); exit_flow.residual/shortcut -> block12;
    exit_flow.conv.{0,1,3,4} -> conv3, bn3, conv4, bn4; separable depthwise/pointwise -> conv1/pointwise; fc as is."""
    parts = key.split(".")
    if parts[0] == "fc":
        return key
    if parts[0] == "entry_flow" and parts[1] in ("conv1", "conv2"):
        n = parts[1][-1]
        return ".".join([f"conv{n}" if parts[2] == "0" else f"bn{n}"] + parts[3:])
    if parts[0] == "entry_flow" or parts[1] in ("residual", "shortcut"):
        if parts[0] == "entry_flow":
            block, part = int(parts[1][4]) - 2, parts[1].split("_")[1]
        else:
            block, part = 12, parts[1]
        if part == "shortcut":
            return ".".join([f"block{block}", "skip" if parts[2] == "0" else "skipbn"] + parts[3:])
        if len(parts) == 5:
            return ".".join([f"block{block}.rep.{parts[2]}", separable_leaf(parts[3])] + parts[4:])
        return ".".join([f"block{block}.rep.{parts[2]}"] + parts[3:])
    if parts[0] == "middel_flow":
        block, k = 4 + int(parts[2]), int(parts[3].removeprefix("conv"))
        index = 3 * (k - 1) + int(parts[4])
        if len(parts) == 7:
            return ".".join([f"block{block}.rep.{index}", separable_leaf(parts[5])] + parts[6:])
        return ".".join([f"block{block}.rep.{index}"] + parts[5:])
    # exit_flow.conv: separable 0 -> conv3, BN 1 -> bn3, separable 3 -> conv4, BN 4 -> bn4.
    name = {"0": "conv3", "1": "bn3", "3": "conv4", "4": "bn4"}[parts[2]]
    if len(parts) == 5:
        return ".".join([name, separable_leaf(parts[3])] + parts[4:])
    return ".".join([name] + parts[3:])


def pytorchcv_shufflenet() -> nn.Module:
    """pytorchcv's `shufflenet_g3_wd4` (groups 3, widths x 1/4: stem 6, stages 60/120/240) with 10 classes."""
    from pytorchcv.models.shufflenet import shufflenet_g3_wd4
    return shufflenet_g3_wd4(num_classes=CLASSES)


def pytorchcv_xception() -> nn.Module:
    """pytorchcv's Xception with `channels` (its constructor's argument) [[128], [256], [512] * 3, [1024]] instead of
    [[128], [256], [728] * 9, [1024]], every width then / 16 (scaled_torch_nn: the stem's 32/64, final_block's
    1024/1536/2048 and the classifier's 2048 are written in its code), 10 classes."""
    from pytorchcv.models.xception import Xception
    with scaled_torch_nn(16):
        return Xception(channels=[[128], [256], [512] * 3, [1024]], num_classes=CLASSES)


def weiaicunzai_xception_narrow() -> nn.Module:
    """weiaicunzai's Xception with its widths / 8 (4, 8, 16, 32, 91, 128, 192, 256), 10 classes."""
    with scaled_torch_nn(8):
        return weiaicunzai_xception.Xception(num_class=CLASSES)


@dataclass
class Case:
    name: str
    source: str
    family: str | None
    build: Callable[[], nn.Module]
    input_size: int
    mapping: Callable[[nn.Module], Callable[[str], str]] | None = None
    behaviour: dict = field(default_factory=dict)          # the reference net's terms (tools/reference_nets)
    configuration_behaviour: dict = field(default_factory=dict)   # weightconv's vocabulary
    refuse_at: str | None = None
    notes: list[str] = field(default_factory=list)
    batch: int = 2


def dli14_mapping_for(model: nn.Module) -> Callable[[str], str]:
    expanding = {i for i, m in enumerate(model.features) if isinstance(m, dli14_mobilenetv2.InvertedResidual)
                 and len(m.conv) == 8}
    return dli14_mapping(expanding, len(model.features))


class LeNet(nn.Module):
    """kuangliu/pytorch-cifar models/lenet.py, restated: conv1 (3->6, 5x5), conv2 (6->16, 5x5), fc1 (400->120),
    fc2 (120->84), fc3 (84->10), ReLU and 2x2 max pools: a network outside the four families."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, CLASSES)

    def forward(self, x):
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv1(x)), 2)
        x = nn.functional.max_pool2d(nn.functional.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc3(nn.functional.relu(self.fc2(nn.functional.relu(self.fc1(x)))))


CASES = [
    Case("mobilenetv2_tonylins", "tools/reference_nets/tonylins_mobilenetv2.py (tonylins/pytorch-mobilenet-v2, width_mult 0.25)",
         "mobilenet_v2", lambda: tonylins_mobilenetv2.MobileNetV2(n_class=CLASSES, input_size=64, width_mult=0.25), 64,
         mapping=lambda m: tonylins_mapping, behaviour={"bn_eps": 1e-5},
         configuration_behaviour={"activation": "relu6", "eps": 1e-5},
         notes=["t = 1 block has an expansion 1x1 (torchvision's has none); widths int(c * 0.25), no rounding to 8"]),
    Case("mobilenetv2_dli14", "tools/reference_nets/dli14_mobilenetv2.py (d-li14/mobilenetv2.pytorch, width_mult 0.25)",
         "mobilenet_v2", lambda: dli14_mobilenetv2.MobileNetV2(num_classes=CLASSES, input_size=64, width_mult=0.25), 64,
         mapping=dli14_mapping_for, behaviour={"bn_eps": 1e-5},
         configuration_behaviour={"activation": "relu6", "eps": 1e-5},
         notes=["last 1x1 conv is a top-level `conv`, the classifier a bare Linear"]),
    Case("resnext_prlz77", "tools/reference_nets/prlz77_resnext.py (prlz77/ResNeXt.pytorch CifarResNeXt, depth 20, "
         "cardinality 2, widen 4, base 8)", "resnext",
         lambda: prlz77_resnext.CifarResNeXt(cardinality=2, depth=20, nlabels=CLASSES, widen_factor=4, base=8), 32,
         mapping=lambda m: cifar_resnext_mapping,
         behaviour={"stride_on": "conv2", "stem_stride": 1, "stem_max_pool": False, "bn_eps": 1e-5},
         configuration_behaviour={"stridePlacement": "conv2", "stemStride": 1, "stemMaxPool": False,
                                  "outputLogSoftmax": False, "eps": 1e-5},
         notes=["CIFAR: 3x3 stride-1 stem without max pool, three stages; projection only where channels change"]),
    Case("resnext_dxy", "tools/reference_nets/dxy_resnext.py (D-X-Y/ResNeXt-DenseNet CifarResNeXt, depth 20, "
         "cardinality 2, base_width 16, scale 1/8)", "resnext",
         lambda: dxy_resnext.CifarResNeXt(depth=20, cardinality=2, base_width=16, num_classes=CLASSES, scale=0.125), 32,
         mapping=lambda m: cifar_resnext_mapping,
         behaviour={"stride_on": "conv2", "stem_stride": 1, "stem_max_pool": False, "output": "log_softmax",
                    "bn_eps": 1e-5},
         configuration_behaviour={"stridePlacement": "conv2", "stemStride": 1, "stemMaxPool": False,
                                  "outputLogSoftmax": True, "eps": 1e-5},
         notes=["CIFAR stem, three stages; the projection is stored before the block's convolutions; "
                "forward returns log_softmax"]),
    Case("shufflenet_pytorchcv", "pytorchcv 0.0.74 pytorchcv/models/shufflenet.py (shufflenet_g3_wd4)", "shufflenet_v1",
         pytorchcv_shufflenet, 224, mapping=lambda m: pytorchcv_shufflenet_mapping,
         behaviour={"stem_relu": True, "shuffle_placement": "after_compress", "shuffle_order": "paper",
                    "shuffle_first_unit": True, "concat_relu": "both", "concat_order": "main_first"},
         configuration_behaviour={"stemActivation": "relu", "shufflePlacement": "afterCompress",
                                  "shufflePermutation": "groupsFirst", "concatOrder": "mainFirst", "eps": 1e-5},
         notes=["a stride-2 unit concatenates cat(main, pooled input): the main branch first",
                "final_pool is AvgPool2d(7): the input must be 224x224 (one sample keeps the fixture small)"],
         batch=1),
    Case("shufflenet_weiaicunzai", "tools/reference_nets/weiaicunzai_shufflenet.py (weiaicunzai/pytorch-cifar100 "
         "models/shufflenet.py, groups 3, num_blocks [2, 2, 1])", "shufflenet_v1",
         lambda: weiaicunzai_shufflenet.ShuffleNet([2, 2, 1], num_classes=CLASSES, groups=3), 32,
         mapping=lambda m: weiaicunzai_shufflenet_mapping,
         behaviour={"stem_relu": True, "shuffle_placement": "after_compress", "shuffle_order": "paper",
                    "concat_relu": "both", "stem_stride": 1, "stem_max_pool": False},
         configuration_behaviour={"stemActivation": "relu", "stemStride": 1, "stemMaxPool": False,
                                  "shufflePlacement": "afterCompress", "shufflePermutation": "groupsFirst",
                                  "concatOrder": "shortcutFirst", "eps": 1e-5},
         notes=["CIFAR: 3x3 stride-1 stem with bias and BN, no max pool; every unit's first 1x1 grouped, stage 2's too"]),
    Case("xception_pytorchcv", "pytorchcv 0.0.74 pytorchcv/models/xception.py (third stage of 3 units at 512, widths / 16)",
         "xception", pytorchcv_xception, 299, mapping=pytorchcv_xception_mapping,
         behaviour={"stem_stride": 2, "stem_padding": 0},
         configuration_behaviour={"eps": 1e-5},
         notes=["the skip (identity_conv) is stored before the block's separable convolutions, as Cadene's",
                "final_block's AvgPool2d(10) needs a 299x299 input (one sample keeps the fixture small)"],
         batch=1),
    Case("xception_weiaicunzai", "tools/reference_nets/weiaicunzai_xception.py (weiaicunzai/pytorch-cifar100 "
         "models/xception.py, widths / 8)", "xception", weiaicunzai_xception_narrow, 32,
         mapping=lambda m: weiaicunzai_xception_mapping,
         behaviour={"stem_stride": 1, "stem_padding": 1, "stride_one_blocks": (3,),
                    "skip_after_relu_blocks": tuple(range(2, 12))},
         configuration_behaviour={"stemStride": 1, "stemPadding": 1, "strideOneBlocks": "3",
                                  "skipAfterReLUBlocks": "2,3,4,5,6,7,8,9,10,11", "eps": 1e-5},
         notes=["CIFAR stem (stride 1, padding 1); shortcuts stored after the residual branch, with bias; conv5 keeps "
                "the resolution with MaxPool2d(3, 1, 1); in-place ReLUs make blocks 2-11 add relu(x)"]),
    Case("foreign_lenet", "kuangliu/pytorch-cifar models/lenet.py, restated here", None, LeNet, 32,
         refuse_at="conv1.weight",
         notes=["a network outside the four families: refused naming the first tensor that does not fit"]),
]


def save_case(case: Case) -> dict:
    torch.manual_seed(3)
    model = case.build()
    calibration = zoo.make_input("normalized", case.input_size, 4, 99)
    randomize_(model, 3, calibration)
    model.eval()
    x = zoo.make_input("normalized", case.input_size, case.batch)
    with torch.no_grad():
        logits = model(x)
    sd = model.state_dict()
    out = ROOT / case.name
    out.mkdir(parents=True, exist_ok=True)
    torch.save(sd, out / "model.pth")
    np.savez(out / "reference.npz", input=x.numpy().astype(np.float32), logits=logits.float().numpy())
    expected = {"case": case.name, "source": case.source, "family": case.family,
                "keys": [{"name": k, "shape": list(v.shape)} for k, v in flatten_tensors(sd)]}
    if case.mapping is not None:
        mapping_fn = case.mapping(model)
        canonical_sd = {mapping_fn(k): v for k, v in sd.items()}
        shapes = {k: tuple(v.shape) for k, v in canonical_sd.items()}
        net = zoo.canonical_net(case.family, shapes, case.behaviour).eval()
        net.load_state_dict(canonical_sd)
        with torch.no_grad():
            err = ((net(x) - logits).abs().max() / max(1.0, logits.abs().max().item())).item()
        assert err <= 1e-5, f"{case.name}: the canonical net differs by {err:.2e}: the mapping is wrong"
        expected["mapping"] = {k: mapping_fn(k) for k in sd if not nbt(k)}
        expected["configuration_behaviour"] = case.configuration_behaviour
    else:
        expected["refuse_at"] = case.refuse_at
    expected["notes"] = case.notes
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return expected


def main(selected: list[str]) -> int:
    for case in CASES:
        if selected and case.name not in selected:
            continue
        shutil.rmtree(ROOT / case.name, ignore_errors=True)
        expected = save_case(case)
        size = sum(f.stat().st_size for f in (ROOT / case.name).iterdir())
        print(f"{case.name:30} {len(expected['keys']):4} tensors {size / 1024:8.1f} KiB")
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    print(f"total {total / 1e6:.2f} MB in {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
