"""Restatement of seed 002 (/work/shared/seeds/002_8b15ec6acf101cea.txt): the Korean blog post's
MobileNetV2 — `InvertedBottleneck` (`residual` = [expand if t > 1] + depthwise + pointwise) and
`MobileNetV2` (`first_conv`, `bottlenecks.S.I`, `last_conv`, `fc` = Dropout + Linear).

Fix: the printed code is missing the comma after `nn.Dropout(0.2)` in `self.fc`; it is added (without
it the post's code does not parse). Widths are the post's unrounded 32/16/24/32/64/96/160/320/1280 —
unlike torchvision, which rounds `width * multiplier` to multiples of 8.

Only change: `width_divisor` divides every channel count (1 gives the published network).
"""
import torch
from torch import nn


class InvertedBottleneck(nn.Module):
    def __init__(self, in_channels, out_channels, t, stride=1):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        expand = nn.Sequential(
            nn.Conv2d(in_channels, in_channels * t, 1, bias=False),
            nn.BatchNorm2d(in_channels * t),
            nn.ReLU6(inplace=True),
        )
        depthwise = nn.Sequential(
            nn.Conv2d(in_channels * t, in_channels * t, 3, stride=stride, padding=1, groups=in_channels * t,
                      bias=False),
            nn.BatchNorm2d(in_channels * t),
            nn.ReLU6(inplace=True),
        )
        pointwise = nn.Sequential(
            nn.Conv2d(in_channels * t, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        residual_list = []
        if t > 1:
            residual_list += [expand]
        residual_list += [depthwise, pointwise]
        self.residual = nn.Sequential(*residual_list)

    def forward(self, x):
        if self.stride == 1 and self.in_channels == self.out_channels:
            out = self.residual(x) + x
        else:
            out = self.residual(x)
        return out


class MobileNetV2(nn.Module):
    def __init__(self, n_classes=1000, width_divisor=1):
        super().__init__()
        d = width_divisor
        self.first_conv = nn.Sequential(
            nn.Conv2d(3, 32 // d, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(32 // d),
            nn.ReLU6(inplace=True)
        )
        self.bottlenecks = nn.Sequential(
            self.make_stage(32 // d, 16 // d, t=1, n=1),
            self.make_stage(16 // d, 24 // d, t=6, n=2, stride=2),
            self.make_stage(24 // d, 32 // d, t=6, n=3, stride=2),
            self.make_stage(32 // d, 64 // d, t=6, n=4, stride=2),
            self.make_stage(64 // d, 96 // d, t=6, n=3),
            self.make_stage(96 // d, 160 // d, t=6, n=3, stride=2),
            self.make_stage(160 // d, 320 // d, t=6, n=1)
        )
        self.last_conv = nn.Sequential(
            nn.Conv2d(320 // d, 1280 // d, 1, bias=False),
            nn.BatchNorm2d(1280 // d),
            nn.ReLU6(inplace=True)
        )
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Sequential(
            nn.Dropout(0.2),
            nn.Linear(1280 // d, n_classes)
        )

    def forward(self, x):
        x = self.first_conv(x)
        x = self.bottlenecks(x)
        x = self.last_conv(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        x = self.fc(x)
        return x

    def make_stage(self, in_channels, out_channels, t, n, stride=1):
        layers = [InvertedBottleneck(in_channels, out_channels, t, stride)]
        in_channels = out_channels
        for _ in range(n - 1):
            layers.append(InvertedBottleneck(in_channels, out_channels, t))
        return nn.Sequential(*layers)
