"""Helpers shared by the backends (written against the NumPy-style API that NumPy and CuPy share)."""

from __future__ import annotations

import operator

INPLACE = {operator.add: operator.iadd, operator.sub: operator.isub, operator.mul: operator.imul,
           operator.truediv: operator.itruediv}


def ioperate(dst, src, op) -> None:
    """``dst = op(dst, src)`` in place, ``op`` one of ``INPLACE``'s operators; ``dst`` is a float16/32/64
    array and ``src`` a python number or an array of dst's dtype that broadcasts into it. A read-only
    ``dst`` raises ValueError."""
    r = INPLACE[op](dst, src)
    if r is not dst:  # an array type without in-place operators
        dst[...] = r


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
        # bools and floats are drawn as int64 and cast: ``integers`` takes integer dtypes only (CuPy's raises
        # on bool in iinfo); randint has checked the bounds (PyTorch's errors)
        idt = dtype if dtype.kind in "iu" else "int64"
        a = rng.integers(kw["low"], kw["high"], size=shape, dtype=idt)
    else:
        raise ValueError(f"unknown random kind {kind!r}")
    return a.astype(dtype, copy=False)


def check_range(ix, lo, hi, exc: type, msg: str) -> None:
    """Raise ``exc(msg.format(bad=v))`` when an integer array holds a value ``v`` outside ``[lo, hi)`` (the
    largest bad value if one is too large, else the smallest): on the host, at once."""
    if ix.size:
        mn, mx = int(ix.min()), int(ix.max())
        if mn < lo or mx >= hi:
            raise exc(msg.format(bad=mx if mx >= hi else mn))


def bounds_message(dim: int, size: int) -> str:
    """PyTorch's message for an index out of range of dimension ``dim`` (``{bad}``: the index)."""
    return f"index {{bad}} is out of bounds for dimension {dim} with size {size}"


def check_bounds(ix, dim: int, size: int, extremes=None) -> None:
    """Raise IndexError when an integer index array holds a value outside ``[-size, size)`` for ``dim``
    (``extremes(ix)``: its min and max as Python ints, where reading them costs a device sync each)."""
    if ix.size:
        lo, hi = (int(ix.min()), int(ix.max())) if extremes is None else extremes(ix)
        if lo < -size or hi >= size:
            bad = hi if hi >= size else lo
            raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")


def scatter_prod(xp, target, index, values) -> None:
    """``target[index] *= values``, repeated positions multiplying in turn, for a namespace without
    ``multiply.at`` (CuPy): the positions are grouped by sorting, then each round multiplies one element
    of every group (the k-th repeat of each position: no position twice in one fancy-indexed update).
    Host reads (not in a training step): the group starts, the number of rounds, each round's selection."""
    if target.ndim == 0:  # (a 0-d index names the one element once)
        target *= xp.asarray(values, dtype=target.dtype)
        return
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
    work = target if target.flags.c_contiguous else xp.ascontiguousarray(target)
    flat = work.reshape(-1)  # a view of ``work``
    for r in range(int(rank.max()) + 1):  # (the most repeats of one position)
        m = rank == r
        flat[pos[m]] *= v[m]
    if work is not target:  # (a transposed target: its flat view would have been a copy)
        target[...] = work


# -- scatters through the dtypes CuPy's atomics handle exactly -------------------------------------------
# CuPy's atomic scatters take few dtypes (13.x: no int64; max/min: no float16, bool or small integers), and
# its float max/min round doubles through float32 and drop NaN. Both helpers below work on 64-bit unsigned
# words, which every CuPy version adds and compares exactly; ``scatter(target, index, values)`` is the
# backend's atomic scatter (CuPy's, or ``np.<ufunc>.at`` where the tests run them on NumPy).
_SIGN = 1 << 63


def scatter_sum(xp, scatter, target, index, values) -> None:
    """``target[index] += values``, repeats adding in turn. Floats and 32-bit/unsigned 64-bit integers go
    straight to ``scatter``; other integers and bool add as unsigned 64-bit words (two's complement: the
    same sums, wrapping as the narrow dtype does), bool then as ``sum != 0`` (NumPy's ``add.at``)."""
    kind, size = target.dtype.kind, target.dtype.itemsize
    if kind == "f" or (kind in "iu" and size == 4) or (kind == "u" and size == 8):
        scatter(target, index, values)
        return
    words = xp.asarray(values).astype(xp.int64).view(xp.uint64)
    if kind == "i" and size == 8:  # (a view: the sums land in target)
        scatter(target.view(xp.uint64), index, words)
        return
    work = target.astype(xp.int64).view(xp.uint64)
    scatter(work, index, words)
    target[...] = (work != 0) if kind == "b" else work.view(xp.int64).astype(target.dtype)


def scatter_extreme(xp, scatter, target, index, values, is_max: bool) -> None:
    """``target[index] = max(target[index], values)`` (min unless ``is_max``), repeats in turn, NaN winning
    as in PyTorch: each value becomes an unsigned 64-bit key in the same order (floats through float64,
    exactly; NaN made the largest key for max, the smallest for min), ``scatter`` takes the max/min of the
    keys, and the winners are turned back."""
    keys = _ordered_keys(xp, target, is_max)
    scatter(keys, index, _ordered_keys(xp, xp.asarray(values, dtype=target.dtype), is_max))
    target[...] = _from_keys(xp, keys, target.dtype)


def _ordered_keys(xp, a, is_max: bool):
    kind = a.dtype.kind
    if kind == "f":
        a = a.astype(xp.float64)
        nan = xp.asarray(float("nan"), dtype=xp.float64)
        a = xp.where(xp.isnan(a), nan if is_max else -nan, a)  # (-nan: its sign bit set)
        bits = a.view(xp.uint64)  # negatives reversed and below the positives:
        return xp.where(bits >= xp.uint64(_SIGN), ~bits, bits | xp.uint64(_SIGN))
    if kind == "i":
        return a.astype(xp.int64).view(xp.uint64) ^ xp.uint64(_SIGN)
    return a.astype(xp.uint64)  # unsigned, bool


def _from_keys(xp, keys, dtype):
    kind = dtype.kind
    if kind == "f":
        bits = xp.where(keys >= xp.uint64(_SIGN), keys ^ xp.uint64(_SIGN), ~keys)
        return bits.view(xp.float64).astype(dtype)
    if kind == "i":
        return (keys ^ xp.uint64(_SIGN)).view(xp.int64).astype(dtype)
    return keys.astype(dtype)
