#!/usr/bin/env python3
"""Proves that weightconv's canonical nets cover every implementation the fixtures come from.

For each implementation in tools/reference_nets/zoo.py: build it at fixture size with seeded random
weights and non-trivial BN statistics, rename its state_dict with the Python key mapping
(reference_nets/key_mapping.py), build the canonical net from the renamed SHAPES alone plus the layout's
behaviour, load strictly, and compare logits on the fixture input. A mapping that misses a key, a
canonical net that misreads a width, or a behaviour that differs (shuffle placement, ReLU placement,
stride placement, softmax) shows up as a failure.

Usage: /work/.venv-tools/bin/python tools/check_reference_nets.py [NAME ...]
Exit status 0 when every implementation matches within 1e-5 (max |diff| / max(1, max |logit|)).
"""
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

from reference_nets import key_mapping, zoo  # noqa: E402
from reference_nets.common import randomize_  # noqa: E402

TOLERANCE = 1e-5


def check(impl: zoo.Implementation, seed: int = 1) -> tuple[bool, str]:
    torch.manual_seed(seed)
    x = zoo.make_input(impl.input_kind, impl.input_size)
    model = randomize_(impl.build(10), seed, calibration=zoo.make_input(impl.input_kind, impl.input_size, 4, 99))
    with torch.no_grad():
        expected = model(x)
    mapping = key_mapping.MAPPINGS[(impl.family, impl.layout)]
    source = model.state_dict()
    renamed = {mapping(k): v for k, v in source.items()}
    if len(renamed) != len(source):
        return False, "two source keys map to one canonical key"
    shapes = {k: tuple(v.shape) for k, v in renamed.items()}
    net = zoo.canonical_net(impl.family, shapes, impl.behaviour).eval()
    missing, unexpected = net.load_state_dict(renamed, strict=False)
    if missing or unexpected:
        return False, f"missing {missing[:3]} unexpected {unexpected[:3]}"
    with torch.no_grad():
        got = net(x)
    if got.shape != expected.shape:
        return False, f"shape {tuple(got.shape)} vs {tuple(expected.shape)}"
    scale = max(1.0, expected.abs().max().item())
    diff = (got - expected).abs().max().item() / scale
    ok = diff <= TOLERANCE
    detail = f"max|diff|/scale = {diff:.2e} over {expected.numel()} logits (|logit| max {scale:.3g}), " \
             f"{len(source)} tensors"
    # Negative controls: every behaviour the layout declares must matter, or the check above proves
    # nothing about it. Flip each one and require the logits to move.
    inert = []
    for key, flipped in ALTERNATIVES.items():
        if key not in impl.behaviour or impl.behaviour[key] == flipped[impl.behaviour[key]]:
            continue
        wrong = dict(impl.behaviour, **{key: flipped[impl.behaviour[key]]})
        other = zoo.canonical_net(impl.family, shapes, wrong).eval()
        other.load_state_dict(renamed)
        with torch.no_grad():
            moved = (other(x) - expected).abs().max().item() / scale
        if moved <= 1e-4:
            inert.append(key)
    if inert:
        # Not a failure: e.g. with a ReLU'd stem every stride-2 unit's input is non-negative, so
        # relu(cat(pool(x), main)) == cat(pool(x), relu(main)). Reported so a reader sees what is untested.
        detail += f"; equivalent here either way: {inert}"
    return ok, detail


# The other value of each behaviour key (a value with no alternative maps to itself and is skipped).
ALTERNATIVES = {
    "stem_relu": {True: False, False: True},
    "shuffle_placement": {"after_compress": "after_depthwise", "after_depthwise": "after_compress"},
    "shuffle_order": {"paper": "megvii", "megvii": "paper"},
    "shuffle_first_unit": {True: False, False: True},
    "concat_relu": {"both": "main", "main": "both"},
    "output": {"logits": "softmax", "softmax": "logits"},
    "stride_on": {"conv1": "conv2", "conv2": "conv1"},
}


def main(names: list[str]) -> int:
    failures = 0
    for impl in zoo.IMPLEMENTATIONS:
        if names and impl.name not in names:
            continue
        try:
            ok, detail = check(impl)
        except Exception as error:  # a crash is a failure of that implementation, reported, not fatal
            ok, detail = False, f"{type(error).__name__}: {error}"
        failures += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {impl.family:14} {impl.layout:12} {impl.name:26} {detail}")
    print(f"{'all match' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
