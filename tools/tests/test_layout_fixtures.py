"""Consistency of fixtures/layouts (numpy only: CI has no torch). The numbers checked here come from the
fixtures themselves, which tools/make_layout_fixtures.py made with PyTorch; these tests catch a
fixture directory that was edited, truncated or regenerated inconsistently."""
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "layouts"
CASES = sorted(p.name for p in ROOT.iterdir() if (p / "expected.json").exists())


def load(case):
    return json.loads((ROOT / case / "expected.json").read_text())


def test_budget_and_count():
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    assert total <= 27_000_000, f"fixtures/layouts is {total / 1e6:.2f} MB, over the 27 MB budget"
    assert len(CASES) == 32


@pytest.mark.parametrize("case", CASES)
def test_reference_matches_expected(case):
    expected = load(case)
    assert (ROOT / case / expected["file"]).is_file()
    if expected["expect"]["outcome"] == "refuse":
        assert not (ROOT / case / "reference.npz").exists()
        return
    ref = np.load(ROOT / case / "reference.npz")
    assert ref["input"].dtype == np.float32 and ref["logits"].dtype == np.float32
    assert list(ref["input"].shape) == expected["input_shape"]
    assert ref["logits"].shape == (expected["input_shape"][0], expected["configuration"]["classes"])
    assert np.isfinite(ref["logits"]).all()
    # Distinct logits per sample: a fixture whose outputs are all equal cannot tell a wrong mapping apart.
    assert np.ptp(ref["logits"], axis=1).min() > 1e-3
    if expected["behaviour"].get("output") == "softmax":
        np.testing.assert_allclose(ref["logits"].sum(axis=1), 1.0, rtol=1e-5)
        assert ref["logits"].max() < 0.99, "saturated softmax"


@pytest.mark.parametrize("case", [c for c in CASES if load(c).get("dtype") in ("f16", "bf16")])
def test_low_precision_cases_keep_the_float32_logits(case):
    ref = np.load(ROOT / case / "reference.npz")
    before = ref["logits_before_rounding"]
    diff = np.abs(ref["logits"] - before).max() / max(1.0, np.abs(before).max())
    # Rounding the weights moves the logits (so the reference must be the rounded model's: measured 3.1%
    # of the largest logit for the F16 MobileNetV2, 2.4% for the BF16 ResNeXt), but keeps them close.
    assert 0.001 < diff < 0.1


@pytest.mark.parametrize("case", CASES)
def test_keys_and_mapping_agree(case):
    expected = load(case)
    names = [k["name"] for k in expected["keys"]]
    assert len(names) == len(set(names))
    if expected["expect"]["outcome"] == "refuse":
        return
    prefix = expected["wrapper_prefix"]
    model_keys = {n[len(prefix):] for n in names if n.startswith(prefix)}
    mapped = expected["mapping"]
    assert set(mapped) == {k for k in model_keys if not k.endswith("num_batches_tracked")}
    canonical = {k["name"] for k in expected["canonical_keys"]}
    missing = sorted(canonical - set(mapped.values()))
    assert missing == expected["expect"].get("missing", [])
