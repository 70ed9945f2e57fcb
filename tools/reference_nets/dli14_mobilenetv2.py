"""MobileNetV2 as d-li14/mobilenetv2.pytorch (models/imagenet/mobilenetv2.py) builds it, restated: the
layer structure, module registration order and names, which are what its checkpoints record.

- `features` = [conv3x3-BN-ReLU6 stem (stride 2)] + InvertedResiduals only; the last conv1x1-BN-ReLU6 is a
  separate `conv` module, then `avgpool` (AvgPool2d(input_size // 32, stride=1)) and a bare Linear `classifier`.
- InvertedResidual.conv: for t = 1 [depthwise, BN, ReLU6, linear pointwise, BN] (keys conv.0, 1, 3, 4);
  otherwise [pointwise, BN, ReLU6, depthwise, BN, ReLU6, linear pointwise, BN] (conv.0, 1, 3, 4, 6, 7).
- Widths are _make_divisible(c * width_mult, 8), hidden = round(inp * t); last channel 1280 unless width_mult > 1.
No profile of weightconv describes these names.
"""
import torch.nn as nn


def make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _conv_bn_relu6(inp: int, oup: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, kernel, stride, kernel // 2, bias=False), nn.BatchNorm2d(oup),
                         nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, oup: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = round(inp * expand_ratio)
        self.identity = stride == 1 and inp == oup
        depthwise = [nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                     nn.ReLU6(inplace=True)]
        project = [nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        expand = [] if expand_ratio == 1 else [nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden),
                                               nn.ReLU6(inplace=True)]
        self.conv = nn.Sequential(*expand, *depthwise, *project)

    def forward(self, x):
        return x + self.conv(x) if self.identity else self.conv(x)


class MobileNetV2(nn.Module):
    CFGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, num_classes: int = 1000, input_size: int = 224, width_mult: float = 1.0):
        super().__init__()
        assert input_size % 32 == 0
        channels = make_divisible(32 * width_mult, 8)
        layers = [_conv_bn_relu6(3, channels, 3, 2)]
        for t, c, n, s in self.CFGS:
            out = make_divisible(c * width_mult, 8)
            for i in range(n):
                layers.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        self.features = nn.Sequential(*layers)
        last = make_divisible(1280 * width_mult, 8) if width_mult > 1.0 else 1280
        self.conv = _conv_bn_relu6(channels, last, 1, 1)
        self.avgpool = nn.AvgPool2d(input_size // 32, stride=1)
        self.classifier = nn.Linear(last, num_classes)

    def forward(self, x):
        x = self.avgpool(self.conv(self.features(x)))
        return self.classifier(x.view(x.size(0), -1))
