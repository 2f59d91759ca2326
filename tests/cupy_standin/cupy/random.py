"""``cupy.random`` on the stand-in: CuPy's ``Generator`` API (``default_rng``), on the current device."""

from __future__ import annotations

import cupy as _cp
import numpy as _np


class Generator:
    """CuPy's Generator: ``random``, ``standard_normal``, ``integers``, ... (a NumPy generator inside)."""

    def __init__(self, seed=None):
        self._g = _np.random.default_rng(seed)

    def random(self, size=None, dtype=_np.float64, out=None):
        return self._put(self._g.random(size, dtype=dtype), out)

    def standard_normal(self, size=None, dtype=_np.float64, out=None):
        return self._put(self._g.standard_normal(size, dtype=dtype), out)

    def integers(self, low, high=None, size=None, dtype=_np.int64, endpoint=False):
        _np.iinfo(dtype)  # (CuPy's check: bool raises "Invalid integer data type 'b'.")
        return _cp._wrap(self._g.integers(low, high, size=size, dtype=dtype, endpoint=endpoint))

    def uniform(self, low=0.0, high=1.0, size=None, dtype=_np.float64):
        return _cp._wrap(self._g.uniform(low, high, size).astype(dtype))

    def normal(self, loc=0.0, scale=1.0, size=None, dtype=_np.float64):
        return _cp._wrap(self._g.normal(loc, scale, size).astype(dtype))

    def exponential(self, scale=1.0, size=None, dtype=_np.float64):
        return _cp._wrap(self._g.exponential(scale, size).astype(dtype))

    def standard_exponential(self, size=None, dtype=_np.float64, method=None, out=None):
        return self._put(self._g.standard_exponential(size, dtype=dtype), out)

    def geometric(self, p, size=None, dtype=_np.int64):
        return _cp._wrap(self._g.geometric(p, size).astype(dtype))

    def binomial(self, n, p, size=None, dtype=_np.int64):
        n, p = (a.get() if isinstance(a, _cp.ndarray) else a for a in (n, p))
        return _cp._wrap(self._g.binomial(n, p, size).astype(dtype))

    def poisson(self, lam=1.0, size=None, dtype=_np.int64):
        lam = lam.get() if isinstance(lam, _cp.ndarray) else lam
        return _cp._wrap(self._g.poisson(lam, size).astype(dtype))

    def gamma(self, shape, scale=1.0, size=None, dtype=_np.float64):
        return _cp._wrap(self._g.gamma(shape, scale, size).astype(dtype))

    def _put(self, a, out):
        if out is None:
            return _cp._wrap(a)
        out[...] = _cp._wrap(a)
        return out


def default_rng(seed=None):
    return Generator(seed)


_global = Generator()


def seed(s=None) -> None:
    _global._g = _np.random.default_rng(s)


def rand(*size):
    return _global.random(size or None)


def randn(*size):
    return _global.standard_normal(size or None)


def random(size=None, dtype=_np.float64):
    return _global.random(size, dtype)
