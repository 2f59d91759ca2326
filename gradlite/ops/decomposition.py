"""Matrix functions and decompositions: inv, det, slogdet, logdet, solve, cholesky, eigh, eigvalsh, svdvals.

Each forward is the backend namespace's ``linalg`` function (array API: NumPy, CuPy, strict) on a batch
of square matrices; each backward is PyTorch's formula written with gradlite ops. Those of inv, det,
slogdet, solve and cholesky use only the op's inputs and own output, so they are differentiable again;
eigh's and svdvals' use the eigen/singular vectors as constants, so their double backward raises rather
than give a wrong second derivative. Errors are PyTorch's: ``LinAlgError`` (a RuntimeError) for a
singular or non-positive-definite matrix, naming the first zero pivot or failing minor as LAPACK does.
"""

from __future__ import annotations

from collections import namedtuple

from gradlite import dtypes
from gradlite.autograd.grad_mode import state
from gradlite.ops._base import apply, tensor_method
from gradlite.tensor import Tensor, _dtype_of, _make


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a singular or non-positive-definite matrix."""


# PyTorch's result types (torch.return_types.linalg_slogdet, ...)
linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])
linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])


def _square(a: Tensor, op: str) -> None:
    """PyTorch's checks: a tensor of at least 2 dims, square matrices, a float32/float64 dtype."""
    if not isinstance(a, Tensor):
        raise TypeError(f"linalg.{op}(): argument 'A' must be Tensor, not {type(a).__name__}")
    d = _dtype_of(a._data)
    if not d.is_floating_point:
        name = dtypes.TORCH_NAMES[d.name]
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got {name}")
    if d is dtypes.float16:
        raise RuntimeError(f"linalg.{op}: Low precision dtypes not supported. Got Half")
    s = a._data.shape
    if len(s) < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if s[-1] != s[-2] and op != "svd":
        raise RuntimeError(
            f"linalg.{op}: A must be batches of square matrices, but they are {s[-2]} by {s[-1]} matrices"
        )


# -- PyTorch's errors for singular and non-positive-definite input (host code, on the error path only) ------
def _host_matrices(a: Tensor):
    import numpy as np

    h = a._device.backend.to_host(a._data)
    return np.asarray(h, dtype=np.float64).reshape((-1,) + tuple(h.shape[-2:])), len(h.shape) > 2


def _zero_pivot(m) -> int:
    """The 1-based column of the first exactly-zero pivot of a partial-pivoting LU (LAPACK getrf's info)."""
    import numpy as np

    u = m.copy()
    for k in range(u.shape[0]):
        p = k + int(np.argmax(np.abs(u[k:, k])))
        if u[p, k] == 0:
            return k + 1
        u[[k, p]] = u[[p, k]]
        u[k + 1 :, k:] -= np.outer(u[k + 1 :, k] / u[k, k], u[k, k:])
    return 0


def _failing_minor(m) -> int:
    """The order of the first leading minor that is not positive-definite (LAPACK potrf's info)."""
    import numpy as np

    n = m.shape[0]
    low = np.zeros_like(m)
    for j in range(n):
        d = m[j, j] - low[j, :j] @ low[j, :j]
        if not d > 0:
            return j + 1
        low[j, j] = np.sqrt(d)
        low[j + 1 :, j] = (m[j + 1 :, j] - low[j + 1 :, :j] @ low[j, :j]) / low[j, j]
    return 0


def _error(a: Tensor, find, message: str) -> LinAlgError:
    mats, batched = _host_matrices(a)
    for i, m in enumerate(mats):
        k = find(m)
        if k:
            head, _, rest = message.format(k=k).partition(": ")
            return LinAlgError(f"{head}: (Batch element {i}): {rest}" if batched else f"{head}: {rest}")
    return LinAlgError(message.format(k=1))


def _call(a: Tensor, fn, find, message: str):
    """``fn(a's array)``, with PyTorch's error where the matrix is singular / not positive-definite: NumPy
    raises; CuPy and the strict backend give non-finite values, seen with one host read (PyTorch reads
    LAPACK's info likewise)."""
    xp = a._device.backend.xp
    try:
        out = fn(a._data)
    except Exception as err:
        if type(err).__name__ != "LinAlgError":
            raise
        raise _error(a, find, message) from None
    if a._device.backend.name != "numpy":
        first = out[0] if isinstance(out, tuple) else out
        if not bool(xp.all(xp.isfinite(first))) and bool(xp.all(xp.isfinite(a._data))):
            raise _error(a, find, message)
    return out


_SINGULAR = (
    "linalg.inv: The diagonal element {k} is zero, the inversion could not be completed because the input "
    "matrix is singular."
)
_NOT_PD = (
    "linalg.cholesky: The factorization could not be completed because the input is not positive-definite "
    "(the leading minor of order {k} is not positive-definite)."
)


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _first_order_only(op: str) -> None:
    if state.grad_enabled:  # a backward with create_graph: the vectors used below are constants
        raise RuntimeError(f"linalg.{op}: gradlite computes first derivatives only (no double backward)")


# -- inv, det, slogdet, logdet, solve ------------------------------------------------------------------------
def _inv_grad(gy, y):  # d inv(A) = -Y dA Y, so gA = -Y^T gy Y^T
    yt = _mT(y)
    return -(yt @ gy @ yt)


def inv(A: Tensor) -> Tensor:
    """The inverse of each square matrix of ``A``."""
    _square(A, "inv")
    xp = A._device.backend.xp
    data = _call(A, xp.linalg.inv, _zero_pivot, _SINGULAR) if A._data.size else xp.asarray(A._data, copy=True)
    return apply("LinalgInvExBackward0", data, (A,), (_inv_grad,), save_output=True)


@tensor_method()
def inverse(x: Tensor) -> Tensor:
    return inv(x)


@tensor_method()
def det(A: Tensor) -> Tensor:
    """The determinant of each square matrix; its gradient ``det(A) inv(A)^T`` is zero at a singular
    matrix, as PyTorch's."""
    _square(A, "det")
    xp = A._device.backend.xp

    def g(gy, y):
        from gradlite.ops.pointwise import where

        singular = _make(xp.reshape(y._data == 0, y._data.shape + (1, 1)), A._device)
        eye = _make(xp.eye(A._data.shape[-1], dtype=A._data.dtype), A._device)
        safe = where(singular, eye, A)  # (the identity where singular: there the gradient is 0 * I)
        return (gy * y).unsqueeze(-1).unsqueeze(-1) * _mT(inv(safe))

    return apply("LinalgDetBackward0", xp.linalg.det(A._data), (A,), (g,), saved=(A,), save_output=True)


def slogdet(A: Tensor):
    """``(sign, logabsdet)`` of each square matrix; the gradient flows through logabsdet (``inv(A)^T``)."""
    _square(A, "slogdet")
    xp = A._device.backend.xp
    sign, logabs = xp.linalg.slogdet(A._data)
    def g(gy):  # d log|det A| = tr(A^-1 dA)
        return gy.unsqueeze(-1).unsqueeze(-1) * _mT(inv(A))

    s = apply("LinalgSlogdetBackward0", sign, (A,), (lambda gy: None,))  # (sign: no gradient, as PyTorch)
    la = apply("LinalgSlogdetBackward0", logabs, (A,), (g,), saved=(A,))
    return linalg_slogdet(s, la)


@tensor_method()
def logdet(x: Tensor) -> Tensor:
    """``log(det(x))``: nan where the determinant is negative (with a zero gradient), -inf where zero."""
    from gradlite.ops.pointwise import where

    sign, logabs = slogdet(x)
    return where(sign.detach() < 0, float("nan"), logabs)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """``X`` with ``A @ X = B`` (``X @ A = B`` for ``left=False``); B a batch of vectors or matrices, the
    batch dims broadcast."""
    _square(A, "solve")
    if not isinstance(B, Tensor):
        raise TypeError(f"linalg.solve(): argument 'B' must be Tensor, not {type(B).__name__}")
    if B._device is not A._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {A.device} and "
            f"{B.device}!"
        )
    if _dtype_of(B._data) is not _dtype_of(A._data):
        a, b = (dtypes.TORCH_NAMES[_dtype_of(t._data).name] for t in (A, B))
        raise RuntimeError(
            f"linalg.solve: Expected A and B to have the same dtype, but found A of type {a} and B of type "
            f"{b} instead"
        )
    xp = A._device.backend.xp
    vector = left and (B.dim() == 1 or tuple(B.shape) == tuple(A.shape[:-1]))
    bd = xp.expand_dims(B._data, axis=-1) if vector else B._data
    if left and (bd.ndim < 2 or bd.shape[-2] != A.shape[-1]) or not left and bd.shape[-1] != A.shape[-1]:
        r, c = bd.shape[-2:] if bd.ndim >= 2 else (bd.shape[-1], 1)
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
            f"({A.shape[-2]}x{A.shape[-1]} and {r}x{c})"
        )
    message = "torch.linalg.solve: The solver failed because the input matrix is singular."
    if left:
        data = _call(A, lambda a: xp.linalg.solve(a, bd), _zero_pivot, message)
    else:  # X A = B  <=>  A^T X^T = B^T
        def right(a):
            return xp.matrix_transpose(xp.linalg.solve(xp.matrix_transpose(a), xp.matrix_transpose(bd)))

        data = _call(A, right, _zero_pivot, message)
    if vector:
        data = data[..., 0]

    def grads(gx, x):  # left: X = A^-1 B, gB = A^-T gX, gA = -gB X^T; right: gB = gX A^-T, gA = -X^T gB
        if vector:
            gx, x = gx.unsqueeze(-1), x.unsqueeze(-1)
        if left:
            gb = solve(_mT(A), gx)
            return -(gb @ _mT(x)), (gb.squeeze(-1) if vector else gb)
        gb = _mT(solve(A, _mT(gx)))  # gX A^-T = (A^-1 gX^T)^T
        return -(_mT(x) @ gb), gb

    fns = (lambda gx, x: grads(gx, x)[0], lambda gx, x: grads(gx, x)[1])
    return apply("LinalgSolveExBackward0", data, (A, B), fns, saved=(A, A), save_output=True)


# -- cholesky, eigh, svdvals ---------------------------------------------------------------------------------
def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The lower-triangular ``L`` with ``L L^T = A`` for each symmetric positive-definite matrix (its lower
    triangle is read); ``upper=True`` gives ``L^T``."""
    _square(A, "cholesky")
    xp = A._device.backend.xp

    def g(gl, low):  # PyTorch's: Phi(L^T gL) symmetrised, then L^-T (.) L^-1
        if upper:
            gl, low = _mT(gl), _mT(low)
        t = (_mT(low) @ gl).tril()
        t = 0.5 * (t + _mT(t.tril(-1)))
        x = solve(_mT(low), t)
        return _mT(solve(_mT(low), _mT(x)))  # x L^-1 = (L^-T x^T)^T

    data = _call(A, xp.linalg.cholesky, _failing_minor, _NOT_PD)
    if upper:
        data = xp.matrix_transpose(data)
    return apply("LinalgCholeskyExBackward0", data, (A,), (g,), save_output=True)


def _eigh_parts(A: Tensor, op: str):
    _square(A, op)
    xp = A._device.backend.xp
    w, v = xp.linalg.eigh(A._data)
    return xp, w, v


def eigh(A: Tensor, UPLO: str = "L"):  # noqa: N803 -- PyTorch's argument name
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix (its lower triangle is read)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    xp, w, v = _eigh_parts(A if UPLO == "L" else _mT(A), "eigh")
    dev = A._device

    def gw(g):  # V diag(gw) V^T
        _first_order_only("eigh")
        vt = _make(v, dev)
        return (vt * g.unsqueeze(-2)) @ _mT(vt)

    def gv(g):  # V (skew(V^T gV) / E) V^T, E_ij = w_j - w_i (1 on the diagonal, which is zero anyway)
        _first_order_only("eigh")
        vt, wt = _make(v, dev), _make(w, dev)
        e = wt.unsqueeze(-2) - wt.unsqueeze(-1)
        e = e + _make(xp.eye(w.shape[-1], dtype=w.dtype), dev)
        m = _mT(vt) @ g
        return vt @ ((m - _mT(m)) * 0.5 / e) @ _mT(vt)

    values = apply("LinalgEighBackward0", w, (A,), (gw,))
    vectors = apply("LinalgEighBackward0", v, (A,), (gv,))
    return linalg_eigh(values, vectors)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of each symmetric matrix."""
    return eigh(A, UPLO).eigenvalues


def svdvals(A: Tensor) -> Tensor:
    """The singular values (descending) of each matrix of ``A``; gradient ``U diag(gS) V^T``."""
    _square(A, "svd")  # (PyTorch's messages name linalg.svd)
    xp = A._device.backend.xp
    u, s, vh = xp.linalg.svd(A._data, full_matrices=False)
    dev = A._device

    def g(gs):
        _first_order_only("svdvals")
        return (_make(u, dev) * gs.unsqueeze(-2)) @ _make(vh, dev)

    return apply("LinalgSvdBackward0", s, (A,), (g,))


Tensor.slogdet = slogdet
