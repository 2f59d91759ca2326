"""Sorting: ``sort``, ``argsort`` and ``topk``.

The order is the backend's stable argsort (NaN sorts as the largest value, as in PyTorch; ties keep their
input order, one of the orders PyTorch allows). The values' gradient goes back to where each value came
from (a scatter into zeros, made of gradlite ops, so it is differentiable too).
"""

from __future__ import annotations

from gradlite import dtypes
from gradlite.ops._base import apply, tensor_method
from gradlite.ops.reduction import return_types
from gradlite.tensor import Tensor, _make, _wrap_dim


def _order(x: Tensor, d: int, descending: bool):
    """The int64 indices that sort ``x`` along ``d`` (``x`` has at least one dim)."""
    b = x._device.backend
    xd = x._data
    if x.dtype is dtypes.bool_:  # (the array API orders numbers only)
        xd = b.xp.astype(xd, b.dtype("uint8"))
    idx = b.xp.argsort(xd, axis=d, descending=descending, stable=True)
    return b.xp.astype(idx, b.dtype("int64"), copy=False)


def _selected(x: Tensor, name: str, idx, d: int) -> Tensor:
    """``x``'s values at ``idx`` along ``d``, recorded as ``name`` (its node sends gy back there)."""
    xp = x._device.backend.xp
    index = _make(idx, x._device)

    def gx(gy):
        return gy.new_zeros(x.shape).scatter(d, index, gy)

    return apply(name, xp.take_along_axis(x._data, idx, axis=d), (x,), (gx,))


def _copy(x: Tensor):
    """A copy of ``x``'s array: the values of a 0-d sort / topk are a new tensor, never an alias of ``x``."""
    return x._device.backend.xp.asarray(x._data, copy=True)


@tensor_method()
def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool | None = None):
    """``(values, indices)`` of ``x`` sorted along ``dim``, ascending unless ``descending``."""
    name = "SortBackward0" if stable is None else "SortBackward1"
    if x.dim() == 0:
        _wrap_dim(dim, 0)
        return return_types.sort(apply(name, _copy(x), (x,), (lambda gy: gy,)), _zero_index(x))
    d = _wrap_dim(dim, x.dim())
    idx = _order(x, d, descending)
    return return_types.sort(_selected(x, name, idx, d), _make(idx, x._device))


@tensor_method()
def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``x`` along ``dim`` (``sort(...).indices``)."""
    if x.dim() == 0:
        _wrap_dim(dim, 0)
        return _zero_index(x)
    return _make(_order(x, _wrap_dim(dim, x.dim()), descending), x._device)


@tensor_method()
def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """``(values, indices)`` of the ``k`` largest (or, ``largest=False``, smallest) elements along ``dim``,
    in order (PyTorch leaves the order open with ``sorted=False``; it is sorted here too). Among tied values
    the lower index comes first, on every device: PyTorch documents the indices of ties as unspecified (its
    CPU kernel's pick falls out of std::nth_element, and its CUDA kernel has picked differently,
    pytorch/pytorch#27542), so only the values and that the indices point at them are compared."""
    if x.dtype is dtypes.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    size = x.shape[_wrap_dim(dim, x.dim())] if x.dim() else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    if x.dim() == 0:  # (k = 0 too gives the one element, as PyTorch)
        values = apply("TopkBackward0", _copy(x), (x,), (lambda gy: gy,))
        return return_types.topk(values, _zero_index(x))
    d = _wrap_dim(dim, x.dim())
    idx = _order(x, d, largest)[(slice(None),) * d + (slice(0, k), ...)]
    return return_types.topk(_selected(x, "TopkBackward0", idx, d), _make(idx, x._device))


def _zero_index(x: Tensor) -> Tensor:
    b = x._device.backend
    return _make(b.xp.zeros((), dtype=b.dtype(dtypes.int64.name)), x._device)
