"""The numpy-only reader (tools/wcv_reader.py, written from docs/wcv-format.md) against the .wcv
files the Swift writer made in fixtures/wcv; expected values come from PyTorch
(tools/make_wcv_sources.py wrote them next to each file)."""
import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import wcv_reader  # noqa: E402

FIXTURES = ROOT / "fixtures" / "wcv"
CASES = sorted(p.name[: -len(".expected.json")] for p in FIXTURES.glob("*.expected.json"))


def test_there_are_fixtures():
    assert {"dtypes", "small_cnn", "small_cnn.f16", "small_cnn.bf16"} <= set(CASES)


@pytest.mark.parametrize("case", CASES)
def test_every_tensor_matches_pytorch(case):
    expected = json.loads((FIXTURES / f"{case}.expected.json").read_text())
    f = wcv_reader.read_wcv(FIXTURES / f"{case}.wcv")
    f.verify()
    assert sorted(e["name"] for e in f.table) == [t["name"] for t in expected["tensors"]]
    for t in expected["tensors"]:
        entry = next(e for e in f.table if e["name"] == t["name"])
        assert entry["dtype"] == t["dtype"], t["name"]
        assert list(f.tensors[t["name"]].shape) == t["shape"], t["name"]
        assert hashlib.sha256(f.raw(t["name"])).hexdigest() == t["sha256"], t["name"]
        if t["dtype"] in ("f32", "f16", "bf16", "f64"):
            first = f.float32(t["name"]).reshape(-1)[:4].tolist()
            want = [float(v) if isinstance(v, str) else v for v in t["first"]]
            assert first == want, t["name"]
        else:
            assert f.tensors[t["name"]].reshape(-1)[:4].tolist() == t["first"], t["name"]


@pytest.mark.parametrize("case", CASES)
def test_document_records_provenance(case):
    expected = json.loads((FIXTURES / f"{case}.expected.json").read_text())
    source = (FIXTURES / expected["source"]).read_bytes()
    f = wcv_reader.read_wcv(FIXTURES / f"{case}.wcv")
    prov = f.document["provenance"]
    assert prov["source_name"] == Path(expected["source"]).name
    assert prov["source_size"] == len(source)
    assert prov["source_sha256"] == hashlib.sha256(source).hexdigest()
    assert f.document["original_keys"] == {e["name"]: e["name"] for e in f.table}


def _image():
    return (FIXTURES / "small_cnn.wcv").read_bytes()


def _reseal(data: bytearray):
    (h,) = struct.unpack_from("<Q", data, 16)
    data[40 + h:72 + h] = hashlib.sha256(bytes(data[:40 + h])).digest()


def test_flipped_tensor_byte_is_named():
    data = bytearray(_image())
    f = wcv_reader.parse(bytes(data))
    entry = next(e for e in f.table if e["byte_length"] > 0)
    data[f.data_offset + entry["offset"] + 1] ^= 0x10
    damaged = wcv_reader.parse(bytes(data))
    with pytest.raises(wcv_reader.WcvError, match=entry["name"]):
        damaged.verify()


@pytest.mark.parametrize("position,match", [(0, "magic"), (8, "version"), (12, "flags"), (50, "checksum")])
def test_header_damage_is_refused(position, match):
    data = bytearray(_image())
    data[position] ^= 0x01
    with pytest.raises(wcv_reader.WcvError, match=match):
        wcv_reader.parse(bytes(data))


def test_truncation_is_refused():
    data = _image()
    for cut in (10, 100, len(data) - 16384 + 3, len(data) - 1):
        with pytest.raises(wcv_reader.WcvError):
            wcv_reader.parse(data[:cut])


def test_strict_json_rules():
    with pytest.raises(wcv_reader.WcvError, match="twice"):
        wcv_reader.parse_json(b'{"a":1,"a":2}')
    with pytest.raises(wcv_reader.WcvError, match="UTF-8"):
        wcv_reader.parse_json(b'{"a":"\xc0\xaf"}')
    with pytest.raises(wcv_reader.WcvError, match="deeper"):
        wcv_reader.parse_json(b"[" * 65 + b"]" * 65)
    with pytest.raises(wcv_reader.WcvError, match="surrogate"):
        wcv_reader.parse_json(b'"\\ud800"')
    with pytest.raises(wcv_reader.WcvError):
        wcv_reader.parse_json(b"[NaN]")
    assert wcv_reader.parse_json(b"[" * 64 + b"]" * 64) is not None


def test_hostile_table_with_valid_checksum_is_refused():
    data = bytearray(_image())
    # First entry's offset field: 4 (count) + 2 + name + 2 + 8*rank, inside the header at byte 40.
    (n,) = struct.unpack_from("<H", data, 44)
    rank = data[44 + 2 + n + 1]
    offset_pos = 44 + 2 + n + 2 + 8 * rank
    struct.pack_into("<Q", data, offset_pos, 32)
    _reseal(data)
    with pytest.raises(wcv_reader.WcvError, match="multiple of 64"):
        wcv_reader.parse(bytes(data))
