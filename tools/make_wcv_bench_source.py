"""A ResNeXt-50 (32x4d) sized safetensors file for the .wcv benchmarks (random init, nothing downloaded).
Usage: make_wcv_bench_source.py OUT.safetensors"""
import sys

import torch
import torchvision
from safetensors.torch import save_file

torch.manual_seed(0)
model = torchvision.models.resnext50_32x4d(weights=None)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, sys.argv[1], metadata={"format": "pt"})
