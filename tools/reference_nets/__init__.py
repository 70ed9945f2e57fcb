"""PyTorch reference implementations for weightconv's fixtures (tools only; tests never import torch).

Each module restates one published implementation and names its source in its header. The canonical
nets (`shufflenet_v1`, `canonical`) are the ones whose state_dict keys the Swift networks ask for.
"""
