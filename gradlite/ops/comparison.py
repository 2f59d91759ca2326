"""Comparisons and logical ops: they return bool tensors (or python bools) and are not differentiable."""

from __future__ import annotations

import operator

from gradlite import dtypes
from gradlite.ops._base import operands, tensor_method
from gradlite.ops._errors import backend_error
from gradlite.tensor import Tensor, _dtype_of, _make


def _ordered(xp, d):
    """Bool arrays as int8 for ordering comparisons (the array API orders numbers only)."""
    if hasattr(d, "dtype") and _dtype_of(d) is dtypes.bool_:
        return xp.astype(d, xp.int8)
    return d


def _compare(op, name, ordered):
    def compare(x, y) -> Tensor:
        if not isinstance(y, (Tensor, int, float, bool)) or not isinstance(x, (Tensor, int, float, bool)):
            return NotImplemented
        xd, yd = operands(x, y, name)
        t = x if isinstance(x, Tensor) else y
        if ordered:
            xp = t._device.backend.xp
            xd, yd = _ordered(xp, xd), _ordered(xp, yd)
        return _make(op(xd, yd), t._device)

    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` with broadcasting; returns a bool tensor."
    return compare


eq = tensor_method("__eq__", "eq")(_compare(operator.eq, "eq", False))
ne = tensor_method("__ne__", "ne", "not_equal")(_compare(operator.ne, "ne", False))
lt = tensor_method("__lt__", "lt", "less")(_compare(operator.lt, "lt", True))
le = tensor_method("__le__", "le", "less_equal")(_compare(operator.le, "le", True))
gt = tensor_method("__gt__", "gt", "greater")(_compare(operator.gt, "gt", True))
ge = tensor_method("__ge__", "ge", "greater_equal")(_compare(operator.ge, "ge", True))
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def _bitwise(op, name):
    def bitwise(x, y) -> Tensor:
        if not isinstance(y, (Tensor, int, float, bool)):  # (a float raises PyTorch's error below)
            return NotImplemented
        xd, yd = operands(x, y, name)
        t = x if isinstance(x, Tensor) else y
        try:
            data = op(xd, yd)
        except TypeError as e:  # floating operands: PyTorch's NotImplementedError
            raise backend_error(e, name, xd, yd, device=t._device) from e
        return _make(data, t._device)

    bitwise.__name__ = name
    return bitwise


bitwise_and = tensor_method("__and__", "__rand__", "bitwise_and")(_bitwise(operator.and_, "bitwise_and"))
bitwise_or = tensor_method("__or__", "__ror__", "bitwise_or")(_bitwise(operator.or_, "bitwise_or"))
bitwise_xor = tensor_method("__xor__", "__rxor__", "bitwise_xor")(_bitwise(operator.xor, "bitwise_xor"))


@tensor_method("bitwise_not")
def bitwise_not(x: Tensor) -> Tensor:
    try:
        data = ~x._data
    except TypeError as e:  # a floating x: PyTorch's NotImplementedError
        raise backend_error(e, "bitwise_not", x._data, device=x._device) from e
    return _make(data, x._device)


@tensor_method("__invert__")
def _invert(x: Tensor) -> Tensor:
    if _dtype_of(x._data).is_floating_point:  # (PyTorch's operator check comes before its kernel's)
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
    return bitwise_not(x)


# -- float classification -----------------------------------------------------------------------------
def _classify(name, fn):
    def classify(x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")
        xp = x._device.backend.xp
        d = x._data
        if _dtype_of(d).is_floating_point:
            data = fn(xp, d)
        else:  # integers are finite and never nan/inf
            with x._device.backend.context(x._device.index):
                data = xp.full(d.shape, name == "isfinite", dtype=x._device.backend.dtype("bool"))
        return _make(data, x._device)

    classify.__name__ = name
    classify.__doc__ = f"Elementwise ``{name}``; any shape -> bool tensor of the same shape."
    return tensor_method(name)(classify)


isnan = _classify("isnan", lambda xp, d: xp.isnan(d))
isinf = _classify("isinf", lambda xp, d: xp.isinf(d))
isfinite = _classify("isfinite", lambda xp, d: xp.isfinite(d))


# -- logic --------------------------------------------------------------------------------------------
def _truth(t, xp):
    """A tensor's array as bool (nonzero is true), or a python scalar's truth."""
    if not isinstance(t, Tensor):
        return bool(t)
    d = t._data
    return d if _dtype_of(d) is dtypes.bool_ else d != 0


def _logical(name, fn):
    def logical(x: Tensor, y) -> Tensor:
        if not isinstance(x, Tensor) or not isinstance(y, Tensor):
            bad = y if isinstance(x, Tensor) else x
            raise TypeError(
                f"{name}(): argument 'other' (position 2) must be Tensor, not {type(bad).__name__}"
            )
        operands(x, y, name)  # device and shape checks
        xp = x._device.backend.xp
        return _make(fn(xp, _truth(x, xp), _truth(y, xp)), x._device)

    logical.__name__ = name
    logical.__doc__ = f"Elementwise ``{name}`` of the truth values (nonzero is true); bool tensor."
    return tensor_method(name)(logical)


logical_and = _logical("logical_and", lambda xp, a, b: xp.logical_and(a, b))
logical_or = _logical("logical_or", lambda xp, a, b: xp.logical_or(a, b))
logical_xor = _logical("logical_xor", lambda xp, a, b: xp.logical_xor(a, b))


@tensor_method()
def logical_not(x: Tensor) -> Tensor:
    """Elementwise not of the truth values (nonzero is true); bool tensor."""
    xp = x._device.backend.xp
    return _make(xp.logical_not(_truth(x, xp)), x._device)


# -- whole-tensor answers (python bools: reading them syncs the device, as in PyTorch) ------------------
def _same_dtype(x: Tensor, y: Tensor, name: str) -> None:
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError(f"{name}(): arguments must be Tensors")
    if _dtype_of(x._data) is not _dtype_of(y._data):
        raise RuntimeError(f"{_TORCH[x.dtype.name]} did not match {_TORCH[y.dtype.name]}")


_TORCH = {
    "float16": "Half",
    "float32": "Float",
    "float64": "Double",
    "int64": "Long",
    "int32": "Int",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "bool": "Bool",
}


@tensor_method()
def isclose(
    x: Tensor, y: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False
) -> Tensor:
    """``|x - y| <= atol + rtol * |y|`` elementwise (broadcast); bool tensor."""
    _same_dtype(x, y, "isclose")
    xd, yd = operands(x, y, "isclose")
    xp = x._device.backend.xp
    if not _dtype_of(xd).is_floating_point:
        return _make(xd == yd, x._device)
    # an infinity is close only to itself (|x - inf| <= rtol * inf would hold for every finite x)
    finite = xp.isfinite(xd) & xp.isfinite(yd)
    close = (xd == yd) | (finite & (xp.abs(xd - yd) <= atol + rtol * xp.abs(yd)))
    if equal_nan:
        close = close | (xp.isnan(xd) & xp.isnan(yd))
    return _make(close, x._device)


@tensor_method()
def allclose(x: Tensor, y: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when every element of ``x`` is close to ``y`` (see ``isclose``)."""
    return bool(isclose(x, y, rtol, atol, equal_nan).all())


@tensor_method()
def equal(x: Tensor, y: Tensor) -> bool:
    """True when ``x`` and ``y`` have the same shape and the same values."""
    if not isinstance(x, Tensor) or not isinstance(y, Tensor):
        raise TypeError("equal(): arguments must be Tensors")
    if x._device is not y._device:
        operands(x, y, "equal")  # raises the device error
    if x._data.shape != y._data.shape:
        return False
    return bool((x == y).all())
