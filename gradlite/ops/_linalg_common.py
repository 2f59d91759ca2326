"""What the matrix functions and decompositions share: PyTorch's input checks, its ``LinAlgError`` naming
the first zero pivot or failing minor (found on the host, on the error path only), and ``_again``, which
lets a decomposition's backward recompute the factors as an op under create_graph."""

from __future__ import annotations

from gradlite import dtypes
from gradlite.autograd.grad_mode import state
from gradlite.tensor import Tensor, _dtype_of, _make


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a singular or non-positive-definite matrix."""


def _square(
    a: Tensor, op: str, square: bool = True, any_dtype: bool = False, half: str | None = None, empty=True
) -> bool:
    """PyTorch's checks: a tensor of at least 2 dims (of square matrices), a float32/float64 dtype (unless
    ``any_dtype``). With ``half`` (the name of PyTorch's kernel) float16 passes the first checks and the
    kernel's NotImplementedError follows, except for an empty ``a`` when ``empty`` (PyTorch skips its kernel):
    then True, and the caller computes in float32 (``_via_float32``)."""
    if not isinstance(a, Tensor):
        raise TypeError(f"linalg.{op}(): argument 'A' must be Tensor, not {type(a).__name__}")
    d = _dtype_of(a._data)
    if not any_dtype and not d.is_floating_point:
        name = dtypes.TORCH_NAMES[d.name]
        raise RuntimeError(f"linalg.{op}: Expected a floating point or complex tensor as input. Got {name}")
    if not any_dtype and half is None and d is dtypes.float16:
        raise RuntimeError(f"linalg.{op}: Low precision dtypes not supported. Got Half")
    s = a._data.shape
    if len(s) < 2:
        raise RuntimeError(f"linalg.{op}: The input tensor A must have at least 2 dimensions.")
    if square and s[-1] != s[-2]:
        raise RuntimeError(
            f"linalg.{op}: A must be batches of square matrices, but they are {s[-2]} by {s[-1]} matrices"
        )
    if half is not None and d is dtypes.float16:
        if empty and a._data.size == 0:
            return True
        raise NotImplementedError(f"\"{half}\" not implemented for 'Half'")
    return False


def _via_float32(fn, *args, **kwargs):
    """``fn`` of float16 tensors computed in float32, its tensor results cast back to float16 (for empty
    inputs, which PyTorch's linalg takes in float16)."""
    out = fn(*(a.to(dtypes.float32) if isinstance(a, Tensor) else a for a in args), **kwargs)
    if isinstance(out, Tensor):
        return out.to(dtypes.float16)
    return type(out)(*(o.to(dtypes.float16) for o in out))


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
    raises; the strict backend gives non-finite values, seen with one host read (PyTorch reads LAPACK's
    info likewise). cuSOLVER reports through an info value that CuPy ignores by default: a failed Cholesky
    comes back finite and wrong. Under ``cupyx.errstate(linalg="raise")`` CuPy reads the info back (a host
    sync: acceptable here, these are not hot-path ops, and PyTorch's CUDA linalg syncs for its errors too)
    and raises LinAlgError."""
    b = a._device.backend
    xp = b.xp
    try:
        if b.name == "cupy":
            with b.cupyx.errstate(linalg="raise"):
                out = fn(a._data)
        else:
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
