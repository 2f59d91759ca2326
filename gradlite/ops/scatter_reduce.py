"""Scatter with a reduction: ``scatter_reduce`` (sum, prod, mean, amax, amin; ``include_self``) and the
older ``scatter(..., reduce="add" | "multiply")``.

The forward is one backend call (``ufunc.at`` on NumPy, CuPy's atomic scatters); the backward is
PyTorch's formulas written with gradlite ops, so it is differentiable again: ties of amax/amin share the
gradient evenly, and prod divides by the inputs with zeros masked (one zero: the product of the others).
"""

from __future__ import annotations

import warnings

from gradlite.autograd.node import NOT_IMPLEMENTED
from gradlite.creation import zeros_like
from gradlite.ops._base import apply, tensor_method
from gradlite.ops.indexing import _gather_checks, _grid, _index, _pad_to, _put, _src, _zero_at
from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor, _dtype_of, _make, _wrap_dim

# PyTorch also takes "max" and "min" for amax and amin (its error message names only the five)
_REDUCES = {"sum": "sum", "prod": "prod", "mean": "mean", "amax": "amax", "amin": "amin"}
_REDUCES.update(max="amax", min="amin")


@tensor_method()
def scatter_reduce(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """A copy of ``x`` where each ``src`` element is reduced into the position ``index`` gives it along
    ``dim``, with the value already there unless ``include_self=False``; repeated positions reduce all
    their elements. Integer ``mean`` rounds down, as PyTorch's."""
    op = _REDUCES.get(reduce)
    if op is None:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_reduce(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}"
        )
    ix = _index(index, "scatter_reduce", x)
    d = _wrap_dim(dim, x.dim())
    srct, sub = _src(x, src, ix, "scatter")
    _gather_checks(x, d, ix, "scatter_reduce", srct._data.shape)
    key = _grid(ix.shape, ix, d, x)
    data, count = _reduce_into(x, key, sub, op, include_self)
    fns = _backward(x, d, index, srct, key, op, include_self, count)
    saved = ((x, srct), (x, srct)) if op in ("prod", "amax", "amin") else ()  # (what the gradients read)
    return apply("ScatterReduceBackward0", data, (x, srct), fns, saved=saved, save_output=True)


def _reduce_into(x: Tensor, key, sub, op: str, include_self: bool):
    """(the reduced copy of x's array, the per-position counts of a mean as an array or None)."""
    b = x._device.backend
    xp = b.xp
    data = xp.asarray(x._data, copy=True)
    if not include_self:  # the positions written start from the reduction's identity
        _put(b, data, key, _identity(xp, data.dtype, op), False)
    b.scatter_reduce(data, key, sub, "sum" if op == "mean" else op)
    if op != "mean":
        return data, None
    count = xp.full(data.shape, 1 if include_self else 0, dtype=data.dtype)
    b.scatter_add(count, key, xp.ones(sub.shape, dtype=data.dtype))
    count = xp.where(count == 0, xp.ones_like(count), count)  # (positions never written keep x's value)
    floating = _dtype_of(data).is_floating_point
    return (data / count if floating else xp.floor_divide(data, count)), count


def _identity(xp, dt, op: str):
    """The value a reduction starts from (what ``include_self=False`` puts where src is written)."""
    if op in ("sum", "mean"):
        return 0
    if op == "prod":
        return 1
    if xp.isdtype(dt, "bool"):
        return op == "amin"
    if xp.isdtype(dt, "real floating"):
        return -float("inf") if op == "amax" else float("inf")
    return xp.iinfo(dt).min if op == "amax" else xp.iinfo(dt).max


def _backward(x: Tensor, d: int, index: Tensor, src: Tensor, key, op: str, include_self: bool, count):
    """PyTorch's gradients of scatter_reduce, for x and for src (``fn(gy, y)``, y the output)."""
    shape = tuple(index.shape)

    def values():  # the src elements that were scattered (the first index.shape of each dim)
        return src if tuple(src.shape) == shape else src[tuple(slice(0, n) for n in shape)]

    def for_x(g: Tensor) -> Tensor:  # positions written take no gradient from x without include_self
        return g if include_self else _zero_at(g, key)

    if op == "sum":
        return (lambda gy, y: for_x(gy), lambda gy, y: _pad_to(gy.gather(d, index), src))
    if op == "mean":
        n = _make(count, x._device)

        def gx_mean(gy, y):
            return for_x(gy / n)

        return (gx_mean, lambda gy, y: _pad_to((gy / n).gather(d, index), src))
    if op == "prod":

        def gx_prod(gy, y):  # the product of everything else at the position (x's zeros taken as 1)
            masked = x.masked_fill(x == 0, 1)
            others = masked.scatter_reduce(d, index, values(), "prod", include_self=include_self)
            return for_x(gy * others / masked)

        def gs_prod(gy, y):
            s = values()
            zero = s == 0
            zeros_there = zeros_like(x).scatter_add(d, index, zero.to(x.dtype)).gather(d, index)
            single = zero & (zeros_there == 1)  # the only zero at its position: the product of the others
            others = x.scatter_reduce(d, index, s.masked_fill(single, 1), "prod", include_self=include_self)
            g = (gy * y).gather(d, index) / s.masked_fill(zero, 1)
            return _pad_to(where(single, (gy * others).gather(d, index), g), src)

        return (gx_prod, gs_prod)

    # amax / amin: the gradient is shared evenly by every element equal to the result at its position
    def shares(y):
        s = values()
        at = y.gather(d, index)
        self_is = (x == y).to(x.dtype)
        src_is = (s == at).to(x.dtype)
        return self_is, src_is, self_is.scatter_add(d, index, src_is)

    def gx_ext(gy, y):
        self_is, _, n = shares(y)
        return for_x(self_is * (gy / n))

    def gs_ext(gy, y):
        _, src_is, n = shares(y)
        return _pad_to(src_is * (gy / n).gather(d, index), src)

    return (gx_ext, gs_ext)


_SCATTER_REDUCES = {"add": "sum", "multiply": "prod"}


def scatter_with_reduce(x: Tensor, d: int, index: Tensor, src, reduce: str) -> Tensor:
    """``scatter(dim, index, src, reduce="add" | "multiply")``: src (tensor or number) added to or
    multiplied into ``x`` at index, repeats in turn; PyTorch gives it no derivative."""
    op = _SCATTER_REDUCES.get(reduce)
    if op is None:
        raise RuntimeError("reduce argument must be either add or multiply.")
    ix = _index(index, "scatter", x)
    srct, sub = _src(x, src, ix, "scatter")
    _gather_checks(x, d, ix, "scatter", None if srct is None else srct._data.shape)
    if srct is not None:
        warnings.warn(
            "The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a "
            "future PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
            UserWarning,
            stacklevel=3,
        )
    b = x._device.backend
    data = b.xp.asarray(x._data, copy=True)
    key = _grid(ix.shape, ix, d, x)
    values = sub if srct is not None else b.xp.full(ix.shape, sub, dtype=data.dtype)
    b.scatter_reduce(data, key, values, op)
    return apply(NOT_IMPLEMENTED, data, (x, srct), (_no_derivative, _no_derivative))


def _no_derivative(gy):
    raise RuntimeError("derivative for aten::scatter is not implemented")
