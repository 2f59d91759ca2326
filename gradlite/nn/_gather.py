"""``take(x, dim, positions)``: entries of ``x`` at fixed, known-valid positions along ``dim``.

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
