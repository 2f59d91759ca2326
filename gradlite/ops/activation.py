"""Activation functions (re-exported by ``nn.functional``): relu6, leaky_relu, elu, selu, celu, gelu, silu,
mish, softplus, logsigmoid, hardtanh, hardsigmoid, hardswish.

Most are composed from differentiable primitives (so their gradients and second derivatives need no
code); ``softplus``, ``logsigmoid``, ``hardtanh`` and ``leaky_relu`` have their own gradient because the
composed one would be wrong at a kink or overflow in a branch that ``where`` discards.
The branch that ``where`` does not select is always computed on clamped inputs: an ``inf`` there would
turn its zero gradient into ``0 * inf = nan``.
"""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.ops._base import apply
from gradlite.ops.pointwise import _check, erf, expm1, sigmoid, tanh, where, xp_of
from gradlite.tensor import Tensor, _dtype_of


def _float_only(x: Tensor, name: str) -> None:
    _check(x, name)
    if not _dtype_of(x._data).is_floating_point:
        raise RuntimeError(f"\"{name}\" not implemented for '{_TORCH.get(x.dtype.name, x.dtype.name)}'")


_TORCH = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]``; gradient 1 strictly inside, 0 at and beyond the ends."""
    _check(x, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if _dtype_of(x._data) is dtypes.bool_:
        raise RuntimeError("\"hardtanh\" not implemented for 'Bool'")
    xp = xp_of(x)
    d = x._data
    data = xp.minimum(xp.maximum(d, xp.asarray(min_val, dtype=d.dtype)), xp.asarray(max_val, dtype=d.dtype))
    # PyTorch's hardtanh_backward masks with strict inequalities (unlike clamp)
    return _finish(
        x,
        apply(
            "HardtanhBackward0",
            data,
            (x,),
            (lambda gy: where((x > min_val) & (x < max_val), gy, 0.0),),
            saved=(x,),
        ),
        inplace,
    )


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return hardtanh(x, 0.0, 6.0, inplace)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, ``negative_slope * x`` otherwise (gradient at 0: the slope, as PyTorch)."""
    _float_only(x, "leaky_relu")
    xp = xp_of(x)
    d = x._data
    data = xp.where(d > 0, d, d * negative_slope)
    return _finish(
        x,
        apply(
            "LeakyReluBackward0", data, (x,), (lambda gy: where(x > 0, gy, gy * negative_slope),), saved=(x,)
        ),
        inplace,
    )


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    _float_only(x, "elu")
    return _finish(x, where(x > 0, x, expm1(x.clamp(max=0.0)) * alpha), inplace)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants."""
    _float_only(x, "selu")
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return _finish(x, where(x > 0, x * scale, expm1(x.clamp(max=0.0)) * (alpha * scale)), inplace)


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    _float_only(x, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _finish(x, where(x > 0, x, expm1(x.clamp(max=0.0) / alpha) * alpha), inplace)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Phi the normal CDF, via erf), or its tanh approximation with ``approximate='tanh'``."""
    _float_only(x, "GeluKernelImpl")
    if approximate == "none":
        return x * (erf(x * (1 / math.sqrt(2.0))) + 1) * 0.5
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        return x * (tanh((x + x * x * x * 0.044715) * k) + 1) * 0.5
    raise RuntimeError(f"approximate argument must be either none or tanh (got {approximate!r})")


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    _float_only(x, "silu")
    return _finish(x, x * sigmoid(x), inplace)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear (``x``) where ``beta x > threshold``; never overflows."""
    _float_only(x, "softplus")
    xp = xp_of(x)
    d = x._data
    z = d * beta
    # log(1 + e**z) = max(z, 0) + log1p(e**-|z|): no overflow
    soft = (xp.maximum(z, xp.asarray(0.0, dtype=z.dtype)) + xp.log1p(xp.exp(-xp.abs(z)))) / beta
    data = xp.where(z > threshold, d, soft)
    # d/dx = sigmoid(beta x) below the threshold, 1 above
    return apply(
        "SoftplusBackward0",
        data,
        (x,),
        (lambda gy: where(x * beta > threshold, gy, gy * sigmoid(x * beta)),),
        saved=(x,),
    )


def logsigmoid(x: Tensor) -> Tensor:
    """``log(sigmoid(x)) = -softplus(-x)``, stable for large |x|."""
    _float_only(x, "log_sigmoid_forward")
    xp = xp_of(x)
    d = x._data
    data = xp.minimum(d, xp.asarray(0.0, dtype=d.dtype)) - xp.log1p(xp.exp(-xp.abs(d)))
    # d/dx log sigmoid(x) = 1 - sigmoid(x) = sigmoid(-x)
    return apply("LogSigmoidBackward0", data, (x,), (lambda gy: gy * sigmoid(-x),), saved=(x,))


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    _float_only(x, "mish")
    return _finish(x, x * tanh(softplus(x)), inplace)


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; the gradient is 1/6 strictly inside (-3, 3)."""
    _float_only(x, "hardsigmoid")
    return _finish(x, hardtanh(x + 3.0, 0.0, 6.0) / 6.0, inplace)


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    _float_only(x, "hardswish")
    # PyTorch's gradient: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above: the product rule on relu6 with its
    # inclusive-at-3 choice; composing with clamp (inclusive bounds) reproduces it
    return _finish(x, x * (x + 3.0).clamp(0.0, 6.0) / 6.0, inplace)


def _finish(x: Tensor, y: Tensor, inplace: bool) -> Tensor:
    """``y``, or ``y`` written into ``x`` when the caller asked for the in-place form."""
    if not inplace:
        return y
    from gradlite.ops.inplace import assign, check_inplace

    check_inplace(x)
    return assign(x, y, "inplace activation")
