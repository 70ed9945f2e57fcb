"""CifarResNeXt as prlz77/ResNeXt.pytorch (models/model.py) builds it, restated: the layer structure,
module registration order and names, which are what its checkpoints record.

- Stem `conv_1_3x3` (3x3, stride 1, no bias) + `bn_1` + ReLU, no max pool (CIFAR).
- Three stages `stage_1..3`, each an nn.Sequential of `stage_N_bottleneck_I` with conv_reduce (1x1) / bn_reduce,
  conv_conv (grouped 3x3, carries the stride) / bn, conv_expand (1x1) / bn_expand, and a `shortcut` Sequential
  holding shortcut_conv (1x1, the stride) / shortcut_bn only where the channels change; ReLU after the addition.
- D = cardinality * out_channels // widen_factor; stage widths [64, 64w, 128w, 256w]; avg_pool2d(8) then a
  Linear `classifier` (logits).
`base` is 64 in the original (and the classifier's 1024 inputs are 256 * widen_factor); it is a parameter here
only so the fixture stays small. No profile of weightconv describes these names.
"""
import torch.nn as nn
import torch.nn.functional as F


class ResNeXtBottleneck(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, cardinality: int, widen_factor: int):
        super().__init__()
        d = cardinality * out_channels // widen_factor
        self.conv_reduce = nn.Conv2d(in_channels, d, 1, 1, 0, bias=False)
        self.bn_reduce = nn.BatchNorm2d(d)
        self.conv_conv = nn.Conv2d(d, d, 3, stride, 1, groups=cardinality, bias=False)
        self.bn = nn.BatchNorm2d(d)
        self.conv_expand = nn.Conv2d(d, out_channels, 1, 1, 0, bias=False)
        self.bn_expand = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if in_channels != out_channels:
            self.shortcut.add_module("shortcut_conv", nn.Conv2d(in_channels, out_channels, 1, stride, 0, bias=False))
            self.shortcut.add_module("shortcut_bn", nn.BatchNorm2d(out_channels))

    def forward(self, x):
        y = F.relu(self.bn_reduce(self.conv_reduce(x)), inplace=True)
        y = F.relu(self.bn(self.conv_conv(y)), inplace=True)
        y = self.bn_expand(self.conv_expand(y))
        return F.relu(self.shortcut(x) + y, inplace=True)


class CifarResNeXt(nn.Module):
    def __init__(self, cardinality: int, depth: int, nlabels: int, widen_factor: int = 4, base: int = 64):
        super().__init__()
        self.block_depth = (depth - 2) // 9
        self.cardinality, self.widen_factor = cardinality, widen_factor
        self.stages = [base, base * widen_factor, 2 * base * widen_factor, 4 * base * widen_factor]
        self.conv_1_3x3 = nn.Conv2d(3, base, 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(base)
        self.stage_1 = self.block("stage_1", self.stages[0], self.stages[1], 1)
        self.stage_2 = self.block("stage_2", self.stages[1], self.stages[2], 2)
        self.stage_3 = self.block("stage_3", self.stages[2], self.stages[3], 2)
        self.classifier = nn.Linear(self.stages[3], nlabels)

    def block(self, name: str, in_channels: int, out_channels: int, pool_stride: int) -> nn.Sequential:
        block = nn.Sequential()
        for i in range(self.block_depth):
            block.add_module(f"{name}_bottleneck_{i}",
                             ResNeXtBottleneck(in_channels if i == 0 else out_channels, out_channels,
                                               pool_stride if i == 0 else 1, self.cardinality, self.widen_factor))
        return block

    def forward(self, x):
        x = F.relu(self.bn_1(self.conv_1_3x3(x)), inplace=True)
        x = self.stage_3(self.stage_2(self.stage_1(x)))
        x = F.avg_pool2d(x, 8, 1)
        return self.classifier(x.view(-1, self.stages[3]))
