"""PyTorch reference implementations for weightconv's fixtures (tools only; tests never import torch).

Each module restates one published implementation and names its source in its header. The canonical
nets (`shufflenet_v1`, `canonical`) are the ones whose state_dict keys the Swift networks ask for.
"""

import glob as _glob
import importlib.util as _importlib_util
import os as _os
import sys as _sys
import types as _types


def _torchvision_models_without_ops() -> None:
    """Lets `torchvision.models` import where torchvision's compiled ops do not load against the
    installed torch (a CPU torch beside a torchvision wheel built for another one: `import torchvision`
    then fails with "operator torchvision::nms does not exist"). The models these tools use are plain
    Python; only the detection ops (nms, roi_align…) need the extension, and nothing here calls them.
    Where the extension loads, this does nothing."""
    spec = _importlib_util.find_spec("torchvision")
    if spec is None or spec.origin is None or "torchvision" in _sys.modules:
        return
    import torch
    libraries = _glob.glob(_os.path.join(_os.path.dirname(spec.origin), "_C*.so"))
    try:
        for library in libraries:
            torch.ops.load_library(library)
        return
    except (OSError, RuntimeError):
        pass
    extension = _types.ModuleType("torchvision.extension")
    extension._has_ops = lambda: False
    extension._load_library = lambda name: None
    extension._assert_has_ops = lambda: None
    extension._check_cuda_version = lambda: -1
    _sys.modules["torchvision.extension"] = extension
    _sys.modules["torchvision._meta_registrations"] = _types.ModuleType("torchvision._meta_registrations")


_torchvision_models_without_ops()
