"""Writes fixtures/expected/<case>.json: the canonical state_dict keys and shapes of the standard
networks, as PyTorch builds them (no weights), for the `weightconv expect` tests.

    /work/.venv-tools/bin/python tools/make_expected_keys.py
"""
import json
import pathlib

import torch
import torchvision

from pretrainedmodels.models.xception import Xception  # Cadene's: the canonical Xception names (with fc)

OUT = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "expected"


def keys(model):
    # num_batches_tracked is a training counter the Swift networks never ask for.
    return [{"name": k, "shape": list(v.shape)} for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")]


def cadene_xception():
    model = Xception(num_classes=1000)
    # Cadene renames fc to last_linear only after loading pretrained weights; the class itself has fc.
    return model


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    cases = {
        "mobilenet_v2": (torchvision.models.mobilenet_v2(), ["mobilenet_v2"]),
        "mobilenet_v2_w0.5_c10": (torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=10),
                                  ["mobilenet_v2", "--width", "0.5", "--classes", "10"]),
        "resnext50_32x4d": (torchvision.models.resnext50_32x4d(), ["resnext"]),
        "resnext101_64x4d": (torchvision.models.resnext101_64x4d(), ["resnext", "--depth", "101", "--cardinality", "64"]),
        "xception": (cadene_xception(), ["xception"]),
    }
    for name, (model, arguments) in cases.items():
        record = {"generated_by": "tools/make_expected_keys.py", "torch": torch.__version__,
                  "torchvision": torchvision.__version__, "arguments": arguments, "keys": keys(model)}
        (OUT / f"{name}.json").write_text(json.dumps(record) + "\n")
        print(name, len(record["keys"]))


if __name__ == "__main__":
    main()
