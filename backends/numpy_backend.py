"""The NumPy backend: ``device="cpu"``."""

from __future__ import annotations

import contextlib
import operator
import types

import array_api_compat.numpy as xp
import numpy as np

from ._common import INPLACE, check_bounds, check_range, draw
from ._kernels import unfused

_ND = np.ndarray
_add_reduce = np.add.reduce
_max_reduce, _min_reduce = np.maximum.reduce, np.minimum.reduce
_clip = getattr(getattr(np, "_core", None), "umath", np).__dict__.get("clip")  # the clip ufunc (NumPy 2)
_NUMBERS = (int, float)
_AT = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}  # (scatter_reduce)
_matmul, _asarray = np.matmul, np.asarray
_truediv = operator.truediv


def _fast_namespace(compat):
    """array-api-compat's NumPy namespace with its hottest functions bound straight to NumPy.

    Each compat wrapper costs a Python call and a device check (1-2 us, as much as the arithmetic on
    small arrays), and ``np.reshape``/``np.sum`` dispatch through ``__array_function__``. The functions
    below do what the compat wrappers do for NumPy arrays, calling the ndarray methods directly; any other
    argument (a device, a non-ndarray input) goes to the compat function; ``matmul`` takes NumPy's
    ``dot`` for two matrices (straight to BLAS: a microsecond less than the ``matmul`` ufunc on small ones)
    and the ``matmul`` ufunc otherwise. Everything else is compat's.
    """
    ns = types.SimpleNamespace(**{k: getattr(compat, k) for k in dir(compat) if not k.startswith("__")})
    ns.__name__ = compat.__name__

    def matmul(x1, x2, /):
        if x1.__class__ is _ND and x2.__class__ is _ND and x1.ndim == 2 and x2.ndim == 2:
            return x1.dot(x2)  # (the method: ``np.dot`` first calls its Python-level dispatcher)
        return _matmul(x1, x2)

    def permute_dims(x, /, axes):
        return x.transpose(axes) if x.__class__ is _ND else compat.permute_dims(x, axes)

    def astype(x, dtype, /, *, copy=True, device=None):
        if device is None and x.__class__ is _ND:
            return x.astype(dtype, copy=copy)
        return compat.astype(x, dtype, copy=copy, device=device)

    def asarray(obj, /, *, dtype=None, device=None, copy=None, **kwargs):
        if device is None and not kwargs:
            if copy is None:
                return np.asarray(obj, dtype=dtype)
            if copy is True:
                return np.array(obj, dtype=dtype, copy=True)
        return compat.asarray(obj, dtype=dtype, device=device, copy=copy, **kwargs)

    def sum(x, /, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if x.__class__ is _ND:
            if not kwargs:  # what ndarray.sum calls, without its Python layer (numpy/_core/_methods.py)
                return _add_reduce(x, axis, dtype, out, keepdims)  # (positional: keywords cost a tenth)
            return x.sum(axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)
        return compat.sum(x, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def max(x, /, *, axis=None, keepdims=False):  # (np.max's Python layer costs more than a small max)
        if x.__class__ is _ND:
            return _max_reduce(x, axis, None, None, keepdims)
        return compat.max(x, axis=axis, keepdims=keepdims)

    def min(x, /, *, axis=None, keepdims=False):
        if x.__class__ is _ND:
            return _min_reduce(x, axis, None, None, keepdims)
        return compat.min(x, axis=axis, keepdims=keepdims)

    def clip(x, /, min=None, max=None):  # (compat's clip costs 4x NumPy's clip ufunc on a float array)
        if (
            x.__class__ is _ND and x.dtype.kind == "f" and _clip is not None
            and min.__class__ in _NUMBERS and max.__class__ in _NUMBERS
        ):
            return _clip(x, min, max)
        return compat.clip(x, min, max)

    def take_along_axis(x, indices, /, *, axis=-1):
        if x.__class__ is _ND and x.ndim == 2 and (axis == 1 or axis == -1) and indices.__class__ is _ND:
            # (np.take_along_axis builds this index in Python: 3x its cost on small arrays)
            return x[np.arange(x.shape[0])[:, None], indices]
        return compat.take_along_axis(x, indices, axis=axis)

    def mean(x, /, axis=None, dtype=None, out=None, keepdims=False, **kwargs):
        if x.__class__ is _ND:
            if dtype is None and out is None and not kwargs and x.dtype.char in "fd":
                # what ndarray.mean computes for float32/64 (the sum, divided by the count), without its
                # Python-level bookkeeping
                n = x.size
                if axis is not None:
                    n = 1
                    for a in (axis,) if isinstance(axis, int) else axis:
                        n *= x.shape[a]
                if axis is None and not keepdims:  # the full mean: divided as a NumPy scalar (a tenth
                    return _asarray(_add_reduce(x, None) / n)  # of a 0-d array's cost), returned as one
                s = _add_reduce(x, axis, None, None, keepdims)  # (n = 0: nan, as PyTorch)
                return np.true_divide(s, n, out=s, casting="unsafe") if s.__class__ is _ND else s / n
            return x.mean(axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)
        return compat.mean(x, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)

    def zeros(shape, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.zeros(shape, dtype=dtype, **kwargs)
        return compat.zeros(shape, dtype=dtype, device=device, **kwargs)

    def empty(shape, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.empty(shape, dtype=dtype, **kwargs)
        return compat.empty(shape, dtype=dtype, device=device, **kwargs)

    def ones(shape, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.ones(shape, dtype=dtype, **kwargs)
        return compat.ones(shape, dtype=dtype, device=device, **kwargs)

    def zeros_like(x, /, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.zeros_like(x, dtype=dtype, **kwargs)
        return compat.zeros_like(x, dtype=dtype, device=device, **kwargs)

    def ones_like(x, /, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.ones_like(x, dtype=dtype, **kwargs)
        return compat.ones_like(x, dtype=dtype, device=device, **kwargs)

    def empty_like(x, /, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.empty_like(x, dtype=dtype, **kwargs)
        return compat.empty_like(x, dtype=dtype, device=device, **kwargs)

    def full(shape, fill_value, *, dtype=None, device=None, **kwargs):
        if device is None:
            return np.full(shape, fill_value, dtype=dtype, **kwargs)
        return compat.full(shape, fill_value, dtype=dtype, device=device, **kwargs)

    fast = [matmul, permute_dims, astype, asarray, sum, max, min, clip, take_along_axis, mean]
    fast += [zeros, empty, ones, zeros_like, ones_like, empty_like, full]
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":  # NumPy's own take ``device`` (None or "cpu"): no
        fast += [np.empty, np.zeros]  # wrapper, and these two are C functions (no Python frame either)
    # ndarray.reshape takes copy= from NumPy 2.1; before that np.reshape (compat's) stays
    if np.lib.NumpyVersion(np.__version__) >= "2.1.0":

        def reshape(x, /, shape=None, order="C", *, copy=None, **kwargs):
            if x.__class__ is _ND and not kwargs:
                return x.reshape(shape, order=order, copy=copy)
            return compat.reshape(x, shape, order=order, copy=copy, **kwargs)

        fast.append(reshape)
    for f in fast:
        setattr(ns, f.__name__, f)
    return ns


def ioperate(dst, src, op) -> None:
    """``dst = op(dst, src)`` in place (``backends._common.ioperate``), one element done cheaply.

    NumPy's in-place ufunc on one element costs 3x the op plus a copy (0.7 vs 0.2 us). With an array
    operand (of dst's float dtype), the one value is computed on python floats and written with ``fill``
    (0.14 us): ``+``, ``-`` and ``*`` of two float16/32/64 values computed in double and rounded once to the
    dtype give the dtype's own correctly rounded result (53 >= 2 * 24 + 2 bits). A python number stays
    with the ufunc (PyTorch rounds it to the dtype first), and so does division (python's raises on 0).
    """
    if dst.size != 1:
        INPLACE[op](dst, src)
    elif src.__class__ is _ND and op is not _truediv:
        dst.fill(op(dst.item(), src.item()))
    else:
        dst[...] = op(dst, src)


def _mm(x, y, _dot=np.ndarray.dot):
    """The product of two matrices: NumPy's ``dot``, straight to BLAS (a microsecond cheaper than ``matmul``
    on small ones), except where an operand is 1 x 1: ``dot`` takes that as a scalar and scales with BLAS,
    which writes 0 for 0 * nan and 0 * inf; ``matmul`` gives nan there, as PyTorch."""
    if x.size == 1 or y.size == 1:
        return _matmul(x, y)
    return _dot(x, y)


def _flat_positions(target, index):
    """The flat positions in ``target`` that an index of integer arrays (one for the leading axis, or one
    per axis) addresses, or None for any other index or a non-float target."""
    if target.dtype.kind != "f" or not target.flags.c_contiguous:
        return None
    if index.__class__ is _ND:
        if index.dtype.kind not in "iu" or not target.ndim:
            return None
        index = np.where(index < 0, index + target.shape[0], index)  # (negative indices count from the end)
        if target.ndim == 1:
            return index
        row = target.size // target.shape[0] if target.shape[0] else 0
        pos = (index * row)[..., None] + np.arange(row)
        return pos.reshape(index.shape + target.shape[1:])
    if (isinstance(index, tuple) and len(index) == target.ndim
            and all(i.__class__ is _ND and i.dtype.kind in "iu" for i in index)):
        return np.ravel_multi_index(np.broadcast_arrays(*index), target.shape, mode="wrap")
    return None


class NumpyBackend:
    name = "numpy"
    xp = _fast_namespace(xp)
    kernels = unfused(xp)  # the hot elementwise formulas (backends/_kernels.py), run as they are
    # Arrays of this backend are instances of this type (used to recognise them in tensor()).
    array_type = np.ndarray
    mm = staticmethod(_mm)  # the product of two matrices

    def __init__(self):
        self.rng = np.random.default_rng()

    # -- dtypes -------------------------------------------------------------------------------
    def dtype(self, name: str):
        """The backend dtype object for a gradlite dtype name ('float32', 'int64', 'bool', ...)."""
        return np.dtype(name)

    def dtype_name(self, dt) -> str:
        return dt.name

    # -- host <-> device ----------------------------------------------------------------------
    def from_host(self, a: np.ndarray, index: int | None = None, non_blocking: bool = False):
        """A backend array holding the values of a NumPy array (no copy when already one)."""
        return a

    def to_host(self, a, non_blocking: bool = False) -> np.ndarray:
        return a

    def context(self, index: int | None):
        return contextlib.nullcontext()

    def synchronize(self, index: int | None = None) -> None:
        return None

    # -- what the array API lacks -------------------------------------------------------------
    def scatter_add(self, target, index, values) -> None:
        """``target[index] += values`` with repeated indices accumulating.

        ``np.add.at`` walks a multi-dim target row by row (0.4 us a row); for a float target indexed by
        integer arrays alone and not much larger than the update, one ``bincount`` over the flat positions
        (summing in float64) is 3x faster: the embedding and gather gradients.
        """
        pos = _flat_positions(target, index)
        if pos is None or target.size > 4 * pos.size:
            np.add.at(target, index, values)
            return
        vals = np.broadcast_to(values, pos.shape).reshape(-1)
        target += np.bincount(pos.reshape(-1), weights=vals, minlength=target.size).reshape(target.shape)

    def scatter_reduce(self, target, index, values, reduce: str) -> None:
        """``target[index] = reduce(target[index], values)`` for reduce in sum/prod/amax/amin, repeated
        indices reducing in turn."""
        _AT[reduce].at(target, index, values)

    check_bounds = staticmethod(check_bounds)
    check_range = staticmethod(check_range)
    ioperate = staticmethod(ioperate)

    def manual_seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def generator(self, index: int | None = None, seed: int | None = None):
        return self.rng if seed is None else np.random.default_rng(seed)

    def random(self, kind: str, shape, dtype, index=None, generator=None, **kw):
        """Random arrays: kind is 'uniform' (low, high), 'normal' (mean, std) or 'integers' (low, high)."""
        rng = generator if generator is not None else self.rng
        return draw(rng, kind, shape, dtype, **kw)
