"""Consistency of the committed checkpoint fixtures, checked with numpy only (CI has no torch).

The expectations were written by tools/make_checkpoint_fixtures.py from torch.load; here the npz
fixtures are re-read with numpy and must hash to the same bytes, and the fixture budget holds.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2] / "fixtures"


def test_npz_expectations_match_numpy():
    for name in ("arrays.npz", "arrays_compressed.npz"):
        expected = json.loads((ROOT / "checkpoints" / (name + ".expected.json")).read_text())
        arrays = np.load(ROOT / "checkpoints" / name)
        assert [t["name"] for t in expected["tensors"]] == list(arrays.keys())
        for tensor in expected["tensors"]:
            array = arrays[tensor["name"]]
            little = np.ascontiguousarray(array.astype(array.dtype.newbyteorder("<")))
            assert list(array.shape) == tensor["shape"]
            assert hashlib.sha256(little.tobytes()).hexdigest() == tensor["sha256"]


def test_every_fixture_has_an_expectation_and_the_budget_holds():
    checkpoints = ROOT / "checkpoints"
    for path in checkpoints.iterdir():
        if path.suffix in (".pt", ".pkl", ".npz"):
            assert (checkpoints / (path.name + ".expected.json")).exists(), path.name
    hostile = json.loads((ROOT / "hostile" / "expected.json").read_text())
    for name in hostile:
        assert (ROOT / "hostile" / name).exists(), name
    total = sum(p.stat().st_size for d in ("checkpoints", "hostile") for p in (ROOT / d).rglob("*") if p.is_file())
    assert total < 3_000_000, total
