"""ShuffleNet as weiaicunzai/pytorch-cifar100 (models/shufflenet.py) builds it, restated: the module tree,
registration order and names, which are what its checkpoints record, and its forward pass.

- Stem `conv1`: a `BasicConv2d` (`conv` 3x3, stride 1, padding 1, WITH bias; `bn`; ReLU), no max pool (CIFAR).
- Stages `stage2`, `stage3`, `stage4` (nn.Sequential of units; the first unit of each strides 2). A unit holds
  `bottlneck` (sic) = Sequential(PointwiseConv2d, ReLU), where PointwiseConv2d.pointwise = Sequential(1x1 conv
  grouped by `groups`, BN), then `channel_shuffle` (view(B, g, C/g) -> transpose: the paper's order), `depthwise`
  (DepthwiseConv2d.depthwise = Sequential(3x3 depthwise conv, BN), no ReLU) and `expand` (PointwiseConv2d, grouped).
  Every convolution keeps nn.Conv2d's default bias.
- Where the unit strides (or its widths differ) the shortcut is AvgPool2d(3, 2, 1) and the output is
  relu(cat([shortcut, main])), the expand producing output - input channels; otherwise relu(shortcut + main).
- The first pointwise of stage 2 IS grouped: the repository's `if stage == 2` test compares the stage index
  with the Python list `_make_stage` passes as `stage` (it shadows the argument), so it never holds, and
  every unit's first 1x1 is grouped (the stem's 24 channels divide by every supported group count).
- AdaptiveAvgPool2d(1), Linear `fc` (logits). Widths per `groups` as in the repository ([24, 240, 480, 960]
  for 3 groups); `num_blocks` and `num_classes` are its constructor arguments.
"""
import torch
import torch.nn as nn

WIDTHS = {1: [24, 144, 288, 567], 2: [24, 200, 400, 800], 3: [24, 240, 480, 960], 4: [24, 272, 544, 1088],
          8: [24, 384, 768, 1536]}


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, kernel_size, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size, **kwargs)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class ChannelShuffle(nn.Module):
    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        b, c, h, w = x.size()
        return x.view(b, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)


class DepthwiseConv2d(nn.Module):
    def __init__(self, cin, cout, kernel_size, **kwargs):
        super().__init__()
        self.depthwise = nn.Sequential(nn.Conv2d(cin, cout, kernel_size, **kwargs), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.depthwise(x)


class PointwiseConv2d(nn.Module):
    def __init__(self, cin, cout, **kwargs):
        super().__init__()
        self.pointwise = nn.Sequential(nn.Conv2d(cin, cout, 1, **kwargs), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.pointwise(x)


class ShuffleNetUnit(nn.Module):
    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        mid = int(cout / 4)
        self.bottlneck = nn.Sequential(PointwiseConv2d(cin, mid, groups=groups), nn.ReLU(inplace=True))
        self.channel_shuffle = ChannelShuffle(groups)
        self.depthwise = DepthwiseConv2d(mid, mid, 3, groups=mid, stride=stride, padding=1)
        self.expand = PointwiseConv2d(mid, cout, groups=groups)
        self.relu = nn.ReLU(inplace=True)
        self.concatenates = False
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.AvgPool2d(3, stride=2, padding=1)
            # Re-assigned: registered again under the same name, so it keeps its place after `depthwise`.
            self.expand = PointwiseConv2d(mid, cout - cin, groups=groups)
            self.concatenates = True

    def forward(self, x):
        shortcut = self.shortcut(x)
        out = self.expand(self.depthwise(self.channel_shuffle(self.bottlneck(x))))
        out = torch.cat([shortcut, out], dim=1) if self.concatenates else shortcut + out
        return self.relu(out)


class ShuffleNet(nn.Module):
    def __init__(self, num_blocks, num_classes=100, groups=3):
        super().__init__()
        widths = WIDTHS[groups]
        self.conv1 = BasicConv2d(3, widths[0], 3, padding=1, stride=1)
        self.input_channels = widths[0]
        self.stage2 = self._make_stage(num_blocks[0], widths[1], groups)
        self.stage3 = self._make_stage(num_blocks[1], widths[2], groups)
        self.stage4 = self._make_stage(num_blocks[2], widths[3], groups)
        self.avg = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3], num_classes)

    def _make_stage(self, num_blocks, cout, groups):
        units = []
        for stride in [2] + [1] * (num_blocks - 1):
            units.append(ShuffleNetUnit(self.input_channels, cout, stride, groups))
            self.input_channels = cout
        return nn.Sequential(*units)

    def forward(self, x):
        x = self.stage4(self.stage3(self.stage2(self.conv1(x))))
        return self.fc(self.avg(x).flatten(1))
