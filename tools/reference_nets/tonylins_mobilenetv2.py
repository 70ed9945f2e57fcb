"""MobileNetV2 as tonylins/pytorch-mobilenet-v2 (MobileNetV2.py) builds it, restated: the layer
structure, module registration order and names, which are what its checkpoints record.

- `features` is one nn.Sequential: [conv3x3-BN-ReLU6 stem (stride 2)] + one InvertedResidual per block
  + [conv1x1-BN-ReLU6 to last_channel] + [AvgPool2d(input_size / 32)].
- Every InvertedResidual's `conv` is the full 8-entry Sequential: pointwise expansion to inp * t (also for
  t = 1, where torchvision has none), BN, ReLU6, depthwise 3x3, BN, ReLU6, linear pointwise, BN: keys
  `conv.0, 1, 3, 4, 6, 7`.
- Widths are int(c * width_mult) (no rounding to multiples of 8); last_channel is 1280 unless width_mult > 1.
- `classifier` = Sequential(Dropout, Linear): `classifier.1`.
No profile of weightconv describes these names (fixtures/inferred tests that inference alone maps them).
"""
import torch.nn as nn


def _conv_bn_relu6(inp: int, oup: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(oup),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = inp * expand_ratio
        self.use_res_connect = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, n_class: int = 1000, input_size: int = 224, width_mult: float = 1.0):
        super().__init__()
        assert input_size % 32 == 0
        channels = int(32 * width_mult)
        self.last_channel = int(1280 * width_mult) if width_mult > 1.0 else 1280
        layers = [_conv_bn_relu6(3, channels, 3, 2)]
        for t, c, n, s in self.SETTING:
            out = int(c * width_mult)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        layers.append(_conv_bn_relu6(channels, self.last_channel, 1, 1))
        layers.append(nn.AvgPool2d(input_size // 32))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(), nn.Linear(self.last_channel, n_class))

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(-1, self.last_channel))
