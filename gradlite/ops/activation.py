"""Activation functions (re-exported by ``nn.functional``): relu6, leaky_relu, elu, selu, celu, gelu, silu,
mish, softplus, logsigmoid, hardtanh, hardsigmoid, hardswish.

Each records one node with PyTorch's name (``GeluBackward0``) and a gradient formula written with
gradlite ops, so second derivatives work; the formulas make PyTorch's choices at the kinks. A branch that
``where`` discards is always computed on clamped inputs: an ``inf`` there would turn its zero gradient
into ``0 * inf = nan``. ``relu6`` is ``hardtanh(x, 0, 6)`` (PyTorch's ``HardtanhBackward0`` too).
"""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.ops._base import apply
from gradlite.ops.pointwise import (
    _check,
    _erf_fwd,
    _sigmoid_fwd,
    clip_array,
    erf,
    exp,
    sigmoid,
    tanh,
    where,
    xp_of,
)
from gradlite.tensor import Tensor, _dtype_of


def _float_only(x: Tensor, name: str) -> None:
    _check(x, name)
    if not _dtype_of(x._data).is_floating_point:
        # NotImplementedError (a RuntimeError) as PyTorch's kernels raise for an unsupported dtype
        raise NotImplementedError(
            f"\"{name}\" not implemented for '{_TORCH.get(x.dtype.name, x.dtype.name)}'"
        )


_TORCH = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` clamped to ``[min_val, max_val]``; gradient 1 strictly inside, 0 at and beyond the ends."""
    _check(x, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if _dtype_of(x._data) is dtypes.bool_:
        raise RuntimeError("\"hardtanh\" not implemented for 'Bool'")
    if inplace:
        return _in_place(hardtanh, x, min_val, max_val)
    xp = xp_of(x)
    d = x._data
    data = xp.minimum(xp.maximum(d, xp.asarray(min_val, dtype=d.dtype)), xp.asarray(max_val, dtype=d.dtype))
    # PyTorch's hardtanh_backward masks with strict inequalities (unlike clamp)
    return apply(
            "HardtanhBackward0",
            data,
            (x,),
            (lambda gy: where((x > min_val) & (x < max_val), gy, 0.0),),
            saved=(x,),
        )


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return hardtanh(x, 0.0, 6.0, inplace)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, ``negative_slope * x`` otherwise (gradient at 0: the slope, as PyTorch)."""
    _float_only(x, "leaky_relu")
    if inplace:
        return _in_place(leaky_relu, x, negative_slope)
    xp = xp_of(x)
    d = x._data
    data = xp.where(d > 0, d, d * negative_slope)
    return apply(
            "LeakyReluBackward0", data, (x,), (lambda gy: where(x > 0, gy, gy * negative_slope),), saved=(x,)
        )


def _elu(x, name, node, alpha, scale, input_scale, inplace):
    """``scale * x`` for x > 0, ``scale * alpha * (exp(input_scale * x) - 1)`` otherwise (elu, selu, celu)."""
    _float_only(x, name)
    if inplace:
        return _in_place(_elu, x, name, node, alpha, scale, input_scale, False)
    xp = xp_of(x)
    d = x._data
    # the discarded branch runs on min(x, 0): exp of a large x would overflow there
    neg = xp.expm1(xp.where(d > 0, 0.0, d) * input_scale) * (alpha * scale)
    data = xp.where(d > 0, d * scale, neg)

    # d/dx = scale for x > 0, else scale * alpha * input_scale * exp(input_scale * x)
    def gx(gy):
        return where(
            x > 0, gy * scale, gy * (alpha * scale * input_scale) * exp(x.clamp(max=0.0) * input_scale)
        )

    return apply(node, data, (x,), (gx,), saved=(x,))


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise."""
    return _elu(x, "elu", "EluBackward0", alpha, 1.0, 1.0, inplace)


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """``scale * elu(x, alpha)`` with the self-normalising constants."""
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    return _elu(x, "selu", "EluBackward0", alpha, scale, 1.0, inplace)


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``max(0, x) + min(0, alpha * (exp(x / alpha) - 1))``."""
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError")
    return _elu(x, "celu", "CeluBackward0", alpha, 1.0, 1.0 / alpha, inplace)


_GELU_K = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715


# d/dx x Phi(x) = Phi(x) + x phi(x), Phi the normal CDF and phi its density
def _gelu_grad(gy, x):
    cdf = (erf(x * (1 / math.sqrt(2.0))) + 1) * 0.5
    return gy * (cdf + x * exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi)))


def _gelu_grad_raw(gy, xp, x, cdf):
    return gy * (cdf + x * xp.exp(x * x * -0.5) * (1 / math.sqrt(2 * math.pi)))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Phi the normal CDF, via erf), or its tanh approximation with ``approximate='tanh'``."""
    _float_only(x, "GeluKernelImpl")
    xp = xp_of(x)
    d = x._data
    if approximate == "none":
        cdf = (_erf_fwd(xp, d * (1 / math.sqrt(2.0))) + 1.0) * 0.5
        # the backward on arrays reuses Phi(x) (one erf per step, not two)
        return apply("GeluBackward0", d * cdf, (x,), (_gelu_grad,), saved=(x,), args=(x,), rargs=(xp, d, cdf),
                     rfns=(_gelu_grad_raw,))
    if approximate == "tanh":
        # float16 is computed in float32 and rounded once, as PyTorch's kernels: x^3 overflows float16 from
        # x = 40, and then the gradient's (1 - t^2) x^2 would be 0 * inf = NaN
        half = x.dtype is dtypes.float16
        w = xp.astype(d, xp.float32) if half else d
        data = w * 0.5 * (xp.tanh((w + w * w * w * _GELU_C) * _GELU_K) + 1.0)
        if half:
            data = xp.astype(data, d.dtype)

        def gx(gy):
            if half:
                return gx_of(gy.float(), x.float()).to(x.dtype)
            return gx_of(gy, x)

        # with t = tanh(k (x + c x^3)): d/dx = (1 + t) / 2 + x (1 - t^2) k (1 + 3 c x^2) / 2
        def gx_of(gy, x):
            t = tanh((x + x * x * x * _GELU_C) * _GELU_K)
            return gy * ((t + 1) * 0.5 + x * (1 - t * t) * (_GELU_K * 0.5) * (x * x * (3 * _GELU_C) + 1))

    else:
        raise RuntimeError(f"approximate argument must be either none or tanh (got {approximate!r})")
    return apply("GeluBackward0", data, (x,), (gx,), saved=(x,))


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)``."""
    _float_only(x, "silu")
    if inplace:
        return _in_place(silu, x)
    d = x._data

    # d/dx x s(x) = s (1 + x (1 - s))
    def gx(gy):
        s = sigmoid(x)
        return gy * s * (x * (1 - s) + 1)

    return apply("SiluBackward0", d * _sigmoid_fwd(xp_of(x), d), (x,), (gx,), saved=(x,))


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


def _softplus_fwd(xp, d):
    # log(1 + e**x) = max(x, 0) + log1p(e**-|x|): no overflow
    return xp.where(d > 0, d, 0.0) + xp.log1p(xp.exp(-xp.abs(d)))


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * tanh(softplus(x))``."""
    _float_only(x, "mish")
    if inplace:
        return _in_place(mish, x)
    xp = xp_of(x)
    d = x._data

    # with t = tanh(softplus(x)): d/dx = t + x sigmoid(x) (1 - t^2)
    def gx(gy):
        t = tanh(softplus(x))
        return gy * (t + x * sigmoid(x) * (1 - t * t))

    return apply("MishBackward0", d * xp.tanh(_softplus_fwd(xp, d)), (x,), (gx,), saved=(x,))


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``; the gradient is 1/6 strictly inside (-3, 3)."""
    _float_only(x, "hardsigmoid")
    if inplace:
        return _in_place(hardsigmoid, x)
    data = clip_array(xp_of(x), x._data + 3.0, 0.0, 6.0) / 6.0
    gx = lambda gy: where((x > -3.0) & (x < 3.0), gy / 6.0, 0.0)  # noqa: E731
    return apply("HardsigmoidBackward0", data, (x,), (gx,), saved=(x,))


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    _float_only(x, "hardswish")
    if inplace:
        return _in_place(hardswish, x)
    d = x._data
    data = d * clip_array(xp_of(x), d + 3.0, 0.0, 6.0) / 6.0

    # PyTorch's gradient: 0 up to -3, x/3 + 1/2 strictly inside (-3, 3), 1 from 3 on
    def gx(gy):
        return where(x <= -3.0, 0.0, where(x < 3.0, gy * (x / 3.0 + 0.5), gy))

    return apply("HardswishBackward0", data, (x,), (gx,), saved=(x,))


def _in_place(fn, x: Tensor, *args) -> Tensor:
    """``fn(x, *args)`` written into ``x`` (the ``inplace=True`` forms). Their backward reads x's old values,
    so when a graph is recorded the op runs on a copy of them, as PyTorch's in-place activations keep what
    their backward needs."""
    from gradlite.ops.inplace import in_place

    return in_place(fn, x, args, saves_self=True)
