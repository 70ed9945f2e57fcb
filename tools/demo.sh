#!/usr/bin/env bash
# The main job on the embedded example, from a fresh clone: installs what is missing, builds
# weightconv, imports a trained MobileNetV2 (torchvision's code, trained on scikit-learn's
# handwritten digits by tools/train_digits.py) with PyTorch's reference logits, verifies the
# written file, and classifies committed test images, next to what PyTorch predicted for them.
#
#   bash tools/demo.sh [MODEL.pth REFERENCE.npz]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
model=${1:-fixtures/digits/mobilenet_v2_digits.pth}
reference=${2:-fixtures/digits/mobilenet_v2_digits.reference.npz}

echo "demo: building weightconv (release)"
swift build -c release --product weightconv 2>&1 | grep -E "error|Compiling weightconv|Build of product" || true
bin=.build/release/weightconv
[ -x "$bin" ] || { echo "demo: the build failed"; exit 1; }

out=$(mktemp -d /tmp/weightconv-demo.XXXXXX)
trap 'rm -rf "$out"' EXIT

echo
echo "\$ weightconv import $model --arch auto --reference $reference --labels … --preprocessing … -o digits.wcv"
"$bin" import "$model" --arch auto --reference "$reference" \
  --labels fixtures/digits/labels.txt --preprocessing fixtures/digits/preprocessing.json -o "$out/digits.wcv"

echo
echo "\$ weightconv verify digits.wcv"
"$bin" verify "$out/digits.wcv"

images=(fixtures/digits/test/3/0045.png fixtures/digits/test/7/*.png)
images=("${images[@]:0:4}")
echo
echo "\$ weightconv classify digits.wcv ${images[*]} --top 2"
"$bin" classify "$out/digits.wcv" "${images[@]}" --top 2

echo
echo "PyTorch's predictions for the same images (fixtures/digits/*.reference.json):"
python3 - "$model" "${images[@]}" <<'PY'
import json, sys
from pathlib import Path
model = Path(sys.argv[1])
record = json.loads(model.with_name(model.stem + ".reference.json").read_text())
predicted = dict(zip(record["images"], record["top1"]))
for image in sys.argv[2:]:
    key = str(Path(image).relative_to("fixtures/digits"))
    print(f"  {image}: {record['classes'][predicted[key]]}")
PY
