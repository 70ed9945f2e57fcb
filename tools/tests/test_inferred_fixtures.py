"""Consistency of fixtures/inferred (numpy only: CI has no torch). tools/make_inferred_fixtures.py made them
with PyTorch; these tests catch a fixture directory that was edited, truncated or regenerated inconsistently."""
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "inferred"
CASES = sorted(p.name for p in ROOT.iterdir() if (p / "expected.json").exists())


def load(case):
    return json.loads((ROOT / case / "expected.json").read_text())


def test_budget_and_count():
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    assert total <= 9_000_000, f"fixtures/inferred is {total / 1e6:.2f} MB, over the 9 MB budget"
    assert len(CASES) == 9


@pytest.mark.parametrize("case", CASES)
def test_reference_and_mapping(case):
    expected = load(case)
    ref = np.load(ROOT / case / "reference.npz")
    assert ref["input"].dtype == np.float32 and ref["logits"].dtype == np.float32
    assert np.isfinite(ref["logits"]).all()
    # Distinct logits per sample: a fixture whose outputs are all equal cannot tell a wrong mapping apart.
    assert np.ptp(ref["logits"], axis=1).min() > 1e-3
    names = [k["name"] for k in expected["keys"]]
    assert len(names) == len(set(names))
    if "mapping" in expected:
        model_keys = {n for n in names if not n.endswith("num_batches_tracked")}
        assert set(expected["mapping"]) == model_keys
        assert len(set(expected["mapping"].values())) == len(model_keys), "two keys map onto one canonical name"
    else:
        assert expected["refuse_at"] in names
