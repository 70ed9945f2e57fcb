"""Restatement of seed 004 (/work/shared/seeds/004_a648b94caaeb10a8.txt): the Korean blog post's
Xception — `SeparableConv2d` (`conv1` depthwise, `pointwise`), `Block` (`rep`, `skip`, `skipbn`) and
`Xception` (conv1/bn1, conv2/bn2, block1..block12, conv3/bn3, conv4/bn4, fc). Same names and structure
as Cadene's pretrainedmodels Xception before it renames `fc` to `last_linear`, and as timm's
`legacy_xception`: these are weightconv's canonical Xception names.

`rep` indices come from nn.Sequential numbering the parameter-free ReLUs and the MaxPool too: block1
(start_with_relu=False) drops the leading ReLU, so its separable convs are rep.0 and rep.3 and its BNs
rep.1 and rep.4; the other blocks have them at rep.1/4(/7) and rep.2/5(/8).

Only changes: the weight-init loop is left out (the post uses `math` without importing it; fixtures set
random weights), and `width_divisor` divides every channel count (1 gives the published network).
"""
import torch.nn as nn
import torch.nn.functional as F


class SeparableConv2d(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=0, dilation=1, bias=False):
        super(SeparableConv2d, self).__init__()
        self.conv1 = nn.Conv2d(in_channels=in_channels, out_channels=in_channels, stride=stride,
                               kernel_size=kernel_size, padding=padding, dilation=1, bias=False,
                               groups=in_channels)
        self.pointwise = nn.Conv2d(in_channels=in_channels, out_channels=out_channels, kernel_size=1, stride=1,
                                   padding=0, dilation=1, groups=1, bias=bias)

    def forward(self, x):
        x = self.conv1(x)
        x = self.pointwise(x)
        return x


class Block(nn.Module):
    def __init__(self, in_filters, out_filters, reps, strides=1, start_with_relu=True, grow_first=True):
        super(Block, self).__init__()
        if out_filters != in_filters or strides != 1:
            self.skip = nn.Conv2d(in_filters, out_filters, 1, stride=strides, bias=False)
            self.skipbn = nn.BatchNorm2d(out_filters)
        else:
            self.skip = None
        self.relu = nn.ReLU(inplace=True)
        rep = []
        filters = in_filters
        if grow_first:
            rep.append(self.relu)
            rep.append(SeparableConv2d(in_filters, out_filters, 3, stride=1, padding=1, bias=False))
            rep.append(nn.BatchNorm2d(out_filters))
            filters = out_filters
        for i in range(reps - 1):
            rep.append(self.relu)
            rep.append(SeparableConv2d(filters, filters, 3, stride=1, padding=1, bias=False))
            rep.append(nn.BatchNorm2d(filters))
        if not grow_first:
            rep.append(self.relu)
            rep.append(SeparableConv2d(in_filters, out_filters, 3, stride=1, padding=1, bias=False))
            rep.append(nn.BatchNorm2d(out_filters))
        if not start_with_relu:
            rep = rep[1:]
        else:
            rep[0] = nn.ReLU(inplace=False)
        if strides != 1:
            rep.append(nn.MaxPool2d(3, strides, 1))
        self.rep = nn.Sequential(*rep)

    def forward(self, inp):
        x = self.rep(inp)
        if self.skip is not None:
            skip = self.skip(inp)
            skip = self.skipbn(skip)
        else:
            skip = inp
        x += skip
        return x


class Xception(nn.Module):
    def __init__(self, num_classes=1000, width_divisor=1):
        super(Xception, self).__init__()
        self.num_classes = num_classes
        c = lambda n: n // width_divisor  # noqa: E731
        self.conv1 = nn.Conv2d(3, c(32), 3, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(c(32))
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c(32), c(64), 3, bias=False)
        self.bn2 = nn.BatchNorm2d(c(64))
        self.block1 = Block(c(64), c(128), 2, 2, start_with_relu=False, grow_first=True)
        self.block2 = Block(c(128), c(256), 2, 2, start_with_relu=True, grow_first=True)
        self.block3 = Block(c(256), c(728), 2, 2, start_with_relu=True, grow_first=True)
        self.block4 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block5 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block6 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block7 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block8 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block9 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block10 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block11 = Block(c(728), c(728), 3, 1, start_with_relu=True, grow_first=True)
        self.block12 = Block(c(728), c(1024), 2, 2, start_with_relu=True, grow_first=False)
        self.conv3 = SeparableConv2d(c(1024), c(1536), 3, 1, 1)
        self.bn3 = nn.BatchNorm2d(c(1536))
        self.conv4 = SeparableConv2d(c(1536), c(2048), 3, 1, 1)
        self.bn4 = nn.BatchNorm2d(c(2048))
        self.fc = nn.Linear(c(2048), num_classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.bn1(x)
        x = self.relu(x)
        x = self.conv2(x)
        x = self.bn2(x)
        x = self.relu(x)
        x = self.block1(x)
        x = self.block2(x)
        x = self.block3(x)
        x = self.block4(x)
        x = self.block5(x)
        x = self.block6(x)
        x = self.block7(x)
        x = self.block8(x)
        x = self.block9(x)
        x = self.block10(x)
        x = self.block11(x)
        x = self.block12(x)
        x = self.conv3(x)
        x = self.bn3(x)
        x = self.relu(x)
        x = self.conv4(x)
        x = self.bn4(x)
        x = self.relu(x)
        x = F.adaptive_avg_pool2d(x, (1, 1))
        x = x.view(x.size(0), -1)
        x = self.fc(x)
        return x
