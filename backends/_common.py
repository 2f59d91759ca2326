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


def scatter_prod(xp, target, index, values) -> None:
    """``target[index] *= values``, repeated positions multiplying in turn, for a namespace without
    ``multiply.at`` (CuPy): the positions are grouped by sorting, then each round multiplies one element
    of every group (the k-th repeat of each position: no position twice in one fancy-indexed update)."""
    idx = xp.broadcast_arrays(*index)
    pos = xp.ravel_multi_index(tuple(a.reshape(-1) for a in idx), target.shape)
    n = pos.shape[0]
    if not n:
        return
    v = xp.broadcast_to(xp.asarray(values, dtype=target.dtype), idx[0].shape).reshape(-1)
    order = xp.argsort(pos)
    pos, v = pos[order], v[order]
    start = xp.concatenate([xp.ones(1, dtype=bool), pos[1:] != pos[:-1]])
    first = xp.nonzero(start)[0][xp.cumsum(start) - 1]  # each element's group start
    rank = xp.arange(n) - first
    flat = target.reshape(-1)  # a view: the target is a fresh contiguous copy
    for r in range(int(rank.max()) + 1):  # (one host read: the most repeats of one position)
        m = rank == r
        flat[pos[m]] *= v[m]
