"""Helpers shared by the backends (written against the NumPy-style API that NumPy and CuPy share)."""

from __future__ import annotations


def draw(rng, kind, shape, dtype, **kw):
    """Draw from a NumPy-style Generator (numpy.random.Generator or cupy.random.Generator)."""
    if kind == "uniform":
        a = rng.random(shape, dtype="float64" if dtype.itemsize == 2 else dtype)
        lo, hi = kw.get("low", 0.0), kw.get("high", 1.0)
        a = a * (hi - lo) + lo if (lo, hi) != (0.0, 1.0) else a
    elif kind == "normal":
        a = rng.standard_normal(shape, dtype="float64" if dtype.itemsize == 2 else dtype)
        mean, std = kw.get("mean", 0.0), kw.get("std", 1.0)
        a = a * std + mean if (mean, std) != (0.0, 1.0) else a
    elif kind == "integers":
        a = rng.integers(kw["low"], kw["high"], size=shape, dtype=dtype)
    else:
        raise ValueError(f"unknown random kind {kind!r}")
    return a.astype(dtype, copy=False)


def check_bounds(ix, dim: int, size: int) -> None:
    """Raise IndexError when an integer index array holds a value outside ``[-size, size)`` for ``dim``."""
    if ix.size:
        lo, hi = int(ix.min()), int(ix.max())
        if lo < -size or hi >= size:
            bad = hi if hi >= size else lo
            raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
