"""Restatement of seed 000 (/work/shared/seeds/000_ef2471ab53f4b31d.txt): the Korean blog post's own
ShuffleNet v1 variant — `GConv`, `DWConv`, `ShuffleNetUnit`, `ShuffleNetV1`.

The post lost its indentation; the nesting below is the only one under which the code runs and matches
the text: in `GConv.forward` the ReLU and the reshape/transpose/flatten shuffle sit inside
`if self.channel_shuffle:`, and `if self.s2: x = self.relu(x)` is at function level (with s2 the
shuffle is disabled, so the ReLU must come from there); in `ShuffleNetUnit.forward` the identity
projection sits inside `if self.stride == 2:`.

Quirks kept as published: every conv has a bias (nn.Conv2d default), the stem has neither BN nor ReLU,
the stage-2 first unit uses an ungrouped 1x1, no shuffle, and projects the pooled shortcut with a 1x1
`identity` conv (bottleneck = output width, not a quarter), and the network ends in nn.Softmax.

Only change: `width_divisor` divides the channel table and the stem width (fixtures keep every name and
the structure; 1 gives the published network).
"""
import torch
import torch.nn as nn


class GConv(nn.Module):
    def __init__(self, groups, in_channels, out_channels, channel_shuffle=True, s2=False):
        super(GConv, self).__init__()
        self.s2 = s2
        self.channel_shuffle = channel_shuffle
        self.groups = groups
        self.out_channels = out_channels
        self.gconv = nn.Conv2d(in_channels=in_channels, out_channels=self.out_channels, groups=self.groups,
                               kernel_size=1, stride=1, padding=0)
        if s2:
            self.gconv = nn.Conv2d(in_channels=in_channels, out_channels=self.out_channels,
                                   kernel_size=1, stride=1, padding=0)
            self.channel_shuffle = False
        self.batch = nn.BatchNorm2d(num_features=self.out_channels)
        self.relu = nn.ReLU()

    def forward(self, x):
        x = self.gconv(x)
        x = self.batch(x)
        if self.channel_shuffle:
            x_shape = x.shape
            x = self.relu(x)
            x = x.reshape(x_shape[0], self.groups, self.out_channels // self.groups, x_shape[-2], -1)
            x = torch.transpose(x, 1, 2)
            x = torch.flatten(x, start_dim=1, end_dim=2)
        if self.s2:
            x = self.relu(x)
        return x


class DWConv(nn.Module):
    def __init__(self, in_channels, stride, multiplier=1):
        super(DWConv, self).__init__()
        out_channels = in_channels * multiplier
        self.net = nn.Conv2d(in_channels=in_channels, out_channels=out_channels, groups=in_channels,
                             kernel_size=3, padding=1, stride=stride)
        self.batch = nn.BatchNorm2d(num_features=out_channels)

    def forward(self, x):
        x = self.net(x)
        x = self.batch(x)
        return x


class ShuffleNetUnit(nn.Module):
    def __init__(self, stride, in_channels, out_channels, groups, s2=False):
        super(ShuffleNetUnit, self).__init__()
        self.s2 = s2
        self.stride = stride
        if stride == 1:
            d = 1
        else:
            d = 2
        self.avgpool = nn.AvgPool2d(kernel_size=3, stride=stride, padding=1)
        out_channels = out_channels // d
        self.gconv1 = GConv(groups=groups, in_channels=in_channels, out_channels=out_channels, s2=s2)
        self.DWConv = DWConv(in_channels=out_channels, stride=stride)
        self.gconv2 = GConv(groups=groups, in_channels=out_channels, out_channels=out_channels,
                            channel_shuffle=False)
        if s2:
            self.identity = nn.Conv2d(in_channels=in_channels, out_channels=out_channels, kernel_size=1,
                                      stride=1, padding=0)
        self.relu = nn.ReLU()

    def forward(self, x):
        x2 = self.gconv1(x)
        x2 = self.DWConv(x2)
        x2 = self.gconv2(x2)
        if self.stride == 2:
            x = self.avgpool(x)
            if self.s2:
                x = self.identity(x)
            x = torch.concat((x, x2), dim=1)
        else:
            x = torch.add(x, x2)
        x = self.relu(x)
        return x


class ShuffleNetV1(nn.Module):
    def __init__(self, in_channels, groups, num_classes, width_divisor=1):
        super(ShuffleNetV1, self).__init__()
        self.channels_dict = {1: 144, 2: 200, 3: 240, 4: 272, 8: 384}
        stem = 24 // width_divisor
        self.conv1 = nn.Conv2d(in_channels=in_channels, out_channels=stem, kernel_size=3, stride=2, padding=1)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channel_var = self.channels_dict[groups] // width_divisor
        stage2_list = [ShuffleNetUnit(stride=1, in_channels=channel_var, out_channels=channel_var, groups=groups)
                       for _ in range(3)]
        s2 = [ShuffleNetUnit(stride=2, in_channels=stem, out_channels=channel_var, groups=groups, s2=True)] \
            + stage2_list
        self.stage2 = nn.Sequential(*s2)
        stage3_list = [ShuffleNetUnit(stride=1, in_channels=channel_var * 2, out_channels=channel_var * 2,
                                      groups=groups) for _ in range(7)]
        s3 = [ShuffleNetUnit(stride=2, in_channels=channel_var, out_channels=channel_var * 2, groups=groups)] \
            + stage3_list
        self.stage3 = nn.Sequential(*s3)
        stage4_list = [ShuffleNetUnit(stride=1, in_channels=channel_var * 4, out_channels=channel_var * 4,
                                      groups=groups) for _ in range(3)]
        s4 = [ShuffleNetUnit(stride=2, in_channels=channel_var * 2, out_channels=channel_var * 4,
                             groups=groups)] + stage4_list
        self.stage4 = nn.Sequential(*s4)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_features=channel_var * 4, out_features=num_classes, bias=True)
        self.soft = nn.Softmax(dim=1)

    def forward(self, x):
        x = self.conv1(x)
        x = self.maxpool(x)
        x = self.stage2(x)
        x = self.stage3(x)
        x = self.stage4(x)
        x = self.avgpool(x)
        x = x.squeeze()
        x = self.fc(x)
        x = self.soft(x)
        return x
