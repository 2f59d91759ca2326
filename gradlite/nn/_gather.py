"""Gathers at known-valid positions: ``take(x, dim, positions)`` along one dim, and ``take_along`` /
``put_along`` (each the other's gradient) at per-element positions of a (N, C, L) tensor.

Padding, resizing and adaptive pooling gather rows whose positions depend only on shapes. Unlike
``index_select`` this needs no bounds check (the positions are valid by construction), so it never
synchronises with the GPU, and the index array is made once per device and reused.
"""

from __future__ import annotations

from gradlite import dtypes
from gradlite.ops._base import apply
from gradlite.ops.indexing import index_grad
from gradlite.tensor import Tensor

_INDEX_CACHE: dict = {}
_CACHE_LIMIT = 512


def constant(values: tuple, dtype, dev):
    """``values`` as a 1-D array of ``dtype`` on ``dev``, made once and cached: the shape-derived constants
    of padding and resizing are small and reused every forward, so they cross to the GPU only once."""
    key = (dev, dtype, values)
    a = _INDEX_CACHE.get(key)
    if a is None:
        from gradlite.creation import tensor

        if len(_INDEX_CACHE) >= _CACHE_LIMIT:
            _INDEX_CACHE.clear()
        a = _INDEX_CACHE[key] = tensor(list(values), dtype=dtype, device=dev)._data
    return a


def take(x: Tensor, dim: int, positions) -> Tensor:
    """``x`` indexed by ``positions`` (a sequence of ints in [0, size)) along ``dim``; repeats allowed.

    The gradient scatter-adds, so a position taken several times collects all its gradients.
    """
    positions = tuple(int(p) for p in positions)
    d = dim % x.dim()
    idx = constant(positions, dtypes.int64, x._device)
    data = x._device.backend.xp.take(x._data, idx, axis=d)
    shape = x._data.shape
    key = (slice(None),) * d + (idx,)
    return apply("IndexSelectBackward0", data, (x,), (lambda gy: index_grad(gy, key, shape, False),))


def take_along(x: Tensor, idx) -> Tensor:
    """x (N, C, L) at positions ``idx`` (a backend int array broadcastable to (N, C, P), valid by
    construction) -> (N, C, P). The gradient scatter-adds (``put_along``); its gradient is this gather."""
    xp = x._device.backend.xp
    full = xp.broadcast_to(idx, (x.shape[0], x.shape[1], idx.shape[-1]))
    data = xp.take_along_axis(x._data, full, axis=2)
    shape = x._data.shape
    return apply("GatherBackward0", data, (x,), (lambda gy: put_along(gy, full, shape),))


def put_along(g: Tensor, full, shape: tuple) -> Tensor:
    """The adjoint of ``take_along``: (N, C, P) values added into zeros of ``shape`` (N, C, L) at ``full``."""
    b = g._device.backend
    xp = b.xp
    n, c, _ = full.shape
    with b.context(g._device.index):
        out = xp.zeros(shape, dtype=g._data.dtype)
        key = (xp.reshape(xp.arange(n), (n, 1, 1)), xp.reshape(xp.arange(c), (1, c, 1)), full)
    b.scatter_add(out, key, g._data)
    return apply("ScatterAddBackward0", out, (g,), (lambda gg: take_along(gg, full),))
