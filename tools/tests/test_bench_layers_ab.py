"""tools/bench_layers_ab.py's arithmetic on made-up `bench --profile --json` rounds: a round in which
the whole second process ran slower (the machine's drift) must not show as a change, and two builds
whose steps differ must be refused."""
import argparse
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import bench_layers_ab  # noqa: E402


def steps(stem, depthwise, pointwise):
    return [
        {"kind": "conv 3×3", "detail": "1×3×224×224 → 1×24×112×112 stride 2", "milliseconds": stem},
        {"kind": "conv 3×3 depthwise", "detail": "1×24×56×56 → 1×24×56×56 stride 1", "milliseconds": depthwise},
        {"kind": "conv 1×1", "detail": "1×24×56×56 → 1×60×56×56 stride 1", "milliseconds": pointwise},
    ]


def test_drift_of_a_whole_round_is_divided_out():
    before = [steps(1.0, 0.5, 2.0), steps(1.0, 0.5, 2.0), steps(1.0, 0.5, 2.0)]
    # The stem is 0.75 of its time in every round; the second round's "after" process ran at half
    # speed throughout, the third at 1.1×.
    after = [steps(0.75, 0.5, 2.0), steps(1.5, 1.0, 4.0), steps(0.825, 0.55, 2.2)]
    result = bench_layers_ab.summarize(before, after, {"conv 3×3"})
    assert result["control"] == pytest.approx([1.0, 2.0, 1.1])
    assert [r for _, _, r in result["steps"]] == pytest.approx([0.75, 1.0, 1.0])
    assert result["kinds"]["conv 3×3"] == pytest.approx(0.75)
    assert result["kinds"]["conv 1×1"] == pytest.approx(1.0)
    assert result["total"] == pytest.approx((0.75 + 0.5 + 2.0) / 3.5)


def test_without_changed_kinds_the_ratios_are_raw():
    result = bench_layers_ab.summarize([steps(1.0, 0.5, 2.0)], [steps(2.0, 1.0, 4.0)], None)
    assert result["control"] == [1.0]
    assert [r for _, _, r in result["steps"]] == pytest.approx([2.0, 2.0, 2.0])


def test_different_plans_are_refused():
    other = steps(1.0, 0.5, 2.0)
    other[2] = dict(other[2], detail="1×24×56×56 → 1×144×56×56 stride 1")
    with pytest.raises(ValueError, match="steps differ"):
        bench_layers_ab.summarize([steps(1.0, 0.5, 2.0)], [other], None)


def test_nothing_left_to_normalise_by_is_refused():
    kinds = {"conv 3×3", "conv 3×3 depthwise", "conv 1×1"}
    with pytest.raises(ValueError, match="no untouched steps"):
        bench_layers_ab.summarize([steps(1.0, 0.5, 2.0)], [steps(1.0, 0.5, 2.0)], kinds)


def test_rounds_must_pair_up():
    with pytest.raises(ValueError, match="same number"):
        bench_layers_ab.summarize([steps(1.0, 0.5, 2.0)], [], None)


def bench_args(tmp_path):
    return bench_layers_ab.argparse.Namespace(file=str(tmp_path / "model.wcv"), threads=1, batch=1, iterations=1,
                                               avx2_machine=False)


def test_a_missing_binary_is_one_line_naming_it(tmp_path):
    missing = str(tmp_path / "no-such-weightconv")
    with pytest.raises(SystemExit) as exit_:
        bench_layers_ab.profile(missing, None, bench_args(tmp_path))
    assert str(exit_.value) == f"bench_layers_ab: {missing}: No such file or directory"


def test_a_failing_bench_gives_its_last_error_line(tmp_path):
    fake = tmp_path / "weightconv"
    fake.write_text("#!/bin/sh\necho 'warming up' >&2\necho \"error: $2: cannot open\" >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(SystemExit) as exit_:
        bench_layers_ab.profile(str(fake), None, bench_args(tmp_path))
    model = tmp_path / "model.wcv"
    assert str(exit_.value) == f"bench_layers_ab: {fake} bench {model}: error: {model}: cannot open"


def test_rounds_below_one_are_refused(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench_layers_ab.py", "x.wcv", "--before", "a", "--after", "b", "--rounds", "0"])
    with pytest.raises(SystemExit) as exit_:
        bench_layers_ab.main()
    assert str(exit_.value) == "bench_layers_ab: --rounds must be at least 1"


def test_kernel_sets_and_the_avx2_machine():
    """Each side's set reaches its command; --avx2-machine holds oneDNN to AVX2 except for avx512."""
    args = argparse.Namespace(file="n.wcv", threads=2, batch=8, iterations=5, avx2_machine=True)
    command, environment = bench_layers_ab.run_of("wc", "avx2", args)
    assert command == ["wc", "bench", "n.wcv", "--profile", "--json", "--threads", "2", "--batch", "8",
                       "--iterations", "5", "--kernels", "avx2"]
    assert environment["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    command, environment = bench_layers_ab.run_of("wc", "avx512", args)
    assert command[-2:] == ["--kernels", "avx512"]
    assert environment.get("ONEDNN_MAX_CPU_ISA") == os.environ.get("ONEDNN_MAX_CPU_ISA")
    args.avx2_machine = False
    command, environment = bench_layers_ab.run_of("wc", None, args)
    assert "--kernels" not in command
    assert environment.get("ONEDNN_MAX_CPU_ISA") == os.environ.get("ONEDNN_MAX_CPU_ISA")
