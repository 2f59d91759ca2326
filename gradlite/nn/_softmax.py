"""softmax and log_softmax: dedicated ops, shifted by the maximum so that logits of any size are safe.

Composing them from exp/sum/log would also give correct gradients, but overflows at logits of 1e3 and
records five nodes; one node with a closed-form backward is both stable and cheaper.
"""

from __future__ import annotations

import warnings

from gradlite import dtypes
from gradlite.ops._base import apply, tensor_method
from gradlite.tensor import Tensor, _dtype_of, _wrap_dim


def _prepare(x: Tensor, dim, dtype, op: str):
    """(array, axis) for a softmax-like op: PyTorch's implicit dim with its warning, dtype cast, checks."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if dim is None:
        warnings.warn(
            f"Implicit dimension choice for {op} has been deprecated. Change the call to include dim=X as an "
            "argument.",
            UserWarning,
            stacklevel=3,
        )
        dim = 0 if x.dim() in (0, 1, 3) else 1
    d = _wrap_dim(dim, x.dim())
    xd = x._data
    b = x._device.backend
    if dtype is not None:
        xd = b.xp.astype(xd, b.dtype(dtypes.as_dtype(dtype).name))
    dt = _dtype_of(xd)
    if not dt.is_floating_point:
        raise NotImplementedError(
            f"\"{op}_lastdim_kernel_impl\" not implemented for '{_TORCH_NAME.get(dt.name, dt.name)}'"
        )
    return xd, d if xd.ndim else None


_TORCH_NAME = {
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


def _shifted(xp, xd, axis):
    """``x - max(x, axis)``: every exponent is <= 0, so exp never overflows."""
    if xd.size == 0:
        return xd
    return xd - xp.max(xd, axis=axis, keepdims=True)


@tensor_method()
def softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / exp(x).sum(dim)`` along ``dim``; same shape as x."""
    xd, axis = _prepare(x, dim, dtype, "softmax")
    xp = x._device.backend.xp
    e = xp.exp(_shifted(xp, xd, axis))
    y = e / xp.sum(e, axis=axis, keepdims=True) if xd.size else e
    keep = axis if axis is not None else ()
    k = x._device.backend.kernels
    return apply("SoftmaxBackward0", y, (x,), _SOFTMAX, save_output=True, args=(keep,), rargs=(xp, k, keep),
                 rfns=_SOFTMAX_RAW)


# d softmax: gx = y * (gy - sum(gy * y, dim)); d log_softmax: gx = gy - softmax(x) * sum(gy, dim), with
# softmax(x) = exp(y). Each as gradlite ops (create_graph) and on arrays: the sum, then the backend's
# kernel for the elementwise rest (one fused kernel on CuPy).
def _softmax_grad(gy, keep, y):
    return y * (gy - (gy * y).sum(keep, keepdim=True))


def _softmax_grad_raw(gy, xp, k, keep, y):
    return k.softmax_grad(gy, y, xp.sum(gy * y, axis=keep, keepdims=True))


def _log_softmax_grad(gy, keep, y):
    return gy - y.exp() * gy.sum(keep, keepdim=True)


def _log_softmax_grad_raw(gy, xp, k, keep, y):
    return k.log_softmax_grad(gy, y, xp.sum(gy, axis=keep, keepdims=True))


_SOFTMAX, _SOFTMAX_RAW = (_softmax_grad,), (_softmax_grad_raw,)
_LOG_SOFTMAX, _LOG_SOFTMAX_RAW = (_log_softmax_grad,), (_log_softmax_grad_raw,)


@tensor_method()
def log_softmax(x: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``x - logsumexp(x, dim)`` along ``dim``, computed stably; same shape as x."""
    xd, axis = _prepare(x, dim, dtype, "log_softmax")
    xp = x._device.backend.xp
    z = _shifted(xp, xd, axis)
    y = z - xp.log(xp.sum(xp.exp(z), axis=axis, keepdims=True)) if xd.size else z
    keep = axis if axis is not None else ()
    return apply("LogSoftmaxBackward0", y, (x,), _LOG_SOFTMAX, save_output=True, args=(keep,),
                 rargs=(xp, x._device.backend.kernels, keep), rfns=_LOG_SOFTMAX_RAW)
