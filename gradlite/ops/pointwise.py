"""Unary pointwise functions and ``where``. Each forward is one namespace call; each gradient a formula."""

from __future__ import annotations

from gradlite import dtypes
from gradlite.ops._base import apply, operands, tensor_method
from gradlite.tensor import Tensor, _dtype_of


def fdata(x: Tensor):
    """The array of ``x`` as floating point (integer and bool tensors give the default float dtype)."""
    d = x._data
    if _dtype_of(d).is_floating_point:
        return d
    b = x._device.backend
    return b.xp.astype(d, b.dtype(dtypes.get_default_dtype().name))


def xp_of(x: Tensor):
    return x._device.backend.xp


@tensor_method()
def exp(x: Tensor) -> Tensor:
    # d/dx exp(x) = exp(x)
    return apply("ExpBackward0", xp_of(x).exp(fdata(x)), (x,), (lambda gy, y: gy * y,), save_output=True)


@tensor_method()
def log(x: Tensor) -> Tensor:
    # d/dx log(x) = 1/x
    return apply("LogBackward0", xp_of(x).log(fdata(x)), (x,), (lambda gy: gy / x,), saved=(x,))


@tensor_method()
def sqrt(x: Tensor) -> Tensor:
    # d/dx sqrt(x) = 1 / (2 sqrt(x))
    return apply("SqrtBackward0", xp_of(x).sqrt(fdata(x)), (x,), (lambda gy, y: gy / (2 * y),), save_output=True)


@tensor_method("__abs__", "abs", "absolute")
def abs(x: Tensor) -> Tensor:
    # d/dx |x| = sign(x); PyTorch takes 0 at x == 0
    return apply("AbsBackward0", xp_of(x).abs(x._data), (x,), (lambda gy: gy * sign(x),), saved=(x,))


@tensor_method()
def sign(x: Tensor) -> Tensor:
    # piecewise constant: the gradient is 0 everywhere it exists
    return apply("SignBackward0", xp_of(x).sign(x._data), (x,), (lambda gy: gy * 0,))


@tensor_method()
def sigmoid(x: Tensor) -> Tensor:
    # 1 / (1 + exp(-x)) computed as (1 + tanh(x/2)) / 2: no overflow for large |x|
    xp = xp_of(x)
    y = (xp.tanh(fdata(x) * 0.5) + 1) * 0.5
    # d/dx sigmoid = y (1 - y)
    return apply("SigmoidBackward0", y, (x,), (lambda gy, y: gy * y * (1 - y),), save_output=True)


@tensor_method()
def tanh(x: Tensor) -> Tensor:
    # d/dx tanh = 1 - y**2
    return apply("TanhBackward0", xp_of(x).tanh(fdata(x)), (x,), (lambda gy, y: gy * (1 - y * y),), save_output=True)


@tensor_method()
def relu(x: Tensor) -> Tensor:
    # The gradient at 0 is a choice; PyTorch (and we) take 0: mask by y > 0.
    xd = x._data
    return apply("ReluBackward0", xp_of(x).maximum(xd, 0), (x,), (lambda gy, y: gy * (y > 0),), save_output=True)


def where(condition: Tensor, x, y) -> Tensor:
    """Elementwise ``x if condition else y`` with broadcasting; gradients flow to the chosen side."""
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): condition must be a Tensor, got {type(condition).__name__}")
    if _dtype_of(condition._data) is not dtypes.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with dtype {condition.dtype}")
    if not isinstance(x, Tensor) and not isinstance(y, Tensor):
        from gradlite.creation import tensor

        x = tensor(x, device=condition.device)
    xd, yd = operands(x, y, "where")
    for t in (x, y):
        if isinstance(t, Tensor) and t._device is not condition._device:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{condition.device} and {t.device}! (when checking argument for where)"
            )
    c = condition._data
    data = xp_of(condition).where(c, xd, yd)
    return apply(
        "WhereBackward0",
        data,
        (x, y),
        (lambda gy: where(condition, gy, 0.0), lambda gy: where(condition, 0.0, gy)),
    )


Tensor.where = lambda self, condition, y: where(condition, self, y)
