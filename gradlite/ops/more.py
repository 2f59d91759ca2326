"""PyTorch's convenience ops: ``addcmul``, ``addcdiv``, ``nan_to_num``, ``nansum``, ``nanmean``,
``count_nonzero``, ``nonzero``/``argwhere``, ``repeat_interleave``, ``diff`` and ``meshgrid``.

Each is built from gradlite's own ops where PyTorch composes it too (``diff``, ``nanmean``, ``meshgrid``:
the same nodes), and is one node with PyTorch's name and closed-form gradients where PyTorch has a kernel.
"""

from __future__ import annotations

import warnings

from gradlite import dtypes
from gradlite.autograd.grad_mode import no_grad
from gradlite.ops._base import apply, tensor_method
from gradlite.ops.pointwise import where
from gradlite.ops.reduction import expand_back, reduce_dims
from gradlite.tensor import Tensor, _make, _wrap_dim


@tensor_method()
def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:  # noqa: A002
    """``input + value * tensor1 * tensor2`` (broadcast), one node."""
    operands = (input, tensor1, tensor2)
    if all(t.dtype is dtypes.bool_ for t in operands):
        raise NotImplementedError("\"addcmul_cpu_out\" not implemented for 'Bool'")
    if not any(t.dtype.is_floating_point for t in operands):
        value = int(value)  # (an integer result: PyTorch casts the value to it)
    with no_grad():
        out = input + value * tensor1 * tensor2
        if out.dtype is not tensor1.dtype or out.dtype is not tensor2.dtype:
            # PyTorch computes in the promoted dtype (float32 factors of a float64 input: no float32 rounding)
            out = input + value * tensor1.to(out.dtype) * tensor2.to(out.dtype)
    return apply(
        "AddcmulBackward0",
        out._data,
        (input, tensor1, tensor2),
        (lambda gy: gy, lambda gy: gy * value * tensor2, lambda gy: gy * value * tensor1),
        saved=(None, tensor2, tensor1),
    )


@tensor_method()
def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:  # noqa: A002
    """``input + value * tensor1 / tensor2`` (broadcast), one node; integer quotients raise, as PyTorch."""
    if not tensor1.dtype.is_floating_point and not tensor2.dtype.is_floating_point:
        raise RuntimeError(
            "Integer division with addcdiv is no longer supported, and in a future  release addcdiv will "
            "perform a true division of tensor1 and tensor2. The historic addcdiv behavior can be "
            "implemented as (input + value * torch.trunc(tensor1 / tensor2)).to(input.dtype) for integer "
            "inputs and as (input + value * tensor1 / tensor2) for float inputs. The future addcdiv behavior "
            "is just the latter implementation: (input + value * tensor1 / tensor2), for all dtypes."
        )
    with no_grad():
        out = input + value * tensor1 / tensor2
        if out.dtype is not tensor1.dtype or out.dtype is not tensor2.dtype:
            out = input + value * tensor1.to(out.dtype) / tensor2.to(out.dtype)  # (as addcmul)
    return apply(
        "AddcdivBackward0",
        out._data,
        (input, tensor1, tensor2),
        (lambda gy: gy, lambda gy: gy * value / tensor2,
         lambda gy: -gy * value * tensor1 / (tensor2 * tensor2)),
        saved=(None, tensor2, (tensor1, tensor2)),
    )


@tensor_method()
def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
               ) -> Tensor:
    """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (by default 0 and the dtype's
    largest and smallest values); the gradient passes where x is finite."""
    xp = x._device.backend.xp
    xd = x._data
    if not x.dtype.is_floating_point:
        return apply("NanToNumBackward0", xp.asarray(xd, copy=True), (x,), (lambda gy: gy,))
    info = xp.finfo(xd.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    big = xp.isinf(xd)
    data = xp.where(xp.isnan(xd), xp.asarray(nan, dtype=xd.dtype), xd)
    data = xp.where(big & (xd > 0), xp.asarray(hi, dtype=xd.dtype), data)
    data = xp.where(big & (xd < 0), xp.asarray(lo, dtype=xd.dtype), data)
    return apply("NanToNumBackward0", data, (x,), (lambda gy: where(x.isfinite(), gy, 0.0),), saved=(x,))


@tensor_method()
def nansum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum with NaN counted as zero; NaN elements get no gradient."""
    if dtype is not None:
        x = x.to(dtype)
    axes = reduce_dims(dim, x.dim())
    shape = tuple(x.shape)
    with no_grad():
        data = where(x.isnan(), 0, x).sum(dim, keepdim)._data if x.dtype.is_floating_point else x.sum(
            dim, keepdim)._data

    def gx(gy):  # (a product, as PyTorch: an infinite gy times a NaN's 0 is NaN, e.g. nanmean of all-NaN)
        g = expand_back(gy, shape, axes, keepdim)
        return g * (~x.isnan()).to(g.dtype)

    return apply("NansumBackward0", data, (x,), (gx,), saved=(x,))


@tensor_method()
def nanmean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the elements that are not NaN (PyTorch's composition: nansum / count)."""
    if not (x.dtype if dtype is None else dtypes.as_dtype(dtype)).is_floating_point:
        raise RuntimeError(
            "nanmean(): expected input to have floating point or complex dtype but got "
            f"{dtypes.TORCH_NAMES.get(x.dtype.name, x.dtype.name)}"
        )
    count = (~x.isnan()).sum(dim, keepdim)
    return nansum(x, dim, keepdim, dtype=dtype) / count


@tensor_method()
def count_nonzero(x: Tensor, dim=None) -> Tensor:
    """How many elements are not zero, over ``dim`` (all by default); int64, no gradient."""
    b = x._device.backend
    axes = reduce_dims(dim, x.dim())
    nonzero = x._data if x.dtype is dtypes.bool_ else x._data != 0
    data = b.xp.sum(b.xp.astype(nonzero, b.dtype("int64")), axis=axes)
    return _make(b.xp.asarray(data), x._device)


@tensor_method()
def diff(x: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None
         ) -> Tensor:
    """The ``n``-th forward difference along ``dim``, after ``prepend`` and ``append`` are joined on."""
    from gradlite.ops.join import cat

    if x.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    d = _wrap_dim(dim, x.dim())
    if prepend is not None or append is not None:
        x = cat([t for t in (prepend, x, append) if t is not None], d)
    for _ in range(n):
        size = x.shape[d]
        if size:
            hi, lo = x.narrow(d, 1, size - 1), x.narrow(d, 0, size - 1)
            x = hi != lo if x.dtype is dtypes.bool_ else hi - lo  # (bools: their xor, as PyTorch)
    return x


def meshgrid(*tensors: Tensor, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors: each expanded along the others' dims (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    flat = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(flat) >= 2
    order = [1, 0, *range(2, len(flat))] if swap else list(range(len(flat)))
    shape = [flat[i].shape[0] for i in order]
    grids = []
    for k, t in enumerate(flat):
        pos = order.index(k)
        view = [1] * len(flat)
        view[pos] = t.shape[0]
        grids.append(t.reshape(view).expand(shape))
    return tuple(grids)


@tensor_method()
def nonzero(x: Tensor, *, as_tuple: bool = False):
    """The indices of the nonzero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one 1-D tensor
    per dim (a 0-d tensor counts as one element of a 1-D one there, as PyTorch)."""
    b = x._device.backend
    xp, i64 = b.xp, b.dtype("int64")
    xd = x._data if x.dim() else b.xp.reshape(x._data, (1,))
    hits = xp.nonzero(xd if x.dtype is dtypes.bool_ else xd != 0)
    if as_tuple:
        return tuple(_make(xp.astype(h, i64), x._device) for h in hits)
    if not x.dim():
        return _make(xp.zeros((hits[0].shape[0], 0), dtype=i64), x._device)
    return _make(xp.astype(xp.stack(hits, axis=1), i64), x._device)


@tensor_method()
def argwhere(x: Tensor) -> Tensor:
    """``nonzero(x)``: the (n, ndim) indices of the nonzero elements."""
    return nonzero(x)


def repeat_interleave(x, repeats=None, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``; the flattened tensor by default) repeated ``repeats`` times
    (a number, or a tensor of one count per element). ``repeat_interleave(counts)`` alone gives the indices
    ``arange(len(counts))`` repeated by them."""
    from gradlite.creation import arange

    if repeats is None:  # repeat_interleave(repeats): the index form
        counts = x
        return repeat_interleave(arange(counts.shape[0], device=counts.device), counts)
    if dim is None:
        x, d = x.reshape(-1), 0
    else:
        d = _wrap_dim(dim, x.dim())
    if not x.dim():
        x = x.reshape(1)
    if isinstance(repeats, Tensor) and repeats.numel() == 1:
        repeats = int(repeats.item())
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        shape = list(x.shape)
        expanded = x.unsqueeze(d + 1).expand(*shape[: d + 1], repeats, *shape[d + 1 :])
        shape[d] *= repeats
        return expanded.reshape(shape)  # (one copy; PyTorch's node there is a ViewBackward0)
    if repeats.dim() != 1 or repeats.shape[0] != x.shape[d]:
        raise RuntimeError(
            "repeats must have the same size as input along dim, but got repeats.size(0) = "
            f"{repeats.shape[0] if repeats.dim() else 1} and input.size({d}) = {x.shape[d]}"
        )
    import numpy as np  # (the counts are read on the host: the output's size depends on them, and PyTorch
    # syncs too; ``output_size`` is accepted and they are read all the same)

    b = repeats._device.backend
    counts = b.to_host(repeats._data)
    if (counts < 0).any():
        raise RuntimeError("repeats can not be negative")
    index = np.repeat(np.arange(len(counts)), counts)
    return x.index_select(d, _make(b.from_host(index, x._device.index), x._device))


Tensor.repeat_interleave = repeat_interleave
