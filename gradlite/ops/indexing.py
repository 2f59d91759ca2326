"""Indexing: ``x[idx]`` with ints, slices, None, Ellipsis, bool masks and integer tensors.

Basic indexing (ints, slices, None, Ellipsis) gives a view; its gradient writes ``gy`` into zeros at
``idx``. Advanced indexing (integer or bool arrays) copies; its gradient scatter-adds, so repeated
indices accumulate. Both gradients are ops themselves (their own gradient is ``g[idx]``), which keeps
double backward working.
"""

from __future__ import annotations

from gradlite.ops._base import apply, tensor_method
from gradlite.ops.shape import as_view
from gradlite.tensor import Tensor, _dtype_of


def _normalise(x: Tensor, idx):
    """Turn tensors in an index into backend arrays; return (index, is_basic)."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for p in parts:
        if isinstance(p, Tensor):
            if p._device is not x._device:
                raise RuntimeError(
                    f"indices should be either on cpu or on the same device as the indexed tensor ({x.device})"
                )
            if p._data.ndim == 0 and _dtype_of(p._data).category == 1:
                p = int(p.item())
            else:
                if _dtype_of(p._data).is_floating_point:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                p, basic = p._data, False
        elif isinstance(p, (list,)) or hasattr(p, "__array__") and not isinstance(p, (int, slice)):
            b = x._device.backend
            p, basic = b.from_host(__import__("numpy").asarray(p), x._device.index), False
        elif isinstance(p, float):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices"
            )
        out.append(p)
    return tuple(out), basic


def _check(x: Tensor, idx) -> None:
    """IndexError for indices out of range, with the same message on every backend (CuPy wraps silently)."""
    shape = x._data.shape
    used = sum(p.ndim if _is_bool(p) else 1 for p in idx if p is not None and p is not Ellipsis)
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    dim = 0
    for p in idx:
        if p is None:
            continue
        if p is Ellipsis:
            dim += len(shape) - used
            continue
        if isinstance(p, int):
            if not -shape[dim] <= p < shape[dim]:
                raise IndexError(f"index {p} is out of bounds for dimension {dim} with size {shape[dim]}")
        elif hasattr(p, "dtype") and not _is_bool(p):
            x._device.backend.check_bounds(p, dim, shape[dim])
        dim += p.ndim if _is_bool(p) else 1


def _is_bool(p) -> bool:
    return hasattr(p, "dtype") and _dtype_of(p).category == 0


@tensor_method("__getitem__")
def getitem(x: Tensor, idx) -> Tensor:
    idx, basic = _normalise(x, idx)
    _check(x, idx)
    key = idx[0] if len(idx) == 1 else idx
    data = x._data[key]
    shape = x._data.shape
    if basic:
        name = "SelectBackward0" if any(isinstance(p, int) for p in idx) else "SliceBackward0"
        return as_view(apply(name, data, (x,), (lambda gy: index_grad(gy, key, shape, True),)), x)
    return apply("IndexBackward0", data, (x,), (lambda gy: index_grad(gy, key, shape, False),))


def index_grad(gy: Tensor, key, shape: tuple, basic: bool) -> Tensor:
    """Zeros of ``shape`` with ``gy`` written (basic) or scatter-added (advanced) at ``key``."""
    b = gy._device.backend
    with b.context(gy._device.index):
        g = b.xp.zeros(shape, dtype=gy._data.dtype)
    if basic:
        g[key] = gy._data
    else:
        b.scatter_add(g, key, gy._data)
    return apply("IndexPutBackward0", g, (gy,), (lambda gg: gg[key],))
