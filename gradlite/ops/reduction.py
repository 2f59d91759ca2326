"""Reductions: sum, mean, prod, max/min (whole, per-dim with indices), amax/amin, argmax/argmin, var/std,
norm, logsumexp, cumsum/cumprod, all/any (whole tensor, or over ``dim`` with ``keepdim``)."""

from __future__ import annotations

import builtins
from collections import namedtuple

from gradlite import dtypes
from gradlite.autograd.grad_mode import state
from gradlite.ops._base import apply, tensor_method
from gradlite.ops.pointwise import fdata, where
from gradlite.tensor import _DTYPE_OF, Tensor, _dtype_of, _make, _wrap_dim


class return_types:  # noqa: N801 -- PyTorch's name (torch.return_types.max)
    """The named tuples that per-dim ``max``/``min``, ``sort`` and ``topk`` return: ``(values, indices)``."""

    max = namedtuple("max", ["values", "indices"])
    min = namedtuple("min", ["values", "indices"])
    sort = namedtuple("sort", ["values", "indices"])
    topk = namedtuple("topk", ["values", "indices"])




def reduce_dims(dim, ndim: int) -> tuple:
    """Normalise ``dim`` (None, int, or sequence) to a sorted tuple of non-negative axes.

    An empty sequence means every dim, as in PyTorch (``x.sum(dim=())`` is the full sum).
    """
    if dim is None or (not isinstance(dim, int) and len(dim) == 0):
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    # a 0-d tensor takes dim 0 or -1 (PyTorch's rule), and has no axis to reduce
    axes = sorted(_wrap_dim(d, ndim) for d in dim)
    for a, b in zip(axes, axes[1:]):
        if a == b:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return tuple(axes) if ndim else ()


def expand_back(gy: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduction's gradient back to the input shape (re-inserting reduced dims first)."""
    if not keepdim and axes and len(shape):
        kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
        gy = gy.reshape(kept)
    return gy.expand(shape)


def _count(shape, axes) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _xp(x: Tensor):
    return x._device.backend.xp


def _as(x: Tensor, name: str):
    b = x._device.backend
    return b.xp.astype(x._data, b.dtype(name))


@tensor_method()
def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of all elements, or over ``dim``. Integer and bool inputs sum to int64, as PyTorch."""
    xd = x._data
    xp = _xp(x)
    axes = reduce_dims(dim, xd.ndim)
    src = _dtype_of(xd)
    if dtype is not None:
        xd = _as(x, dtypes.as_dtype(dtype).name)
    elif not src.is_floating_point:
        xd = _as(x, "int64")
    shape = x._data.shape
    data = xp.sum(xd, axis=axes, keepdims=keepdim)
    return apply(
        "SumBackward0" if dim is None else "SumBackward1",
        data,
        (x,),
        _SUM,
        args=(shape, axes, keepdim, 1),
        rargs=(xp, shape, _kept(shape, axes, keepdim), 1, xd.size <= 65536),
        rfns=_SUM_RAW,
    )


def _expand_grad(gy, shape, axes, keepdim, n):
    return expand_back(gy if n == 1 else gy / n, shape, axes, keepdim)


def _expand_grad_raw(gy, xp, shape, kept, n, small):
    """``expand_back`` on arrays: ``kept`` is the reduced shape with its dims kept (None: as ``gy``)."""
    if small and gy.ndim == 0:  # a small full reduction: filled directly (a third of broadcast_to's cost)
        out = xp.empty(shape, dtype=gy.dtype)
        out[...] = gy if n == 1 else gy[()] / n  # (on NumPy a scalar: dividing a 0-d array costs 10x more)
        return out
    if n != 1:
        gy = gy / n
    if kept is not None:
        gy = xp.reshape(xp.asarray(gy), kept)
    # a broadcast view is read-only: only made when it broadcasts (engine and leaves copy such views)
    return gy if gy.shape == shape else xp.broadcast_to(gy, shape)


def _kept(shape, axes, keepdim):
    if keepdim or not axes or not shape:
        return None
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


# float16: PyTorch divides a half gradient by the count in float32 (its math type for half) and rounds once;
# NumPy and CuPy would round the count to float16 first (a count above 65504 is inf: a zero gradient).
def _mean_grad_half(gy, shape, axes, keepdim, n):
    return _expand_grad((gy.to(dtypes.float32) / n).to(gy.dtype), shape, axes, keepdim, 1)


def _mean_grad_half_raw(gy, xp, shape, kept, n, small):
    return _expand_grad_raw(xp.astype(xp.astype(gy, xp.float32) / n, gy.dtype), xp, shape, kept, 1, small)


_SUM = (_expand_grad,)
_FULL = [(tuple(range(k)), (1,) * k) for k in range(65)]  # per rank: every dim, and its all-ones shape
_SUM_RAW = (_expand_grad_raw,)
_MEAN_HALF, _MEAN_HALF_RAW = (_mean_grad_half,), (_mean_grad_half_raw,)


@tensor_method()
def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of all elements, or over ``dim``; floating-point inputs only (as PyTorch)."""
    xd = x._data
    dt = _DTYPE_OF.get(xd.dtype) or _dtype_of(xd)
    if dim is None and dtype is None and dt.is_floating_point and dt is not dtypes.float16:
        # the loss's full mean (the training-loop case), with nothing to normalise
        xp = x._device.backend.xp
        shape = xd.shape
        n = xd.size
        axes, ones = _FULL[len(shape)]
        return apply(
            "MeanBackward0",
            xp.mean(xd, axis=None, keepdims=keepdim),
            (x,),
            _SUM,
            args=(shape, axes, keepdim, n),
            rargs=(xp, shape, None if keepdim or not shape else ones, n, n <= 65536),
            rfns=_SUM_RAW,
        )
    src = _dtype_of(x._data) if dtype is None else dtypes.as_dtype(dtype)
    if not src.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {dtypes.TORCH_NAMES.get(src.name, src.name)}"
        )
    xd = x._data if dtype is None else _as(x, src.name)
    xp = _xp(x)
    shape = xd.shape
    if dim is None:  # the loss's full mean: no dims to normalise
        axes, n = tuple(range(xd.ndim)), xd.size
        data = xp.mean(xd, axis=None, keepdims=keepdim)
    else:
        axes = reduce_dims(dim, xd.ndim)
        n = _count(shape, axes)
        data = xp.mean(xd, axis=axes, keepdims=keepdim)
    # d/dx mean = 1/n for every element reduced
    half = src is dtypes.float16
    return apply(
        "MeanBackward0" if dim is None else "MeanBackward1",
        data,
        (x,),
        _MEAN_HALF if half else _SUM,
        args=(shape, axes, keepdim, n),
        rargs=(xp, shape, _kept(shape, axes, keepdim), n, xd.size <= 65536),
        rfns=_MEAN_HALF_RAW if half else _SUM_RAW,
    )


@tensor_method()
def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or over one ``dim``. Integer and bool inputs give int64, as PyTorch."""
    if isinstance(dim, (tuple, list)):
        raise TypeError("prod(): argument 'dim' must be int, not tuple")
    src = _dtype_of(x._data)
    name = (
        dtypes.as_dtype(dtype).name if dtype is not None else (src.name if src.is_floating_point else "int64")
    )
    xd = x._data if name == src.name else _as(x, name)
    if dim is None:
        data = _xp(x).prod(xd)
        return apply(
            "ProdBackward0",
            data,
            (x,),
            (lambda gy, y: _prod_grad(x.reshape(-1), gy, y, 0).reshape(x.shape),),
            saved=(x,),
            save_output=True,
        )
    d = _wrap_dim(dim, xd.ndim)
    data = _xp(x).prod(xd, axis=d, keepdims=keepdim)

    def gx(gy, y):
        if not keepdim and x.dim():
            gy, y = gy.unsqueeze(d), y.unsqueeze(d)
        return _prod_grad(x, gy, y, d if x.dim() else 0)

    return apply("ProdBackward1", data, (x,), (gx,), saved=(x,), save_output=True)


def _prod_grad(x: Tensor, gy: Tensor, y: Tensor, d: int) -> Tensor:
    """gy * (product of the other elements along ``d``), exact with zeros and without host syncs.

    The product of the others is (product of those before) * (product of those after): two exclusive
    running products. No division, so zeros need no special case, and the formula is differentiable
    everywhere (exact second derivatives at zeros too).
    """
    if x.dim() == 0:
        return gy * 1.0
    before = _shift(x, d, True).cumprod(d)
    after = _rev(_shift(_rev(x, d), d, True).cumprod(d), d)
    return gy * before * after


def _shift(x: Tensor, d: int, right: bool) -> Tensor:
    """``x`` moved one step along ``d`` (right: to higher indices), filled with 1 (its gradient: with 0).

    ``_shift(x, right)`` drops the last element and puts 1 first; its adjoint moves the other way and fills 0.
    """
    return _shifted(x, d, right, 1)


def _shifted(x: Tensor, d: int, right: bool, fill) -> Tensor:
    xp = _xp(x)
    xd = x._data
    n = xd.shape[d]
    if n == 0:
        return apply("ShiftBackward0", xd, (x,), (lambda gy: gy,))
    lead = (slice(None),) * d
    kept = xd[lead + ((slice(0, n - 1),) if right else (slice(1, n),)) + (...,)]
    with x._device.backend.context(x._device.index):  # allocate on the tensor's GPU, not the current one
        pad = xp.full(xd.shape[:d] + (1,) + xd.shape[d + 1 :], fill, dtype=xd.dtype)
    data = xp.concat((pad, kept) if right else (kept, pad), axis=d)
    return apply("ShiftBackward0", data, (x,), (lambda gy: _shifted(gy, d, not right, 0),))


# -- max / min ------------------------------------------------------------------------------------------
def _extreme(x: Tensor, dim, keepdim: bool, is_max: bool, name: str):
    if dim is not None and isinstance(dim, Tensor):
        from gradlite.ops.pointwise import maximum, minimum

        return maximum(x, dim) if is_max else minimum(x, dim)
    if _dtype_of(x._data) is dtypes.bool_:
        r = _extreme(x.to(dtypes.uint8), dim, keepdim, is_max, name)
        return r.to(dtypes.bool_) if dim is None else type(r)(r.values.to(dtypes.bool_), r.indices)
    xp = _xp(x)
    xd = x._data
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                "Specify the reduction "
                "dim with the 'dim' argument."
            )
        data = _nan_extreme(xp, xd, None, False, is_max)
        # whole-tensor max: PyTorch spreads the gradient evenly over ties
        return apply(
            "MaxBackward1" if is_max else "MinBackward1",
            data,
            (x,),
            (lambda gy, y: _even_grad(x, gy, y, tuple(range(x.dim())), False, True),),
            saved=(x,),
            save_output=True,
        )
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim and xd.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    axis = d if xd.ndim else None
    values = _nan_extreme(xp, xd, axis, keepdim, is_max)
    idx = _arg(xp, xd, axis, keepdim, is_max)
    indices = _make(idx, x._device)

    # per-dim max: the gradient goes to the element whose index is returned
    def gx(gy):
        return where(
            _index_mask(x, idx, d, keepdim), expand_back(gy, xd.shape, (d,) if xd.ndim else (), keepdim), 0.0
        )

    out = apply("MaxBackward0" if is_max else "MinBackward0", values, (x,), (gx,))
    return (return_types.max if is_max else return_types.min)(out, indices)


def _nan_extreme(xp, xd, axis, keepdim, is_max):
    """max/min that propagate NaN, as PyTorch (the array API leaves NaN handling unspecified)."""
    data = (xp.max if is_max else xp.min)(xd, axis=axis, keepdims=keepdim)
    if _dtype_of(xd).is_floating_point:
        nan = xp.any(xp.isnan(xd), axis=axis, keepdims=keepdim)
        data = xp.where(nan, float("nan"), data)
    return data


def _arg(xp, xd, axis, keepdim, is_max):
    """Index of the first max/min (NaN counts as the extreme, as PyTorch), int64."""
    if _dtype_of(xd).is_floating_point:
        nan = xp.isnan(xd)
        fill = float("inf") if is_max else float("-inf")
        xd = xp.where(nan, fill, xd)
    idx = (xp.argmax if is_max else xp.argmin)(xd, axis=axis, keepdims=keepdim)
    return xp.astype(idx, xp.int64)


def _index_mask(x: Tensor, idx, d: int, keepdim: bool):
    """Bool tensor of x's shape, True at the position ``idx`` selects along ``d``."""
    xp = _xp(x)
    shape = x._data.shape
    b = x._device.backend
    if not shape:
        with b.context(x._device.index):
            return _make(xp.ones((), dtype=xp.bool), x._device)
    if not keepdim:
        idx = xp.expand_dims(idx, axis=d)
    with b.context(x._device.index):
        r = xp.arange(shape[d], dtype=xp.int64)
    r = xp.reshape(r, tuple(shape[d] if i == d else 1 for i in range(len(shape))))
    return _make(r == idx, x._device)


def _even_grad(
    x: Tensor, gy: Tensor, y: Tensor, axes: tuple, keepdim: bool, nan_ties: bool = False
) -> Tensor:
    """amax/amin/whole max gradient: gy shared evenly by the elements equal to the result.

    The whole-tensor max counts NaN as equal to a NaN result; amax/amin do not, so a slice whose result
    is NaN gets 0 * (gy / 0) = NaN everywhere. Both as PyTorch.
    """
    shape = x._data.shape
    yb = expand_back(y, shape, axes, keepdim)
    mask = x == yb
    if nan_ties:
        mask = mask | (x.isnan() & yb.isnan())
    count = mask.sum(axes, keepdim=True)
    g = expand_back(gy, shape, axes, keepdim) / count
    if nan_ties:  # the whole max: a structural 0 off the maxima, as PyTorch (on the CPU; amax/amin multiply)
        return where(mask, g, 0.0)
    return mask * g


@tensor_method()
def max(x: Tensor, dim=None, keepdim: bool = False):
    """Largest element; with ``dim`` a ``(values, indices)`` named tuple; with a tensor, ``maximum``."""
    return _extreme(x, dim, keepdim, True, "max")


@tensor_method()
def min(x: Tensor, dim=None, keepdim: bool = False):
    """Smallest element; with ``dim`` a ``(values, indices)`` named tuple; with a tensor, ``minimum``."""
    return _extreme(x, dim, keepdim, False, "min")


def _amax(x: Tensor, dim, keepdim: bool, is_max: bool) -> Tensor:
    name = "amax" if is_max else "amin"
    if _dtype_of(x._data) is dtypes.bool_:
        return _amax(x.to(dtypes.uint8), dim, keepdim, is_max).to(dtypes.bool_)
    xd = x._data
    axes = reduce_dims(None if dim == () else dim, xd.ndim)
    for a in axes:
        if xd.shape[a] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {a} to have non-zero size.")
    data = _nan_extreme(_xp(x), xd, axes, keepdim, is_max)
    return apply(
        "AmaxBackward0" if is_max else "AminBackward0",
        data,
        (x,),
        (lambda gy, y: _even_grad(x, gy, y, axes, keepdim),),
        saved=(x,),
        save_output=True,
    )


@tensor_method()
def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Largest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax(x, dim, keepdim, True)


@tensor_method()
def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Smallest values over ``dim`` (all dims by default); ties share the gradient evenly."""
    return _amax(x, dim, keepdim, False)


def _argext(x: Tensor, dim, keepdim: bool, is_max: bool) -> Tensor:
    name = "argmax" if is_max else "argmin"
    xp = _xp(x)
    xd = x._data
    if _dtype_of(xd) is dtypes.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if x.numel() == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        idx = _arg(xp, xp.reshape(xd, (-1,)), None, False, is_max)
        if keepdim:
            idx = xp.reshape(idx, (1,) * xd.ndim)
        return _make(idx, x._device)
    d = _wrap_dim(dim, xd.ndim)
    if xd.ndim and xd.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
    return _make(_arg(xp, xd, d if xd.ndim else None, keepdim, is_max), x._device)


@tensor_method()
def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first largest element, flattened or along ``dim``; not differentiable."""
    return _argext(x, dim, keepdim, True)


@tensor_method()
def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the first smallest element, flattened or along ``dim``; not differentiable."""
    return _argext(x, dim, keepdim, False)


# -- moments ----------------------------------------------------------------------------------------------
def _correction(dim, unbiased, correction, name):
    if isinstance(dim, bool):  # var(x, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise RuntimeError(f"{name}: can't specify both unbiased and correction")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


def _wide(xp, a):
    """A float16 array as float32: PyTorch accumulates half moments, norms and running sums and products
    in float32 and rounds the result once; NumPy would accumulate squares and running sums and products
    in float16 (a variance or norm over many values overflowed to inf or nan, a running sum lost its
    small terms). (NumPy's own float16 sum, mean and prod accumulate in float32 already.)"""
    return xp.astype(a, xp.float32)


@tensor_method()
def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over ``dim`` (all by default) with ``correction`` (default 1, Bessel's) or ``unbiased``."""
    return _moment(x, dim, unbiased, keepdim, correction, False)


@tensor_method()
def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation: ``sqrt(var(x, dim, correction))``; its gradient is 0 where it is 0, as PyTorch."""
    return _moment(x, dim, unbiased, keepdim, correction, True)


def _moment(x: Tensor, dim, unbiased, keepdim: bool, correction, root: bool) -> Tensor:
    if not _dtype_of(x._data).is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dim, correction = _correction(dim, unbiased, correction, "std" if root else "var")
    xd = x._data
    xp = _xp(x)
    axes = reduce_dims(dim, xd.ndim)
    shape = xd.shape
    dof = builtins.max(_count(shape, axes) - correction, 0)
    half = x.dtype is dtypes.float16  # computed in float32 and rounded once, as PyTorch (see _wide)
    a = _wide(xp, xd) if half else xd
    centered = a - xp.mean(a, axis=axes, keepdims=True)
    data = xp.sum(centered * centered, axis=axes, keepdims=keepdim) / dof
    if root:
        data = xp.sqrt(data)
    if half:
        data = xp.astype(data, xd.dtype)

    # d var / dx = 2 (x - mean) / dof ; d std / dx = (x - mean) / (dof * std), taken as 0 where std == 0
    def gx(gy, y):
        if half:  # (the count as float16 would be inf above 65504)
            return gx_of(gy.float(), None if y is None else y.float(), x.float()).to(x.dtype)
        return gx_of(gy, y, x)

    def gx_of(gy, y, x):
        c = x - x.mean(axes, keepdim=True)
        if not root:
            return expand_back(gy * (2.0 / dof if dof else float("inf")), shape, axes, keepdim) * c
        scale = where(y == 0, 0.0, gy / (y * dof))
        return expand_back(scale, shape, axes, keepdim) * c

    if not root:  # var's gradient does not read its output: not saved, so in-place on it is legal (PyTorch)
        return apply("VarBackward0", data, (x,), (lambda gy: gx(gy, None),), saved=(x,))
    return apply("StdBackward0", data, (x,), (gx,), saved=(x,), save_output=True)


def var_mean(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(var, mean)`` over ``dim``."""
    return var(x, dim, unbiased, keepdim, correction=correction), mean(x, _dim_or_none(dim), keepdim)


def std_mean(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None):
    """``(std, mean)`` over ``dim``."""
    return std(x, dim, unbiased, keepdim, correction=correction), mean(x, _dim_or_none(dim), keepdim)


def _dim_or_none(dim):
    return None if isinstance(dim, bool) else dim


# -- norms and log-sum-exp ------------------------------------------------------------------------------
@tensor_method()
def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector p-norm over all elements or ``dim`` (p = 2 by default; 1, inf, -inf, 0, any real)."""
    if p == "fro" or p is None:
        p = 2
    if isinstance(p, str):
        raise RuntimeError(f"norm(): p={p!r} is a matrix norm; use gradlite.linalg.matrix_norm")
    if not _dtype_of(x._data).is_floating_point:
        raise RuntimeError(
            f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype}"
        )
    if dtype is not None:
        x = x.to(dtypes.as_dtype(dtype))
    if p == 2:
        xd = fdata(x)
        xp = _xp(x)
        axes = reduce_dims(dim, xd.ndim)
        shape = xd.shape
        if x.dtype is dtypes.float16:  # (see _wide)
            data = xp.astype(xp.sqrt(xp.sum(_wide(xp, xd) ** 2, axis=axes, keepdims=keepdim)), xd.dtype)
        else:
            data = xp.sqrt(xp.sum(xd * xd, axis=axes, keepdims=keepdim))

        # d/dx ||x|| = x / ||x||, taken as 0 where the norm is 0 (PyTorch's subgradient)
        def gx(gy, y):
            zero = y == 0  # divide by 1 there, not 0: no RuntimeWarning, and no inf * 0 in double backward
            scale = where(zero, 0.0, gy / where(zero, 1.0, y))
            return x * expand_back(scale, shape, axes, keepdim)

        return apply("LinalgVectorNormBackward0", data, (x,), (gx,), saved=(x,), save_output=True)
    if p == 1:
        return x.abs().sum(dim, keepdim)
    if p == float("inf"):
        return x.abs().amax(() if dim is None else dim, keepdim)
    if p == float("-inf"):
        return x.abs().amin(() if dim is None else dim, keepdim)
    if p == 0:
        return _count_nonzero(x, dim, keepdim)
    return _p_norm(x, float(p), dim, keepdim)


def _p_norm(x: Tensor, p: float, dim, keepdim: bool) -> Tensor:
    """``(sum |x|^p)^(1/p)`` with PyTorch's gradient, 0 where the norm is 0 (and at x == 0 for p < 1).
    float16 is computed in float32 and rounded once, value and gradient (see ``_wide``)."""
    xp = _xp(x)
    xd = x._data
    axes = reduce_dims(dim, xd.ndim)
    shape = xd.shape
    half = x.dtype is dtypes.float16
    a = _wide(xp, xd) if half else xd
    data = xp.sum(xp.abs(a) ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)
    if half:
        data = xp.astype(data, xd.dtype)

    def gx(gy, y):
        if half:
            return gx_of(gy.float(), y.float(), x.float()).to(x.dtype)
        return gx_of(gy, y, x)

    # d/dx_i ||x||_p = sgn(x_i) |x_i|^(p-1) / ||x||^(p-1)
    def gx_of(gy, y, x):
        if p < 1.0:
            scaled = x.sign() * where(x == 0, 0.0, x.abs() ** (p - 1))
            return scaled * expand_back(gy * y ** (1 - p), shape, axes, keepdim)
        scaled = x.sign() * x.abs() ** (p - 1) if p < 2.0 else x * x.abs() ** (p - 2)
        return scaled * expand_back(where(y == 0, 0.0, gy / y ** (p - 1)), shape, axes, keepdim)

    return apply("LinalgVectorNormBackward0", data, (x,), (gx,), saved=(x,), save_output=True)


def _count_nonzero(x: Tensor, dim, keepdim) -> Tensor:
    # the 0-"norm" counts nonzeros: piecewise constant, so no gradient flows (None, as PyTorch: x.grad
    # stays None after backward)
    axes = reduce_dims(dim, x.dim())
    data = _xp(x).sum(_xp(x).astype((x._data != 0), x._data.dtype), axis=axes, keepdims=keepdim)
    return apply("LinalgVectorNormBackward0", data, (x,), (_no_grad,))


def _no_grad(gy):
    return None


@tensor_method()
def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(x)))`` over ``dim``, computed around the max so it never overflows."""
    if not _dtype_of(x._data).is_floating_point:
        x = x.to(dtypes.get_default_dtype())
    axes = reduce_dims(dim, x.dim())
    if x.numel() == 0:
        return x.exp().sum(axes, keepdim).log()
    xp, xd = _xp(x), x._data
    m = xp.max(xd, axis=axes, keepdims=True)
    # an infinite max (all -inf, or an inf) would give inf - inf = nan: shift by 0 there instead
    m = xp.where(xp.isinf(m), xp.zeros_like(m), m)
    kept = xp.log(xp.sum(xp.exp(xd - m), axis=axes, keepdims=True)) + m
    shape = kept.shape
    data = kept if keepdim else xp.reshape(kept, tuple(n for i, n in enumerate(shape) if i not in axes))
    # d/dx = softmax(x) = exp(x - logsumexp(x)), as PyTorch's logsumexp_backward
    return apply("LogsumexpBackward0", data, (x,), (_logsumexp_grad,), saved=(x,), save_output=True,
                 args=(x, shape), rargs=(xp, xd, shape), rfns=(_logsumexp_grad_raw,))


def _logsumexp_grad(gy, x, kept, y):
    return gy.reshape(kept) * (x - y.reshape(kept)).exp()


def _logsumexp_grad_raw(gy, xp, x, kept, y):
    return xp.reshape(gy, kept) * xp.exp(x - xp.reshape(y, kept))


# -- scans ------------------------------------------------------------------------------------------------
def _rev(x: Tensor, d: int) -> Tensor:
    """``x`` reversed along ``d`` (differentiable; its gradient is the reverse of the gradient)."""
    return apply("FlipBackward0", _xp(x).flip(x._data, axis=d), (x,), (lambda gy: _rev(gy, d),))


def _scan_dtype(x: Tensor, dtype):
    src = _dtype_of(x._data)
    if dtype is not None:
        return dtypes.as_dtype(dtype).name
    return src.name if src.is_floating_point else "int64"


@tensor_method()
def cumsum(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sums along ``dim``; integer and bool inputs give int64."""
    name = _scan_dtype(x, dtype)
    xd = x._data if name == x.dtype.name else _as(x, name)
    if not xd.ndim:
        _wrap_dim(dim, 0)
        return apply("CumsumBackward0", _xp(x).asarray(xd, copy=True), (x,), (lambda gy: gy,))
    d = _wrap_dim(dim, xd.ndim)
    xp = _xp(x)
    if name == "float16":  # (see _wide)
        data = xp.astype(xp.cumulative_sum(_wide(xp, xd), axis=d), xd.dtype)
    else:
        data = xp.cumulative_sum(xd, axis=d)
    # d/dx_i sum_{k>=i} = reverse running sum of gy
    return apply("CumsumBackward0", data, (x,), (lambda gy: _rev(_rev(gy, d).cumsum(d), d),))


@tensor_method()
def cumprod(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running products along ``dim``; integer and bool inputs give int64. Exact gradient with zeros."""
    name = _scan_dtype(x, dtype)
    xd = x._data if name == x.dtype.name else _as(x, name)
    if not xd.ndim:
        _wrap_dim(dim, 0)
        return apply("CumprodBackward0", _xp(x).asarray(xd, copy=True), (x,), (lambda gy: gy,))
    d = _wrap_dim(dim, xd.ndim)
    xp = _xp(x)
    if name == "float16":  # (see _wide)
        data = xp.astype(xp.cumulative_prod(_wide(xp, xd), axis=d), xd.dtype)
    else:
        data = xp.cumulative_prod(xd, axis=d)
    return apply(
        "CumprodBackward0",
        data,
        (x,),
        (lambda gy, y: _cumprod_grad(x, gy, y, d),),
        saved=(x,),
        save_output=True,
    )


def _cumprod_grad(x: Tensor, gy: Tensor, y: Tensor, d: int) -> Tensor:
    """grad_i = sum_{k>=i} gy_k prod_{j<=k, j!=i} x_j, without dividing by zero or syncing the host.

    Before the first zero z of a slice, that is revsum(gy * y)_i / x_i. At z it is revsum(gy * y')_z with
    y' the running product of x with x_z replaced by 1. After z every term contains x_z = 0. Those
    branches have no derivative of their own at zeros: under create_graph the polynomial form is used.
    """
    if state.grad_enabled:
        return _cumprod_grad_graph(x, gy, d)
    zero = x == 0
    seen = zero.cumsum(d)
    first = zero & (seen == 1)
    before = seen == 0
    safe = where(before, x, 1.0)

    def revsum(t):
        return _rev(_rev(t, d).cumsum(d), d)

    at_zero = revsum(gy * where(first, 1.0, x).cumprod(d))
    return where(before, revsum(gy * y) / safe, where(first, at_zero, 0.0))


def _cumprod_grad_graph(x: Tensor, gy: Tensor, d: int) -> Tensor:
    """The same gradient as a polynomial in x (differentiable to any order, zeros included, as PyTorch's):
    grad_i = (prod_{j<i} x_j) * S_i, with S_i = sum_{k>=i} gy_k prod_{i<j<=k} x_j = gy_i + x_{i+1} S_{i+1}.
    One op per position along ``d``: only run under create_graph."""
    from gradlite.ops.join import cat, stack

    n = x.shape[d]
    if n == 0:
        return gy
    s = [gy.select(d, n - 1)]
    for i in range(n - 2, -1, -1):
        s.append(gy.select(d, i) + x.select(d, i + 1) * s[-1])
    before = cat([x.narrow(d, 0, 1) * 0 + 1, x.narrow(d, 0, n - 1).cumprod(d)], d)  # prod_{j<i} x_j
    return before * stack(s[::-1], d)


# -- logic ---------------------------------------------------------------------------------------------
def _logic(x: Tensor, dim, keepdim: bool, fn) -> Tensor:
    xp = _xp(x)
    xd = x._data
    axes = reduce_dims(dim, xd.ndim)
    return _make(fn(xp)(xd, axis=axes, keepdims=keepdim), x._device)


@tensor_method()
def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where every element (over ``dim``) is nonzero; bool tensor."""
    return _logic(x, dim, keepdim, lambda xp: xp.all)


@tensor_method()
def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """True where some element (over ``dim``) is nonzero; bool tensor."""
    return _logic(x, dim, keepdim, lambda xp: xp.any)
