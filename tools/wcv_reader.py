"""A standalone reader for weightconv's .wcv files, written from docs/wcv-format.md alone.

Needs only numpy. Usage:

    f = read_wcv("model.wcv")            # validates the header (spec section 9)
    f.verify()                           # tensor checksums and padding (section 10)
    f.tensors["conv.weight"]             # numpy array in the stored dtype (BF16 as uint16 bits)
    f.float32("conv.weight")             # widened to float32
    f.document["provenance"]             # the JSON document (section 5)
"""
import hashlib
import json
import struct
import sys

import numpy as np

MAGIC = b"\x89WCV\r\n\x1a\n"
PAGE = 16384
MAX_HEADER = 16 << 20
MAX_DEPTH = 64
# code: (name, numpy dtype). BF16 has no numpy type: its raw bits are returned as uint16.
DTYPES = {1: ("f32", "<f4"), 2: ("f16", "<f2"), 3: ("bf16", "<u2"), 4: ("f64", "<f8"), 5: ("i64", "<i8"),
          6: ("i32", "<i4"), 7: ("i16", "<i2"), 8: ("i8", "i1"), 9: ("u8", "u1"), 10: ("bool", "?")}
SIZES = {1: 4, 2: 2, 3: 2, 4: 8, 5: 8, 6: 4, 7: 2, 8: 1, 9: 1, 10: 1}


class WcvError(ValueError):
    """The file is refused; the message names the problem (and tensor, when there is one)."""


def _align(x, a):
    return (x + a - 1) // a * a


def _strict_pairs(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        dup = next(k for k in keys if keys.count(k) > 1)
        raise WcvError(f"header: JSON object has the key {dup!r} twice")
    return dict(pairs)


def _reject_constant(name):
    raise WcvError(f"header: {name} is not JSON")


def parse_json(raw: bytes):
    """JSON with the spec's extra rules: UTF-8 only, no duplicate keys, depth <= 64, finite numbers."""
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise WcvError(f"header: JSON is not valid UTF-8 ({e.reason})") from None
    # Count nesting before parsing so hostile depth cannot exhaust Python's stack.
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            escaped = (ch == "\\") and not escaped
            if ch == '"' and not escaped:
                in_string = False
            continue
        if ch == '"':
            in_string, escaped = True, False
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise WcvError("header: JSON nesting deeper than 64")
        elif ch in "]}":
            depth -= 1
    try:
        value = json.loads(text, object_pairs_hook=_strict_pairs, parse_constant=_reject_constant)
    except json.JSONDecodeError as e:
        raise WcvError(f"header: JSON syntax error: {e.msg} at byte {e.pos}") from None
    if any(0xD800 <= ord(c) <= 0xDFFF for s in _strings(value) for c in s):
        raise WcvError("header: JSON string has a lone surrogate")
    _check_finite(value)
    return value


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _check_finite(value):
    if isinstance(value, float) and not np.isfinite(value):
        raise WcvError("header: JSON number overflows a double")
    for child in (value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()):
        _check_finite(child)


class WcvFile:
    def __init__(self, data: bytes, table, document, data_offset, data_length):
        self._data = data
        self.table = table  # list of dicts: name, dtype, shape, offset, byte_length, sha256
        self.document = document
        self.data_offset = data_offset
        self.data_length = data_length
        self.tensors = {}
        for e in table:
            start = data_offset + e["offset"]
            arr = np.frombuffer(data, dtype=DTYPES[e["code"]][1], count=e["byte_length"] // SIZES[e["code"]], offset=start)
            self.tensors[e["name"]] = arr.reshape(e["shape"])

    def float32(self, name):
        e = next(e for e in self.table if e["name"] == name)
        arr = self.tensors[name]
        if e["dtype"] == "bf16":
            return (arr.astype(np.uint32) << 16).view(np.float32)
        return arr.astype(np.float32)

    def raw(self, name):
        e = next(e for e in self.table if e["name"] == name)
        start = self.data_offset + e["offset"]
        return self._data[start:start + e["byte_length"]]

    def verify(self):
        """Section 10: every tensor's SHA-256 and every padding byte of the data section."""
        pad_start = self.data_offset
        previous = None
        for e in self.table:
            start = self.data_offset + e["offset"]
            if any(self._data[pad_start:start]):
                raise WcvError(f"padding after tensor {previous!r} is not zero")
            if hashlib.sha256(self.raw(e["name"])).digest() != e["sha256"]:
                raise WcvError(f"tensor {e['name']!r} (starting at byte {start}) does not match its SHA-256")
            pad_start = start + e["byte_length"]
            previous = e["name"]
        if any(self._data[pad_start:]):
            raise WcvError(f"padding after tensor {previous!r} is not zero")


def parse(data: bytes) -> WcvFile:
    """Section 9, in order."""
    size = len(data)
    if size < 72:
        raise WcvError("file is too short to be a .wcv file")
    if data[:8] != MAGIC:
        raise WcvError("not a .wcv file: bad magic")
    version, flags, h, d, length = struct.unpack_from("<IIQQQ", data, 8)
    if version != 1:
        raise WcvError(f"header: version {version} is not supported")
    if flags != 0:
        raise WcvError(f"header: unknown required flags 0x{flags:x}")
    if not 6 <= h <= MAX_HEADER:
        raise WcvError(f"header: length {h} out of range")
    if 72 + h > size:
        raise WcvError("header: the file ends inside the header")
    if hashlib.sha256(data[:40 + h]).digest() != data[40 + h:72 + h]:
        raise WcvError("header: checksum mismatch")
    if d != _align(72 + h, PAGE):
        raise WcvError("header: bad data offset")
    if length % PAGE:
        raise WcvError("header: data length is not a multiple of 16384")

    header = data[40:40 + h]
    (count,) = struct.unpack_from("<I", header, 0)
    if count * 53 > h - 4:
        raise WcvError("header: too many tensors for the header")
    table, names, pos, prev_end = [], set(), 4, 0

    def need(n):
        if pos + n > h:
            raise WcvError("header: the tensor table runs past the header")

    for _ in range(count):
        need(2)
        (n,) = struct.unpack_from("<H", header, pos)
        pos += 2
        if not 1 <= n <= 1024:
            raise WcvError(f"header: name length {n} out of range")
        need(n)
        raw_name = header[pos:pos + n]
        pos += n
        if b"\x00" in raw_name:
            raise WcvError("header: NUL in a tensor name")
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise WcvError("header: tensor name is not UTF-8") from None
        if name in names:
            raise WcvError(f"header: tensor name {name!r} appears twice")
        names.add(name)
        need(2)
        code, rank = header[pos], header[pos + 1]
        pos += 2
        if code not in DTYPES:
            raise WcvError(f"header: tensor {name!r} has unknown dtype code {code}")
        if rank > 8:
            raise WcvError(f"header: tensor {name!r} has rank {rank}")
        need(8 * rank + 48)
        shape = list(struct.unpack_from(f"<{rank}Q", header, pos))
        pos += 8 * rank
        offset, byte_length = struct.unpack_from("<QQ", header, pos)
        pos += 16
        sha = header[pos:pos + 32]
        pos += 32
        expected = int(np.prod(shape, dtype=object)) * SIZES[code] if shape else SIZES[code]
        if expected >= 2**63:
            raise WcvError(f"header: tensor {name!r} size overflows")
        if byte_length != expected:
            raise WcvError(f"header: tensor {name!r} byte length {byte_length} != {expected}")
        if offset % 64:
            raise WcvError(f"header: tensor {name!r} offset is not a multiple of 64")
        if offset < prev_end:
            raise WcvError(f"header: tensor {name!r} overlaps the tensor before it")
        if offset + byte_length > length:
            raise WcvError(f"header: tensor {name!r} extends past the data section")
        if offset != _align(prev_end, 64):
            raise WcvError(f"header: tensor {name!r} is not at its canonical offset")
        prev_end = offset + byte_length
        table.append({"name": name, "code": code, "dtype": DTYPES[code][0], "shape": shape,
                      "offset": offset, "byte_length": byte_length, "sha256": sha})
    if length != _align(prev_end, PAGE):
        raise WcvError("header: data length does not match the tensors")
    if size != d + length:
        cut = next((e["name"] for e in table if d + e["offset"] + e["byte_length"] > size), None)
        raise WcvError(f"file is {size} bytes, the header describes {d + length}" + (f"; tensor {cut!r} is cut" if cut else ""))

    document = parse_json(header[pos:])
    if not isinstance(document, dict):
        raise WcvError("header: the JSON document is not an object")
    for key in (document.get("original_keys") or {}):
        if key not in names:
            raise WcvError(f"header: original_keys names {key!r}, not a tensor")
    record = document.get("verification")
    if record is not None:
        for key in ("input", "logits"):
            entry = next((e for e in table if e["name"] == record.get(key)), None)
            if entry is None or entry["dtype"] != "f32":
                raise WcvError(f"header: verification {key} tensor missing or not f32")
    if any(data[72 + h:d]):
        raise WcvError("padding before the data section is not zero")
    return WcvFile(data, table, document, d, length)


def read_wcv(path) -> WcvFile:
    with open(path, "rb") as f:
        return parse(f.read())


if __name__ == "__main__":
    for path in sys.argv[1:]:
        f = read_wcv(path)
        f.verify()
        for e in f.table:
            print(f"{e['name']}\t{e['dtype']}\t{e['shape']}\t{e['sha256'].hex()[:16]}")
