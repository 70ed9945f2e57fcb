#!/usr/bin/env python3
"""Golden tensors for every TensorEngine operator, computed by PyTorch.

Writes fixtures/ops/<case>/: the operands as .npy (float32), `expected.npy`, `params.json` (what the
Swift test needs to rebuild the call) and `snippet.py` (the exact PyTorch expression that produced
`expected`, which the Swift tests cite). Sizes, strides, paddings and dilations are deliberately odd.

Usage: /work/.venv-tools/bin/python tools/make_op_fixtures.py   (deterministic: fixed seeds)
Budget: well under 1 MB in total.
"""
import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "ops"
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def rand(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


def conv_case(name, n, c, h, w, out, k, stride, padding, dilation, groups, bias, seed):
    def fn():
        x = rand(n, c, h, w, seed=seed)
        weight = rand(out, c // groups, k, k, seed=seed + 1) * 0.3
        b = rand(out, seed=seed + 2) if bias else None
        y = F.conv2d(x, weight, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
        tensors = {"input": x, "weight": weight, "expected": y}
        if b is not None:
            tensors["bias"] = b
        return tensors, {"op": "conv2d", "stride": list(_pair(stride)), "padding": list(_pair(padding)),
                         "dilation": list(_pair(dilation)), "groups": groups}
    fn.__name__ = name
    CASES[name] = fn


def _pair(v):
    return v if isinstance(v, tuple) else (v, v)


# Convolutions: dense, strided, dilated, asymmetric, grouped (ResNeXt/ShuffleNet), depthwise (MobileNetV2/Xception).
conv_case("conv_dense_s2_p1", 2, 3, 11, 13, 5, 3, 2, 1, 1, 1, True, 10)
conv_case("conv_stem_7x7_s2_p3", 1, 3, 17, 15, 4, 7, 2, 3, 1, 1, False, 20)
conv_case("conv_dilated_d2_p2", 2, 4, 9, 10, 3, 3, 1, 2, 2, 1, True, 30)
conv_case("conv_asymmetric_stride_padding", 1, 4, 10, 9, 6, 3, (2, 1), (1, 0), 1, 2, True, 40)
conv_case("conv_grouped_g4", 2, 8, 7, 9, 12, 3, 1, 1, 1, 4, False, 50)
conv_case("conv_grouped_g4_s2", 1, 8, 9, 9, 8, 3, 2, 1, 1, 4, False, 55)
# Groups of 10 inputs and 11 outputs over rows wider than 16 (the AVX-512 grouped kernel: a block of
# eight filters and a remainder of three, several column blocks, both strides).
conv_case("conv_grouped_g2_wide", 1, 20, 11, 37, 22, 3, 1, 1, 1, 2, True, 57)
conv_case("conv_grouped_g2_wide_s2", 2, 20, 12, 35, 22, 3, 2, 1, 1, 2, True, 58)
# 3-channel stems (one group, run by the same direct kernel): several column blocks, two blocks of
# eight filters and a remainder, padding 1 (MobileNetV2, ShuffleNet v1) and 0 (Xception); at batch 1
# with two threads the output rows are cut into bands, one per thread.
conv_case("conv_stem_s2_wide", 1, 3, 23, 37, 20, 3, 2, 1, 1, 1, True, 21)
conv_case("conv_stem_s2_p0", 2, 3, 21, 35, 10, 3, 2, 0, 1, 1, False, 22)
# Outputs a whole number of 8-wide blocks (16), a block of 8 output channels and one more, and 10
# output rows (bands of 4, 4 and 2): the last block's taps reach the end of the split rows.
conv_case("conv_stem_s2_whole_blocks", 1, 3, 19, 32, 9, 3, 2, 1, 1, 1, True, 23)
conv_case("conv_pointwise_g3", 2, 12, 5, 7, 9, 1, 1, 0, 1, 3, True, 60)
conv_case("conv_pointwise_s2", 1, 6, 9, 7, 10, 1, 2, 0, 1, 1, False, 70)
conv_case("conv_depthwise_s1", 2, 6, 10, 7, 6, 3, 1, 1, 1, 6, True, 80)
conv_case("conv_depthwise_s2_odd", 1, 5, 9, 11, 5, 3, 2, 1, 1, 5, False, 90)
conv_case("conv_depthwise_s1_wide", 1, 4, 5, 21, 4, 3, 1, 1, 1, 4, True, 96)
conv_case("conv_depthwise_s2_wide", 1, 3, 7, 37, 3, 3, 2, 1, 1, 3, True, 97)
# Even paddings put the first input column on an even padded column, odd paddings on an odd one:
# the fast stride-2 3x3 kernel splits rows into even and odd columns, so both parities are covered.
conv_case("conv_depthwise_s2_p0", 1, 3, 8, 35, 3, 3, 2, 0, 1, 3, True, 98)
conv_case("conv_depthwise_s2_p2", 1, 2, 7, 34, 2, 3, 2, 2, 1, 2, False, 99)
conv_case("conv_depthwise_5x5_d2", 1, 3, 12, 12, 3, 5, 1, 4, 2, 3, True, 95)
# Rows of 64 columns and more at stride 1: the AVX-512 kernel (and the AVX2 one from 17 columns)
# runs them row by row from a ring of padded rows; a last partial block (67 = 4·16 + 3 = 8·8 + 3)
# and a wider padding (2, output wider than the input).
conv_case("conv_depthwise_s1_rows", 1, 3, 6, 67, 3, 3, 1, 1, 1, 3, True, 93)
conv_case("conv_depthwise_s1_rows_p2", 2, 2, 5, 66, 2, 3, 1, 2, 1, 2, True, 94)


@case
def batchnorm_eps():
    x = rand(2, 5, 4, 3, seed=100)
    mean, var = rand(5, seed=101) * 0.5, rand(5, seed=102).abs() + 0.2
    gamma, beta = rand(5, seed=103), rand(5, seed=104)
    y = F.batch_norm(x, mean, var, gamma, beta, training=False, eps=1e-3)
    return {"input": x, "mean": mean, "var": var, "gamma": gamma, "beta": beta, "expected": y}, {"op": "batch_norm", "eps": 1e-3}


@case
def relu():
    x = rand(2, 3, 4, 5, seed=110) * 4
    return {"input": x, "expected": F.relu(x)}, {"op": "relu"}


@case
def relu6():
    x = rand(2, 3, 4, 5, seed=120) * 5
    return {"input": x, "expected": F.relu6(x)}, {"op": "relu6"}


def pool_case(name, kind, n, c, h, w, k, s, p, ceil, include_pad=True, dilation=1, seed=0):
    def fn():
        x = rand(n, c, h, w, seed=seed)
        if kind == "max":
            y = F.max_pool2d(x, k, s, p, dilation=dilation, ceil_mode=ceil)
        else:
            y = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=include_pad)
        return {"input": x, "expected": y}, {"op": f"{kind}_pool2d", "kernel": k, "stride": s, "padding": p,
                                             "dilation": dilation, "ceil_mode": ceil, "count_include_pad": include_pad}
    fn.__name__ = name
    CASES[name] = fn


pool_case("maxpool_3_s2_p1", "max", 2, 3, 11, 12, 3, 2, 1, False, seed=130)
# ceil_mode: 5 + 2·1 − 1 − 1 + (2 − 1) = 6, 6/2 + 1 = 4 windows, but the 4th would start at 6 ≥ 5 + 1
# (in the right padding), so PyTorch keeps 3.
pool_case("maxpool_ceil_last_window_rule", "max", 1, 2, 5, 5, 2, 2, 1, True, seed=140)
pool_case("maxpool_ceil_extra_window", "max", 1, 2, 8, 9, 3, 2, 0, True, seed=145)
pool_case("maxpool_3_s2_p1_wide", "max", 1, 3, 9, 41, 3, 2, 1, False, seed=147)
# Stride 1 (the AVX-512 3×3 kernel's other path; rows wider than one 16-lane vector).
pool_case("maxpool_3_s1_p1", "max", 1, 3, 9, 37, 3, 1, 1, False, seed=148)
pool_case("avgpool_3_s1_p1_include_pad", "avg", 1, 3, 10, 21, 3, 1, 1, False, True, seed=165)
pool_case("maxpool_dilated", "max", 1, 2, 10, 11, 3, 1, 1, False, dilation=2, seed=150)
pool_case("avgpool_3_s2_p1_include_pad", "avg", 2, 3, 9, 10, 3, 2, 1, False, True, seed=160)
pool_case("avgpool_3_s2_p1_exclude_pad", "avg", 2, 3, 9, 10, 3, 2, 1, False, False, seed=170)
# Stride 2 over rows wide enough (21 outputs) for the AVX2 kernel's ring of padded rows.
pool_case("avgpool_3_s2_p1_wide", "avg", 1, 3, 9, 41, 3, 2, 1, False, True, seed=175)
pool_case("avgpool_ceil_include_pad", "avg", 1, 2, 8, 7, 3, 2, 1, True, True, seed=180)
pool_case("avgpool_ceil_exclude_pad", "avg", 1, 2, 8, 7, 3, 2, 1, True, False, seed=190)


@case
def adaptive_avgpool_3x2():
    x = rand(2, 3, 7, 5, seed=200)
    return {"input": x, "expected": F.adaptive_avg_pool2d(x, (3, 2))}, {"op": "adaptive_avg_pool2d", "output": [3, 2]}


@case
def global_avgpool():
    x = rand(2, 4, 5, 3, seed=210)
    return {"input": x, "expected": torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)}, {"op": "global_avg_pool"}


@case
def linear_bias():
    x, w, b = rand(3, 7, seed=220), rand(5, 7, seed=221), rand(5, seed=222)
    return {"input": x, "weight": w, "bias": b, "expected": F.linear(x, w, b)}, {"op": "linear"}


@case
def shuffle_paper_g3():
    x = rand(2, 12, 3, 2, seed=230)
    b, c, h, w = x.shape
    y = x.view(b, 3, c // 3, h, w).transpose(1, 2).contiguous().view(b, -1, h, w)
    return {"input": x, "expected": y}, {"op": "channel_shuffle", "groups": 3, "permutation": "groupsFirst"}


@case
def shuffle_megvii_g3():
    x = rand(2, 12, 3, 2, seed=240)
    b, c, h, w = x.shape
    y = x.reshape(b, c // 3, 3, h, w).permute(0, 2, 1, 3, 4).reshape(b, c, h, w)
    return {"input": x, "expected": y}, {"op": "channel_shuffle", "groups": 3, "permutation": "groupsLast"}


@case
def concat_channels():
    a, b = rand(2, 3, 4, 5, seed=250), rand(2, 2, 4, 5, seed=251)
    return {"input": a, "other": b, "expected": torch.cat((a, b), 1)}, {"op": "cat"}


@case
def add_residual():
    a, b = rand(2, 3, 4, 5, seed=260), rand(2, 3, 4, 5, seed=261)
    return {"input": a, "other": b, "expected": a + b}, {"op": "add"}


@case
def softmax_dim1():
    x = rand(3, 10, seed=270) * 8
    return {"input": x, "expected": F.softmax(x, dim=1)}, {"op": "softmax"}


@case
def flatten_from_1():
    x = rand(2, 3, 2, 2, seed=280)
    return {"input": x, "expected": torch.flatten(x, 1)}, {"op": "flatten"}


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    for name, fn in CASES.items():
        tensors, params = fn()
        directory = ROOT / name
        directory.mkdir(parents=True)
        for key, value in tensors.items():
            np.save(directory / f"{key}.npy", value.detach().numpy().astype(np.float32))
        (directory / "params.json").write_text(json.dumps(params, indent=1, sort_keys=True) + "\n")
        source = inspect.getsource(fn) if fn.__qualname__ == name else inspect.getsource(
            conv_case if params["op"] == "conv2d" else pool_case)
        (directory / "snippet.py").write_text(f"# case {name}: {json.dumps(params, sort_keys=True)}\n{source}")
    print(f"{len(CASES)} cases in {ROOT}")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
