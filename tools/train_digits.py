#!/usr/bin/env python3
"""Weights that learned something: scikit-learn's handwritten digits as PNG files in torchvision's
ImageFolder layout, two small networks trained on them with their real implementations, and
PyTorch's predictions on the held-out test split.

    /work/venv/bin/python tools/train_digits.py            # everything below, a few minutes on one CPU

Writes (committed):
  fixtures/digits/test/<class>/<index>.png    the test split (360 images, 8x8 8-bit greyscale PNG)
  fixtures/digits/labels.txt                  class names, one per line ("0".."9"), for import --labels
  fixtures/digits/preprocessing.json          the recipe below, for import --preprocessing
  fixtures/digits/<model>.pth                 state_dicts (torchvision mobilenet_v2 width 0.1; seed 001 ShuffleNet)
  fixtures/digits/<model>.reference.json      preprocessing recipe, every test image's PyTorch top-1, accuracy
  fixtures/digits/<model>.logits.npy          [N, 10] float32 PyTorch logits, rows in the JSON's image order
and the train split under --train-dir (default /tmp/weightconv-digits-train; regenerated identically
from the same scikit-learn data, so it stays out of git).

The preprocessing is torchvision's eval transform at digit scale: Resize(32) (Pillow bilinear),
CenterCrop(32), ToTensor, Normalize(0.5, 0.5). ImageFolder's loader opens each file with Pillow and
convert('RGB')s it, so the networks see three identical channels.
"""
import argparse
import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference_nets.seed001_shufflenet import ShuffleNet  # noqa: E402  (reference_nets also lets torchvision import without its compiled ops)
import torchvision  # noqa: E402

from torchvision import datasets, transforms  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "digits")
SIZE = 32
MEAN = [0.5, 0.5, 0.5]
STD = [0.5, 0.5, 0.5]

RECIPE = {
    "kind": "torchvision",
    "resize": SIZE,
    "crop": [SIZE, SIZE],
    "interpolation": "bilinear",
    "mean": MEAN,
    "std": STD,
    "python": "Resize(32, BILINEAR), CenterCrop(32), ToTensor(), Normalize([0.5]*3, [0.5]*3) on Image.open(f).convert('RGB')",
}


def transform():
    return transforms.Compose([
        transforms.Resize(SIZE, interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.CenterCrop(SIZE),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])


def write_split(images, targets, indices, directory):
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    for c in range(10):
        os.makedirs(os.path.join(directory, str(c)))
    for i in indices:
        # 0..16 ink levels to 0..255, rounded half up in integers.
        pixels = ((images[i].astype(np.int64) * 255 + 8) // 16).astype(np.uint8)
        Image.fromarray(pixels, mode="L").save(os.path.join(directory, str(targets[i]), f"{i:04d}.png"),
                                               optimize=False, compress_level=9)


def make_splits(train_dir):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    indices = np.arange(len(digits.target))
    train, test = train_test_split(indices, test_size=0.2, random_state=0, stratify=digits.target)
    write_split(digits.images, digits.target, sorted(test), os.path.join(OUT, "test"))
    write_split(digits.images, digits.target, sorted(train), train_dir)
    with open(os.path.join(OUT, "labels.txt"), "w") as f:
        f.write("".join(f"{c}\n" for c in range(10)))
    # The same recipe for `weightconv import --preprocessing` (a layout file's "preprocessing" member).
    with open(os.path.join(OUT, "preprocessing.json"), "w") as f:
        json.dump({"inputSize": [SIZE, SIZE], "channelOrder": "RGB", "pixelScale": 255, "mean": MEAN, "std": STD,
                   "resizeSize": SIZE, "resizeMethod": "torchvision", "interpolation": "bilinear"}, f, indent=1)
        f.write("\n")


MODELS = {
    # width 0.1: 0.5 MB, most of it the 1280-wide last convolution torchvision keeps at any width.
    "mobilenet_v2_digits": (lambda: torchvision.models.mobilenet_v2(width_mult=0.1, num_classes=10),
                            "torchvision.models.mobilenet_v2(width_mult=0.1, num_classes=10)", 0.01, 8),
    "shufflenet_seed001_digits": (lambda: ShuffleNet(groups=3, num_classes=10, width_divisor=4),
                                  "tools/reference_nets/seed001_shufflenet.py ShuffleNet(groups=3, num_classes=10, width_divisor=4)",
                                  0.01, 6),
}


def train(name, train_dir, test_set, epochs_override=None):
    build, description, lr, epochs = MODELS[name]
    epochs = epochs_override or epochs
    torch.manual_seed(0)
    model = build()
    # No augmentation, so every image is decoded and transformed once, not once per epoch.
    train_set = datasets.ImageFolder(train_dir, transform=transform())
    inputs = torch.stack([train_set[i][0] for i in range(len(train_set))])
    targets = torch.tensor(train_set.targets)
    generator = torch.Generator().manual_seed(0)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(inputs, targets), batch_size=64,
                                         shuffle=True, generator=generator)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs * len(loader))
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for x, y in loader:
            optimiser.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(y)
        print(f"{name} epoch {epoch + 1}: loss {total / len(train_set):.4f}", flush=True)
    model.eval()
    torch.save(model.state_dict(), os.path.join(OUT, f"{name}.pth"))

    images = [os.path.relpath(path, OUT) for path, _ in test_set.samples]
    labels = [label for _, label in test_set.samples]
    with torch.no_grad():
        batch = torch.stack([test_set[i][0] for i in range(len(test_set))])
        logits = model(batch).float()
    np.save(os.path.join(OUT, f"{name}.logits.npy"), logits.numpy().astype(np.float32))
    top1 = logits.argmax(1).tolist()
    ranked = torch.sort(logits, 1, descending=True).values
    margins = (ranked[:, 0] - ranked[:, 1]).tolist()
    correct = sum(int(p == t) for p, t in zip(top1, labels))
    top5 = sum(int(t in torch.topk(logits[i], 5).indices.tolist()) for i, t in enumerate(labels))
    reference = {
        "model": description,
        "checkpoint": f"{name}.pth",
        "preprocessing": RECIPE,
        "classes": test_set.classes,
        "images": images,
        "targets": labels,
        "top1": top1,
        "top1_correct": correct,
        "top5_correct": top5,
        "count": len(images),
        "accuracy": correct / len(images),
        "smallest_top1_margin": min(margins),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
    }
    with open(os.path.join(OUT, f"{name}.reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(f"{name}: top-1 {correct}/{len(images)} = {correct / len(images):.4f}, top-5 {top5}/{len(images)}, "
          f"smallest top-1 margin {min(margins):.4f}, checkpoint {os.path.getsize(os.path.join(OUT, name + '.pth'))} bytes")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train-dir", default="/tmp/weightconv-digits-train")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--epochs", type=int, help="instead of each model's own count")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(OUT, exist_ok=True)
    make_splits(args.train_dir)
    test_set = datasets.ImageFolder(os.path.join(OUT, "test"), transform=transform())
    for name in args.models:
        train(name, args.train_dir, test_set, args.epochs)


if __name__ == "__main__":
    main()
