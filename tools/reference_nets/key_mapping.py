"""The Python side's own statement of each layout's renaming onto weightconv's canonical names.

Written procedurally and independently of the Swift profiles (which are data: regex rules and index
tables), and used only by tools: check_reference_nets.py proves each mapping right by loading the renamed
weights strictly into the canonical net and comparing logits with the original implementation, and
make_layout_fixtures.py writes the result into each fixture's expected.json, which the Swift tests
compare their profiles against.

Each function maps one model key (wrapper prefixes already stripped) to its canonical key.
"""
from __future__ import annotations

import re


class Unmapped(KeyError):
    pass


def _sub(key: str, table: list[tuple[str, str]]) -> str:
    for pattern, replacement in table:
        new, n = re.subn(pattern, replacement, key)
        if n:
            return new
    raise Unmapped(key)


def identity(key: str) -> str:
    return key


# ShuffleNet v1 -------------------------------------------------------------------------------------

_SHUFFLE_PARTS = {
    "seed000": {"gconv1.gconv": "compress", "gconv1.batch": "compress_bn", "DWConv.net": "depthwise",
                "DWConv.batch": "depthwise_bn", "gconv2.gconv": "expand", "gconv2.batch": "expand_bn",
                "identity": "shortcut"},
    "seed001": {"g_conv_1x1_compress.conv1x1": "compress", "g_conv_1x1_compress.batch_norm": "compress_bn",
                "depthwise_conv3x3": "depthwise", "bn_after_depthwise": "depthwise_bn",
                "g_conv_1x1_expand.conv1x1": "expand", "g_conv_1x1_expand.batch_norm": "expand_bn"},
    "megvii": {"branch_main_1.0": "compress", "branch_main_1.1": "compress_bn", "branch_main_1.3": "depthwise",
               "branch_main_1.4": "depthwise_bn", "branch_main_2.0": "expand", "branch_main_2.1": "expand_bn"},
    "mmpretrain": {"g_conv_1x1_compress.conv": "compress", "g_conv_1x1_compress.bn": "compress_bn",
                   "depthwise_conv3x3_bn.conv": "depthwise", "depthwise_conv3x3_bn.bn": "depthwise_bn",
                   "g_conv_1x1_expand.conv": "expand", "g_conv_1x1_expand.bn": "expand_bn"},
}


def _unit_part(layout: str, stage: int, unit: int, rest: str) -> str:
    for part, canonical in _SHUFFLE_PARTS[layout].items():
        if rest.startswith(part + "."):
            return f"stages.{stage}.{unit}.{canonical}.{rest[len(part) + 1:]}"
    raise Unmapped(rest)


def shufflenet_seed000(key: str) -> str:
    if key.startswith(("conv1.", "fc.")):
        return key
    m = re.fullmatch(r"stage([234])\.(\d+)\.(.+)", key)
    if not m:
        raise Unmapped(key)
    return _unit_part("seed000", int(m[1]) - 2, int(m[2]), m[3])


def shufflenet_seed001(key: str) -> str:
    if key.startswith(("conv1.", "fc.")):
        return key
    m = re.fullmatch(r"stage([234])\.ShuffleUnit_Stage\1_(\d+)\.(.+)", key)
    if not m:
        raise Unmapped(key)
    return _unit_part("seed001", int(m[1]) - 2, int(m[2]), m[3])


MEGVII_DEPTHS = [4, 8, 4]


def shufflenet_megvii(key: str) -> str:
    if key.startswith("first_conv.0."):
        return "conv1." + key[len("first_conv.0."):]
    if key.startswith("first_conv.1."):
        return "bn1." + key[len("first_conv.1."):]
    if key.startswith("classifier.0."):
        return "fc." + key[len("classifier.0."):]
    m = re.fullmatch(r"features\.(\d+)\.(.+)", key)
    if not m:
        raise Unmapped(key)
    flat = int(m[1])
    for stage, depth in enumerate(MEGVII_DEPTHS):
        if flat < depth:
            return _unit_part("megvii", stage, flat, m[2])
        flat -= depth
    raise Unmapped(key)


def shufflenet_mmpretrain(key: str) -> str:
    if key.startswith("backbone.conv1.conv."):
        return "conv1." + key[len("backbone.conv1.conv."):]
    if key.startswith("backbone.conv1.bn."):
        return "bn1." + key[len("backbone.conv1.bn."):]
    if key.startswith("head.fc."):
        return key[len("head."):]
    m = re.fullmatch(r"backbone\.layers\.(\d)\.(\d+)\.(.+)", key)
    if not m:
        raise Unmapped(key)
    return _unit_part("mmpretrain", int(m[1]), int(m[2]), m[3])


# MobileNetV2 ----------------------------------------------------------------------------------------

MOBILENETV2_DEPTHS = [1, 2, 3, 4, 3, 3, 1]


def _mbv2_flat(stage: int, block: int) -> int:
    return 1 + sum(MOBILENETV2_DEPTHS[:stage]) + block


def mobilenetv2_timm(key: str) -> str:
    last = 1 + sum(MOBILENETV2_DEPTHS)
    top = {"conv_stem.": "features.0.0.", "bn1.": "features.0.1.", "conv_head.": f"features.{last}.0.",
           "bn2.": f"features.{last}.1.", "classifier.": "classifier.1."}
    for prefix, canonical in top.items():
        if key.startswith(prefix):
            return canonical + key[len(prefix):]
    m = re.fullmatch(r"blocks\.(\d+)\.(\d+)\.(\w+)\.(\w+)", key)
    if not m:
        raise Unmapped(key)
    stage, block, module, leaf = int(m[1]), int(m[2]), m[3], m[4]
    if stage == 0:
        parts = {"conv_dw": "conv.0.0", "bn1": "conv.0.1", "conv_pw": "conv.1", "bn2": "conv.2"}
    else:
        parts = {"conv_pw": "conv.0.0", "bn1": "conv.0.1", "conv_dw": "conv.1.0", "bn2": "conv.1.1",
                 "conv_pwl": "conv.2", "bn3": "conv.3"}
    if module not in parts:
        raise Unmapped(key)
    return f"features.{_mbv2_flat(stage, block)}.{parts[module]}.{leaf}"


def mobilenetv2_seed002(key: str) -> str:
    last = 1 + sum(MOBILENETV2_DEPTHS)
    if key.startswith("first_conv."):
        return "features.0." + key[len("first_conv."):]
    if key.startswith("last_conv."):
        return f"features.{last}." + key[len("last_conv."):]
    if key.startswith("fc.1."):
        return "classifier.1." + key[len("fc.1."):]
    m = re.fullmatch(r"bottlenecks\.(\d+)\.(\d+)\.residual\.(\d)\.(\d)\.(\w+)", key)
    if not m:
        raise Unmapped(key)
    stage, block, part, index, leaf = int(m[1]), int(m[2]), int(m[3]), int(m[4]), m[5]
    flat = _mbv2_flat(stage, block)
    if stage == 0:  # t = 1: residual = [depthwise, pointwise]
        canonical = {(0, 0): "conv.0.0", (0, 1): "conv.0.1", (1, 0): "conv.1", (1, 1): "conv.2"}[(part, index)]
    else:           # residual = [expand, depthwise, pointwise]
        canonical = {(0, 0): "conv.0.0", (0, 1): "conv.0.1", (1, 0): "conv.1.0", (1, 1): "conv.1.1",
                     (2, 0): "conv.2", (2, 1): "conv.3"}[(part, index)]
    return f"features.{flat}.{canonical}.{leaf}"


# ResNeXt --------------------------------------------------------------------------------------------

def resnext_seed003(key: str) -> str:
    if key.startswith("linear."):
        return "fc." + key[len("linear."):]
    return key.replace(".shortcut.", ".downsample.")


def resnext_cadene(key: str) -> str:
    """pretrainedmodels ResNeXt101_{32x4d,64x4d}: a Torch7 graph converted to nested nn.Sequentials.
    features.0/1 = stem conv/BN, features.4..7 = layer1..4; block i is
    Sequential(LambdaMap(Sequential(Sequential(conv1, bn1, relu, conv2, bn2, relu), conv3, bn3), shortcut),
    LambdaReduce(add), ReLU)."""
    if key.startswith("features.0."):
        return "conv1." + key[len("features.0."):]
    if key.startswith("features.1."):
        return "bn1." + key[len("features.1."):]
    if key.startswith("last_linear."):
        return "fc." + key[len("last_linear."):]
    m = re.fullmatch(r"features\.([4-7])\.(\d+)\.0\.(\d)\.((?:\d\.)+)(\w+)", key)
    if not m:
        raise Unmapped(key)
    layer, block, branch, path, leaf = int(m[1]) - 3, int(m[2]), int(m[3]), m[4], m[5]
    parts = {(0, "0.0."): "conv1", (0, "0.1."): "bn1", (0, "0.3."): "conv2", (0, "0.4."): "bn2",
             (0, "1."): "conv3", (0, "2."): "bn3", (1, "0."): "downsample.0", (1, "1."): "downsample.1"}
    if (branch, path) not in parts:
        raise Unmapped(key)
    return f"layer{layer}.{block}.{parts[(branch, path)]}.{leaf}"


# Xception -------------------------------------------------------------------------------------------

def xception_cadene(key: str) -> str:
    if key.startswith("last_linear."):
        return "fc." + key[len("last_linear."):]
    return key


MAPPINGS = {
    ("shufflenet_v1", "seed000"): shufflenet_seed000,
    ("shufflenet_v1", "seed001"): shufflenet_seed001,
    ("shufflenet_v1", "megvii"): shufflenet_megvii,
    ("shufflenet_v1", "mmpretrain"): shufflenet_mmpretrain,
    ("mobilenet_v2", "torchvision"): identity,
    ("mobilenet_v2", "timm"): mobilenetv2_timm,
    ("mobilenet_v2", "seed002"): mobilenetv2_seed002,
    ("resnext", "torchvision"): identity,
    ("resnext", "seed003"): resnext_seed003,
    ("resnext", "cadene"): resnext_cadene,
    ("xception", "seed004"): identity,
    ("xception", "cadene"): xception_cadene,
}

# A source key each layout's checkpoints have and the others' do not (recognition for the tools; the
# Swift profiles have their own fingerprints). Tried with the identity layouts last.
FINGERPRINTS = {
    ("shufflenet_v1", "seed000"): r"^stage2\.0\.gconv1\.gconv\.weight$",
    ("shufflenet_v1", "seed001"): r"^stage2\.ShuffleUnit_Stage2_0\.g_conv_1x1_compress\.conv1x1\.weight$",
    ("shufflenet_v1", "megvii"): r"^features\.0\.branch_main_1\.0\.weight$",
    ("shufflenet_v1", "mmpretrain"): r"^backbone\.layers\.0\.0\.g_conv_1x1_compress\.conv\.weight$",
    ("mobilenet_v2", "torchvision"): r"^features\.1\.conv\.0\.0\.weight$",
    ("mobilenet_v2", "timm"): r"^blocks\.0\.0\.conv_dw\.weight$",
    ("mobilenet_v2", "seed002"): r"^bottlenecks\.0\.0\.residual\.0\.0\.weight$",
    ("resnext", "torchvision"): r"^layer1\.0\.downsample\.0\.weight$",
    ("resnext", "seed003"): r"^layer1\.0\.shortcut\.0\.weight$",
    ("resnext", "cadene"): r"^features\.4\.0\.0\.0\.0\.0\.weight$",
    ("xception", "seed004"): r"^block1\.rep\.0\.conv1\.weight$",
    ("xception", "cadene"): r"^last_linear\.weight$",
}
