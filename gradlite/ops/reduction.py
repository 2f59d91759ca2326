"""Reductions: sum, mean, norm (whole tensor, or over ``dim`` with ``keepdim``)."""

from __future__ import annotations

from gradlite import dtypes
from gradlite.ops._base import apply, tensor_method
from gradlite.ops.pointwise import fdata
from gradlite.tensor import Tensor, _dtype_of, _wrap_dim


def reduce_dims(dim, ndim: int) -> tuple:
    """Normalise ``dim`` (None, int, or sequence) to a sorted tuple of non-negative axes."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, int):
        dim = (dim,)
    axes = tuple(sorted(_wrap_dim(d, ndim) for d in dim)) if ndim else ()
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {list(dim)} appears multiple times in the list of dims")
    return axes


def expand_back(gy: Tensor, shape: tuple, axes: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduction's gradient back to the input shape (re-inserting reduced dims first)."""
    if not keepdim and axes and len(shape):
        kept = tuple(1 if i in axes else s for i, s in enumerate(shape))
        gy = gy.reshape(kept)
    return gy.expand(shape)


@tensor_method()
def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum of all elements, or over ``dim``. Integer and bool inputs sum to int64, as PyTorch."""
    xd = x._data
    xp = x._device.backend.xp
    axes = reduce_dims(dim, xd.ndim)
    src = _dtype_of(xd)
    if dtype is not None:
        xd = xp.astype(xd, x._device.backend.dtype(dtypes.as_dtype(dtype).name))
    elif not src.is_floating_point:
        xd = xp.astype(xd, x._device.backend.dtype("int64"))
    shape = x._data.shape
    data = xp.sum(xd, axis=axes, keepdims=keepdim)
    return apply("SumBackward0" if dim is None else "SumBackward1", data, (x,),
                 (lambda gy: expand_back(gy, shape, axes, keepdim),))


@tensor_method()
def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean of all elements, or over ``dim``; floating-point inputs only (as PyTorch)."""
    src = _dtype_of(x._data) if dtype is None else dtypes.as_dtype(dtype)
    if not src.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
            f"dtype. Got: {_TORCH_NAMES.get(src.name, src.name)}"
        )
    xd = x._data if dtype is None else x._device.backend.xp.astype(x._data, x._device.backend.dtype(src.name))
    xp = x._device.backend.xp
    axes = reduce_dims(dim, xd.ndim)
    shape = xd.shape
    n = 1
    for a in axes:
        n *= shape[a]
    data = xp.mean(xd, axis=axes, keepdims=keepdim)
    # d/dx mean = 1/n for every element reduced
    return apply("MeanBackward0" if dim is None else "MeanBackward1", data, (x,),
                 (lambda gy: expand_back(gy / n, shape, axes, keepdim),))


_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


@tensor_method()
def norm(x: Tensor, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The vector p-norm over all elements or ``dim`` (p = 2 by default; also 1 and inf)."""
    if p == "fro":
        p = 2
    if not _dtype_of(x._data).is_floating_point:
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. Got {x.dtype}")
    if p == 2:
        xd = fdata(x)
        xp = x._device.backend.xp
        axes = reduce_dims(dim, xd.ndim)
        shape = xd.shape
        data = xp.sqrt(xp.sum(xd * xd, axis=axes, keepdims=keepdim))

        # d/dx ||x|| = x / ||x||, taken as 0 where the norm is 0 (PyTorch's subgradient)
        def gx(gy, y):
            from gradlite.ops.pointwise import where

            zero = y == 0  # divide by 1 there, not 0: no RuntimeWarning, and no inf * 0 in double backward
            scale = where(zero, 0.0, gy / where(zero, 1.0, y))
            return x * expand_back(scale, shape, axes, keepdim)

        return apply("LinalgVectorNormBackward0", data, (x,), (gx,), saved=(x,), save_output=True)
    if p == 1:
        return x.abs().sum(dim, keepdim)
    if p == float("inf"):
        return x.abs().amax(dim, keepdim)
    return (x.abs() ** p).sum(dim, keepdim) ** (1.0 / p)
