#!/usr/bin/env bash
# The references the demo (tools/demo.sh) imports the trained digits networks with: PyTorch's logits
# for four seeded noise inputs at the networks' 32×32 size, from the original implementations
# (tools/make_reference.py). Needs the tools venv (torch): /work/.venv-tools/bin/python by default.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-/work/.venv-tools/bin/python}
"$python" tools/make_reference.py fixtures/digits/mobilenet_v2_digits.pth --arch mobilenet_v2 --size 32 --batch 4 \
  -o fixtures/digits/mobilenet_v2_digits.reference.npz
"$python" tools/make_reference.py fixtures/digits/shufflenet_seed001_digits.pth --arch shufflenet_v1 --size 32 --batch 4 \
  -o fixtures/digits/shufflenet_seed001_digits.reference.npz
