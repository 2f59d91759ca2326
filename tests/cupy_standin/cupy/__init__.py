"""A CPU stand-in for CuPy, for gradlite's tests on machines without a GPU (never imported by gradlite).

``tests/conftest.py`` puts this folder's parent on ``sys.path`` when the real CuPy cannot run (not
installed, or no CUDA device), so ``import cupy`` gives this module and the ``cuda`` half of the device
fixture runs gradlite's CuPy backend on it. The real CuPy always wins where it works.

It computes with NumPy but behaves as CuPy where CuPy differs from NumPy in ways that break code written
for NumPy (the precedent: GPAW's ``gpaw.gpu.cpupy``):

- ``ndarray`` is its own type: ``numpy.asarray(a)``, ``a.__array__()`` and mixing with NumPy arrays raise
  TypeError, as CuPy does; ``.get()`` / ``cupy.asnumpy`` are the explicit ways to the host.
- every host read is counted as a synchronisation (``_standin.syncs``): ``get``, ``item``, ``tolist``,
  ``bool``/``float``/``int``/``index``, printing, boolean-mask indexing, ``nonzero`` and the other
  routines whose result size depends on the data, device and stream synchronisation.
- broadcast views are writable (CuPy has no writeable flag): a write into one lands in shared memory.
- out-of-range integer indices wrap around (CuPy's default), they do not raise.
- several devices (``GRADLITE_STANDIN_DEVICES``, default 2): ``cuda.Device(i)`` contexts (per thread),
  arrays remember the device they were allocated on, and a kernel given an array of another device than
  the current one raises CuPy's error (as on GPUs without peer access).
- ``random.Generator`` (``default_rng``) as CuPy's; ``fuse`` runs the function; ``linalg.solve`` does not
  broadcast batch dimensions; ``linalg.cholesky``/``inv``/``solve`` return NaN instead of raising on a
  bad matrix unless ``cupyx.errstate(linalg="raise")``; ``iinfo(bool)`` raises.
"""

from __future__ import annotations

import builtins as _b
import contextlib
import os
import sys
import threading
import types
import warnings
import weakref

import numpy as _np

__version__ = "14.0.0+standin"
__standin__ = True

_N_DEVICES = int(os.environ.get("GRADLITE_STANDIN_DEVICES", "2"))


# -- the record of host synchronisations ---------------------------------------------------------------
class _Standin:
    """Counters the tests read: ``syncs`` (host reads so far) and ``log`` (what each was, the last 200)."""

    def __init__(self):
        self.syncs = 0
        self.log: list[str] = []

    def sync(self, what: str) -> None:
        self.syncs += 1
        self.log.append(f"{what} at {_caller()}")
        if len(self.log) > 200:
            del self.log[:100]

    @contextlib.contextmanager
    def count(self):
        """``with _standin.count() as c: ...``; then ``c.syncs`` and ``c.log`` hold what the block read."""
        rec = types.SimpleNamespace(syncs=0, log=[])
        start, n = self.syncs, len(self.log)
        try:
            yield rec
        finally:
            rec.syncs = self.syncs - start
            rec.log = self.log[n:] if len(self.log) >= n else list(self.log)


def _caller() -> str:
    """The innermost frame outside the stand-in and array-api-compat: the code that made the read."""
    f = sys._getframe(2)
    while f is not None and _b.any(k in f.f_code.co_filename for k in ("cupy_standin", "array_api_compat")):
        f = f.f_back
    return "?" if f is None else f"{os.path.relpath(f.f_code.co_filename)}:{f.f_lineno}"


_standin = _Standin()


# -- devices -------------------------------------------------------------------------------------------
class _Current(threading.local):
    device = 0  # CuPy's current device is per thread


_current = _Current()
_used = [0] * _N_DEVICES  # bytes held by live arrays, per device


class CUDARuntimeError(RuntimeError):
    def __init__(self, status: int, msg: str = ""):
        self.status = status
        super().__init__(msg or f"cudaError {status}")


def _check_id(i: int) -> int:
    if not 0 <= i < _N_DEVICES:
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")
    return i


# -- the array -----------------------------------------------------------------------------------------
_live: dict[int, int] = {}  # id of a NumPy buffer owner -> the device it was allocated on


def _root(a):
    while isinstance(a.base, _np.ndarray):
        a = a.base
    return a


def _forget(key: int, dev: int, nbytes: int) -> None:
    _live.pop(key, None)
    _used[dev] -= nbytes


_owners: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id(buffer owner) -> its array


def _wrap(a, like=None):
    """A stand-in array around NumPy array ``a``: a view keeps the array owning its memory as ``base`` (as
    CuPy: the same object for every view) and lives on its device; new memory is allocated on the current
    device. ``like``: the input arrays by the id of their NumPy array (returned as themselves)."""
    if isinstance(a, _np.generic):
        a = _np.asarray(a)
    if like is not None:
        same = like.get(id(a))
        if same is not None:
            return same
    r = _root(a)
    owner = _owners.get(id(r))
    if owner is None:
        dev = _live.get(id(r))
        if dev is None:
            dev = _current.device
            _live[id(r)] = dev
            _used[dev] += r.nbytes
            weakref.finalize(r, _forget, id(r), dev, r.nbytes)
        owner = object.__new__(ndarray)
        owner._a, owner._dev, owner._base = r, dev, None
        _owners[id(r)] = owner
    if a is r:
        return owner
    out = object.__new__(ndarray)
    out._a, out._dev, out._base = a, owner._dev, owner
    return out


def _wrap_all(r, like=None):
    if isinstance(r, (_np.ndarray, _np.generic)) and not isinstance(r, _np.dtype):
        return _wrap(r, like)
    if isinstance(r, tuple):
        vals = [_wrap_all(v, like) for v in r]
        return type(r)(*vals) if hasattr(r, "_fields") else tuple(vals)
    if isinstance(r, list):
        return [_wrap_all(v, like) for v in r]
    return r


def _unwrap(v, check: bool, like: dict):
    """The NumPy array of a stand-in array (recursively in lists and tuples); NumPy arrays raise TypeError
    as CuPy does; with ``check``, an array on another device than the current one raises too."""
    if isinstance(v, ndarray):
        if check and v._dev != _current.device:
            raise ValueError(
                f"The device where the array resides ({v._dev}) is different from the current device "
                f"({_current.device}). Peer access is unavailable between these devices."
            )
        like[id(v._a)] = v
        return v._a
    if isinstance(v, _np.ndarray):
        raise TypeError(f"Unsupported type {type(v)}")
    if isinstance(v, (list, tuple)) and not hasattr(v, "_fields"):
        return type(v)(_unwrap(x, check, like) for x in v)
    return v


_QUIET = {"all": "ignore"}  # CuPy never warns on floating-point exceptions
_STAT_NAMES = {"mean", "var", "std", "nanmean", "nanvar", "nanstd", "nanmin", "nanmax", "nanmedian", "median"}


def _call(fn, args, kwargs, check=True):
    like: dict = {}
    args = [_unwrap(a, check, like) for a in args]
    kwargs = {k: _unwrap(v, check, like) for k, v in kwargs.items()}
    with _np.errstate(**_QUIET):
        if getattr(fn, "__name__", "") in _STAT_NAMES:  # ("Mean of empty slice", "Degrees of freedom")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return _wrap_all(fn(*args, **kwargs), like)
        return _wrap_all(fn(*args, **kwargs), like)


def _wrap_index(key, shape):
    """CuPy's indexing of ``shape`` by ``key``: stand-in arrays unwrapped, integer index arrays wrapped
    around into range (CuPy does not check bounds), a boolean array index counted as a host read."""
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if isinstance(k, ndarray):
            if k._dev != _current.device:
                _unwrap(k, True, {})
            k = k._a
            if k.dtype == _np.bool_:
                _standin.sync("boolean mask index")
        elif isinstance(k, list):
            k = _np.asarray(k)
        items.append(k)
    consumed = _b.sum(
        k.ndim if isinstance(k, _np.ndarray) and k.dtype == _np.bool_ else 0
        if k is None or k is Ellipsis or isinstance(k, (bool, _np.bool_)) else 1
        for k in items
    )
    dim, out = 0, []
    for k in items:
        if k is Ellipsis:
            dim += len(shape) - consumed
        elif k is None or isinstance(k, (bool, _np.bool_)):
            pass
        elif isinstance(k, _np.ndarray) and k.dtype == _np.bool_:
            dim += k.ndim
        else:
            n = shape[dim] if dim < len(shape) else 0
            if isinstance(k, _np.ndarray) and k.dtype.kind in "iu" and n and k.size:
                k = k % n
            dim += 1
        out.append(k)
    return tuple(out)


_SYNC_METHODS = {"item", "tolist", "nonzero"}
_VIEW_METHODS = {"reshape", "view", "transpose", "swapaxes", "squeeze", "diagonal", "ravel"}
_NOT_IN_CUPY = {"tobytes", "tofile", "tostring", "dump", "dumps", "itemset", "byteswap", "newbyteorder",
                "setflags", "resize", "getfield", "setfield", "ctypes", "__array_interface__"}


class _Flags:
    __slots__ = ("c_contiguous", "f_contiguous", "owndata")

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, name):
        return {"C_CONTIGUOUS": self.c_contiguous, "F_CONTIGUOUS": self.f_contiguous,
                "OWNDATA": self.owndata}[name]


class _MemoryPointer:
    def __init__(self, ptr: int, device_id: int):
        self.ptr, self.device_id = ptr, device_id
        self.device = cuda.Device(device_id)

    def __int__(self):
        return self.ptr


class ndarray:
    """CuPy's array on the stand-in: a NumPy array and the device it was allocated on."""

    __slots__ = ("_a", "_dev", "_base", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        w = _wrap(_np.empty(shape, dtype, order=order))
        self._a, self._dev, self._base = w._a, w._dev, w

    # -- attributes (no kernel) -----------------------------------------------------------------------
    @property
    def shape(self):
        return self._a.shape

    @shape.setter
    def shape(self, value):  # in place, a view only (CuPy's AttributeError otherwise)
        self._a.shape = value

    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    device = property(lambda self: cuda.Device(self._dev))
    data = property(lambda self: _MemoryPointer(self._a.__array_interface__["data"][0], self._dev))
    T = property(lambda self: _wrap(self._a.T))
    mT = property(lambda self: _wrap(_np.swapaxes(self._a, -1, -2)))
    base = property(lambda self: self._base)

    @property
    def real(self):
        return _wrap(self._a.real)

    @property
    def imag(self):
        return _wrap(self._a.imag)

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self._a.dtype.str, "version": 3,
                "data": (self._a.__array_interface__["data"][0], False),
                "strides": None if self._a.flags.c_contiguous else self.strides}

    # -- what CuPy refuses -----------------------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy "
            "array explicitly."
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if _b.any(isinstance(v, _np.ndarray) for v in inputs):
            raise TypeError(f"Unsupported type {_np.ndarray}")
        mine = _UFUNCS.get(ufunc.__name__)
        if mine is None:
            return NotImplemented
        return getattr(mine, method)(*inputs, **kwargs) if method != "__call__" else mine(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        mine = globals().get(func.__name__)
        if mine is None or not callable(mine):
            return NotImplemented
        return mine(*args, **kwargs)

    # -- host reads (each a synchronisation) --------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        _standin.sync("get")
        a = _np.array(self._a, order=order)
        if out is not None:
            out[...] = a
            return out
        return a

    def set(self, arr, stream=None):
        if not isinstance(arr, _np.ndarray):
            raise TypeError(f"Only numpy.ndarray can be set to cupy.ndarray, got {type(arr)}")
        self._a[...] = arr

    def item(self, *args):
        _standin.sync("item")
        return self._a.item(*args)

    def tolist(self):
        _standin.sync("tolist")
        return self._a.tolist()

    def __bool__(self):
        _standin.sync("bool")
        return _b.bool(self._a)

    def __float__(self):
        _standin.sync("float")
        return float(self._a)

    def __int__(self):
        _standin.sync("int")
        return int(self._a)

    def __index__(self):
        _standin.sync("index")
        return self._a.__index__()

    def __complex__(self):
        _standin.sync("complex")
        return complex(self._a)

    def __repr__(self):
        _standin.sync("repr")
        return repr(self._a)

    def __str__(self):
        _standin.sync("str")
        return str(self._a)

    def __format__(self, spec):
        _standin.sync("format")
        return format(self._a, spec)

    def nonzero(self):
        _standin.sync("nonzero")
        return _wrap_all(self._a.nonzero())

    # -- sequence protocol ----------------------------------------------------------------------------
    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self._a.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self._a)))

    def __getitem__(self, key):
        key = _wrap_index(key, self._a.shape)
        return _wrap(self._a[key])

    def __setitem__(self, key, value):
        key = _wrap_index(key, self._a.shape)
        if isinstance(value, ndarray):
            value = _unwrap(value, True, {})
        elif isinstance(value, (_np.ndarray, list, tuple)):
            raise TypeError(f"Unsupported type {type(value)}")
        elif self._dev != _current.device:
            _unwrap(self, True, {})
        self._a[key] = value

    # -- copying and pickling -------------------------------------------------------------------------
    def __reduce__(self):
        return (_rebuild, (_np.array(self._a), self._dev))

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    # -- everything else: NumPy's method on the array, results on the device --------------------------
    def __getattr__(self, name):
        if name in _NOT_IN_CUPY or name.startswith("__"):
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap_all(attr)
        check = name not in _VIEW_METHODS

        def method(*args, **kwargs):
            if name in _SYNC_METHODS:
                _standin.sync(name)
            if check and self._dev != _current.device:
                _unwrap(self, True, {})
            r = _call(attr, args, kwargs, check)
            return self if r is None and name in ("sort", "fill", "partition") else r

        return method

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        if not copy and self._a.dtype == _np.dtype(dtype):
            return self
        _unwrap(self, True, {})
        return _wrap(self._a.astype(dtype, order=order))


def _rebuild(a, dev):
    with cuda.Device(dev):
        return _wrap(a)


def _operator(name):
    op = getattr(_np.ndarray, name)
    inplace = name.startswith("__i") and name not in ("__invert__",)

    def method(self, *args):
        like: dict = {}
        x = _unwrap(self, True, like)
        args = [_unwrap(a, True, like) for a in args]
        with _np.errstate(**_QUIET):
            r = op(x, *args)
        if r is NotImplemented:
            return r
        return self if inplace else _wrap(r)

    method.__name__ = name
    return method


for _name in ("add sub mul truediv floordiv mod pow matmul and or xor lshift rshift eq ne lt le gt ge "
              "radd rsub rmul rtruediv rfloordiv rmod rpow rmatmul rand ror rxor rlshift rrshift "
              "iadd isub imul itruediv ifloordiv imod ipow imatmul iand ior ixor ilshift irshift "
              "neg pos abs invert divmod").split():
    setattr(ndarray, f"__{_name}__", _operator(f"__{_name}__"))
ndarray.__hash__ = None


# -- functions: NumPy's, on stand-in arrays --------------------------------------------------------------
def _function(fn, name, check=True, sync=False):
    def f(*args, **kwargs):
        if sync:
            _standin.sync(name)
        return _call(fn, args, kwargs, check)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = getattr(fn, "__doc__", None)
    return f


class ufunc:
    """A NumPy ufunc on stand-in arrays (no ``at``: CuPy's scatters are ``cupyx.scatter_*``)."""

    def __init__(self, uf):
        self._uf = uf
        self.__name__ = uf.__name__
        self.nin, self.nout, self.nargs = uf.nin, uf.nout, uf.nargs

    def __call__(self, *args, **kwargs):
        return _call(self._uf, args, kwargs)

    def reduce(self, *args, **kwargs):
        return _call(self._uf.reduce, args, kwargs)

    def accumulate(self, *args, **kwargs):
        return _call(self._uf.accumulate, args, kwargs)

    def outer(self, *args, **kwargs):
        return _call(self._uf.outer, args, kwargs)

    def __repr__(self):
        return f"<ufunc '{self.__name__}'>"


_UFUNCS: dict[str, ufunc] = {}
# data-dependent output sizes: CuPy reads a count back to the host
_SYNC_FUNCTIONS = {"nonzero", "argwhere", "flatnonzero", "unique", "extract", "compress", "unique_values",
                   "unique_counts", "unique_inverse", "unique_all", "array_equal", "allclose",
                   "array_equiv", "trim_zeros", "setdiff1d", "intersect1d", "union1d", "isin"}
_VIEW_FUNCTIONS = {"reshape", "transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "ravel",
                   "atleast_1d", "atleast_2d", "atleast_3d", "diagonal", "permute_dims", "matrix_transpose"}
_SKIP = {"asarray", "array", "asanyarray", "ascontiguousarray", "asfortranarray", "broadcast_to",
         "broadcast_arrays", "fuse", "iinfo", "finfo", "dtype", "ndarray", "get_array_module", "where",
         "asnumpy", "isscalar", "ndim", "shape", "size", "result_type", "can_cast", "issubdtype",
         "promote_types", "min_scalar_type", "isdtype", "busday_count", "save", "load", "savez", "fromfile",
         "frombuffer", "loadtxt", "genfromtxt", "vectorize", "frompyfunc", "ufunc", "asmatrix", "matrix",
         "memmap", "recarray", "chararray", "einsum_path", "printoptions", "set_printoptions",
         "get_printoptions", "errstate", "seterr", "geterr", "testing", "random", "linalg", "fft"}
__all__: list[str] = []
for _name in dir(_np):
    if _name.startswith("_") or _name in _SKIP:
        continue
    _obj = getattr(_np, _name)
    if isinstance(_obj, _np.ufunc):
        _UFUNCS[_name] = globals()[_name] = ufunc(_obj)
    elif isinstance(_obj, type) or isinstance(_obj, (_np.dtype, float, int, str)) or _obj is None:
        globals()[_name] = _obj  # dtypes (cupy.float32 is numpy.float32), constants
    elif callable(_obj):
        globals()[_name] = _function(_obj, _name, check=_name not in _VIEW_FUNCTIONS,
                                     sync=_name in _SYNC_FUNCTIONS)
    else:
        continue
    __all__.append(_name)
for _name, _obj in list(_UFUNCS.items()):  # NumPy aliases a few ufuncs under other names (abs, ...)
    _UFUNCS.setdefault(_obj._uf.__name__, _obj)

ndarray.__module__ = "cupy"
dtype, can_cast, issubdtype, promote_types = _np.dtype, _np.can_cast, _np.issubdtype, _np.promote_types
isdtype = getattr(_np, "isdtype", None)
finfo = _np.finfo
ndim = _function(_np.ndim, "ndim", check=False)
shape = _function(_np.shape, "shape", check=False)
size = _function(_np.size, "size", check=False)
isscalar = _np.isscalar


def result_type(*arrays_and_dtypes):
    return _np.result_type(*[a._a if isinstance(a, ndarray) else a for a in arrays_and_dtypes])


def iinfo(dtype):
    """As CuPy: ``iinfo(bool)`` raises (NumPy's own message)."""
    return _np.iinfo(dtype)


def asarray(a, dtype=None, order=None, *, blocking=False):
    """A stand-in array: a NumPy array or nested list is copied to the current device (a host-to-device
    copy, not a synchronisation); a stand-in array of that dtype is returned as it is."""
    if isinstance(a, ndarray):
        if dtype is None or _np.dtype(dtype) == a.dtype:
            return a
        return a.astype(dtype)
    if _is_nested(a):
        a = [x.get() if isinstance(x, ndarray) else x for x in a] if isinstance(a, list) else a
    return _wrap(_np.array(a, dtype=dtype, order=order or "K", copy=True))


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    if isinstance(obj, ndarray):
        if not copy and (dtype is None or _np.dtype(dtype) == obj.dtype):
            return obj
        return _wrap(_np.array(obj._a, dtype=dtype, order=order, ndmin=ndmin, copy=True))
    return _wrap(_np.array(obj, dtype=dtype, order=order, ndmin=ndmin, copy=True))


def _is_nested(a):
    return isinstance(a, list) and _b.any(isinstance(x, ndarray) for x in a)


asanyarray = asarray


def ascontiguousarray(a, dtype=None):
    return _call(_np.ascontiguousarray, (asarray(a), ), {"dtype": dtype})


def asfortranarray(a, dtype=None):
    return _call(_np.asfortranarray, (asarray(a), ), {"dtype": dtype})


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    if isinstance(a, ndarray):
        return a.get(order=order, out=out)
    return _np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if _b.any(isinstance(a, ndarray) for a in args) else _np


def broadcast_to(a, shape):
    """A writable view (CuPy has no writeable flag): elements along a broadcast dim share memory."""
    a = asarray(a)
    b = _np.broadcast_to(a._a, shape)
    return _wrap(_np.lib.stride_tricks.as_strided(a._a, b.shape, b.strides, writeable=a._a.flags.writeable))


def broadcast_arrays(*args):
    shp = _np.broadcast_shapes(*[_np.shape(a._a if isinstance(a, ndarray) else a) for a in args])
    return [broadcast_to(a, shp) for a in args]


def take(a, indices, axis=None, out=None):
    """CuPy's ``take`` wraps out-of-range indices around (it never raises)."""
    n = a.size if axis is None else a.shape[axis]
    if isinstance(indices, ndarray) and n and indices.size:
        indices = indices % n
    return _call(_np.take, (a, indices), {"axis": axis, "out": out})


def take_along_axis(a, indices, axis):
    """As ``take``: out-of-range indices wrap around."""
    n = a.shape[axis] if axis is not None else a.size
    if n and indices.size:
        indices = indices % n
    return _call(_np.take_along_axis, (a, indices), {"axis": axis})


def where(condition, x=None, y=None):
    if x is None and y is None:
        _standin.sync("where")
        return _call(_np.nonzero, (condition,), {})
    return _call(_np.where, (condition, x, y), {})


class Fusion:
    """What ``cupy.fuse`` returns: here the function itself, run op by op (what a fused kernel computes)."""

    def __init__(self, func, name=None):
        self.func, self.name = func, name or func.__name__
        self.__name__ = self.name

    def __call__(self, *args, **kwargs):
        return self.func(*args, **kwargs)


def fuse(*args, **kwargs):
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return Fusion(args[0])
    return lambda fn: Fusion(fn, kwargs.get("kernel_name"))


class ElementwiseKernel:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("the CuPy stand-in cannot compile CUDA C (ElementwiseKernel)")


class RawKernel(ElementwiseKernel):
    pass


class ReductionKernel(ElementwiseKernel):
    pass


def get_default_memory_pool():
    return _POOL


def get_default_pinned_memory_pool():
    return _POOL


class _MemoryPool:
    def used_bytes(self) -> int:
        return _used[_current.device]

    def total_bytes(self) -> int:
        return _used[_current.device]

    def free_bytes(self) -> int:
        return 0

    def free_all_blocks(self, stream=None) -> None:
        pass

    def n_free_blocks(self) -> int:
        return 0

    def set_limit(self, size=None, fraction=None) -> None:
        pass

    def get_limit(self) -> int:
        return 0


_POOL = _MemoryPool()
for _name in ("take", "take_along_axis", "asarray", "array", "asanyarray", "ascontiguousarray",
              "asfortranarray", "asnumpy",
              "broadcast_to", "broadcast_arrays", "where", "fuse", "Fusion", "iinfo", "finfo", "dtype",
              "ndarray",
              "get_array_module", "result_type", "can_cast", "issubdtype", "promote_types", "isdtype",
              "ndim", "shape", "size", "isscalar", "ElementwiseKernel", "RawKernel", "ReductionKernel",
              "get_default_memory_pool", "get_default_pinned_memory_pool"):
    __all__.append(_name)

from . import cuda, fft, linalg, random  # noqa: E402

__all__ += ["cuda", "random", "linalg", "fft"]
