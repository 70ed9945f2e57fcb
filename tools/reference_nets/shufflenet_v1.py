"""weightconv's CANONICAL ShuffleNet v1: the state_dict keys of this module are the names the Swift
ShuffleNet asks for, and its options reproduce each published implementation exactly:

- seed 001 (jaxony/ShuffleNet as printed in the Chinese blog post, /work/shared/seeds/001_*.txt),
- Megvii's official ShuffleNetV1 (megvii-model/ShuffleNet-Series, ShuffleNetV1/network.py + blocks.py),
- seed 000 (the Korean blog post's own variant, /work/shared/seeds/000_*.txt),
- mmpretrain's ShuffleNetV1 backbone (open-mmlab/mmpretrain, models/backbones/shufflenet_v1.py).

Paper: Zhang et al., "ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile
Devices", CVPR 2018 (arXiv:1707.01083).

Canonical keys (all convs may carry a `.bias`; BN modules may be absent where noted):
    conv1.weight                           [stem, 3, 3, 3]     (+ conv1.bias: seeds 000/001)
    bn1.*                                  stem BN (Megvii, mmpretrain)
    stages.S.U.compress.weight             [mid, in/g', 1, 1]  g' = 1 in the first unit, else groups
    stages.S.U.compress_bn.*
    stages.S.U.depthwise.weight            [mid, 1, 3, 3]
    stages.S.U.depthwise_bn.*
    stages.S.U.expand.weight               [main_out, mid/g, 1, 1]
    stages.S.U.expand_bn.*
    stages.S.U.shortcut.weight             [sc_out, in, 1, 1]  1x1 projection after the avg-pool (seed 000)
    stages.S.U.shortcut_bn.*               (no implementation uses it yet; the option is named)
    fc.weight                              [classes, C]        (+ fc.bias except Megvii)

Behaviour the weights do not record (`Behaviour` below; the Swift profiles carry the same values):
    stem_relu            ReLU after the stem (Megvii, mmpretrain) or not (seeds 000/001)
    shuffle_placement    "after_compress" (paper, seeds 000/001) | "after_depthwise" (Megvii, mmpretrain)
    shuffle_order        "paper": view(B, g, C/g) -> transpose | "megvii": reshape(B, C/g, g) -> permute,
                         the inverse permutation
    shuffle_first_unit   whether the first unit of the first stage (ungrouped compress) shuffles:
                         seed 001, Megvii and mmpretrain do, seed 000 does not
    concat_relu          "both": relu(cat(shortcut, main)) (seeds 000/001) | "main": cat(shortcut, relu(main))
    concat_order         "shortcut_first": cat(shortcut, main) (all above) | "main_first": cat(main, shortcut)
                         (pytorchcv's ShuffleUnit)
    stem_stride          2, or 1 in CIFAR implementations (weiaicunzai/pytorch-cifar100); the stem kernel is
    stem_max_pool        read from conv1's shape; the 3x3/2 max pool after the stem, absent in CIFAR ones
    output               "logits" | "softmax" (seed 000 ends in nn.Softmax)
    bn_eps               1e-5 everywhere
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class Behaviour:
    stem_relu: bool = False
    shuffle_placement: str = "after_compress"
    shuffle_order: str = "paper"
    shuffle_first_unit: bool = True
    concat_relu: str = "both"
    output: str = "logits"
    bn_eps: float = 1e-5
    concat_order: str = "shortcut_first"
    stem_stride: int = 2
    stem_max_pool: bool = True

    def as_dict(self) -> dict:
        return asdict(self)


def channel_shuffle(x: torch.Tensor, groups: int, order: str) -> torch.Tensor:
    b, c, h, w = x.shape
    if order == "paper":
        return x.view(b, groups, c // groups, h, w).transpose(1, 2).reshape(b, c, h, w)
    if order == "megvii":
        return x.reshape(b, c // groups, groups, h, w).permute(0, 2, 1, 3, 4).reshape(b, c, h, w)
    raise ValueError(order)


@dataclass(frozen=True)
class UnitSpec:
    inp: int
    mid: int
    main_out: int         # channels the expand conv produces
    stride: int
    compress_groups: int
    groups: int           # expand groups and shuffle groups
    bias: bool
    shortcut_out: int | None = None   # 1x1 projection on the pooled shortcut (seed 000), its width
    shortcut_bn: bool = False

    @property
    def out(self) -> int:
        if self.stride == 1:
            return self.main_out
        return self.main_out + (self.shortcut_out if self.shortcut_out is not None else self.inp)


class Unit(nn.Module):
    def __init__(self, spec: UnitSpec, behaviour: Behaviour, shuffles: bool):
        super().__init__()
        self.spec, self.behaviour, self.shuffles = spec, behaviour, shuffles
        eps = behaviour.bn_eps
        self.compress = nn.Conv2d(spec.inp, spec.mid, 1, groups=spec.compress_groups, bias=spec.bias)
        self.compress_bn = nn.BatchNorm2d(spec.mid, eps=eps)
        self.depthwise = nn.Conv2d(spec.mid, spec.mid, 3, spec.stride, 1, groups=spec.mid, bias=spec.bias)
        self.depthwise_bn = nn.BatchNorm2d(spec.mid, eps=eps)
        self.expand = nn.Conv2d(spec.mid, spec.main_out, 1, groups=spec.groups, bias=spec.bias)
        self.expand_bn = nn.BatchNorm2d(spec.main_out, eps=eps)
        if spec.shortcut_out is not None:
            self.shortcut = nn.Conv2d(spec.inp, spec.shortcut_out, 1, bias=spec.bias)
            if spec.shortcut_bn:
                self.shortcut_bn = nn.BatchNorm2d(spec.shortcut_out, eps=eps)

    def forward(self, x):
        b = self.behaviour
        out = F.relu(self.compress_bn(self.compress(x)))
        if self.shuffles and b.shuffle_placement == "after_compress":
            out = channel_shuffle(out, self.spec.groups, b.shuffle_order)
        out = self.depthwise_bn(self.depthwise(out))
        if self.shuffles and b.shuffle_placement == "after_depthwise":
            out = channel_shuffle(out, self.spec.groups, b.shuffle_order)
        out = self.expand_bn(self.expand(out))
        if self.spec.stride == 1:
            return F.relu(x + out)
        shortcut = F.avg_pool2d(x, 3, 2, 1)
        if self.spec.shortcut_out is not None:
            shortcut = self.shortcut(shortcut)
            if self.spec.shortcut_bn:
                shortcut = self.shortcut_bn(shortcut)
        if b.concat_relu == "main":
            out = F.relu(out)
        joined = torch.cat((out, shortcut) if b.concat_order == "main_first" else (shortcut, out), 1)
        return F.relu(joined) if b.concat_relu == "both" else joined


class ShuffleNetV1(nn.Module):
    def __init__(self, stem: int, units: list[list[UnitSpec]], classes: int, behaviour: Behaviour,
                 stem_bias: bool, stem_bn: bool, fc_bias: bool, stem_kernel: int = 3):
        super().__init__()
        self.behaviour = behaviour
        self.conv1 = nn.Conv2d(3, stem, stem_kernel, behaviour.stem_stride, stem_kernel // 2, bias=stem_bias)
        if stem_bn:
            self.bn1 = nn.BatchNorm2d(stem, eps=behaviour.bn_eps)
        self.stages = nn.ModuleList()
        for s, stage in enumerate(units):
            self.stages.append(nn.Sequential(*[
                Unit(spec, behaviour, shuffles=spec.groups > 1 and (behaviour.shuffle_first_unit or s > 0 or u > 0))
                for u, spec in enumerate(stage)]))
        self.fc = nn.Linear(units[-1][-1].out, classes, bias=fc_bias)

    def forward(self, x):
        x = self.conv1(x)
        if hasattr(self, "bn1"):
            x = self.bn1(x)
        if self.behaviour.stem_relu:
            x = F.relu(x)
        if self.behaviour.stem_max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for stage in self.stages:
            x = stage(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        x = self.fc(x)
        return F.softmax(x, dim=1) if self.behaviour.output == "softmax" else x

    @staticmethod
    def from_shapes(shapes: dict[str, tuple[int, ...]], behaviour: Behaviour) -> "ShuffleNetV1":
        """Builds the net a canonical state_dict describes, reading every width, the groups and the
        depth from names and shapes only (what the Swift configuration inference does)."""
        stem = shapes["conv1.weight"][0]
        units: list[list[UnitSpec]] = []
        s = 0
        inp = stem
        while f"stages.{s}.0.compress.weight" in shapes:
            stage = []
            u = 0
            while (key := f"stages.{s}.{u}.compress.weight") in shapes:
                mid, in_per_group = shapes[key][0], shapes[key][1]
                compress_groups = inp // in_per_group
                expand = shapes[f"stages.{s}.{u}.expand.weight"]
                unit_groups = mid // expand[1]
                stride = 2 if u == 0 else 1
                shortcut = shapes.get(f"stages.{s}.{u}.shortcut.weight")
                spec = UnitSpec(inp=inp, mid=mid, main_out=expand[0], stride=stride,
                                compress_groups=compress_groups, groups=unit_groups,
                                bias=f"stages.{s}.{u}.compress.bias" in shapes,
                                shortcut_out=shortcut[0] if shortcut else None,
                                shortcut_bn=f"stages.{s}.{u}.shortcut_bn.weight" in shapes)
                stage.append(spec)
                out = spec.out
                inp = out
                u += 1
            units.append(stage)
            s += 1
        return ShuffleNetV1(stem, units, shapes["fc.weight"][0], behaviour,
                            stem_bias="conv1.bias" in shapes, stem_bn="bn1.weight" in shapes,
                            fc_bias="fc.bias" in shapes, stem_kernel=shapes["conv1.weight"][2])

    def configuration(self) -> dict:
        """What the import must infer from the weights, in the fixture's expected.json."""
        units = [[u.spec for u in stage] for stage in self.stages]
        return {
            "classes": self.fc.out_features,
            "groups": units[-1][-1].groups,
            "stem_channels": self.conv1.out_channels,
            "stage_out_channels": [stage[-1].out for stage in units],
            "depths": [len(stage) for stage in units],
            "mid_channels": [[u.mid for u in stage] for stage in units],
            "first_compress_groups": units[0][0].compress_groups,
            "conv_bias": units[0][0].bias,
            "stem_bias": self.conv1.bias is not None,
            "stem_bn": hasattr(self, "bn1"),
            "fc_bias": self.fc.bias is not None,
            "projection_shortcut": units[0][0].shortcut_out is not None,
        }


# Behaviour of each implementation this net reproduces (the Swift profiles carry the same values).
SEED001 = Behaviour(stem_relu=False, shuffle_placement="after_compress", shuffle_order="paper",
                    shuffle_first_unit=True, concat_relu="both", output="logits")
MEGVII = Behaviour(stem_relu=True, shuffle_placement="after_depthwise", shuffle_order="megvii",
                   shuffle_first_unit=True, concat_relu="main", output="logits")
SEED000 = Behaviour(stem_relu=False, shuffle_placement="after_compress", shuffle_order="paper",
                    shuffle_first_unit=False, concat_relu="both", output="softmax")
MMPRETRAIN = Behaviour(stem_relu=True, shuffle_placement="after_depthwise", shuffle_order="paper",
                       shuffle_first_unit=True, concat_relu="main", output="logits")
