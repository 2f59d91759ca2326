"""The strict array-API backend (test-only): ``GRADLITE_CPU_BACKEND=array_api_strict``.

CPU tensors then hold ``array_api_strict`` arrays, which implement the standard and nothing else: an op
that uses a NumPy-only function, method or behaviour fails here, as it would (or might) on CuPy.
The extras the standard lacks (scatter-add, random numbers, host copies) go through NumPy on the host,
as the real backends provide them natively.
"""

from __future__ import annotations

import contextlib

import array_api_strict as xp
import numpy as np

from ._common import check_bounds as _check_bounds
from ._common import check_range as _check_range
from ._common import draw, ioperate
from ._kernels import unfused


class StrictBackend:
    name = "array_api_strict"
    xp = xp
    kernels = unfused(xp)
    array_type = type(xp.asarray(0))
    mm = staticmethod(xp.matmul)  # the product of two matrices

    def __init__(self):
        self.rng = np.random.default_rng()

    # -- dtypes -------------------------------------------------------------------------------
    def dtype(self, name: str):
        """The strict namespace's dtype object for a gradlite dtype name ('float32', 'bool', ...)."""
        if name == "float16":
            raise TypeError("the strict array-API backend has no float16")
        return getattr(xp, name)

    def dtype_name(self, dt) -> str:
        return str(dt).rsplit(".", 1)[-1]

    # -- host <-> device ----------------------------------------------------------------------
    def from_host(self, a, index: int | None = None, non_blocking: bool = False):
        """A strict array holding the values of a NumPy array (or python data)."""
        return xp.asarray(np.asarray(a))

    def to_host(self, a, non_blocking: bool = False) -> np.ndarray:
        return np.asarray(a)

    def context(self, index: int | None):
        return contextlib.nullcontext()

    def synchronize(self, index: int | None = None) -> None:
        return None

    # -- what the array API lacks -------------------------------------------------------------
    def scatter_add(self, target, index, values) -> None:
        """``target[index] += values``, repeated indices accumulating; done on the host and written back."""
        host = np.array(target, copy=True)
        np.add.at(host, _host_index(index), np.asarray(values))
        target[...] = xp.asarray(host)

    def scatter_reduce(self, target, index, values, reduce: str) -> None:
        """NumPy's ``ufunc.at`` on the host (sum/prod/amax/amin), written back."""
        host = np.array(target, copy=True)
        at = {"sum": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}[reduce]
        at.at(host, _host_index(index), np.asarray(values))
        target[...] = xp.asarray(host)

    ioperate = staticmethod(ioperate)  # ``dst op= src`` in place

    def check_bounds(self, ix, dim: int, size: int) -> None:
        _check_bounds(np.asarray(ix), dim, size)

    def check_range(self, ix, lo, hi, exc: type, msg: str) -> None:
        _check_range(np.asarray(ix), lo, hi, exc, msg)

    def manual_seed(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)

    def generator(self, index: int | None = None, seed: int | None = None):
        return self.rng if seed is None else np.random.default_rng(seed)

    def random(self, kind: str, shape, dtype, index=None, generator=None, **kw):
        """Random arrays drawn on the host with NumPy ('uniform', 'normal', 'integers'), as strict arrays."""
        rng = generator if generator is not None else self.rng
        return xp.asarray(draw(rng, kind, shape, np.dtype(self.dtype_name(dtype)), **kw))


def _host_index(index):
    """An index (tuple of strict arrays / slices / ints) with its arrays as NumPy arrays."""
    if isinstance(index, tuple):
        return tuple(_host_index(i) for i in index)
    if isinstance(index, StrictBackend.array_type):
        return np.asarray(index)
    return index
