"""weightconv's CANONICAL MobileNetV2, ResNeXt and Xception as PyTorch modules, built from the shapes of
a canonical state_dict (what the Swift configuration inference reads) rather than from width
multipliers, so that any implementation's weights — renamed — can be loaded strictly and run.

- MobileNetV2: torchvision's own building blocks (`Conv2dNormActivation`, `InvertedResidual`) in
  torchvision's `features` / `classifier` layout, with every width taken from the weights.
- ResNeXt: torchvision's names (conv1, bn1, layerL.i.conv1..bn3, downsample.0/.1, fc) with explicit
  widths, an optional stem bias (seed 003) and the stride on conv1 (seed 003) or conv2 (torchvision).
- Xception: seed 004's module (the canonical Xception names), width-scaled by the stem's width.

The ShuffleNet v1 canonical net is in shufflenet_v1.py.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.ops.misc import Conv2dNormActivation

from . import seed004_xception

# Flat features index of each stride-2 block of MobileNetV2 (stages n = 1,2,3,4,3,3,1; s = 1,2,2,2,1,2,1):
# an architectural fact the weights do not record.
MOBILENETV2_STRIDE2 = {2, 4, 7, 14}


class MobileNetV2(nn.Module):
    def __init__(self, shapes: dict[str, tuple[int, ...]], eps: float = 1e-5):
        super().__init__()
        norm = functools.partial(nn.BatchNorm2d, eps=eps)
        stem = shapes["features.0.0.weight"][0]
        layers: list[nn.Module] = [Conv2dNormActivation(3, stem, stride=2, norm_layer=norm,
                                                        activation_layer=nn.ReLU6)]
        inp = stem
        i = 1
        while f"features.{i}.conv.0.0.weight" in shapes:
            first = shapes[f"features.{i}.conv.0.0.weight"]
            if first[1] == 1:  # depthwise first: no expansion (t = 1)
                hidden, out = inp, shapes[f"features.{i}.conv.1.weight"][0]
                ratio = 1
            else:
                hidden, out = first[0], shapes[f"features.{i}.conv.2.weight"][0]
                ratio = hidden / inp
                if ratio == 1:
                    # An expansion to the same width (tonylins' t = 1 block): torchvision adds the expansion
                    # layer only for ratio != 1, and hidden = round(inp * ratio) stays inp.
                    ratio = 1 + 1e-6
            block = InvertedResidual(inp, out, 2 if i in MOBILENETV2_STRIDE2 else 1, ratio, norm_layer=norm)
            assert block.conv[0][0].out_channels == hidden
            layers.append(block)
            inp = out
            i += 1
        last = shapes[f"features.{i}.0.weight"][0]
        layers.append(Conv2dNormActivation(inp, last, kernel_size=1, norm_layer=norm, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, shapes["classifier.1.weight"][0]))

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        return self.classifier(x)

    @staticmethod
    def configuration(shapes) -> dict:
        blocks = []
        i = 1
        while f"features.{i}.conv.0.0.weight" in shapes:
            first = shapes[f"features.{i}.conv.0.0.weight"]
            expand = first[1] != 1
            out = shapes[f"features.{i}.conv.{2 if expand else 1}.weight"][0]
            blocks.append({"hidden": first[0], "out": out, "expand": expand})
            i += 1
        return {"classes": shapes["classifier.1.weight"][0], "stem_channels": shapes["features.0.0.weight"][0],
                "blocks": blocks, "last_channels": shapes[f"features.{i}.0.weight"][0]}


class Bottleneck(nn.Module):
    def __init__(self, inp, width, out, groups, stride, stride_on, downsample, eps):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, width, 1, stride if stride_on == "conv1" else 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width, eps=eps)
        self.conv2 = nn.Conv2d(width, width, 3, stride if stride_on == "conv2" else 1, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width, eps=eps)
        self.conv3 = nn.Conv2d(width, out, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out, eps=eps)
        if downsample:
            self.downsample = nn.Sequential(nn.Conv2d(inp, out, 1, stride, bias=False), nn.BatchNorm2d(out, eps=eps))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = self.downsample(x) if hasattr(self, "downsample") else x
        return F.relu(out + identity)


class ResNeXt(nn.Module):
    def __init__(self, shapes: dict[str, tuple[int, ...]], stride_on: str = "conv2", eps: float = 1e-5,
                 stem_stride: int = 2, stem_max_pool: bool = True, log_softmax: bool = False):
        super().__init__()
        stem, _, kernel, _ = shapes["conv1.weight"]
        # torchvision's 7x7 stride-2 stem and max pool; CIFAR implementations: 3x3, stride 1, no pool.
        self.conv1 = nn.Conv2d(3, stem, kernel, stem_stride, kernel // 2, bias="conv1.bias" in shapes)
        self.bn1 = nn.BatchNorm2d(stem, eps=eps)
        self.stem_max_pool, self.log_softmax = stem_max_pool, log_softmax
        inp = stem
        self.layers = 0
        while f"layer{self.layers + 1}.0.conv1.weight" in shapes:
            self.layers += 1
        for layer in range(1, self.layers + 1):
            blocks = []
            i = 0
            while (key := f"layer{layer}.{i}.conv1.weight") in shapes:
                width = shapes[key][0]
                groups = width // shapes[f"layer{layer}.{i}.conv2.weight"][1]
                out = shapes[f"layer{layer}.{i}.conv3.weight"][0]
                stride = 2 if layer > 1 and i == 0 else 1
                blocks.append(Bottleneck(inp, width, out, groups, stride, stride_on,
                                         f"layer{layer}.{i}.downsample.0.weight" in shapes, eps))
                inp = out
                i += 1
            setattr(self, f"layer{layer}", nn.Sequential(*blocks))
        self.fc = nn.Linear(inp, shapes["fc.weight"][0])

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.stem_max_pool:
            x = F.max_pool2d(x, 3, 2, 1)
        for layer in range(1, self.layers + 1):
            x = getattr(self, f"layer{layer}")(x)
        x = self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
        return F.log_softmax(x, dim=1) if self.log_softmax else x

    @staticmethod
    def configuration(shapes) -> dict:
        layers = []
        for layer in range(1, 5):
            i = 0
            while f"layer{layer}.{i}.conv1.weight" in shapes:
                i += 1
            width = shapes[f"layer{layer}.0.conv1.weight"][0]
            layers.append({"depth": i, "width": width,
                           "cardinality": width // shapes[f"layer{layer}.0.conv2.weight"][1],
                           "out": shapes[f"layer{layer}.0.conv3.weight"][0]})
        return {"classes": shapes["fc.weight"][0], "stem_channels": shapes["conv1.weight"][0],
                "stem_bias": "conv1.bias" in shapes, "layers": layers}


class XceptionBlock(nn.Module):
    """Cadene's `Block` read from shapes: `rep` (leading ReLU where `rep.0` is not a separable convolution,
    separable convolutions each followed by BN, ReLUs between), `skip`/`skipbn` where stored (with its bias if
    stored). `stride` 2 strides the skip and appends MaxPool2d(3, 2, 1); a block with a skip that keeps the
    resolution (`stride` 1) still pools, with MaxPool2d(3, 1, 1) (weiaicunzai's conv5). `skip_after_relu`: the
    skip reads relu(x) (an in-place leading ReLU that runs before the skip is computed)."""

    def __init__(self, shapes, name: str, eps: float, stride: int, skip_after_relu: bool):
        super().__init__()
        indices = sorted({int(k[len(name) + 5:].split(".")[0]) for k in shapes
                          if k.startswith(f"{name}.rep.") and k.endswith(".conv1.weight")})
        self.start_relu = indices[0] != 0
        self.skip_after_relu = skip_after_relu and self.start_relu
        self.stride = stride
        rep = {}
        for i in indices:
            depthwise, pointwise = shapes[f"{name}.rep.{i}.conv1.weight"], shapes[f"{name}.rep.{i}.pointwise.weight"]
            sep = nn.Module()
            sep.conv1 = nn.Conv2d(depthwise[0], depthwise[0], 3, 1, 1, groups=depthwise[0], bias=False)
            sep.pointwise = nn.Conv2d(pointwise[1], pointwise[0], 1, bias=False)
            rep[str(i)] = sep
            rep[str(i + 1)] = nn.BatchNorm2d(pointwise[0], eps=eps)
        self.order = indices
        self.rep = nn.ModuleDict(rep)
        if f"{name}.skip.weight" in shapes:
            skip = shapes[f"{name}.skip.weight"]
            self.skip = nn.Conv2d(skip[1], skip[0], 1, stride, bias=f"{name}.skip.bias" in shapes)
            self.skipbn = nn.BatchNorm2d(skip[0], eps=eps)
        else:
            self.skip = None

    def forward(self, inp):
        x = inp
        for n, i in enumerate(self.order):
            if n > 0 or self.start_relu:
                x = F.relu(x)
            sep = self.rep[str(i)]
            x = self.rep[str(i + 1)](sep.pointwise(sep.conv1(x)))
        if self.skip is not None:
            x = F.max_pool2d(x, 3, self.stride, 1)
        source = F.relu(inp) if self.skip_after_relu else inp
        return x + (self.skipbn(self.skip(source)) if self.skip is not None else source)


class Xception(nn.Module):
    """The canonical Xception (Cadene's names) read from shapes, with the behaviours the weights do not show:
    `stem_stride`/`stem_padding` (2/0, or 1/1 in CIFAR implementations), `stride_one_blocks` (1-based blocks
    with a skip that keep the resolution), `skip_after_relu_blocks` (blocks whose skip reads relu(x))."""

    def __init__(self, shapes, eps: float = 1e-5, stem_stride: int = 2, stem_padding: int = 0,
                 stride_one_blocks=(), skip_after_relu_blocks=()):
        super().__init__()
        c1, c2 = shapes["conv1.weight"], shapes["conv2.weight"]
        self.conv1 = nn.Conv2d(c1[1], c1[0], 3, stem_stride, stem_padding, bias=False)
        self.bn1 = nn.BatchNorm2d(c1[0], eps=eps)
        self.conv2 = nn.Conv2d(c2[1], c2[0], 3, 1, stem_padding, bias=False)
        self.bn2 = nn.BatchNorm2d(c2[0], eps=eps)
        n = 1
        self.blocks = []
        while f"block{n}.rep.0.conv1.weight" in shapes or f"block{n}.rep.1.conv1.weight" in shapes:
            stride = 1 if n in stride_one_blocks or f"block{n}.skip.weight" not in shapes else 2
            setattr(self, f"block{n}", XceptionBlock(shapes, f"block{n}", eps, stride, n in skip_after_relu_blocks))
            self.blocks.append(f"block{n}")
            n += 1
        for name, bn in (("conv3", "bn3"), ("conv4", "bn4")):
            depthwise, pointwise = shapes[f"{name}.conv1.weight"], shapes[f"{name}.pointwise.weight"]
            sep = nn.Module()
            sep.conv1 = nn.Conv2d(depthwise[0], depthwise[0], 3, 1, 1, groups=depthwise[0], bias=False)
            sep.pointwise = nn.Conv2d(pointwise[1], pointwise[0], 1, bias=False)
            setattr(self, name, sep)
            setattr(self, bn, nn.BatchNorm2d(pointwise[0], eps=eps))
        self.fc = nn.Linear(shapes["fc.weight"][1], shapes["fc.weight"][0])

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        for name in self.blocks:
            x = getattr(self, name)(x)
        x = F.relu(self.bn3(self.conv3.pointwise(self.conv3.conv1(x))))
        x = F.relu(self.bn4(self.conv4.pointwise(self.conv4.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def xception(shapes: dict[str, tuple[int, ...]], eps: float = 1e-5, **behaviour) -> nn.Module:
    if behaviour:
        return Xception(shapes, eps, **behaviour)
    divisor = 32 // shapes["conv1.weight"][0]
    net = seed004_xception.Xception(num_classes=shapes["fc.weight"][0], width_divisor=divisor)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eps = eps
    return net


def xception_configuration(shapes) -> dict:
    return {"classes": shapes["fc.weight"][0], "stem_channels": shapes["conv1.weight"][0],
            "middle_channels": shapes["block4.rep.1.pointwise.weight"][0],
            "exit_channels": shapes["bn4.weight"][0],
            "width_divisor": 32 // shapes["conv1.weight"][0]}
