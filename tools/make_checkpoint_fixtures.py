#!/usr/bin/env python3
"""Generates the checkpoint reader's fixtures and their expectations, from torch itself.

    /work/.venv-tools/bin/python tools/make_checkpoint_fixtures.py   # torch, numpy: tools/requirements.txt

Writes fixtures/checkpoints/<name> with <name>.expected.json beside each file (tensor names, dtypes,
shapes, SHA-256 of the contiguous little-endian bytes, the first values, metadata), all computed by
torch.load on the written file; and fixtures/hostile/<name> with fixtures/hostile/expected.json
(every hostile file must be refused; `mentions` is a string the one-line error must contain).
The picklescan corpus files are copied into fixtures/hostile/picklescan/ so a fresh clone has them.

Deterministic: fixed seeds, fixed zip timestamps. Budget: about 3 MB for everything.
"""
import argparse
import collections
import gzip
import hashlib
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINTS = ROOT / "fixtures" / "checkpoints"
HOSTILE = ROOT / "fixtures" / "hostile"
CORPUS = Path(os.environ.get("WEIGHTCONV_CORPUS", ROOT.parent / "shared" / "corpus"))
ZIP_TIME = (2024, 1, 1, 0, 0, 0)

DTYPE_NAMES = {
    torch.float64: "f64", torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
    torch.int64: "i64", torch.int32: "i32", torch.int16: "i16", torch.int8: "i8", torch.uint8: "u8", torch.bool: "bool",
}


# ---------------------------------------------------------------------------------------------
# Expectations, from what torch.load returns
# ---------------------------------------------------------------------------------------------

def contiguous_bytes(t):
    """The contract: the tensor's contiguous little-endian bytes in its stored dtype."""
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def first_values(t, n=4):
    flat = t.detach().reshape(-1)[:n]
    if t.dtype == torch.bool:
        return [bool(v) for v in flat.tolist()]
    if t.dtype.is_floating_point:
        return [float(v) for v in flat.double().tolist()]
    return [int(v) for v in flat.tolist()]


def flatten(obj, prefix, out):
    """Dotted names through dicts, lists and tuples (what the reader must produce)."""
    if isinstance(obj, torch.Tensor):
        out.append((prefix or "tensor", obj))
    elif isinstance(obj, dict):
        for k, v in obj.items():
            flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            flatten(v, f"{prefix}.{i}" if prefix else str(i), out)
    elif isinstance(obj, nn.Module):
        for k, v in obj.state_dict(keep_vars=True).items():
            out.append((f"{prefix}.{k}" if prefix else k, v))
    return out


def metadata(obj):
    """The non-tensor content in the reader's JSON form; opaque values by type name only."""
    if isinstance(obj, np.generic):  # before float: np.float64 is a float subclass
        return {"$opaque": f"numpy.{obj.dtype.name}", "summary": repr(obj.item())}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj if -2**63 <= obj < 2**63 else {"$opaque": "int", "summary": str(obj)}
    if isinstance(obj, float):
        return obj
    if isinstance(obj, torch.Tensor):
        return None
    if isinstance(obj, dict):
        kept = {}
        for k, v in obj.items():
            m = metadata(v)
            if m is not None or not _only_tensors(v):
                kept[str(k)] = m
        return kept if kept or not obj else None
    if isinstance(obj, (list, tuple)):
        # Positions are kept: a tensor's slot holds a placeholder naming it.
        if obj and all(_only_tensors(x) for x in obj):
            return None
        return [{"$opaque": "tensor"} if _only_tensors(x) else metadata(x) for x in obj]
    if isinstance(obj, torch.dtype):
        return {"$opaque": "torch.dtype", "summary": str(obj)}
    if isinstance(obj, torch.device):
        return {"$opaque": "torch.device", "summary": str(obj)}
    if isinstance(obj, np.generic):
        return {"$opaque": f"numpy.{obj.dtype.name}", "summary": repr(obj.item())}
    if isinstance(obj, argparse.Namespace):
        return {"$opaque": "argparse.Namespace"}
    return {"$opaque": type(obj).__module__ + "." + type(obj).__qualname__}


def _only_tensors(v):
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, dict):
        return bool(v) and all(_only_tensors(x) for x in v.values())
    if isinstance(v, (list, tuple)):
        return bool(v) and all(_only_tensors(x) for x in v)
    return False


def expectation(path, kind, obj=None, notes=""):
    if obj is None:
        obj = torch.load(path, weights_only=False)
    named = flatten(obj, "", [])
    tensors = [{
        "name": name,
        "dtype": DTYPE_NAMES[t.dtype],
        "shape": list(t.shape),
        "sha256": hashlib.sha256(contiguous_bytes(t)).hexdigest(),
        "values": first_values(t),
    } for name, t in named]
    shared = collections.defaultdict(list)
    for name, t in named:
        shared[(t.untyped_storage().data_ptr(), t.untyped_storage().nbytes())].append(name)
    expected = {
        "file": path.name,
        "kind": kind,
        "tensors": tensors,
        "shared_storages": [names for names in shared.values() if len(names) > 1],
        "metadata": metadata(obj) if not isinstance(obj, (torch.Tensor, nn.Module)) else None,
        "notes": notes,
    }
    if isinstance(obj, nn.Module):
        expected["model_class"] = type(obj).__module__ + "." + type(obj).__qualname__
    (path.parent / (path.name + ".expected.json")).write_text(json.dumps(expected, indent=1) + "\n")
    return expected


# ---------------------------------------------------------------------------------------------
# Zip rewriting (renamed folder, deflated entries, byte order, missing or short storages)
# ---------------------------------------------------------------------------------------------

def rewrite_zip(src, dst, rename=None, compress=zipfile.ZIP_STORED, transform=None, drop=()):
    with zipfile.ZipFile(src) as zin:
        entries = [(i.filename, zin.read(i.filename)) for i in zin.infolist()]
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in entries:
            if any(name.endswith(d) for d in drop):
                continue
            if transform:
                data = transform(name, data)
            if rename:
                name = rename(name)
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = compress
            zout.writestr(info, data)


def write_zip(dst, entries, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(dst, "w") as zout:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = compress
            zout.writestr(info, data)


class StorageRef:
    """A stand-in storage for hand-built pickles: persistent_id turns it into torch's tuple."""

    def __init__(self, key, storage_type, numel):
        self.key, self.storage_type, self.numel = key, storage_type, numel


class Reduced:
    """Pickles as `func(*args)`: how the crafted fixtures spell a rebuild call."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def crafted_pickle(obj, protocol=2):
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=protocol)
    pickler.persistent_id = lambda o: ("storage", o.storage_type, o.key, "cpu", o.numel) if isinstance(o, StorageRef) else None
    pickler.dump(obj)
    return buffer.getvalue()


def crafted_checkpoint(dst, obj, storages, folder="archive", byteorder=b"little", compress=zipfile.ZIP_STORED):
    entries = [(f"{folder}/data.pkl", crafted_pickle(obj)), (f"{folder}/byteorder", byteorder)]
    entries += [(f"{folder}/data/{key}", data) for key, data in storages.items()]
    entries.append((f"{folder}/version", b"3\n"))
    write_zip(dst, entries, compress)


# ---------------------------------------------------------------------------------------------
# Fixtures read successfully
# ---------------------------------------------------------------------------------------------

def all_dtypes():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 5, generator=g)
    return collections.OrderedDict([
        ("f64", base.double()),
        ("f32", base.clone()),
        ("f16", base.half()),
        ("bf16", base.bfloat16()),
        ("i64", torch.randint(-2**40, 2**40, (4, 2), generator=g, dtype=torch.int64)),
        ("i32", torch.randint(-2**30, 2**30, (7,), generator=g, dtype=torch.int32)),
        ("i16", torch.randint(-30000, 30000, (2, 3), generator=g, dtype=torch.int16)),
        ("i8", torch.randint(-128, 127, (9,), generator=g, dtype=torch.int8)),
        ("u8", torch.randint(0, 255, (2, 2, 2), generator=g, dtype=torch.uint8)),
        ("bool", torch.rand(6, generator=g) > 0.5),
    ])


def views():
    g = torch.Generator().manual_seed(1)
    matrix = torch.randn(4, 6, generator=g)
    shared = torch.randn(10, generator=g)
    return collections.OrderedDict([
        ("matrix", matrix),
        ("transposed", matrix.t()),                 # strides (1, 6)
        ("sliced", matrix[1:3, ::2]),               # offset 6, strides (12, 2)
        ("column", matrix[:, 3]),                   # offset 3, stride 6
        ("tail", shared[4:]),                       # storage offset 4
        ("shared_full", shared),
        ("tied_a", shared.view(2, 5)),
        ("scalar", torch.tensor(3.25)),             # 0-dim
        ("scalar_long", torch.tensor(42, dtype=torch.int64)),
        ("empty", torch.zeros(0, 3)),
        ("expanded", torch.arange(3.0).expand(2, 3)),  # stride 0
        ("permuted", torch.arange(24, dtype=torch.int16).reshape(2, 3, 4).permute(2, 0, 1)),
    ])


class TinyNet(nn.Module):
    """Conv, batch norm (running stats and num_batches_tracked), a non-persistent buffer, nested
    modules and a tied weight: what a whole pickled model carries."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True))
        self.head = nn.Linear(4, 4)
        self.tail = nn.Linear(4, 4, bias=False)
        self.tail.weight = self.head.weight
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.register_buffer("counter", torch.tensor([5], dtype=torch.int64))

    def forward(self, x):
        return self.tail(self.head(self.features(x).mean((2, 3))))


def tiny_net():
    torch.manual_seed(2)
    net = TinyNet()
    with torch.no_grad():
        net.features[1].running_mean.uniform_(-1, 1)
        net.features[1].running_var.uniform_(0.5, 2)
    return net


def wrapped():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 2, 1), nn.BatchNorm2d(2))
    state = collections.OrderedDict((f"module.features.0.{k}", v) for k, v in net.state_dict().items())
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 3, 4, 4)).sum().backward()
    opt.step()
    return {
        "epoch": 7,
        "arch": "mobilenet_v2",
        "best_acc1": np.float64(0.731),
        "step": np.int64(1234),
        "args": argparse.Namespace(lr=0.1, arch="mobilenet_v2", workers=4),
        "device": torch.device("cpu"),
        "dtype": torch.float16,
        "history": [0.5, 0.25],
        "note": None,
        "state_dict": state,
        "optimizer": opt.state_dict(),
    }


def make_good():
    CHECKPOINTS.mkdir(parents=True, exist_ok=True)
    made = []

    def save(name, obj, kind="pytorch-zip", notes="", **kwargs):
        path = CHECKPOINTS / name
        torch.save(obj, path, **kwargs)
        made.append(expectation(path, kind, notes=notes))
        return path

    save("dtypes.pt", all_dtypes(), notes="every dtype, zip format, pickle protocol 2")
    save("dtypes_legacy.pt", all_dtypes(), kind="pytorch-legacy", notes="every dtype, legacy format",
         _use_new_zipfile_serialization=False)
    views_path = save("views.pt", views(), notes="views, offsets, shared storages, 0-dim, empty, expanded")
    save("views_legacy.pt", views(), kind="pytorch-legacy", notes="views in the legacy format",
         _use_new_zipfile_serialization=False)
    for protocol in (2, 3, 4, 5):
        save(f"protocol{protocol}.pt", all_dtypes(), notes=f"data.pkl written with pickle protocol {protocol}",
             pickle_protocol=protocol)
    # Protocol 1 is the oldest torch can read back (protocol 0 writes string persistent ids torch refuses).
    save("protocol1.pt", all_dtypes(), notes="data.pkl written with pickle protocol 1", pickle_protocol=1)
    save("legacy_protocol1.pt", views(), kind="pytorch-legacy", notes="legacy format, pickle protocol 1",
         _use_new_zipfile_serialization=False, pickle_protocol=1)
    save("legacy_protocol4.pt", views(), kind="pytorch-legacy", notes="legacy format, pickle protocol 4",
         _use_new_zipfile_serialization=False, pickle_protocol=4)
    save("wrapped.pt", wrapped(), notes="state_dict wrapped with epoch, optimizer, strings, Namespace, numpy scalars")
    save("whole_model.pt", tiny_net(), notes="torch.save(model): state_dict recovered from the modules")
    save("whole_model_legacy.pt", tiny_net(), kind="pytorch-legacy", notes="torch.save(model), legacy format",
         _use_new_zipfile_serialization=False)
    save("single_tensor.pt", torch.arange(6, dtype=torch.float32).reshape(2, 3), notes="a bare tensor")
    save("list_of_tensors.pt", [torch.ones(2), {"inner": torch.zeros(1, dtype=torch.int32)}], notes="a list root")

    # A top folder that is neither the file name nor "archive".
    renamed = CHECKPOINTS / "renamed_folder.pt"
    rewrite_zip(views_path, renamed, rename=lambda n: "some_other_folder/" + n.split("/", 1)[1])
    made.append(expectation(renamed, "pytorch-zip", notes="top folder renamed"))

    # Every entry deflated instead of stored.
    deflated = CHECKPOINTS / "deflated.pt"
    rewrite_zip(CHECKPOINTS / "dtypes.pt", deflated, compress=zipfile.ZIP_DEFLATED)
    made.append(expectation(deflated, "pytorch-zip", obj=torch.load(CHECKPOINTS / "dtypes.pt"),
                            notes="entries deflated (expected from the stored original)"))

    # Big-endian: byteorder record "big" and every storage swapped by its element size.
    big = CHECKPOINTS / "big_endian.pt"
    sizes = {}
    source = torch.load(CHECKPOINTS / "dtypes.pt")
    # Storage keys follow save order in a fresh save: one storage per tensor here.
    for index, tensor in enumerate(source.values()):
        sizes[str(index)] = tensor.element_size()

    def swap(name, data):
        if name.endswith("/byteorder"):
            return b"big"
        if "/data/" in name:
            size = sizes[name.rsplit("/", 1)[1]]
            return np.frombuffer(data, dtype=np.uint8).reshape(-1, size)[:, ::-1].tobytes() if size > 1 else data
        return data

    rewrite_zip(CHECKPOINTS / "dtypes.pt", big, transform=swap)
    loaded_big = torch.load(big)
    assert all(torch.equal(loaded_big[k], source[k]) for k in source), "torch must read the swapped file back"
    made.append(expectation(big, "pytorch-zip", obj=loaded_big, notes="byteorder big, storages swapped by hand"))

    # _rebuild_tensor_v3 with an UntypedStorage (numel counts bytes), built by hand.
    g = torch.Generator().manual_seed(4)
    values = torch.randn(2, 3, generator=g)
    v3 = {"weight": Reduced(torch._utils._rebuild_tensor_v3,
                            (StorageRef("0", torch.UntypedStorage, 24), 0, (3, 2), (1, 3), False,
                             collections.OrderedDict(), torch.float32))}
    v3_path = CHECKPOINTS / "rebuild_v3.pt"
    crafted_checkpoint(v3_path, v3, {"0": values.numpy().tobytes()})
    made.append(expectation(v3_path, "pytorch-zip", notes="_rebuild_tensor_v3, UntypedStorage, transposed view"))

    # Parameters through _rebuild_from_type_v2 and _rebuild_parameter_with_state.
    param_path = CHECKPOINTS / "parameters.pt"
    storage = StorageRef("0", torch.FloatStorage, 6)
    tensor_args = (storage, 0, (2, 3), (3, 1), False, collections.OrderedDict())
    params = {
        "plain": Reduced(torch._utils._rebuild_parameter,
                         (Reduced(torch._utils._rebuild_tensor_v2, tensor_args), True, collections.OrderedDict())),
        "with_state": Reduced(torch._utils._rebuild_parameter_with_state,
                              (Reduced(torch._utils._rebuild_tensor_v2, (storage, 1, (5,), (1,), False, collections.OrderedDict())),
                               True, collections.OrderedDict(), {})),
        "subclass": Reduced(torch._tensor._rebuild_from_type_v2,
                            (torch._utils._rebuild_tensor_v2, torch.Tensor, tensor_args, {})),
    }
    crafted_checkpoint(param_path, params, {"0": values.numpy().tobytes()}, folder="params")
    made.append(expectation(param_path, "pytorch-zip", notes="_rebuild_parameter(_with_state), _rebuild_from_type_v2"))

    # A legacy storage view (torch < 0.4 wrote them): ('storage', type, root, location, numel,
    # (view_key, offset, size)), assembled by hand and read back by torch's legacy loader.
    legacy_view = CHECKPOINTS / "legacy_storage_view.pt"
    root = torch.arange(10, dtype=torch.float32)

    class ViewRef:
        def __init__(self, view):
            self.view = view

    buffer = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001, "little_endian": True,
                                                  "type_sizes": {"short": 2, "int": 4, "long": 4}}):
        pickle.dump(header, buffer, protocol=2)
    pickler = pickle.Pickler(buffer, protocol=2)
    pickler.persistent_id = lambda o: (("storage", torch.FloatStorage, "root", "cpu", 10, o.view)
                                       if isinstance(o, ViewRef) else None)
    whole = ViewRef(None)
    view = ViewRef(("view", 2, 5))
    pickler.dump({"whole": Reduced(torch._utils._rebuild_tensor_v2, (whole, 0, (10,), (1,), False, collections.OrderedDict())),
                  "view": Reduced(torch._utils._rebuild_tensor_v2, (view, 1, (2, 2), (2, 1), False, collections.OrderedDict()))})
    pickle.dump(["root"], buffer, protocol=2)
    buffer.write(struct.pack("<q", 10) + root.numpy().tobytes())
    legacy_view.write_bytes(buffer.getvalue())
    made.append(expectation(legacy_view, "pytorch-legacy", notes="legacy storage view, assembled by hand"))

    # A bare pickle of plain values (protocol 0: text opcodes).
    plain = CHECKPOINTS / "plain_protocol0.pkl"
    plain.write_bytes(pickle.dumps({"epoch": 3, "name": "run-7", "lr": 0.01, "flags": [True, False, None],
                                    "big": 2**70, "neg": -5}, protocol=0))
    with open(plain, "rb") as f:
        made.append(expectation(plain, "pickle", obj=pickle.load(f), notes="bare protocol 0 pickle"))

    # NumPy archives (reference logits come this way), stored and deflated, one big-endian array.
    rng = np.random.default_rng(5)
    arrays = {"logits": rng.standard_normal((2, 10)).astype(np.float32),
              "input": rng.standard_normal((1, 3, 4, 4)),
              "labels": np.arange(4, dtype=np.int64),
              "swapped": rng.standard_normal(5).astype(">f4")}
    np.savez(CHECKPOINTS / "arrays.npz", **arrays)
    np.savez_compressed(CHECKPOINTS / "arrays_compressed.npz", **arrays)
    for name in ("arrays.npz", "arrays_compressed.npz"):
        loaded = {k: torch.from_numpy(v.astype(v.dtype.newbyteorder("<"))) for k, v in np.load(CHECKPOINTS / name).items()}
        made.append(expectation(CHECKPOINTS / name, "npz", obj=loaded, notes="numpy archive"))
    return made


# ---------------------------------------------------------------------------------------------
# Hostile and broken files
# ---------------------------------------------------------------------------------------------

def op_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def short_unicode(text):
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def make_hostile():
    HOSTILE.mkdir(parents=True, exist_ok=True)
    expected = {}

    def put(name, data, mentions, zipped=False, compress=zipfile.ZIP_STORED, storages=None):
        path = HOSTILE / name
        if zipped:
            entries = [("h/data.pkl", data), ("h/byteorder", b"little")]
            entries += [(f"h/data/{k}", v) for k, v in (storages or {}).items()]
            entries.append(("h/version", b"3\n"))
            write_zip(path, entries, compress)
        else:
            path.write_bytes(data)
        expected[name] = {"mentions": mentions}

    # Payloads that would run code.
    put("reduce_os_system.pt", b"\x80\x02" + op_global("os", "system") + short_unicode("echo pwned") + b"\x85R.",
        "os.system", zipped=True)
    put("reduce_posix_system.pkl", b"\x80\x02" + op_global("posix", "system") + short_unicode("id") + b"\x85R.", "posix.system")
    put("stack_global_eval.pt", b"\x80\x04" + short_unicode("builtins") + short_unicode("eval") + b"\x93"
        + short_unicode("print(1)") + b"\x85R.", "builtins.eval", zipped=True)
    put("codecs_then_eval.pkl", b"\x80\x02" + op_global("builtins", "eval") + op_global("_codecs", "encode")
        + short_unicode("1+1") + short_unicode("latin1") + b"\x86R\x85R.", "builtins.eval")
    put("inst_os_system.pkl", b"(S'ls'\nios\nsystem\n.", "os.system")
    put("obj_subprocess.pkl", b"\x80\x02(" + op_global("subprocess", "Popen") + short_unicode("ls") + b"o.", "subprocess.Popen")
    put("newobj_os.pkl", b"\x80\x02" + op_global("os", "system") + b")\x81.", "os.system")
    put("build_on_module.pkl", b"\x80\x02" + op_global("sys", "modules") + b"}b.", "sys.modules")
    put("getattr_chain.pkl", b"\x80\x02" + op_global("builtins", "getattr") + op_global("os", "path")
        + short_unicode("exists") + b"\x86R.", "builtins.getattr")
    # A global whose name carries line breaks and a terminal escape: the error must stay one line.
    put("control_chars_in_name.pkl", b"\x80\x04" + short_unicode("os\nfake line\x1b[2J\x85") + short_unicode("system")
        + b"\x93" + short_unicode("x") + b"\x85R.", "refused to call os")
    put("ext_code.pkl", b"\x80\x02\x82\x01.", "extension")
    put("persid_in_bare_pickle.pkl", b"\x80\x02" + short_unicode("x") + b"Q.", "persistent id")

    # Structure attacks.
    put("deep_tuples.pt", b"\x80\x02N" + b"\x85" * 1_000_000 + b".", "maxNestingDepth", zipped=True,
        compress=zipfile.ZIP_DEFLATED)
    laughs = b"\x80\x02]q\x00"
    for level in range(1, 40):
        laughs += b"](" + b"h" + bytes([level - 1]) + b"2" * 9 + b"eq" + bytes([level])
    put("billion_laughs.pkl", laughs + b".", "maxVisitedValues")
    put("self_reference.pkl", b"\x80\x02]q\x00h\x00a.", "maxNestingDepth")
    put("memo_missing.pkl", b"\x80\x02h\x05.", "memo reference 5")
    put("long_binget_huge.pkl", b"\x80\x02j\xff\xff\xff\xff.", "memo reference 4294967295")
    put("unknown_opcode.pkl", b"\x80\x02\xff.", "unknown opcode")
    put("binunicode_huge.pkl", b"\x80\x02X\xff\xff\xff\x7f" + b"a" * 16 + b".", "claims")
    put("long4_huge.pkl", b"\x80\x02\x8b\xff\xff\xff\x7f.", "maxIntegerBytes")
    put("marks_only.pkl", b"\x80\x02" + b"(" * 100_000 + b".", "maxMarkDepth")
    put("empty_stack_stop.pkl", b"\x80\x02.", "STOP with an empty stack")

    # Tensor records that lie.
    tensor = lambda storage, size, stride, offset=0: Reduced(
        torch._utils._rebuild_tensor_v2, (storage, offset, size, stride, False, collections.OrderedDict()))
    float_storage = StorageRef("0", torch.FloatStorage, 4)
    put("shape_overflow.pt", crafted_pickle({"w": tensor(float_storage, (2**62, 2**62), (1, 1))}), "overflows",
        zipped=True, storages={"0": b"\0" * 16})
    put("shape_beyond_storage.pt", crafted_pickle({"w": tensor(float_storage, (100,), (1,))}), "needs 400 bytes",
        zipped=True, storages={"0": b"\0" * 16})
    put("offset_beyond_storage.pt", crafted_pickle({"w": tensor(float_storage, (2,), (1,), offset=2**40)}), "needs",
        zipped=True, storages={"0": b"\0" * 16})
    put("short_storage.pt", crafted_pickle({"w": tensor(float_storage, (4,), (1,))}), "holds 8 bytes",
        zipped=True, storages={"0": b"\0" * 8})
    put("missing_storage.pt", crafted_pickle({"w": tensor(float_storage, (4,), (1,))}), "not in the archive",
        zipped=True, storages={})
    put("zero_stride_bomb.pt", crafted_pickle({"w": tensor(float_storage, (2**20, 2**12), (0, 0))}), "expands",
        zipped=True, storages={"0": b"\0" * 16})
    put("complex_storage.pt", crafted_pickle({"w": tensor(StorageRef("0", torch.ComplexFloatStorage, 2), (2,), (1,))}),
        "ComplexFloatStorage", zipped=True, storages={"0": b"\0" * 16})

    # Damaged real checkpoints.
    good = (CHECKPOINTS / "dtypes.pt").read_bytes()
    (HOSTILE / "truncated_zip.pt").write_bytes(good[: len(good) // 2])
    expected["truncated_zip.pt"] = {"mentions": "zip"}
    legacy = (CHECKPOINTS / "dtypes_legacy.pt").read_bytes()
    (HOSTILE / "truncated_legacy.pt").write_bytes(legacy[: len(legacy) - 7])
    expected["truncated_legacy.pt"] = {"mentions": "past the end"}
    (HOSTILE / "truncated_legacy_pickle.pt").write_bytes(legacy[:200])
    expected["truncated_legacy_pickle.pt"] = {"mentions": "truncated"}
    cut_pickle = HOSTILE / "truncated_data_pkl.pt"
    rewrite_zip(CHECKPOINTS / "dtypes.pt", cut_pickle, transform=lambda n, d: d[: len(d) // 2] if n.endswith("data.pkl") else d)
    expected["truncated_data_pkl.pt"] = {"mentions": "data.pkl"}
    legacy_huge = bytearray(legacy)
    # The first storage's 8-byte element count follows the storage-key pickle; make it enormous.
    keys_end = _legacy_storage_start(bytes(legacy))
    legacy_huge[keys_end:keys_end + 8] = struct.pack("<q", 2**61)
    (HOSTILE / "legacy_storage_beyond_file.pt").write_bytes(bytes(legacy_huge))
    expected["legacy_storage_beyond_file.pt"] = {"mentions": "past the end"}

    # Files that are not checkpoints, named for what they are.
    (HOSTILE / "empty.pt").write_bytes(b"")
    expected["empty.pt"] = {"mentions": "empty"}
    (HOSTILE / "random.bin").write_bytes(np.random.default_rng(6).integers(0, 256, 4096, dtype=np.uint8).tobytes().replace(b"\x80", b"\x81"))
    expected["random.bin"] = {"mentions": "random.bin"}
    (HOSTILE / "lfs_pointer.pt").write_bytes(b"version https://git-lfs.github.com/spec/v1\noid sha256:"
                                            + b"0" * 64 + b"\nsize 102502400\n")
    expected["lfs_pointer.pt"] = {"mentions": "Git LFS"}
    (HOSTILE / "error_page.pth").write_bytes(b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n")
    expected["error_page.pth"] = {"mentions": "HTML"}
    (HOSTILE / "gzipped.pt.gz").write_bytes(gzip.compress(good[:1000], mtime=0))
    expected["gzipped.pt.gz"] = {"mentions": "gzip"}
    header = json.dumps({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}).encode()
    (HOSTILE / "weights.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    expected["weights.safetensors"] = {"mentions": "safetensors"}
    script = torch.jit.script(tiny_net())
    torch.jit.save(script, HOSTILE / "torchscript.pt")
    expected["torchscript.pt"] = {"mentions": "TorchScript"}

    (HOSTILE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")

    # The picklescan corpus, copied so a fresh clone can run the tests.
    corpus = CORPUS / "picklescan"
    if corpus.is_dir():
        target = HOSTILE / "picklescan"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(corpus, target)
        for path in target.rglob("*"):
            path.chmod(0o644 if path.is_file() else 0o755)
    else:
        print(f"warning: {corpus} not found; fixtures/hostile/picklescan left as is", file=sys.stderr)
    return expected


def _legacy_storage_start(data):
    """Offset of the first storage's element count: after the five pickles (walked, not loaded)."""
    import pickletools
    f = io.BytesIO(data)
    for _ in range(5):
        for opcode, _, _ in pickletools.genops(f):
            if opcode.name == "STOP":
                break
    return f.tell()


def make_pickle_cases():
    """Values pickled by Python's own pickler in every protocol, with the metadata the reader must
    decode them to: sign-extended LONG1, big-endian BINFLOAT, LONG_BINPUT past 255 memo slots, FRAME,
    MEMOIZE, STACK_GLOBAL-free containers, shared references."""
    shared = ["shared-%d" % i for i in range(300)]  # > 256 memo slots: LONG_BINPUT / LONG_BINGET
    values = {
        "ints": [0, 1, -1, 255, 256, -256, 65535, 65536, -129, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63],
        "big_ints": [2**63, -2**63 - 1, 2**64, 2**70, -2**70, 10**30],
        "floats": [0.5, -1.25, 1e300, -2.5e-300, 3.141592653589793],
        "text": ["", "ascii", "ünïcödé ☃", "line\nbreak", "back\\slash", "quote'\""],
        "flags": [True, False, None],
        "nested": {"a": {"b": {"c": [1, (2, 3), {"d": 4}]}}},
        "memo_list": shared,
        "memo_again": shared,
        "tuple": (1, "two", 3.0),
        "empty": [[], {}, ()],
    }
    cases = []
    for protocol in range(0, 6):
        raw = pickle.dumps(values, protocol=protocol)
        assert pickle.loads(raw) == values
        cases.append({"protocol": protocol, "hex": raw.hex()})
    expected = metadata(values)
    out = {"values": expected, "cases": cases}
    (CHECKPOINTS / "pickle_cases.json").write_text(json.dumps(out, indent=1) + "\n")
    return cases


if __name__ == "__main__":
    torch.manual_seed(0)
    made = make_good()
    make_pickle_cases()
    hostile = make_hostile()
    total = sum(p.stat().st_size for p in (ROOT / "fixtures").rglob("*") if p.is_file())
    print(f"{len(made)} checkpoint fixtures, {len(hostile)} crafted hostile files, {total} bytes under fixtures/")
