"""Device and dtype moves: ``to``. Differentiable: the gradient goes back to the source device and dtype."""

from __future__ import annotations

from gradlite.ops._base import apply
from gradlite.tensor import Tensor, _dtype_of


def to(x: Tensor, dev=None, dtype=None, copy: bool = False, non_blocking: bool = False) -> Tensor:
    """``x`` on ``dev`` with ``dtype`` (either may be None: unchanged); ``x`` itself when nothing changes.
    ``non_blocking``: a copy between host and device that does not wait (from pinned memory, or into it:
    PyTorch's rule; the backends say how)."""
    src_dev, src_dt = x._device, _dtype_of(x._data)
    dev = src_dev if dev is None else dev
    dtype = src_dt if dtype is None else dtype
    if dev is src_dev and dtype is src_dt and not copy:
        return x
    data = x._data
    if dev is not src_dev:
        host = src_dev.backend.to_host(data, non_blocking)
        data = dev.backend.from_host(host, dev.index, non_blocking)
    b = dev.backend
    if dtype is not src_dt:
        if x._requires_grad and not dtype.is_floating_point:
            data = b.xp.astype(data, b.dtype(dtype.name))
            return _plain(data, dev)
        data = b.xp.astype(data, b.dtype(dtype.name))
    elif data is x._data:
        data = b.xp.asarray(data, copy=True)
    return apply("ToCopyBackward0", data, (x,), (lambda gy: gy.to(src_dev, src_dt),), dev=dev)


def _plain(data, dev):
    from gradlite.tensor import _make

    return _make(data, dev)
