"""``gradlite.linalg``: norms (vector, matrix, and ``norm`` choosing between them), matmul, and the
matrix functions and decompositions of ``ops/decomposition.py``."""

from __future__ import annotations

from gradlite.ops.arithmetic import matmul  # noqa: F401  (linalg.matmul, as in PyTorch)
from gradlite.ops.decomposition import (  # noqa: F401
    LinAlgError,
    cholesky,
    det,
    eigh,
    eigvalsh,
    inv,
    slogdet,
    solve,
    svdvals,
)
from gradlite.ops.reduction import norm as _two_norm
from gradlite.ops.reduction import reduce_dims
from gradlite.tensor import Tensor, _dtype_of, _wrap_dim

_INF = float("inf")


def _float(x: Tensor, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg.{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if not _dtype_of(x._data).is_floating_point:
        raise RuntimeError(
            f"linalg.{op}: Expected a floating point or complex tensor as input. Got {x.dtype}"
        )


def _max(x: Tensor, dim, keepdim: bool, smallest: bool = False) -> Tensor:
    """amax/amin over ``dim`` through a sort-free composition: the gradient splits evenly between ties."""
    axes = reduce_dims(dim, x.dim())
    xp = x._device.backend.xp
    f = xp.min if smallest else xp.max
    if x.numel() == 0:
        raise RuntimeError(
            f"linalg.vector_norm cannot compute the {'-inf' if smallest else 'inf'} norm on an empty tensor "
            "because the operation does not have an identity"
        )
    m = f(x._data, axis=axes, keepdims=True)
    from gradlite.tensor import _make

    mt = _make(m, x._device)
    hit = (x == mt).to(x.dtype)
    # d max = indicator of the maximal elements / their count (PyTorch's amax convention)
    out = (x * hit).sum(axes, keepdim=True) / hit.sum(axes, keepdim=True)
    return out if keepdim else out.reshape([s for i, s in enumerate(out.shape) if i not in axes])


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The vector ``ord``-norm of x flattened, or over ``dim``: ord in {2, 1, inf, -inf, 0, any p}."""
    _float(x, "vector_norm")
    if dtype is not None:
        x = x.to(dtype)
    if ord == 2:
        return _two_norm(x, 2, dim, keepdim)
    a = x.abs()
    if ord == _INF:
        return _max(a, dim, keepdim)
    if ord == -_INF:
        return _max(a, dim, keepdim, smallest=True)
    if ord == 0:
        # a count of nonzeros: piecewise constant, so its gradient is zero (PyTorch still records a node)
        return (a != 0).to(x.dtype).sum(dim, keepdim) + (x * 0).sum(dim, keepdim)
    if ord == 1:
        return a.sum(dim, keepdim)
    return (a**ord).sum(dim, keepdim) ** (1.0 / ord)


def matrix_norm(x: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:
    """Matrix norm over the two dims ``dim``: 'fro', 'nuc', 1, -1, 2, -2, inf, -inf."""
    _float(x, "matrix_norm")
    if x.dim() < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 dimensions.")
    if dtype is not None:
        x = x.to(dtype)
    d0, d1 = (_wrap_dim(d, x.dim()) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return _two_norm(x, 2, (d0, d1), keepdim)
    if ord in ("nuc", 2, -2):  # from the singular values: their sum, the largest, the smallest
        s = svdvals(x.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        return out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1)) if keepdim else out
    if ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # 1-norms: the max/min absolute column sum; inf-norms: the max/min absolute row sum
    summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
    s = x.abs().sum(summed, keepdim=True)
    out = _max(s, other, True, smallest=ord < 0)
    return out if keepdim else out.squeeze((d0, d1))


def norm(x: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector norm (1-D input or an int ``dim``) or matrix norm (2-D input or a pair ``dim``)."""
    _float(x, "norm")
    if isinstance(dim, int):
        dim = (dim,)
    if ord is None:
        return (
            vector_norm(x, 2, dim, keepdim, dtype=dtype)
            if dim is None or len(dim) == 1
            else matrix_norm(x, "fro", dim, keepdim, dtype=dtype)
        )
    if dim is None:
        if x.dim() not in (1, 2):
            raise RuntimeError(
                "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                f"Got {x.dim()}D."
            )
        dim = tuple(range(x.dim()))
    if len(dim) == 1:
        if isinstance(ord, str):
            raise RuntimeError(f"linalg.vector_norm: Expected a numeric ord, got {ord!r}")
        return vector_norm(x, ord, dim, keepdim, dtype=dtype)
    return matrix_norm(x, ord, dim, keepdim, dtype=dtype)
