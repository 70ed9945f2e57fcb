"""Restatement of mmpretrain's ShuffleNet v1 (open-mmlab/mmpretrain, mmpretrain/models/backbones/
shufflenet_v1.py `ShuffleUnit` / `ShuffleNetV1`, with the `ImageClassifier` around it:
GlobalAveragePooling neck and LinearClsHead), read with the search tool and restated, not copied.
mmpretrain needs mmcv, which is not installable here; mmcv's ConvModule is restated as conv (no bias,
since a norm follows) + `bn` + ReLU, which gives the same state_dict names
(`backbone.conv1.conv.weight`, `backbone.conv1.bn.*`, `head.fc.*`).

What matters for conversion: the shuffle sits after the depthwise conv and uses the paper's
permutation (mmpretrain.models.utils.channel_shuffle: view(B, g, C/g) + transpose); it is applied
whenever groups > 1, also in the first unit whose 1x1 is ungrouped; concat units ReLU only the main
branch; the stem is conv + BN + ReLU; widths are make_divisible(c * widen_factor, 8); checkpoints are
saved as {'meta': …, 'state_dict': …}; inputs are RGB normalised with ImageNet mean/std on 0-255.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(value, divisor, min_value=None, min_ratio=0.9):
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


def channel_shuffle(x, groups):
    batch_size, num_channels, height, width = x.size()
    channels_per_group = num_channels // groups
    x = x.view(batch_size, groups, channels_per_group, height, width)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(batch_size, -1, height, width)


class ConvModule(nn.Module):
    """mmcv's ConvModule as the backbone uses it: conv, BN named `bn`, optional ReLU."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.with_activation = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.with_activation else x


class ShuffleUnit(nn.Module):
    def __init__(self, in_channels, out_channels, groups=3, first_block=True, combine='add'):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.first_block = first_block
        self.combine = combine
        self.groups = groups
        self.bottleneck_channels = self.out_channels // 4
        if self.combine == 'add':
            self.depthwise_stride = 1
            assert in_channels == out_channels
        elif self.combine == 'concat':
            self.depthwise_stride = 2
            self.out_channels -= self.in_channels
            self.avgpool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        else:
            raise ValueError(combine)
        self.first_1x1_groups = 1 if first_block else self.groups
        self.g_conv_1x1_compress = ConvModule(self.in_channels, self.bottleneck_channels, 1,
                                              groups=self.first_1x1_groups)
        self.depthwise_conv3x3_bn = ConvModule(self.bottleneck_channels, self.bottleneck_channels, 3,
                                               stride=self.depthwise_stride, padding=1,
                                               groups=self.bottleneck_channels, act=False)
        self.g_conv_1x1_expand = ConvModule(self.bottleneck_channels, self.out_channels, 1, groups=self.groups,
                                            act=False)

    def forward(self, x):
        residual = x
        out = self.g_conv_1x1_compress(x)
        out = self.depthwise_conv3x3_bn(out)
        if self.groups > 1:
            out = channel_shuffle(out, self.groups)
        out = self.g_conv_1x1_expand(out)
        if self.combine == 'concat':
            residual = self.avgpool(residual)
            out = F.relu(out)
            return torch.cat((residual, out), 1)
        return F.relu(residual + out)


class ShuffleNetV1(nn.Module):
    def __init__(self, groups=3, widen_factor=1.0):
        super().__init__()
        self.stage_blocks = [4, 8, 4]
        self.groups = groups
        channels = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960), 4: (272, 544, 1088),
                    8: (384, 768, 1536)}[groups]
        channels = [make_divisible(ch * widen_factor, 8) for ch in channels]
        self.in_channels = int(24 * widen_factor)
        self.conv1 = ConvModule(3, self.in_channels, 3, stride=2, padding=1)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList()
        for i, num_blocks in enumerate(self.stage_blocks):
            self.layers.append(self.make_layer(channels[i], num_blocks, i == 0))

    def make_layer(self, out_channels, num_blocks, first_block=False):
        layers = []
        for i in range(num_blocks):
            first_block = first_block if i == 0 else False
            combine_mode = 'concat' if i == 0 else 'add'
            layers.append(ShuffleUnit(self.in_channels, out_channels, groups=self.groups,
                                      first_block=first_block, combine=combine_mode))
            self.in_channels = out_channels
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.conv1(x)
        x = self.maxpool(x)
        for layer in self.layers:
            x = layer(x)
        return x


class LinearClsHead(nn.Module):
    def __init__(self, num_classes, in_channels):
        super().__init__()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, x):
        return self.fc(x)


class ImageClassifier(nn.Module):
    """backbone -> GlobalAveragePooling neck -> LinearClsHead: the names a full mmpretrain checkpoint has."""

    def __init__(self, groups=3, widen_factor=1.0, num_classes=1000):
        super().__init__()
        self.backbone = ShuffleNetV1(groups, widen_factor)
        self.head = LinearClsHead(num_classes, self.backbone.in_channels)

    def forward(self, x):
        x = self.backbone(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.head(x)
