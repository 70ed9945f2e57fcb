"""CifarResNeXt as D-X-Y/ResNeXt-DenseNet (models/resnext.py) builds it, restated: the layer structure,
module registration order and names, which are what its checkpoints record.

- Stem `conv_1_3x3` (3x3, stride 1, no bias) + `bn_1` + ReLU, no max pool (CIFAR).
- Three stages `stage_1..3` (nn.Sequential, blocks `0`, `1`, …) of ResNeXtBottleneck (expansion 4): the block
  assigns `self.downsample` (a Sequential of 1x1 conv with the stride + BN, or None) BEFORE its convolutions, so
  a checkpoint stores the projection first; then conv_reduce / bn_reduce, conv_conv (grouped 3x3, the stride) /
  bn, conv_expand / bn_expand. D = floor(planes * base_width / 64) per group.
- AdaptiveAvgPool2d(1), Linear `classifier`, and forward returns F.log_softmax of the logits.
`stem` (64 in the original) and the planes (64, 128, 256) scale by `scale` here only so the fixture stays small.
No profile of weightconv describes these names.
"""
import math

import torch.nn as nn
import torch.nn.functional as F


class ResNeXtBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, cardinality: int, base_width: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.downsample = downsample
        d = int(math.floor(planes * (base_width / 64.0)))
        self.conv_reduce = nn.Conv2d(inplanes, d * cardinality, 1, 1, 0, bias=False)
        self.bn_reduce = nn.BatchNorm2d(d * cardinality)
        self.conv_conv = nn.Conv2d(d * cardinality, d * cardinality, 3, stride, 1, groups=cardinality, bias=False)
        self.bn = nn.BatchNorm2d(d * cardinality)
        self.conv_expand = nn.Conv2d(d * cardinality, planes * 4, 1, 1, 0, bias=False)
        self.bn_expand = nn.BatchNorm2d(planes * 4)

    def forward(self, x):
        y = F.relu(self.bn_reduce(self.conv_reduce(x)), inplace=True)
        y = F.relu(self.bn(self.conv_conv(y)), inplace=True)
        y = self.bn_expand(self.conv_expand(y))
        residual = self.downsample(x) if self.downsample is not None else x
        return F.relu(residual + y, inplace=True)


class CifarResNeXt(nn.Module):
    def __init__(self, depth: int, cardinality: int, base_width: int, num_classes: int, scale: float = 1.0):
        super().__init__()
        self.layer_blocks = (depth - 2) // 9
        self.cardinality, self.base_width = cardinality, base_width
        stem = int(64 * scale)
        self.conv_1_3x3 = nn.Conv2d(3, stem, 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(stem)
        self.inplanes = stem
        self.stage_1 = self._make_layer(int(64 * scale), 1)
        self.stage_2 = self._make_layer(int(128 * scale), 2)
        self.stage_3 = self._make_layer(int(256 * scale), 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(int(256 * scale) * 4, num_classes)

    def _make_layer(self, planes: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [ResNeXtBottleneck(self.inplanes, planes, self.cardinality, self.base_width, stride, downsample)]
        self.inplanes = planes * 4
        for _ in range(1, self.layer_blocks):
            layers.append(ResNeXtBottleneck(self.inplanes, planes, self.cardinality, self.base_width))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn_1(self.conv_1_3x3(x)), inplace=True)
        x = self.stage_3(self.stage_2(self.stage_1(x)))
        x = self.avgpool(x).view(x.size(0), -1)
        return F.log_softmax(self.classifier(x), dim=1)
