"""Helpers shared by the fixture scripts: deterministic random weights with non-trivial batch-norm
statistics, width scaling of third-party code, flattening of checkpoint objects into reader keys."""
from __future__ import annotations

import contextlib
import inspect
import math

import torch
import torch.nn as nn


def randomize_(model: nn.Module, seed: int, calibration: torch.Tensor | None = None) -> nn.Module:
    """Replaces every parameter and BN buffer with seeded random values and puts the model in eval mode.

    Conv/linear weights are N(0, 2/fan_in), biases N(0, 0.1). Batch-norm statistics are first measured
    on `calibration` (a random batch run in train mode), so activations stay O(1) through deep residual
    nets — a fixture whose logits are 1e6 or saturate a softmax proves little — and then perturbed:
    running_mean shifted by N(0, 0.2) standard deviations, running_var scaled by U(0.7, 1.4), gamma in
    U(0.5, 1.5), beta N(0, 0.2). A conversion that drops or swaps any BN tensor changes the logits.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                w = module.weight
                fan_in = w[0].numel() if w.dim() > 1 else 1
                w.copy_(torch.randn(w.shape, generator=g) * math.sqrt(2.0 / max(fan_in, 1)))
                if module.bias is not None:
                    module.bias.copy_(torch.randn(module.bias.shape, generator=g) * 0.1)
        bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        if calibration is not None:
            momenta = [m.momentum for m in bns]
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batch
            model.train()
            model(calibration)
            for m, momentum in zip(bns, momenta):
                m.momentum = momentum
        for m in bns:
            c = m.num_features
            std = m.running_var.clamp_min(1e-3).sqrt()
            m.running_mean.add_(torch.randn(c, generator=g) * 0.2 * std)
            m.running_var.mul_(torch.rand(c, generator=g) * 0.7 + 0.7)
            if calibration is None:
                m.running_var.add_(0.5)
            if m.weight is not None:
                m.weight.copy_(torch.rand(c, generator=g) + 0.5)
                m.bias.copy_(torch.randn(c, generator=g) * 0.2)
            if m.num_batches_tracked is not None:
                m.num_batches_tracked.fill_(1000 + seed)
    return model.eval()


@contextlib.contextmanager
def scaled_torch_nn(divisor: int):
    """Divides every channel count passed to nn.Conv2d / nn.BatchNorm2d / nn.Linear by `divisor` while
    third-party code that hard-codes full widths (Cadene's Xception and ResNeXt, timm's Xception) builds
    its modules. Names and structure are untouched; 3 input channels (the image) stay 3; groups scale
    with the channels (depthwise stays depthwise, 32 groups of 4 become 32/divisor groups of 4)."""
    orig = {name: getattr(nn, name) for name in ("Conv2d", "BatchNorm2d", "Linear")}
    conv_sig = inspect.signature(orig["Conv2d"].__init__)

    def s(c: int) -> int:
        if c == 3:
            return 3
        if c % divisor:
            raise ValueError(f"{c} channels are not divisible by {divisor}")
        return c // divisor

    # Subclasses rather than functions, so that `isinstance(m, nn.Conv2d)` in the code being built works.
    class Conv2d(orig["Conv2d"]):
        def __init__(self, *args, **kwargs):
            bound = conv_sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            a = bound.arguments
            groups = a["groups"]
            if groups > 1:
                a["groups"] = s(groups) if groups == a["in_channels"] else max(groups // divisor, 1)
            a["in_channels"], a["out_channels"] = s(a["in_channels"]), s(a["out_channels"])
            super().__init__(*bound.args[1:], **bound.kwargs)

    class BatchNorm2d(orig["BatchNorm2d"]):
        def __init__(self, num_features, *args, **kwargs):
            super().__init__(s(num_features), *args, **kwargs)

    class Linear(orig["Linear"]):
        def __init__(self, in_features, out_features, *args, **kwargs):
            super().__init__(s(in_features), out_features, *args, **kwargs)

    nn.Conv2d, nn.BatchNorm2d, nn.Linear = Conv2d, BatchNorm2d, Linear
    try:
        yield
    finally:
        for name, cls in orig.items():
            setattr(nn, name, cls)


def flatten_tensors(obj, prefix: str = "") -> list[tuple[str, torch.Tensor]]:
    """Tensor leaves of a checkpoint object, keyed the way weightconv's reader names them: dict keys
    and list indices joined with '.', in insertion order."""
    out: list[tuple[str, torch.Tensor]] = []
    if isinstance(obj, torch.Tensor):
        out.append((prefix[:-1], obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out.extend(flatten_tensors(v, f"{prefix}{k}."))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            out.extend(flatten_tensors(v, f"{prefix}{i}."))
    return out


DTYPE_NAMES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16", torch.float64: "f64",
               torch.int64: "i64", torch.int32: "i32", torch.uint8: "u8", torch.bool: "bool"}
