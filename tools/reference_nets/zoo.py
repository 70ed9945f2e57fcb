"""Every implementation the fixtures are made from: how to build it at fixture size (narrow, few classes)
and at full size, what input it takes, and which canonical net and behaviour reproduce it."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn

from . import (canonical, megvii_shufflenet_v1, mmpretrain_shufflenet_v1, seed000_shufflenet, seed001_shufflenet,
               seed002_mobilenetv2, seed003_resnext, seed004_xception, shufflenet_v1)
from .common import scaled_torch_nn


@dataclass
class Implementation:
    name: str                      # unique id, e.g. "megvii"
    family: str                    # xception | mobilenet_v2 | shufflenet_v1 | resnext
    layout: str                    # the Swift profile's name
    source: str                    # what is run, for expected.json
    build: Callable[[int], nn.Module]          # classes -> fixture-size model
    input_size: int                # fixture input (square)
    width_note: str = ""
    input_kind: str = "normalized"  # or "bgr255"
    behaviour: dict = field(default_factory=dict)
    preprocessing: dict = field(default_factory=dict)
    build_full: Callable[[int], nn.Module] | None = None
    batch: int = 2                 # fixture batch; 1 where a 193x193 input would break the size budget


IMAGENET = {"input_size": [224, 224], "channel_order": "RGB", "pixel_scale": 255.0,
            "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
INCEPTION = {"input_size": [299, 299], "channel_order": "RGB", "pixel_scale": 255.0,
             "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}
MEGVII_BGR = {"input_size": [224, 224], "channel_order": "BGR", "pixel_scale": 1.0,
              "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}


def _torchvision_narrow_resnext(classes: int) -> nn.Module:
    """torchvision's ResNet + Bottleneck, groups=4, width_per_group=16, with planes 8/16/32/64 instead of
    64/128/256/512 (the stem stays 64): torchvision's own modules and forward, names unchanged."""
    from torchvision.models.resnet import Bottleneck, ResNet

    class NarrowResNet(ResNet):
        def __init__(self):
            layers = [1, 2, 1, 1]
            super().__init__(Bottleneck, layers, num_classes=classes, groups=4, width_per_group=16)
            self.inplanes = 64
            self.layer1 = self._make_layer(Bottleneck, 8, layers[0])
            self.layer2 = self._make_layer(Bottleneck, 16, layers[1], stride=2)
            self.layer3 = self._make_layer(Bottleneck, 32, layers[2], stride=2)
            self.layer4 = self._make_layer(Bottleneck, 64, layers[3], stride=2)
            self.fc = nn.Linear(64 * Bottleneck.expansion, classes)

    return NarrowResNet()


def _timm_narrow_resnext(classes: int) -> nn.Module:
    import timm.models.resnet as tr
    return tr.ResNet(tr.Bottleneck, [1, 2, 1, 1], num_classes=classes, cardinality=4, base_width=16, stem_width=16,
                     channels=(8, 16, 32, 64))


def _cadene_resnext(classes: int, divisor: int = 16) -> nn.Module:
    # pretrainedmodels' package __init__ files re-export functions under their modules' names, so the
    # modules themselves are fetched by path.
    pr = importlib.import_module("pretrainedmodels.models.resnext")
    features = importlib.import_module("pretrainedmodels.models.resnext_features.resnext101_32x4d_features")
    with scaled_torch_nn(divisor):
        # The feature graph is a module-level nn.Sequential: rebuild it with narrow channels.
        features = importlib.reload(features)
        model = pr.ResNeXt101_32x4d(num_classes=classes)
        model.features = features.resnext101_32x4d_features
    importlib.reload(features)  # leave the full-width module as pretrainedmodels has it
    return model


def _cadene_xception(classes: int, divisor: int = 8) -> nn.Module:
    px = importlib.import_module("pretrainedmodels.models.xception")
    with scaled_torch_nn(divisor):
        return px.xception(num_classes=classes, pretrained=None)


def _timm_legacy_xception(classes: int, divisor: int = 8) -> nn.Module:
    import timm
    with scaled_torch_nn(divisor):
        return timm.create_model("legacy_xception", pretrained=False, num_classes=classes)


def _timm(name: str):
    def build(classes: int) -> nn.Module:
        import timm
        return timm.create_model(name, pretrained=False, num_classes=classes)
    return build


def _torchvision(name: str, **kwargs):
    def build(classes: int) -> nn.Module:
        import torchvision
        return getattr(torchvision.models, name)(num_classes=classes, **kwargs)
    return build


def _full_cadene_resnext(classes: int) -> nn.Module:
    pr = importlib.import_module("pretrainedmodels.models.resnext")
    return pr.ResNeXt101_32x4d(num_classes=classes)


def _full_cadene_xception(classes: int) -> nn.Module:
    px = importlib.import_module("pretrainedmodels.models.xception")
    return px.xception(num_classes=classes, pretrained=None)


SN = shufflenet_v1
IMPLEMENTATIONS: list[Implementation] = [
    Implementation("seed000", "shufflenet_v1", "seed000", "tools/reference_nets/seed000_shufflenet.py (groups 3)",
                   lambda c: seed000_shufflenet.ShuffleNetV1(3, groups=3, num_classes=c, width_divisor=8), 64,
                   "channel table and stem divided by 8", behaviour=SN.SEED000.as_dict(), preprocessing=IMAGENET,
                   build_full=lambda c: seed000_shufflenet.ShuffleNetV1(3, groups=3, num_classes=c)),
    Implementation("seed001", "shufflenet_v1", "seed001", "tools/reference_nets/seed001_shufflenet.py (groups 3)",
                   lambda c: seed001_shufflenet.ShuffleNet(groups=3, num_classes=c, width_divisor=4), 64,
                   "channel table divided by 4", behaviour=SN.SEED001.as_dict(), preprocessing=IMAGENET,
                   build_full=lambda c: seed001_shufflenet.ShuffleNet(groups=3, num_classes=c)),
    Implementation("megvii", "shufflenet_v1", "megvii",
                   "tools/reference_nets/megvii_shufflenet_v1.py (group 3, model_size 0.5x)",
                   lambda c: megvii_shufflenet_v1.ShuffleNetV1(n_class=c, model_size="0.5x", group=3), 193,
                   "Megvii's own 0.5x width; 193x193 input, the smallest whose last feature map is the 7x7 "
                   "its AvgPool2d(7) expects; batch 1 to keep fixtures/layouts under 25 MB", input_kind="bgr255",
                   behaviour=SN.MEGVII.as_dict(), preprocessing=MEGVII_BGR,
                   build_full=lambda c: megvii_shufflenet_v1.ShuffleNetV1(n_class=c, model_size="1.0x", group=3),
                   batch=1),
    Implementation("megvii_g8", "shufflenet_v1", "megvii",
                   "tools/reference_nets/megvii_shufflenet_v1.py (group 8, model_size 0.5x)",
                   lambda c: megvii_shufflenet_v1.ShuffleNetV1(n_class=c, model_size="0.5x", group=8), 224,
                   "Megvii's own 0.5x width", input_kind="bgr255", behaviour=SN.MEGVII.as_dict(),
                   preprocessing=MEGVII_BGR),
    Implementation("mmpretrain", "shufflenet_v1", "mmpretrain",
                   "tools/reference_nets/mmpretrain_shufflenet_v1.py (groups 3, widen_factor 0.5)",
                   lambda c: mmpretrain_shufflenet_v1.ImageClassifier(groups=3, widen_factor=0.5, num_classes=c), 64,
                   "mmpretrain's own widen_factor 0.5", behaviour=SN.MMPRETRAIN.as_dict(), preprocessing=IMAGENET,
                   build_full=lambda c: mmpretrain_shufflenet_v1.ImageClassifier(groups=3, num_classes=c)),

    Implementation("torchvision_mobilenet_v2", "mobilenet_v2", "torchvision",
                   "torchvision.models.mobilenet_v2(width_mult=0.35)",
                   _torchvision("mobilenet_v2", width_mult=0.35), 64, "torchvision's own width_mult 0.35",
                   behaviour={"bn_eps": 1e-5}, preprocessing=IMAGENET, build_full=_torchvision("mobilenet_v2")),
    Implementation("timm_mobilenetv2_035", "mobilenet_v2", "timm", "timm.create_model('mobilenetv2_035')",
                   _timm("mobilenetv2_035"), 64, "timm's own mobilenetv2_035", behaviour={"bn_eps": 1e-5},
                   preprocessing=IMAGENET, build_full=_timm("mobilenetv2_100")),
    Implementation("seed002", "mobilenet_v2", "seed002", "tools/reference_nets/seed002_mobilenetv2.py",
                   lambda c: seed002_mobilenetv2.MobileNetV2(n_classes=c, width_divisor=8), 64,
                   "every channel count divided by 8", behaviour={"bn_eps": 1e-5}, preprocessing=IMAGENET,
                   build_full=lambda c: seed002_mobilenetv2.MobileNetV2(n_classes=c)),

    Implementation("torchvision_resnext", "resnext", "torchvision",
                   "torchvision.models.resnet.ResNet(Bottleneck, [1,2,1,1], groups=4, width_per_group=16) "
                   "with planes 8/16/32/64", _torchvision_narrow_resnext, 64,
                   "planes 8/16/32/64 instead of 64/128/256/512; depths [1,2,1,1]",
                   behaviour={"stride_on": "conv2", "bn_eps": 1e-5}, preprocessing=IMAGENET,
                   build_full=_torchvision("resnext50_32x4d")),
    Implementation("timm_resnext", "resnext", "torchvision",
                   "timm.models.resnet.ResNet(Bottleneck, [1,2,1,1], cardinality=4, base_width=16, stem_width=16, "
                   "channels=(8,16,32,64))", _timm_narrow_resnext, 64,
                   "timm's own channels/stem_width arguments; depths [1,2,1,1]",
                   behaviour={"stride_on": "conv2", "bn_eps": 1e-5}, preprocessing=IMAGENET,
                   build_full=_timm("resnext50_32x4d")),
    Implementation("seed003", "resnext", "seed003",
                   "tools/reference_nets/seed003_resnext.py ResNeXt(ResNeXtBottleNeck, [1,2,1,1], cardinality=4, "
                   "width=4)", lambda c: seed003_resnext.ResNeXt(seed003_resnext.ResNeXtBottleNeck, [1, 2, 1, 1],
                                                                 cardinality=4, width=4, num_classes=c), 64,
                   "cardinality 4, width 4, depths [1,2,1,1] (the seed's own arguments)",
                   behaviour={"stride_on": "conv1", "bn_eps": 1e-5}, preprocessing=IMAGENET,
                   build_full=lambda c: seed003_resnext.ResNeXt(seed003_resnext.ResNeXtBottleNeck, [3, 4, 6, 3],
                                                                num_classes=c)),
    Implementation("cadene_resnext101_32x4d", "resnext", "cadene",
                   "pretrainedmodels.models.resnext.ResNeXt101_32x4d", _cadene_resnext, 193,
                   "every channel count and the group count divided by 16 while pretrainedmodels builds its "
                   "feature graph (width per group stays 4); 193x193 input, the smallest whose last feature map "
                   "is the 7x7 its AvgPool2d(7) expects; batch 1 to keep fixtures/layouts under 25 MB",
                   behaviour={"stride_on": "conv2", "bn_eps": 1e-5}, preprocessing=IMAGENET,
                   build_full=_full_cadene_resnext, batch=1),

    Implementation("seed004", "xception", "seed004", "tools/reference_nets/seed004_xception.py",
                   lambda c: seed004_xception.Xception(num_classes=c, width_divisor=8), 71,
                   "every channel count divided by 8", behaviour={"bn_eps": 1e-5}, preprocessing=INCEPTION,
                   build_full=lambda c: seed004_xception.Xception(num_classes=c)),
    Implementation("cadene_xception", "xception", "cadene",
                   "pretrainedmodels.models.xception.xception(pretrained=None)", _cadene_xception, 71,
                   "every channel count divided by 8 while pretrainedmodels builds it", behaviour={"bn_eps": 1e-5},
                   preprocessing=INCEPTION, build_full=_full_cadene_xception),
    Implementation("timm_legacy_xception", "xception", "seed004", "timm.create_model('legacy_xception')",
                   _timm_legacy_xception, 71, "every channel count divided by 8 while timm builds it",
                   behaviour={"bn_eps": 1e-5}, preprocessing=INCEPTION, build_full=_timm("legacy_xception")),
]

BY_NAME = {impl.name: impl for impl in IMPLEMENTATIONS}


def canonical_net(family: str, shapes: dict[str, tuple[int, ...]], behaviour: dict) -> nn.Module:
    eps = behaviour.get("bn_eps", 1e-5)
    if family == "shufflenet_v1":
        return shufflenet_v1.ShuffleNetV1.from_shapes(shapes, shufflenet_v1.Behaviour(**behaviour))
    if family == "mobilenet_v2":
        return canonical.MobileNetV2(shapes, eps)
    if family == "resnext":
        return canonical.ResNeXt(shapes, behaviour.get("stride_on", "conv2"), eps, behaviour.get("stem_stride", 2),
                                 behaviour.get("stem_max_pool", True), behaviour.get("output") == "log_softmax")
    if family == "xception":
        return canonical.xception(shapes, eps, **{k: v for k, v in behaviour.items() if k != "bn_eps"})
    raise ValueError(family)


def configuration(family: str, net: nn.Module, shapes) -> dict:
    if family == "shufflenet_v1":
        return net.configuration()
    if family == "mobilenet_v2":
        return canonical.MobileNetV2.configuration(shapes)
    if family == "resnext":
        return canonical.ResNeXt.configuration(shapes)
    return canonical.xception_configuration(shapes)


def make_input(kind: str, size: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if kind == "bgr255":
        return torch.randint(0, 256, (batch, 3, size, size), generator=g).float()
    return torch.randn(batch, 3, size, size, generator=g)
