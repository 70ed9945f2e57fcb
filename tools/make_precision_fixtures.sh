#!/usr/bin/env bash
# References for reduced-precision imports: the logits PyTorch computes from the weights rounded to
# f16 / bf16 exactly as `weightconv import --dtype` stores them (tools/make_reference.py --dtype).
#   bash tools/make_precision_fixtures.sh      (needs the tools venv: torch)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/work/.venv-tools/bin/python}
for case in mobilenetv2_torchvision xception_seed004; do
  dir=fixtures/layouts/$case
  for dtype in f16 bf16; do
    "$python" tools/make_reference.py "$dir/model.pth" --arch "$(python3 -c "import json;print(json.load(open('$dir/expected.json'))['family'])")" \
      --dtype "$dtype" --size "$(python3 -c "import json;print(json.load(open('$dir/expected.json'))['input_shape'][2])")" \
      -o "$dir/reference.$dtype.npz"
  done
done
