#!/usr/bin/env python3
"""References for ImagePipeline: what each layout family's own Python pipeline makes of an image.

    /work/venv/bin/python tools/make_preprocess_fixtures.py

For every recipe below and every source image, the bytes the reference pipeline holds right before
ToTensor (after resize and centre crop; uint8 [H, W, 3], RGB) go to
fixtures/preprocess/<image>.<recipe>.npy. Sources are the scikit-learn photos as Pillow decodes them
(fixtures/images/photos/<name>.npy, written by tools/make_image_fixtures.py, read here through the
same JPEGs) and a few images of our own (fixtures/preprocess/images/*.png, written here): a noise
image, one more than twice as tall as wide (Pillow 13 then runs its vertical pass first), one small
enough that the crop pads it.

fixtures/preprocess/<recipe>.normalise.npy holds float32 [3, 256]: the pipeline's ToTensor/Normalize
tail on the 1x256 image whose pixel i is (i, i+85, i+170) mod 256, so every byte value goes through
every channel's normalisation once.

The pipelines are the libraries' own: torchvision.transforms (torchvision layouts and the seeds),
timm's create_transform from each model's pretrained configuration, Cadene's
pretrainedmodels.utils.TransformImage as its README uses it (default scale 0.875, not the model's
'scale' setting), and Megvii ShuffleNet-Series' OpencvResize + CenterCrop + ToBGRTensor (restated
here; cv2 does the resize).
"""
import json
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_nets  # noqa: E402,F401  (lets torchvision import without its compiled ops)
import torchvision  # noqa: E402

import cv2  # noqa: E402
import torch  # noqa: E402
from torchvision import transforms  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "preprocess")
PHOTOS = os.path.join(ROOT, "fixtures", "images", "photos")


class MegviiOpencvResize:
    """Megvii ShuffleNet-Series' eval resize: on the RGB array, shorter side to `size`, the longer
    int(size / short * long + 0.5), cv2.resize INTER_LINEAR (it flips to BGR and back around the
    call, which a per-channel resize does not notice)."""

    def __init__(self, size):
        self.size = size

    def __call__(self, img):
        a = np.asarray(img)
        h, w, _ = a.shape
        target = (int(self.size / h * w + 0.5), self.size) if h < w else (self.size, int(self.size / w * h + 0.5))
        return Image.fromarray(cv2.resize(a, target, interpolation=cv2.INTER_LINEAR))


class MegviiToBGRTensor:
    def __call__(self, img):
        a = np.ascontiguousarray(np.asarray(img)[:, :, ::-1].transpose(2, 0, 1))
        return torch.from_numpy(a).float()


def timm_transform(name):
    import timm
    from timm.data import create_transform, resolve_data_config
    model = timm.create_model(name, pretrained=False)
    return create_transform(**resolve_data_config({}, model=model)).transforms


def cadene_module(relative):
    """A pretrainedmodels module loaded by path: the package's __init__ pulls in its datasets, which
    need packages (six) that the transforms do not."""
    import importlib.util
    import sysconfig
    path = os.path.join(sysconfig.get_paths()["purelib"], "pretrainedmodels", relative)
    spec = importlib.util.spec_from_file_location("pretrainedmodels_" + relative.replace("/", "_")[:-3], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cadene_transform(name):
    utils = cadene_module("utils.py")
    settings = cadene_module(f"models/{name}.py").pretrained_settings[name]["imagenet"]
    opts = {k: settings[k] for k in ("input_size", "input_space", "input_range", "mean", "std")}
    return utils.TransformImage(opts).tf.transforms


def recipes():
    imagenet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    tv = lambda size, crop, interp, mean, std: [  # noqa: E731
        transforms.Resize(size, interpolation=interp), transforms.CenterCrop(crop),
        transforms.ToTensor(), transforms.Normalize(mean, std)]
    bilinear, bicubic = transforms.InterpolationMode.BILINEAR, transforms.InterpolationMode.BICUBIC
    return {
        # torchvision's ImageNet eval transform: torchvision layouts, the seeds, Cadene's ResNeXt
        # (TransformImage's floor(224 / 0.875) is also 256, bilinear).
        "torchvision": tv(256, 224, bilinear, *imagenet),
        "timm_mobilenetv2_100": timm_transform("mobilenetv2_100"),
        "timm_legacy_xception": timm_transform("legacy_xception"),
        "cadene_xception": cadene_transform("xception"),
        "megvii": [MegviiOpencvResize(256), transforms.CenterCrop(224), MegviiToBGRTensor()],
        # The digits networks (tools/train_digits.py).
        "digits": tv(32, 32, bilinear, [0.5] * 3, [0.5] * 3),
    }


def split(steps):
    """(resize and crop, the tensor tail)."""
    for i, step in enumerate(steps):
        if not isinstance(step, (transforms.Resize, transforms.CenterCrop, MegviiOpencvResize)):
            return transforms.Compose(steps[:i]), transforms.Compose(steps[i:])
    raise ValueError("no tensor step")


def own_images():
    rng = np.random.default_rng(14)
    noise = rng.integers(0, 256, (61, 97, 3), dtype=np.uint8)
    y, x = np.mgrid[0:250, 0:90]
    tall = np.stack([(x * 255 // 89), (y * 255 // 249), ((x + y) * 3) % 256], -1).astype(np.uint8)
    tall = np.clip(tall.astype(int) + rng.integers(-20, 21, tall.shape), 0, 255).astype(np.uint8)
    small = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    return {"noise97x61": noise, "tall90x250": tall, "small30x20": small}


# Each reference is a whole crop (150–270 KB), so each image meets the recipes that exercise
# something it has: the photos every ImageNet recipe (one of them also timm's MobileNetV2), the noise
# image upscaling by Pillow and OpenCV, the tall one Pillow's vertical-first order (both filters),
# the small one the digits' 32-pixel resize and the padding crop.
recipes_for_photos = ("torchvision", "timm_legacy_xception", "cadene_xception", "megvii")
WHICH = {
    "china": recipes_for_photos + ("timm_mobilenetv2_100",),
    "noise97x61": ("torchvision", "megvii"),
    "tall90x250": ("torchvision", "timm_legacy_xception"),
    "small30x20": ("digits",),
}


def main():
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    sources = {}
    for name in ("china", "flower"):
        path = os.path.join(PHOTOS, f"{name}.jpg")
        if os.path.exists(path):
            sources[name] = Image.open(path).convert("RGB")
        else:
            print(f"note: {path} missing (tools/make_image_fixtures.py writes it); skipping {name}")
    for name, pixels in own_images().items():
        path = os.path.join(OUT, "images", f"{name}.png")
        Image.fromarray(pixels).save(path, compress_level=9)
        sources[name] = Image.open(path).convert("RGB")

    summary = {"torch": torch.__version__, "torchvision": torchvision.__version__,
               "pillow": Image.__version__, "opencv": cv2.__version__, "recipes": {}}
    ramp = np.stack([np.arange(256), (np.arange(256) + 85) % 256, (np.arange(256) + 170) % 256], -1)
    ramp = Image.fromarray(ramp.reshape(1, 256, 3).astype(np.uint8))
    for recipe, steps in recipes().items():
        geometry, tail = split(steps)
        # Objects without a useful repr by class name (their default repr holds an address).
        summary["recipes"][recipe] = [type(s).__name__ if repr(s).startswith("<") else repr(s) for s in steps]
        table = tail(ramp).numpy().reshape(3, 256).astype(np.float32)
        np.save(os.path.join(OUT, f"{recipe}.normalise.npy"), table)
        for name, image in sources.items():
            if recipe not in WHICH.get(name, recipes_for_photos):
                continue
            out = np.asarray(geometry(image), dtype=np.uint8)
            np.save(os.path.join(OUT, f"{name}.{recipe}.npy"), out)
    # torchvision's CenterCrop pads an image smaller than the crop (zeros, the odd pixel after).
    small = sources["small30x20"]
    np.save(os.path.join(OUT, "small30x20.crop41x25.npy"),
            np.asarray(transforms.CenterCrop((25, 41))(small), dtype=np.uint8))
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
