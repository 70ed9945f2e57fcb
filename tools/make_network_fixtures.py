#!/usr/bin/env python3
"""Network fixtures for the Swift engine tests: each implementation at fixture size, with seeded random
weights and non-trivial batch-norm statistics, renamed to weightconv's canonical keys.

For each case, fixtures/networks/<case>/ holds
    weights.safetensors  the ORIGINAL implementation's state_dict renamed to canonical keys (float32;
                         num_batches_tracked dropped: inference does not read it)
    input.npy            [2, 3, S, S] float32
    logits.npy           what the ORIGINAL implementation (not the canonical restatement) returns
    config.json          family, behaviour (the Swift behaviour keys), source, input shape
and fixtures/networks/full_size/<name>.json lists {canonical key: shape} of the full-size networks the
Swift configurations must reproduce exactly (no weights).

The implementations, their fixture-size builds, the key mappings and the weight randomization are the
python helper's (tools/reference_nets: zoo.py, key_mapping.py, common.py).

Usage: /work/.venv-tools/bin/python tools/make_network_fixtures.py    Budget: under 12 MB in total.
"""
import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore")

from reference_nets import key_mapping, megvii_shufflenet_v1, zoo  # noqa: E402
from reference_nets.common import randomize_  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "networks"

CASES = ["seed001", "megvii", "megvii_g8", "seed000", "mmpretrain",
         "torchvision_mobilenet_v2", "seed002",
         "torchvision_resnext", "seed003",
         "seed004"]


def swift_behaviour(family: str, b: dict) -> dict:
    """The python helper's behaviour names → the Swift configurations' behaviour keys."""
    out = {}
    if "bn_eps" in b:
        out["eps"] = b["bn_eps"]
    if family == "resnext" and "stride_on" in b:
        out["stridePlacement"] = b["stride_on"]
    if family == "shufflenet_v1":
        out["stemActivation"] = "relu" if b["stem_relu"] else "identity"
        out["shufflePlacement"] = {"after_compress": "afterCompress", "after_depthwise": "afterDepthwise"}[b["shuffle_placement"]]
        out["shufflePermutation"] = {"paper": "groupsFirst", "megvii": "groupsLast"}[b["shuffle_order"]]
        out["shuffleAfterUngroupedCompress"] = b["shuffle_first_unit"]
        out["concatActivation"] = {"both": "all", "main": "mainBranch"}[b["concat_relu"]]
        out["outputSoftmax"] = b["output"] == "softmax"
    return out


def canonical_state(impl, model) -> dict:
    mapping = key_mapping.MAPPINGS[(impl.family, impl.layout)]
    out = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue
        name = mapping(key)
        assert name not in out, f"{impl.name}: two keys map to {name}"
        out[name] = value.detach().float().contiguous().numpy()
    return out


def make_case(name: str, seed: int = 1):
    impl = zoo.BY_NAME[name]
    torch.manual_seed(seed)
    x = zoo.make_input(impl.input_kind, impl.input_size)
    model = randomize_(impl.build(10), seed, calibration=zoo.make_input(impl.input_kind, impl.input_size, 4, 99))
    with torch.no_grad():
        logits = model(x)
    directory = ROOT / name
    directory.mkdir(parents=True)
    save_file(canonical_state(impl, model), str(directory / "weights.safetensors"))
    np.save(directory / "input.npy", x.numpy().astype(np.float32))
    np.save(directory / "logits.npy", logits.numpy().astype(np.float32))
    config = {"family": impl.family, "implementation": impl.name, "source": impl.source, "width": impl.width_note,
              "behaviour": swift_behaviour(impl.family, impl.behaviour), "input_shape": list(x.shape),
              "snippet": "model = randomize_(impl.build(10), seed=1, calibration=make_input(kind, size, 4, 99)); "
                         "logits = model(make_input(kind, size))  # tools/make_network_fixtures.py make_case"}
    (directory / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    size = sum(f.stat().st_size for f in directory.iterdir())
    print(f"{name:28s} {size / 1e6:6.2f} MB  logits |max| {logits.abs().max().item():.3g}")


FULL_SIZE = {
    "xception": ("seed004", lambda: zoo.BY_NAME["seed004"].build_full(1000)),
    "mobilenet_v2_1.0": ("torchvision_mobilenet_v2", lambda: zoo.BY_NAME["torchvision_mobilenet_v2"].build_full(1000)),
    "shufflenet_v1_g3_paper": ("seed001", lambda: zoo.BY_NAME["seed001"].build_full(1000)),
    "shufflenet_v1_g3_megvii_1.0x": ("megvii", lambda: megvii_shufflenet_v1.ShuffleNetV1(n_class=1000, model_size="1.0x", group=3)),
    "shufflenet_v1_g8_megvii_1.0x": ("megvii", lambda: megvii_shufflenet_v1.ShuffleNetV1(n_class=1000, model_size="1.0x", group=8)),
    "resnext50_32x4d": ("torchvision_resnext", lambda: zoo.BY_NAME["torchvision_resnext"].build_full(1000)),
}


def main():
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    for name in CASES:
        make_case(name)
    (ROOT / "full_size").mkdir()
    for name, (impl_name, build) in FULL_SIZE.items():
        impl = zoo.BY_NAME[impl_name]
        model = build()
        mapping = key_mapping.MAPPINGS[(impl.family, impl.layout)]
        shapes = {mapping(k): list(v.shape) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
        (ROOT / "full_size" / f"{name}.json").write_text(json.dumps(shapes, indent=0) + "\n")
        print(f"full size {name}: {len(shapes)} tensors")
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
