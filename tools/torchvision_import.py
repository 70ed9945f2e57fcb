"""`from torchvision_import import torchvision`: torchvision's pure-Python parts (models, transforms,
datasets) even where its compiled operators do not load.

A torchvision wheel built for another torch variant (the CUDA wheel next to torch's CPU wheel) fails at
import time registering fake kernels for operators (nms, roi_align…) its missing _C.so would define.
The fixture tools never call those operators, so the registration is skipped when it is the problem.
"""
import torch

try:
    import torchvision  # noqa: F401
except RuntimeError as error:
    if "torchvision::" not in str(error):
        raise
    import sys
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    _register_fake = torch.library.register_fake
    torch.library.register_fake = lambda *args, **kwargs: (lambda function: function)
    try:
        import torchvision  # noqa: F401
    finally:
        torch.library.register_fake = _register_fake

__all__ = ["torchvision"]
