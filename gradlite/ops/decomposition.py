"""Matrix functions and decompositions: inv, det, slogdet, logdet, solve, cholesky, eigh, eigvalsh, svdvals,
svd, qr, pinv.

Each forward is the backend namespace's ``linalg`` function (array API: NumPy, CuPy, strict); each
backward is PyTorch's formula written with gradlite ops, so it is differentiable again. Those of inv,
det, slogdet, solve, cholesky and pinv read only the op's inputs and own output; those of eigh, svd and
qr read the factors, which a backward with create_graph recomputes as an op of A (``_again``) instead of
taking them as constants. Errors are PyTorch's: ``LinAlgError`` (a RuntimeError) for a singular or
non-positive-definite matrix, naming the first zero pivot or failing minor as LAPACK does.
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


def _square(a: Tensor, op: str, square: bool = True) -> None:
    """PyTorch's checks: a tensor of at least 2 dims (of square matrices), a float32/float64 dtype."""
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
    if square and s[-1] != s[-2]:
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


def _again(arrays: tuple, dev, redo):
    """The factors a decomposition's backward reads: constants wrapped around the forward's arrays, or,
    in a backward with create_graph, the decomposition run again as an op of A (``redo()``), so that the
    gradient is itself differentiable (each further order recomputes once more)."""
    if state.grad_enabled:
        return redo()
    return tuple(_make(a, dev) for a in arrays)


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


def eigh(A: Tensor, UPLO: str = "L"):  # noqa: N803 -- PyTorch's argument name
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix (its lower triangle is read, or
    the upper one with ``UPLO='U'``)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    _square(A, "eigh")
    xp = A._device.backend.xp
    w, v = xp.linalg.eigh(A._data if UPLO == "L" else xp.matrix_transpose(A._data))
    dev = A._device

    def factors():
        return _again((w, v), dev, lambda: tuple(eigh(A, UPLO)))

    def gw(g):  # V diag(gw) V^T
        _, vt = factors()
        return (vt * g.unsqueeze(-2)) @ _mT(vt)

    def gv(g):  # V (skew(V^T gV) / E) V^T, E_ij = w_j - w_i (1 on the diagonal, which is zero anyway)
        wt, vt = factors()
        e = wt.unsqueeze(-2) - wt.unsqueeze(-1)
        e = e + _make(xp.eye(w.shape[-1], dtype=w.dtype), dev)
        m = _mT(vt) @ g
        return vt @ ((m - _mT(m)) * 0.5 / e) @ _mT(vt)

    values = apply("LinalgEighBackward0", w, (A,), (gw,), saved=(A,))
    vectors = apply("LinalgEighBackward0", v, (A,), (gv,), saved=(A,))
    return linalg_eigh(values, vectors)


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of each symmetric matrix."""
    return eigh(A, UPLO).eigenvalues


def svdvals(A: Tensor) -> Tensor:
    """The singular values (descending) of each matrix of ``A``; gradient ``U diag(gS) V^T``."""
    _square(A, "svd", square=False)  # (PyTorch's messages name linalg.svd)
    xp = A._device.backend.xp
    u, s, vh = xp.linalg.svd(A._data, full_matrices=False)
    dev = A._device

    def g(gs):
        ut, vt = _again((u, vh), dev, lambda: (lambda r: (r.U, r.Vh))(svd(A, full_matrices=False)))
        return (ut * gs.unsqueeze(-2)) @ vt

    return apply("LinalgSvdBackward0", s, (A,), (g,), saved=(A,))


Tensor.slogdet = slogdet


# -- svd, qr, pinv -------------------------------------------------------------------------------------------
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])
linalg_qr = namedtuple("linalg_qr", ["Q", "R"])


def svd(A: Tensor, full_matrices: bool = True):
    """``U, S, Vh`` with ``A = U diag(S) Vh`` (S descending). Gradients are PyTorch's formulas, which
    assume distinct singular values; with ``full_matrices`` the extra columns get none, as PyTorch."""
    _square(A, "svd", square=False)
    xp = A._device.backend.xp
    u, s, vh = xp.linalg.svd(A._data, full_matrices=full_matrices)
    k = s.shape[-1]
    m, n = A._data.shape[-2:]
    dev = A._device
    ur, vhr = (u[..., :, :k], vh[..., :k, :]) if full_matrices else (u, vh)

    def consts():
        return _again((ur, s, vhr), dev, lambda: tuple(svd(A, full_matrices=False)))

    def e_matrix(st):  # E_ij = S_j^2 - S_i^2, 1 on the diagonal
        s2 = st * st
        return s2.unsqueeze(-2) - s2.unsqueeze(-1) + _make(xp.eye(k, dtype=s.dtype), dev)

    def g_u(gu):
        ut, st, vt = consts()
        gu = gu[..., :, :k] if full_matrices else gu
        uhgu = _mT(ut) @ gu
        ga = (uhgu - _mT(uhgu)) * st.unsqueeze(-2) / e_matrix(st)
        ga = ut @ ga
        if m > n:  # the part of gU outside U's span: (I - U U^T) gU S^-1
            gus = gu / st.unsqueeze(-2)
            ga = ga + gus - ut @ (_mT(ut) @ gus)
        return ga @ vt

    def g_s(gs):
        ut, _, vt = consts()
        return (ut * gs.unsqueeze(-2)) @ vt

    def g_vh(gvh):
        ut, st, vt = consts()
        gvh = gvh[..., :k, :] if full_matrices else gvh
        vhgv = vt @ _mT(gvh)
        ga = st.unsqueeze(-1) * (vhgv - _mT(vhgv)) / e_matrix(st)
        ga = ga @ vt
        if m < n:  # the part of gVh outside Vh's span: S^-1 gVh (I - V V^T)
            sgv = gvh / st.unsqueeze(-1)
            ga = ga + sgv - (sgv @ _mT(vt)) @ vt
        return ut @ ga

    return linalg_svd(
        apply("LinalgSvdBackward0", u, (A,), (g_u,), saved=(A,)),
        apply("LinalgSvdBackward0", s, (A,), (g_s,), saved=(A,)),
        apply("LinalgSvdBackward0", vh, (A,), (g_vh,), saved=(A,)),
    )


def qr(A: Tensor, mode: str = "reduced"):
    """``Q, R`` with ``A = Q R``, Q orthonormal columns, R upper triangular; mode 'reduced', 'complete' or
    'r' (Q empty). Differentiable for 'reduced', and for 'complete' when A is not taller than wide."""
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(
            f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', or "
            "'complete'"
        )
    _square(A, "qr", square=False)
    xp = A._device.backend.xp
    q, r = xp.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
    m, n = A._data.shape[-2:]
    dev = A._device

    def grad(gq, gr):
        if mode == "r":
            raise RuntimeError(
                "The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please use "
                "linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr."
            )
        if mode == "complete" and m > n:
            raise RuntimeError(
                "The QR decomposition is not differentiable when mode='complete' and nrows > ncols."
            )
        qt, rt = _again((q, r), dev, lambda: tuple(qr(A, mode)))
        return _qr_grad(qt, rt, gq, gr, m, n)

    qn = apply("LinalgQrBackward0", q, (A,), (lambda gq: grad(gq, None),), saved=(A,))
    rn = apply("LinalgQrBackward0", r, (A,), (lambda gr: grad(None, gr),), saved=(A,))
    if mode == "r":
        return linalg_qr(_make(xp.empty((0,), dtype=q.dtype), dev), rn)
    return linalg_qr(qn, rn)


def _qr_grad(q: Tensor, r: Tensor, gq, gr, m: int, n: int) -> Tensor:
    """gA for A = QR from gQ and/or gR (either may be None): for m >= n, (gQ + Q copyltu(M)) R^-T with
    M = R gR^T - gQ^T Q; a wide A = [X | Y] takes X's square case with gQ + Y gV^T, and Q gV for Y."""
    if m < n:
        x_r, v = r[..., :, :m], r[..., :, m:]
        gv = None if gr is None else gr[..., :, m:]
        gu = None if gr is None else gr[..., :, :m]
        y = q @ v  # (Y itself: A's trailing columns)
        gq_x = gq if gv is None else (y @ _mT(gv) if gq is None else gq + y @ _mT(gv))
        gx = _qr_grad(q, x_r, gq_x, gu, m, m)
        gy = q @ gv if gv is not None else None
        from gradlite.ops.join import cat


        if gy is None:  # (R's trailing columns got no gradient: Y gets none)
            from gradlite.creation import zeros

            gy = zeros(*gx.shape[:-1], n - m, dtype=gx.dtype, device=gx.device)
        return cat([gx, gy], -1)
    mm = None
    if gr is not None:
        mm = r @ _mT(gr)
    if gq is not None:
        mm = -(_mT(gq) @ q) if mm is None else mm - _mT(gq) @ q
    low = mm.tril()
    sym = low + _mT(low.tril(-1))  # copyltu: the lower triangle mirrored
    b = q @ sym if gq is None else gq + q @ sym
    return _mT(solve(r, _mT(b)))  # b R^-T = (R^-1 b^T)^T


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The pseudo-inverse from the SVD, singular values at most ``max(atol, rtol * S_max)`` dropped (rtol
    defaults to ``max(m, n) * eps`` when atol is not given, as PyTorch); gradient by PyTorch's formula in
    gradlite ops on A and the output (so differentiable again)."""
    _square(A, "pinv", square=False)
    xp = A._device.backend.xp
    a = A._data
    m, n = a.shape[-2:]
    u, s, vh = xp.linalg.svd(a, full_matrices=False)
    if rtol is None:
        rtol = max(m, n) * xp.finfo(a.dtype).eps if atol is None or atol == 0 else 0.0
    smax = s[..., :1] if s.shape[-1] else s
    cutoff = xp.maximum(xp.asarray(atol or 0.0, dtype=s.dtype), rtol * smax)
    keep = s > cutoff
    sinv = xp.where(keep, 1.0 / xp.where(keep, s, xp.ones_like(s)), xp.zeros_like(s))
    data = xp.matrix_transpose(vh) @ (sinv[..., :, None] * xp.matrix_transpose(u))

    def g(gy, p):  # PyTorch's pinv_backward
        ph, gh = _mT(p), _mT(gy)
        if m <= n:
            k = gh @ p
            kph = k @ ph
            return -_mT(p @ k) + kph - (A @ p) @ kph + (ph @ p) @ (gh - k @ A)
        k = p @ gh
        phk = ph @ k
        return -_mT(k @ p) + (gh - A @ k) @ p @ ph + phk - phk @ p @ A

    return apply("LinalgPinvBackward0", data, (A,), (g,), saved=(A,), save_output=True)
