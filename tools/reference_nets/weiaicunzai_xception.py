"""Xception as weiaicunzai/pytorch-cifar100 (models/xception.py) builds it, restated: the module tree,
registration order and names, which are what its checkpoints record, and its forward pass with its
in-place ReLUs. Widths are the repository's (32, 64, 128, 256, 728, 1024, 1536, 2048); the fixture
narrows them with common.scaled_torch_nn, as for Cadene's code.

- `entry_flow`: `conv1`, `conv2` = Sequential(3x3 conv, stride 1, padding 1, no bias; BN; ReLU) (CIFAR: the
  resolution is kept). Then three residual blocks, each a `convN_residual` Sequential registered BEFORE its
  `convN_shortcut` = Sequential(1x1 conv WITH bias (nn.Conv2d's default), BN): conv3 (64 -> 128, no leading
  ReLU, max pool 3/2/1), conv4 (128 -> 256, max pool 3/2/1), conv5 (256 -> 728, "no downsampling": a
  MaxPool2d(3, 1, 1) and a stride-1 shortcut). A `SeperableConv2d` (sic) is `depthwise` (3x3, groups = in,
  no bias) then `pointwise` (1x1, no bias).
- The residual Sequentials of conv4 and conv5 and of every middle block START with nn.ReLU(inplace=True),
  and forward computes the residual before the shortcut: the shortcut therefore reads relu(x), not x.
- `middel_flow.middel_block`: eight MiddleFLowBlocks (`conv1`..`conv3`, each ReLU(inplace) + separable + BN;
  identity shortcut, so it too adds relu(x)).
- `exit_flow`: `residual` (ReLU (not in place), separable 728 -> 728, BN, ReLU, separable 728 -> 1024, BN, max
  pool 3/2/1), `shortcut` (1x1 stride-2 conv with bias, BN) computed first, so it reads x; `conv` (separable
  1024 -> 1536, BN, ReLU, separable 1536 -> 2048, BN, ReLU); AdaptiveAvgPool2d(1). Linear `fc`.
"""
import torch.nn as nn


class SeperableConv2d(nn.Module):
    def __init__(self, cin, cout, kernel_size, **kwargs):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, kernel_size, groups=cin, bias=False, **kwargs)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))


def _sep(cin, cout):
    return [SeperableConv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)]


class EntryFlow(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True))
        self.conv3_residual = nn.Sequential(*_sep(64, 128), nn.ReLU(inplace=True), *_sep(128, 128),
                                            nn.MaxPool2d(3, stride=2, padding=1))
        self.conv3_shortcut = nn.Sequential(nn.Conv2d(64, 128, 1, stride=2), nn.BatchNorm2d(128))
        self.conv4_residual = nn.Sequential(nn.ReLU(inplace=True), *_sep(128, 256), nn.ReLU(inplace=True), *_sep(256, 256),
                                            nn.MaxPool2d(3, stride=2, padding=1))
        self.conv4_shortcut = nn.Sequential(nn.Conv2d(128, 256, 1, stride=2), nn.BatchNorm2d(256))
        self.conv5_residual = nn.Sequential(nn.ReLU(inplace=True), *_sep(256, 728), nn.ReLU(inplace=True), *_sep(728, 728),
                                            nn.MaxPool2d(3, 1, padding=1))
        self.conv5_shortcut = nn.Sequential(nn.Conv2d(256, 728, 1), nn.BatchNorm2d(728))

    def forward(self, x):
        x = self.conv2(self.conv1(x))
        for n in (3, 4, 5):
            residual = getattr(self, f"conv{n}_residual")(x)   # its leading in-place ReLU rewrites x first
            shortcut = getattr(self, f"conv{n}_shortcut")(x)
            x = residual + shortcut
        return x


class MiddleFLowBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.shortcut = nn.Sequential()
        self.conv1 = nn.Sequential(nn.ReLU(inplace=True), *_sep(728, 728))
        self.conv2 = nn.Sequential(nn.ReLU(inplace=True), *_sep(728, 728))
        self.conv3 = nn.Sequential(nn.ReLU(inplace=True), *_sep(728, 728))

    def forward(self, x):
        residual = self.conv3(self.conv2(self.conv1(x)))
        return self.shortcut(x) + residual


class MiddleFlow(nn.Module):
    def __init__(self, block):
        super().__init__()
        self.middel_block = nn.Sequential(*[block() for _ in range(8)])

    def forward(self, x):
        return self.middel_block(x)


class ExitFLow(nn.Module):
    def __init__(self):
        super().__init__()
        self.residual = nn.Sequential(nn.ReLU(), *_sep(728, 728), nn.ReLU(), *_sep(728, 1024), nn.MaxPool2d(3, stride=2, padding=1))
        self.shortcut = nn.Sequential(nn.Conv2d(728, 1024, 1, stride=2), nn.BatchNorm2d(1024))
        self.conv = nn.Sequential(*_sep(1024, 1536), nn.ReLU(inplace=True), *_sep(1536, 2048), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))

    def forward(self, x):
        shortcut = self.shortcut(x)
        output = shortcut + self.residual(x)
        return self.avgpool(self.conv(output))


class Xception(nn.Module):
    def __init__(self, block=MiddleFLowBlock, num_class=100):
        super().__init__()
        self.entry_flow = EntryFlow()
        self.middel_flow = MiddleFlow(block)
        self.exit_flow = ExitFLow()
        self.fc = nn.Linear(2048, num_class)

    def forward(self, x):
        x = self.exit_flow(self.middel_flow(self.entry_flow(x)))
        return self.fc(x.view(x.size(0), -1))
