"""``cupyx`` on the stand-in: the scatters (out-of-range indices wrap, as CuPy's), ``errstate``, pinned
host arrays."""

from __future__ import annotations

import contextlib

import cupy as _cp
import numpy as _np


def _scatter(ufunc):
    def scatter(a, slices, value):
        key = _cp._wrap_index(slices, a.shape)
        _cp._unwrap(a, True, {})
        v = _cp._unwrap(value, True, {}) if isinstance(value, _cp.ndarray) else value
        ufunc.at(a._a, key, v)

    return scatter


scatter_add = _scatter(_np.add)
scatter_max = _scatter(_np.maximum)
scatter_min = _scatter(_np.minimum)


@contextlib.contextmanager
def errstate(*, linalg=None):
    from cupy.linalg import _errstate

    prev = dict(_errstate)
    if linalg is not None:
        _errstate["linalg"] = linalg
    try:
        yield
    finally:
        _errstate.update(prev)


def seterr(*, linalg=None):
    from cupy.linalg import _errstate

    prev = dict(_errstate)
    if linalg is not None:
        _errstate["linalg"] = linalg
    return prev


def geterr():
    from cupy.linalg import _errstate

    return dict(_errstate)


def empty_pinned(shape, dtype=float, order="C"):
    return _np.empty(shape, dtype, order=order)


def zeros_pinned(shape, dtype=float, order="C"):
    return _np.zeros(shape, dtype, order=order)


def empty_like_pinned(a, dtype=None, order="K", subok=None, shape=None):
    return _np.empty(a.shape if shape is None else shape, a.dtype if dtype is None else dtype, order="C")
