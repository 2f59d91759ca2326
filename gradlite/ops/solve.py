"""The LU family: inv (and ``inverse``), det, slogdet, logdet and solve, on the backend namespace's
``linalg``; each backward is PyTorch's formula in gradlite ops on the op's input and own output, so it is
differentiable again."""

from __future__ import annotations

from collections import namedtuple

from gradlite import dtypes
from gradlite.ops._base import apply, tensor_method
from gradlite.ops._linalg_common import _SINGULAR, _call, _mT, _square, _via_float32, _zero_pivot
from gradlite.tensor import Tensor, _dtype_of, _make

# PyTorch's result type (torch.return_types.linalg_slogdet)
linalg_slogdet = namedtuple("linalg_slogdet", ["sign", "logabsdet"])


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
    if _square(A, "det", half="lu_cpu"):
        return _via_float32(det, A)
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
    half_empty = _square(A, "solve", half="lu_cpu")
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
    if half_empty:
        return _via_float32(solve, A, B, left=left)
    xp = A._device.backend.xp
    vector = left and (B.dim() == 1 or tuple(B.shape) == tuple(A.shape[:-1]))
    bd = xp.expand_dims(B._data, axis=-1) if vector else B._data
    if left and (bd.ndim < 2 or bd.shape[-2] != A.shape[-1]) or not left and bd.shape[-1] != A.shape[-1]:
        r, c = bd.shape[-2:] if bd.ndim >= 2 else (bd.shape[-1], 1)
        raise RuntimeError(
            f"linalg.solve: Incompatible shapes of A and B for the equation {'AX = B' if left else 'XA = B'} "
            f"({A.shape[-2]}x{A.shape[-1]} and {r}x{c})"
        )
    # the batch dims broadcast (as views) before the solve: CuPy's solve wants them equal
    batch = _batch(bd.shape[:-2], A._data.shape[:-2])
    bd = xp.broadcast_to(bd, batch + bd.shape[-2:])
    message = "torch.linalg.solve: The solver failed because the input matrix is singular."
    if left:
        data = _call(A, lambda a: xp.linalg.solve(xp.broadcast_to(a, batch + a.shape[-2:]), bd), _zero_pivot,
                     message)
    else:  # X A = B  <=>  A^T X^T = B^T
        def right(a):
            a = xp.broadcast_to(a, batch + a.shape[-2:])
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


def _batch(sb: tuple, sa: tuple) -> tuple:
    """The batch shape that B's and A's batch dims broadcast to, with PyTorch's error."""
    n = max(len(sa), len(sb))
    sb, sa = (1,) * (n - len(sb)) + tuple(sb), (1,) * (n - len(sa)) + tuple(sa)
    for i, (x, y) in enumerate(zip(sb, sa, strict=True)):
        if x != y and 1 not in (x, y):
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at non-singleton "
                f"dimension {i}"
            )
    return tuple(max(x, y) if 0 not in (x, y) else 0 for x, y in zip(sb, sa, strict=True))


Tensor.slogdet = slogdet
