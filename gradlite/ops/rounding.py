"""Rounding and integer-style division: floor, ceil, round, trunc, frac, div with ``rounding_mode``,
floor_divide (``//``), remainder (``%``) and fmod, with PyTorch's semantics and gradients.

Integer tensors stay integer (floor of an int is itself). Integer division by zero raises PyTorch's
RuntimeError("ZeroDivisionError") where that costs nothing: a python number divisor on any device, a tensor
divisor on the CPU. On CUDA a zero element of a tensor divisor is not checked (that would be a device-to-host
sync per op): the result there is CuPy's value (0), where PyTorch's CUDA kernels give an unspecified value
without an error too.
"""

from __future__ import annotations

import math

from gradlite import dtypes
from gradlite.autograd.node import NOT_IMPLEMENTED, zero
from gradlite.ops._base import apply, operands, tensor_method
from gradlite.ops.pointwise import _check, xp_of
from gradlite.tensor import Tensor, _dtype_of

_zero = zero  # a structural zero, never gy * 0 (NaN where gy is infinite)


def _rounder(name: str, node: str, fn):
    def op(x: Tensor) -> Tensor:
        _check(x, name)
        d = _dtype_of(x._data)
        if d is dtypes.bool_:
            raise NotImplementedError(f"\"{name}_vml_cpu\" not implemented for 'Bool'")
        data = (
            x._device.backend.xp.asarray(x._data, copy=True)
            if not d.is_floating_point
            else fn(xp_of(x), x._data)
        )
        # piecewise constant: the gradient is 0 wherever it exists (PyTorch's choice at the jumps too)
        return apply(node, data, (x,), (_zero,))

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"Elementwise ``{name}``; integer tensors are returned unchanged (copied)."
    tensor_method(name)(op)
    return op


floor = _rounder("floor", "FloorBackward0", lambda xp, x: xp.floor(x))
ceil = _rounder("ceil", "CeilBackward0", lambda xp, x: xp.ceil(x))
trunc = _rounder("trunc", "TruncBackward0", lambda xp, x: xp.trunc(x))
Tensor.fix = trunc
fix = trunc


@tensor_method()
def round(x: Tensor, *, decimals: int = 0) -> Tensor:
    """Round half to even (``round(2.5) == 2``), to ``decimals`` decimal places (negative: tens, ...)."""
    _check(x, "round")
    d = _dtype_of(x._data)
    if d is dtypes.bool_:
        raise NotImplementedError("\"round_vml_cpu\" not implemented for 'Bool'")
    xp = xp_of(x)
    if not d.is_floating_point:
        if decimals:
            raise NotImplementedError(f"\"round_cpu\" not implemented for '{_TORCH[d.name]}'")
        data = xp.asarray(x._data, copy=True)
    elif decimals == 0:
        data = xp.round(x._data)
    elif decimals > 0:
        s = 10.0**decimals
        data = xp.round(x._data * s) / s
    else:
        s = 10.0 ** (-decimals)
        data = xp.round(x._data / s) * s
    return apply("RoundBackward0" if decimals == 0 else "RoundBackward1", data, (x,), (_zero,))


@tensor_method()
def frac(x: Tensor) -> Tensor:
    """``x - trunc(x)`` (keeps the sign of x); floating tensors only."""
    _check(x, "frac")
    if not _dtype_of(x._data).is_floating_point:
        raise NotImplementedError(
            f"\"frac_cpu\" not implemented for '{_TORCH.get(x.dtype.name, x.dtype.name)}'"
        )
    # d/dx (x - trunc x) = 1
    return apply("FracBackward0", x._data - xp_of(x).trunc(x._data), (x,), (lambda gy: gy,))


_TORCH = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _xp(x, y):
    return xp_of(x if isinstance(x, Tensor) else y)


def _no_bool(xd, yd, kernel: str) -> None:
    """PyTorch has no integer-division kernels for bool."""
    if all(type(v) is bool or (hasattr(v, "dtype") and _dtype_of(v) is dtypes.bool_) for v in (xd, yd)):
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def _is_float(xd, yd) -> bool:
    return _dtype_of(xd if hasattr(xd, "dtype") else yd).is_floating_point


def _check_divisor(x, y, xd, yd) -> None:
    """PyTorch's RuntimeError for integer division by zero: a python number divisor on every device, a
    tensor divisor on the CPU only (see the module docstring); an empty result raises nothing, as there."""
    if _is_float(xd, yd) or not getattr(xd, "size", 1) or not getattr(yd, "size", 1):
        return
    if not isinstance(y, Tensor):
        if yd == 0:
            raise RuntimeError("ZeroDivisionError")
    elif y._device.type == "cpu":
        xp = xp_of(y)
        if xp.any(yd == 0):
            raise RuntimeError("ZeroDivisionError")


def _floor_div(xp, xd, yd):
    return xd // yd


def _trunc_div(xp, xd, yd):
    if _is_float(xd, yd):
        return xp.trunc(xd / yd)
    q = xd // yd
    # floor and trunc differ by one where the division is inexact and the signs differ
    inexact = (xd % yd) != 0
    return xp.where(inexact & ((xd < 0) != (yd < 0)), q + 1, q)


def rounded_div(x, y, xd, yd, rounding_mode: str) -> Tensor:
    """``div`` with ``rounding_mode`` 'floor' or 'trunc': same dtype as the operands; zero gradient."""
    if rounding_mode not in ("floor", "trunc"):
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'"
        )
    _no_bool(xd, yd, f"div_{rounding_mode}_cpu")
    _check_divisor(x, y, xd, yd)
    xp = _xp(x, y)
    data = (_floor_div if rounding_mode == "floor" else _trunc_div)(xp, xd, yd)
    # the result is piecewise constant in both operands: zero gradients (PyTorch's DivBackward2)
    return apply("DivBackward2", data, (x, y), (_zero, _zero))


@tensor_method("floor_divide", "__floordiv__")
def floor_divide(x, y) -> Tensor:
    """``x // y`` rounding toward negative infinity (Python's semantics, as PyTorch 2.x); no gradient."""
    xd, yd = operands(x, y, "floor_divide")
    _no_bool(xd, yd, "div_floor_cpu")
    _check_divisor(x, y, xd, yd)
    data = _floor_div(_xp(x, y), xd, yd)
    return apply(NOT_IMPLEMENTED, data, (x, y), (_no_derivative, _no_derivative))


def _no_derivative(gy):
    raise RuntimeError("derivative for aten::floor_divide is not implemented")


@tensor_method("__rfloordiv__")
def _rfloordiv(x, y):
    return floor_divide(y, x)


def _signed_zero(xp, r, xd):
    """A zero remainder signed as the dividend ``xd``: PyTorch's kernels start from C's fmod, where
    Python's (and NumPy's) modulus signs it as the divisor (remainder(-4., 2) is -0.)."""
    if not xp.isdtype(r.dtype, "real floating"):
        return r
    if isinstance(xd, (int, float)):  # (a python dividend: its sign is known on the host)
        # x + 0. is x except that both zeros become +0.
        return -((-r) + 0.0) if math.copysign(1.0, xd) < 0 else r + 0.0
    if not xp.isdtype(xd.dtype, "real floating"):
        xd = xp.astype(xd, r.dtype)
    return xp.where(r == 0, xp.copysign(r, xd), r)


@tensor_method("remainder", "__mod__")
def remainder(x, y) -> Tensor:
    """Python's modulus: the result has the sign of the divisor (``-3 % 2 == 1``); a zero result has the
    dividend's sign, as PyTorch."""
    xd, yd = operands(x, y, "remainder")
    _no_bool(xd, yd, "remainder_cpu")
    _check_divisor(x, y, xd, yd)
    data = _signed_zero(_xp(x, y), xd % yd, xd)
    # x - floor(x / y) * y:  d/dx = 1 ; d/dy = -floor(x / y)
    return apply(
        "RemainderBackward0" if not isinstance(y, Tensor) else "RemainderBackward1",
        data,
        (x, y),
        (lambda gy: gy, lambda gy: -gy * div_floor(x, y)),
        saved=(None, (x, y)),
    )


@tensor_method("__rmod__")
def _rmod(x, y):
    """``scalar % tensor``: PyTorch has no derivative for it, so backward raises as there."""
    xd, yd = operands(y, x, "remainder")
    _no_bool(xd, yd, "remainder_cpu")
    _check_divisor(y, x, xd, yd)
    data = _signed_zero(_xp(y, x), xd % yd, xd)
    return apply("RemainderBackward", data, (y, x), (None, _no_remainder_derivative))


def _no_remainder_derivative(gy):
    raise RuntimeError("the derivative for aten::remainder (scalar self) is not implemented.")


@tensor_method()
def fmod(x, y) -> Tensor:
    """C's fmod: the result has the sign of the dividend (``fmod(-3, 2) == -1``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"fmod(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
    xd, yd = operands(x, y, "fmod")
    _no_bool(xd, yd, "fmod_cpu")
    _check_divisor(x, y, xd, yd)
    xp = xp_of(x)
    r = xd % yd
    # the namespace has no fmod: shift Python's modulus by y where it took the divisor's sign instead
    wrong = (r != 0) & ((r < 0) != (xd < 0))
    data = _signed_zero(xp, xp.where(wrong, r - yd, r), xd)
    if xp.isdtype(data.dtype, "real floating"):
        # fmod(x, +-inf) is x (Python's -1.5 % inf is inf, and inf - inf would be NaN)
        if isinstance(yd, (int, float)):  # (a python divisor: checked on the host, no array to make)
            if math.isinf(yd):
                data = xp.where(xp.isfinite(xd), xp.astype(xd, data.dtype), data)
        else:
            data = xp.where(xp.isinf(yd) & xp.isfinite(xd), xp.astype(xd, data.dtype), data)
    # x - trunc(x / y) * y:  d/dx = 1 ; d/dy = -trunc(x / y)
    return apply(
        "FmodBackward0" if not isinstance(y, Tensor) else "FmodBackward1",
        data,
        (x, y),
        (lambda gy: gy, lambda gy: -gy * div_trunc(x, y)),
        saved=(None, (x, y)),
    )


def div_floor(x, y) -> Tensor:
    xd, yd = operands(x, y, "div")
    return rounded_div(x, y, xd, yd, "floor")


def div_trunc(x, y) -> Tensor:
    xd, yd = operands(x, y, "div")
    return rounded_div(x, y, xd, yd, "trunc")
