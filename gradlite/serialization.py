"""Checkpoints: ``gradlite.save(obj, f)`` / ``gradlite.load(f, map_location=...)`` without pickle.

The file is a NumPy ``.npz`` archive: one array per tensor (``t0``, ``t1``, ...) and ``__index__``, the
UTF-8 bytes of a JSON document that describes the saved structure (dicts, lists, tuples, numbers,
strings, None) and, for every tensor, its dtype, shape, device and ``requires_grad``. Loading uses
no pickle and builds only those types, so a file cannot execute code, and every array is checked against
the index: a corrupt, truncated or tampered file raises a ``RuntimeError`` that names it.

A hostile file cannot make ``load`` allocate much more than the file holds: each member's ``.npy`` header
is read first and its dtype and shape compared with the index and with the member's size in the zip
directory before any data is allocated; each array is read once however often the index refers to it;
members stored uncompressed (``gradlite.save`` writes no other) may hold in all no more bytes than the file
has, and compressed members (an archive made elsewhere) may expand in all to at most ``_MAX_EXPANSION``
times the file's size.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import struct
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from gradlite.device import device as _device
from gradlite.tensor import Tensor, _make

FORMAT = "gradlite-checkpoint"
VERSION = 1
_INDEX = "__index__"
_DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"}
_MAX_EXPANSION = 100  # compressed members may inflate in all to this many times the file's size ...
_MIN_BUDGET = 16 << 20  # ... or to 16 MiB for a small file
_CHUNK = 1 << 20  # array data is read in pieces of this size


# -- saving -------------------------------------------------------------------------------------------
class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.seen: dict[int, str] = {}  # id(tensor) -> key: a tensor saved twice is stored once
        self.keep: list = []  # keeps saved objects alive so ids are not reused while writing

    def encode(self, obj, path: str = "obj"):
        from gradlite import dtypes
        from gradlite.nn.parameter import Parameter

        if obj is None:
            return {"type": "none"}
        if isinstance(obj, bool):
            return {"type": "bool", "v": obj}
        if isinstance(obj, int):
            return {"type": "int", "v": obj}
        if isinstance(obj, float):
            return {"type": "float", "v": repr(obj)}
        if isinstance(obj, str):
            return {"type": "str", "v": obj}
        if isinstance(obj, Tensor):
            key = self.seen.get(id(obj))
            if key is None:
                key = self.seen[id(obj)] = f"t{len(self.seen)}"
                self.keep.append(obj)
                self.arrays[key] = np.array(obj.detach()._host(), order="C", copy=True)
            return {
                "type": "tensor",
                "key": key,
                "dtype": obj.dtype.name,
                "shape": list(obj.shape),
                "device": str(obj.device),
                "requires_grad": bool(obj.requires_grad),
                "parameter": isinstance(obj, Parameter),
            }
        if isinstance(obj, np.ndarray) or isinstance(obj, np.generic):
            a = np.asarray(obj)
            if a.dtype.name not in _DTYPES:
                raise TypeError(f"gradlite.save: cannot store a NumPy array of dtype {a.dtype} (at {path})")
            key = f"a{len(self.arrays)}"
            self.arrays[key] = np.array(a, order="C", copy=True)
            return {
                "type": "ndarray" if isinstance(obj, np.ndarray) else "npscalar",
                "key": key,
                "dtype": a.dtype.name,
                "shape": list(a.shape),
            }
        if isinstance(obj, _device):
            return {"type": "device", "v": str(obj)}
        if isinstance(obj, dtypes.dtype):
            return {"type": "dtype", "v": obj.name}
        if isinstance(obj, dict):
            kind = "ordereddict" if isinstance(obj, OrderedDict) else "dict"
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int, float, bool, tuple)) and k is not None:
                    raise TypeError(
                        f"gradlite.save: dict keys must be strings, numbers, None or tuples, got "
                        f"{type(k).__name__} (at {path})"
                    )
                items.append([self.encode(k, f"{path} key"), self.encode(v, f"{path}[{k!r}]")])
            return {"type": kind, "items": items}
        if isinstance(obj, (list, tuple)):
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"type": kind, "items": [self.encode(v, f"{path}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(
            f"gradlite.save cannot store an object of type {type(obj).__name__} (at {path}): only tensors, "
            "NumPy arrays, numbers, strings, None, devices, dtypes and dicts / lists / tuples of them"
        )


def save(obj, f) -> None:
    """Write ``obj`` (tensors, state dicts, nested dicts / lists / tuples, numbers, strings) to ``f``.

    ``f`` is a path (written atomically: a temporary file renamed into place) or a binary file object.
    Tensors on a GPU are copied to the host; their device is recorded for ``load``.
    """
    w = _Writer()
    root = w.encode(obj)
    index = {"format": FORMAT, "version": VERSION, "root": root}
    arrays = dict(w.arrays)
    arrays[_INDEX] = np.frombuffer(json.dumps(index).encode("utf-8"), dtype=np.uint8)
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        tmp = path + ".tmp"
        try:
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
            os.replace(tmp, path)
        except BaseException:
            # a failed write (disk full, interrupt) leaves the previous checkpoint, and no partial file
            if os.path.exists(tmp):
                os.remove(tmp)
            raise
    else:
        np.savez(f, **arrays)


# -- loading ------------------------------------------------------------------------------------------
class _Archive:
    """The arrays of a checkpoint's zip archive, each checked against what it declares before it is read."""

    def __init__(self, fh) -> None:
        fh.seek(0, os.SEEK_END)
        self.length = fh.tell()
        fh.seek(0)
        self.zip = zipfile.ZipFile(fh)
        self.members = {i.filename[:-4]: i for i in self.zip.infolist() if i.filename.endswith(".npy")}
        self.files = list(self.members)
        self.cache: dict[str, np.ndarray] = {}
        self.stored = 0  # bytes read so far from uncompressed members
        self.inflated = 0  # bytes read so far from compressed members

    def close(self) -> None:
        self.zip.close()

    def _reserve(self, key: str, info: zipfile.ZipInfo) -> None:
        """Refuse a member whose declared size the file cannot hold (checked before anything is allocated)."""
        if info.compress_size > self.length:
            raise ValueError(
                f"member {key!r} declares {info.compress_size} bytes but the file has {self.length}"
            )
        if info.compress_type == zipfile.ZIP_STORED:
            # overlapping members could repeat the same bytes: count what is read, not what is distinct
            self.stored += info.file_size
            if info.file_size != info.compress_size or self.stored > self.length:
                raise ValueError(
                    f"member {key!r} declares {info.file_size} bytes, more than the file holds "
                    f"({self.length})"
                )
            return
        self.inflated += info.file_size
        budget = max(_MAX_EXPANSION * self.length, _MIN_BUDGET)
        if self.inflated > budget:
            raise ValueError(
                f"member {key!r} inflates from {info.compress_size} to {info.file_size} bytes: the "
                f"compressed members would expand to more than {budget} bytes ({_MAX_EXPANSION} times the "
                "file's size)"
            )

    def read(self, key: str, dtype: str | None = None, shape=None) -> np.ndarray:
        """The array ``key`` (read once), checked against the ``dtype`` and ``shape`` the index gives."""
        a = self.cache.get(key)
        if a is None:
            a = self.cache[key] = self._read(key, dtype, shape)
        elif dtype is not None and (a.dtype.name != dtype or list(a.shape) != list(shape)):
            raise ValueError(
                f"array {key!r} is {a.dtype.name}{list(a.shape)} but the index says {dtype}{list(shape)}"
            )
        return a

    def _read(self, key: str, dtype, shape) -> np.ndarray:
        info = self.members[key]
        self._reserve(key, info)
        with self.zip.open(info) as fh:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(fh)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(fh)
            else:
                raise ValueError(f"array {key!r} has an unsupported .npy version {version}")
            got_shape, fortran, got = header
            if got.hasobject or got.name not in _DTYPES or got.names is not None:
                raise ValueError(f"array {key!r} has unsupported dtype {got} (pickled or structured data)")
            if any(type(n) is not int or n < 0 for n in got_shape):
                raise ValueError(f"array {key!r} declares an invalid shape {got_shape}")
            if dtype is not None and (got.name != dtype or list(got_shape) != list(shape)):
                raise ValueError(
                    f"array {key!r} is {got.name}{list(got_shape)} but the index says {dtype}{list(shape)}"
                )
            count = math.prod(got_shape)
            expected = fh.tell() + count * got.itemsize
            if expected != info.file_size:
                raise ValueError(
                    f"array {key!r} declares {got.name}{list(got_shape)} ({count * got.itemsize} bytes of "
                    f"data) but its member holds {info.file_size - fh.tell()}"
                )
            a = np.empty(count, dtype=got)
            view = memoryview(a.view(np.uint8).reshape(-1)) if count else memoryview(b"")
            pos = 0
            while pos < len(view):
                n = fh.readinto(view[pos : pos + _CHUNK])
                if not n:
                    raise ValueError(f"array {key!r} is truncated")
                pos += n
            if fh.read(1):  # also makes zipfile check the member's CRC
                raise ValueError(f"array {key!r} holds more data than it declares")
        if not got.isnative:
            a = a.astype(got.newbyteorder("="))
        return a.reshape(got_shape[::-1]).T if fortran else a.reshape(got_shape)


class _Reader:
    def __init__(self, archive: _Archive, name: str, map_location) -> None:
        self.archive, self.name, self.map_location = archive, name, map_location
        self.tensors: dict[str, Tensor] = {}

    def array(self, node: dict) -> np.ndarray:
        key, dtype, shape = node["key"], node["dtype"], node["shape"]
        if not isinstance(key, str) or key == _INDEX or key not in self.archive.members:
            raise ValueError(f"the index refers to an array {key!r} that is not in the archive")
        if dtype not in _DTYPES:
            raise ValueError(f"unsupported dtype {dtype!r} in the index")
        if not isinstance(shape, list) or any(type(n) is not int for n in shape):
            raise ValueError(f"array {key!r}: the index gives an invalid shape {str(shape)[:80]}")
        return self.archive.read(key, dtype, shape)

    def target(self, saved: str):
        from gradlite import cuda

        ml = self.map_location
        if isinstance(ml, dict):
            ml = ml.get(saved, saved)
        dev = _device(saved if ml is None else ml)
        if dev.type == "cuda":
            if not cuda.is_available():
                raise RuntimeError(
                    f"Attempting to deserialize object on a CUDA device but gradlite.cuda.is_available() "
                    f"is False (loading {self.name}). If you are running on a CPU-only machine, please use "
                    "gradlite.load with map_location='cpu' to map your storages to the CPU."
                )
            if dev.index is None:
                dev = _device("cuda", 0)
        return dev

    def decode(self, node):
        from gradlite import dtypes
        from gradlite.nn.parameter import Parameter

        if not isinstance(node, dict) or "type" not in node:
            raise ValueError(f"malformed index entry {str(node)[:80]!r}")
        kind = node["type"]
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            v = node["v"]
            if type(v) is not {"bool": bool, "int": int, "str": str}[kind]:
                raise ValueError(f"index entry of type {kind} holds {v!r}")
            return v
        if kind == "float":
            if not isinstance(node["v"], str):
                raise ValueError(f"index entry of type float holds {node['v']!r}")
            return float(node["v"])
        if kind == "tensor":
            key = node["key"]
            t = self.tensors.get(key)
            if t is None:
                a = self.array(node)
                dev = self.target(node["device"])
                data = dev.backend.from_host(a, dev.index)  # a was read into its own buffer: no copy
                t = _make(data, dev)
                if node.get("parameter"):
                    t = Parameter(t, requires_grad=bool(node.get("requires_grad")))
                elif node.get("requires_grad"):
                    t.requires_grad_(True)
                self.tensors[key] = t
            return t
        if kind in ("ndarray", "npscalar"):
            # an array referred to twice is the same array (as a tensor saved twice is the same tensor)
            a = self.array(node)
            return a if kind == "ndarray" else a[()]
        if kind == "device":
            return _device(node["v"])
        if kind == "dtype":
            name = node["v"]
            if name not in dtypes.BY_NAME:
                raise ValueError(f"unknown dtype {name!r}")
            return dtypes.BY_NAME[name]
        if kind in ("dict", "ordereddict"):
            out = OrderedDict() if kind == "ordereddict" else {}
            for pair in node["items"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError("malformed dict item in the index")
                k = self.decode(pair[0])
                if isinstance(k, (Tensor, dict, list, np.ndarray)):
                    raise ValueError(f"dict key of type {type(k).__name__} in the index")
                out[k] = self.decode(pair[1])
            return out
        if kind in ("list", "tuple"):
            items = [self.decode(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        raise ValueError(f"unknown entry type {kind!r} in the index")


def load(f, map_location=None, weights_only: bool = True, **kwargs):
    """Read an object written by ``gradlite.save``.

    ``map_location``: None (each tensor back on the device it was saved from), ``'cpu'``, ``'cuda'``,
    ``'cuda:N'``, a ``gradlite.device``, or a dict mapping saved device strings to new ones. A CUDA
    checkpoint loads on a machine without CuPy with ``map_location='cpu'``. ``weights_only`` is accepted
    for PyTorch compatibility: loading never runs code, whatever its value.
    """
    name = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name", repr(f))
    if map_location is not None and not isinstance(map_location, (str, dict, _device)):
        raise TypeError(
            f"gradlite.load: map_location must be None, a string, a device or a dict, got "
            f"{type(map_location).__name__}"
        )
    if isinstance(f, (str, os.PathLike)) and not os.path.exists(name):
        raise FileNotFoundError(f"No such file or directory: '{name}'")
    try:
        opened = open(f, "rb") if isinstance(f, (str, os.PathLike)) else contextlib.nullcontext(f)
        with opened as fh, contextlib.closing(_Archive(fh)) as archive:
            if _INDEX not in archive.members:
                raise ValueError("no __index__ entry (not written by gradlite.save)")
            raw = archive.read(_INDEX)
            if raw.dtype != np.uint8 or raw.ndim != 1:
                raise ValueError(f"the index is {raw.dtype.name}{list(raw.shape)}, not bytes")
            index = json.loads(raw.tobytes().decode("utf-8"))
            if not isinstance(index, dict) or index.get("format") != FORMAT:
                raise ValueError("the index is not a gradlite checkpoint index")
            if index.get("version") != VERSION:
                raise ValueError(
                    f"unsupported checkpoint version {index.get('version')!r} (this gradlite reads "
                    f"version {VERSION})"
                )
            return _Reader(archive, name, map_location).decode(index["root"])
    except (
        ValueError,
        KeyError,
        TypeError,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        NotImplementedError,  # zipfile: an unknown compression method
        IndexError,
        OverflowError,
        RecursionError,  # (like NotImplementedError, a RuntimeError that is not ours: wrapped too)
        MemoryError,
        UnicodeDecodeError,
        AttributeError,
    ) as err:
        raise RuntimeError(
            f"gradlite.load: {name} is not a valid gradlite checkpoint or is corrupt: "
            f"{type(err).__name__}: {err}"
        ) from err


__all__ = ["load", "save"]
