"""Factorisations: cholesky, eigh (and eigvalsh), svd (and svdvals), qr, and pinv through the SVD.

Each forward is the backend namespace's ``linalg`` function (array API: NumPy, CuPy, strict); each
backward is PyTorch's formula written with gradlite ops, so it is differentiable again: cholesky's and
pinv's read the op's input and own output; eigh's, svd's and qr's read the factors, which a backward with
create_graph recomputes as an op of A (``_again``) instead of taking them as constants.
"""

from __future__ import annotations

from collections import namedtuple

from gradlite.ops._base import apply
from gradlite.ops._linalg_common import (
    _NOT_PD,
    LinAlgError,
    _again,
    _call,
    _error,
    _failing_minor,
    _host_matrices,
    _mT,
    _square,
    _via_float32,
)
from gradlite.ops.solve import solve
from gradlite.tensor import Tensor, _make

# PyTorch's result types (torch.return_types.linalg_eigh, ...)
linalg_eigh = namedtuple("linalg_eigh", ["eigenvalues", "eigenvectors"])


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The lower-triangular ``L`` with ``L L^T = A`` for each symmetric positive-definite matrix (its lower
    triangle is read); ``upper=True`` gives ``L^T``."""
    if _square(A, "cholesky", half="cholesky_cpu"):
        return _via_float32(cholesky, A, upper=upper)
    xp = A._device.backend.xp

    def g(gl, low):  # PyTorch's: Phi(L^T gL) symmetrised, then L^-T (.) L^-1
        if upper:
            gl, low = _mT(gl), _mT(low)
        t = (_mT(low) @ gl).tril()
        t = 0.5 * (t + _mT(t.tril(-1)))
        x = solve(_mT(low), t)
        return _mT(solve(_mT(low), _mT(x)))  # x L^-1 = (L^-T x^T)^T

    b = A._device.backend
    data = _call(A, xp.linalg.cholesky, _failing_minor, _NOT_PD)
    # on the CPU, PyTorch's LAPACK potrf stops at a NaN pivot and raises; NumPy's returns NaN factors (one
    # host read of a reduction, as _call's; CuPy's errstate in _call already reports it on CUDA)
    if b.name != "cupy" and not bool(xp.all(xp.isfinite(data))):
        if any(_failing_minor(m) for m in _host_matrices(A)[0]):
            raise _error(A, _failing_minor, _NOT_PD)
    if upper:
        data = xp.matrix_transpose(data)
    return apply("LinalgCholeskyExBackward0", data, (A,), (g,), save_output=True)


def eigh(A: Tensor, UPLO: str = "L"):  # noqa: N803 -- PyTorch's argument name
    """Eigenvalues (ascending) and eigenvectors of each symmetric matrix (its lower triangle is read, or
    the upper one with ``UPLO='U'``)."""
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    if _square(A, "eigh", half="linalg_eigh_cpu"):
        return _via_float32(eigh, A, UPLO)
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


def _svd_arrays(a, b, full_matrices: bool):
    """``xp.linalg.svd(a)`` for a non-finite ``a`` too: NumPy's LAPACK (OpenBLAS dgesdd) loops forever on
    some matrices with inf entries and raises its own LinAlgError on NaN, so a non-finite input is checked
    first (one host read; not on CuPy, whose cuSOLVER returns): NaN raises PyTorch's error, inf gives NaN
    factors (PyTorch's S; its U and Vh are whatever LAPACK left)."""
    xp = b.xp
    if b.name != "cupy" and not bool(xp.all(xp.isfinite(a))):
        if bool(xp.any(xp.isnan(a))):
            raise LinAlgError(
                "linalg.svd: The algorithm failed to converge because the input matrix contained non-finite "
                "values."
            )
        m, n = a.shape[-2:]
        k, batch = min(m, n), tuple(a.shape[:-2])

        def nan(*shape):
            return xp.full(batch + shape, xp.nan, dtype=a.dtype)

        return nan(m, m if full_matrices else k), nan(k), nan(n if full_matrices else k, n)
    return xp.linalg.svd(a, full_matrices=full_matrices)


def svdvals(A: Tensor) -> Tensor:
    """The singular values (descending) of each matrix of ``A``; gradient ``U diag(gS) V^T``."""
    if _square(A, "svd", square=False, half="linalg_svd_cpu"):  # (PyTorch's messages name linalg.svd)
        return _via_float32(svdvals, A)
    u, s, vh = _svd_arrays(A._data, A._device.backend, False)
    dev = A._device

    def g(gs):
        ut, vt = _again((u, vh), dev, lambda: (lambda r: (r.U, r.Vh))(svd(A, full_matrices=False)))
        return (ut * gs.unsqueeze(-2)) @ vt

    return apply("LinalgSvdBackward0", s, (A,), (g,), saved=(A,))



# -- svd, qr, pinv -------------------------------------------------------------------------------------------
linalg_svd = namedtuple("linalg_svd", ["U", "S", "Vh"])
linalg_qr = namedtuple("linalg_qr", ["Q", "R"])


def svd(A: Tensor, full_matrices: bool = True):
    """``U, S, Vh`` with ``A = U diag(S) Vh`` (S descending). Gradients are PyTorch's formulas, which
    assume distinct singular values; with ``full_matrices`` the extra columns get none, as PyTorch."""
    if _square(A, "svd", square=False, half="linalg_svd_cpu"):
        return _via_float32(svd, A, full_matrices)
    xp = A._device.backend.xp
    u, s, vh = _svd_arrays(A._data, A._device.backend, full_matrices)
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
    _square(A, "qr", square=False, half="geqrf_cpu", empty=False)
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
    try:
        return _mT(solve(r, _mT(b)))  # b R^-T = (R^-1 b^T)^T
    except LinAlgError:  # a rank-deficient A: a zero on R's diagonal
        return _mT(_solve_upper(r, _mT(b)))


def _solve_upper(r: Tensor, c: Tensor) -> Tensor:
    """``R^-1 C`` for an upper-triangular ``R`` (..., n, n) by back substitution in differentiable ops: as
    PyTorch's triangular solve in the QR gradient, a zero on the diagonal gives inf / nan, never an error.
    (One op per row: only the fallback for the singular R that ``solve`` refuses.)"""
    from gradlite.ops.join import stack

    n = r.shape[-1]
    rows: list = [None] * n
    for i in reversed(range(n)):
        acc = c[..., i, :]
        if i < n - 1:
            acc = acc - (r[..., i : i + 1, i + 1 :] @ stack(rows[i + 1 :], -2))[..., 0, :]
        rows[i] = acc / r[..., i, i : i + 1]
    return stack(rows, -2)


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The pseudo-inverse from the SVD, singular values at most ``max(atol, rtol * S_max)`` dropped (rtol
    defaults to ``max(m, n) * eps`` when atol is not given, as PyTorch); gradient by PyTorch's formula in
    gradlite ops on A and the output (so differentiable again)."""
    _square(A, "pinv", square=False)
    xp = A._device.backend.xp
    a = A._data
    m, n = a.shape[-2:]
    u, s, vh = _svd_arrays(a, A._device.backend, False)
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
