"""``gradlite.linalg``: norms (vector, matrix, and ``norm`` choosing between them), matmul, the matrix
functions of ``ops/solve.py`` and factorisations of ``ops/decomposition.py``, and composites of them
(matrix_power, multi_dot, cross, vecdot, matrix_rank, lstsq)."""

from __future__ import annotations

from collections import namedtuple

from gradlite import dtypes
from gradlite.ops._linalg_common import LinAlgError, _square  # noqa: F401
from gradlite.ops.arithmetic import matmul  # noqa: F401  (linalg.matmul, as in PyTorch)
from gradlite.ops.decomposition import cholesky, eigh, eigvalsh, pinv, qr, svd, svdvals  # noqa: F401
from gradlite.ops.reduction import norm as _two_norm
from gradlite.ops.reduction import reduce_dims
from gradlite.ops.solve import det, inv, slogdet, solve  # noqa: F401
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
    if x.numel() == 0:  # (an empty result is fine: only an empty reduced dim has no identity)
        name = "-inf" if smallest else "inf"
        if dim is None:
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {name} norm on an empty tensor because the operation "
                "does not have an identity"
            )
        for d, a in zip((dim,) if isinstance(dim, int) else dim, axes, strict=True):
            if x._data.shape[a] == 0:
                raise RuntimeError(
                    f"linalg.vector_norm cannot compute the {name} norm on the dimension {d}because this "
                    "dimension is empty and the operation does not have an identity"
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
    if ord == 0:  # a count of nonzeros: a LinalgVectorNormBackward0 node that sends no gradient, as PyTorch
        return x.norm(0, dim, keepdim)
    if ord == 1:
        return a.sum(dim, keepdim)
    return x.norm(float(ord), dim, keepdim)  # PyTorch's gradient at 0 (a composition's is NaN there)


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
        if x.dtype is dtypes.float16:
            raise RuntimeError("linalg.matrix_norm: Low precision dtypes not supported. Got Half")
        if ord != "nuc" and 0 in (x.shape[d0], x.shape[d1]):
            return _empty_max(x, (d0, d1), keepdim, ord < 0, -1)
        s = svdvals(x.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s.amax(-1) if ord == 2 else s.amin(-1)
        return out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1)) if keepdim else out
    if ord not in (1, -1, _INF, -_INF):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    # 1-norms: the max/min absolute column sum; inf-norms: the max/min absolute row sum
    summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
    if x.shape[other] == 0:
        return _empty_max(x, (d0, d1), keepdim, ord < 0, other - (not keepdim and summed < other))
    s = x.abs().sum(summed, keepdim=True)
    out = _max(s, other, True, smallest=ord < 0)
    return out if keepdim else out.squeeze((d0, d1))


def _empty_max(x: Tensor, dims: tuple, keepdim: bool, smallest: bool, dim: int) -> Tensor:
    """PyTorch's matrix norm whose max / min reduces an empty dim: zeros that need no gradient for the
    max, amin's IndexError (naming ``dim``, as PyTorch's call of it) for the min."""
    if smallest:
        raise IndexError(f"amin(): Expected reduction dim {dim} to have non-zero size.")
    from gradlite.tensor import _make

    shape = tuple(1 if i in dims else n for i, n in enumerate(x.shape) if keepdim or i not in dims)
    b = x._device.backend
    with b.context(x._device.index):
        return _make(b.xp.zeros(shape, dtype=x._data.dtype), x._device)


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


# -- composites: products, rank, least squares ------------------------------------------------------------
linalg_lstsq = namedtuple("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def matrix_power(A: Tensor, n: int) -> Tensor:
    """``A`` multiplied by itself ``n`` times (by squaring); ``n = 0`` the identity, ``n < 0`` powers of
    ``inv(A)``; any dtype (PyTorch multiplies integer and float16 matrices: only inv needs float32/64)."""
    _square(A, "matrix_power", any_dtype=True)
    if n < 0:
        A, n = inv(A), -n
    if n == 0:  # the identity, connected to A with a zero gradient (PyTorch's CopyBackwards)
        from gradlite.creation import zeros_like
        from gradlite.ops._base import apply

        xp = A._device.backend.xp
        eye = xp.broadcast_to(xp.eye(A.shape[-1], dtype=A._data.dtype), A._data.shape)
        return apply("CopyBackwards", xp.asarray(eye, copy=True), (A,), (lambda gy: zeros_like(A),))
    out, base = None, A
    while n:
        if n & 1:
            out = base if out is None else out @ base
        n >>= 1
        if n:
            base = base @ base
    return out


def multi_dot(tensors) -> Tensor:
    """The product of a chain of matrices; a 1-D first (last) operand is a row (column) vector, and its
    dim is dropped from the result, as PyTorch."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    first, last = tensors[0].dim() == 1, tensors[-1].dim() == 1
    for i, t in enumerate(tensors):
        if t.dim() != 2 and not (t.dim() == 1 and i in (0, len(tensors) - 1)):
            raise RuntimeError(
                f"multi_dot(): tensor {i} must be 2D but got {t.dim()}D"
                if 0 < i < len(tensors) - 1
                else f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must be 1D or 2D but got "
                f"{t.dim()}D"
            )
    out = tensors[0].unsqueeze(0) if first else tensors[0]
    for t in tensors[1:-1]:
        out = out @ t
    out = out @ (tensors[-1].unsqueeze(-1) if last else tensors[-1])
    if last:
        out = out.squeeze(-1)
    return out.squeeze(0) if first else out


def cross(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim`` (the other dims broadcast; the ranks must agree)."""
    if x.dim() != y.dim():
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    if x.shape[dim] != 3 or y.shape[dim] != 3:
        raise RuntimeError(
            f"linalg.cross: inputs dimension {dim} must have length 3. Got {x.shape[dim]} and {y.shape[dim]}"
        )
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"expected scalar type {dtypes.TORCH_NAMES[x.dtype.name]} but found "
            f"{dtypes.TORCH_NAMES[y.dtype.name]}"
        )
    from gradlite.ops.join import stack

    a = [x.select(dim, i) for i in range(3)]
    b = [y.select(dim, i) for i in range(3)]
    c = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return stack(c, _wrap_dim(dim, x.dim()))


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim`` (the other dims broadcast); floating inputs only."""
    _float(x, "vecdot")
    if x.dtype != y.dtype:
        raise RuntimeError(
            f"linalg.vecdot: Expected x and y to have the same dtype, but found x of type "
            f"{dtypes.TORCH_NAMES[x.dtype.name]} and y of type {dtypes.TORCH_NAMES[y.dtype.name]} instead"
        )
    _float(y, "vecdot")
    return (x * y).sum(dim)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """How many singular values exceed ``max(atol, rtol * S_max)`` (rtol defaults to ``max(m, n) * eps``
    when atol is not given), as int64."""
    _float(A, "matrix_rank")
    if A.dtype is dtypes.float16:
        raise RuntimeError("This function doesn't handle types other than float and double")
    xp = A._device.backend.xp
    s = svdvals(A.detach())._data
    m, n = A._data.shape[-2:]
    if rtol is None:
        rtol = max(m, n) * xp.finfo(s.dtype).eps if atol is None or atol == 0 else 0.0
    smax = s[..., :1] if s.shape[-1] else xp.zeros(s.shape[:-1] + (1,), dtype=s.dtype)
    tol = xp.maximum(xp.asarray(atol or 0.0, dtype=s.dtype), rtol * smax)
    from gradlite.tensor import _make

    return _make(xp.sum(xp.astype(s > tol, xp.int64), axis=-1), A._device)


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """The least-squares solution ``X`` minimising ``||A X - B||`` (the minimum-norm one when A is
    rank-deficient), with PyTorch's other results per LAPACK driver: ``residuals`` (gels/gelsd/gelss, when
    A is tall and of full rank), ``rank`` (not gels) and ``singular_values`` (gelsd/gelss). The default
    driver is gelsy on the CPU and gels on CUDA, as PyTorch's. Differentiable through ``pinv``."""
    _float(A, "lstsq")
    if driver is not None and driver not in _DRIVERS:
        raise RuntimeError(
            "torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)"
        )
    driver = driver or ("gels" if A._device.type == "cuda" else "gelsy")
    if A.dim() < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if B.dim() < 1:
        raise RuntimeError("torch.linalg.lstsq: other must have at least 1 dimension.")
    if not 0 <= A.dim() - B.dim() <= 1:  # (PyTorch does not broadcast A's batch to B's)
        raise RuntimeError(
            "torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
            "(input.dim() - other.dim()) <= 1"
        )
    vector = B.dim() == A.dim() - 1
    b = B.unsqueeze(-1) if vector else B
    if b.shape[-2] != A.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    m, n = A.shape[-2:]
    x = pinv(A, rtol=rcond) @ b
    xp = A._device.backend.xp
    from gradlite.tensor import _make

    def empty(dt):
        return _make(xp.empty((0,), dtype=dt), A._device)

    rank = empty(xp.int64) if driver == "gels" else matrix_rank(A, rtol=rcond)
    full = driver != "gelsy" and m > n and bool(xp.all(matrix_rank(A, rtol=rcond)._data == n))
    residuals = ((A @ x - b) ** 2).sum(-2) if full else empty(A._data.dtype)
    values = svdvals(A.detach()) if driver in ("gelsd", "gelss") else empty(A._data.dtype)
    return linalg_lstsq(x.squeeze(-1) if vector else x, residuals, rank, values)
