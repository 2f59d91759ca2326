"""Comparisons and logical ops: they return bool tensors and are not differentiable."""

from __future__ import annotations

import operator

from gradlite.ops._base import operands, tensor_method
from gradlite.tensor import Tensor, _make


def _compare(op, name):
    def compare(x, y) -> Tensor:
        if not isinstance(y, (Tensor, int, float, bool)):
            return NotImplemented
        xd, yd = operands(x, y, name)
        t = x if isinstance(x, Tensor) else y
        return _make(op(xd, yd), t._device)

    compare.__name__ = name
    compare.__doc__ = f"Elementwise ``{name}`` with broadcasting; returns a bool tensor."
    return compare


eq = tensor_method("__eq__", "eq")(_compare(operator.eq, "eq"))
ne = tensor_method("__ne__", "ne")(_compare(operator.ne, "ne"))
lt = tensor_method("__lt__", "lt", "less")(_compare(operator.lt, "lt"))
le = tensor_method("__le__", "le", "less_equal")(_compare(operator.le, "le"))
gt = tensor_method("__gt__", "gt", "greater")(_compare(operator.gt, "gt"))
ge = tensor_method("__ge__", "ge", "greater_equal")(_compare(operator.ge, "ge"))


def _bitwise(op, name):
    def bitwise(x, y) -> Tensor:
        if not isinstance(y, (Tensor, int, bool)):
            return NotImplemented
        xd, yd = operands(x, y, name)
        t = x if isinstance(x, Tensor) else y
        return _make(op(xd, yd), t._device)

    bitwise.__name__ = name
    return bitwise


tensor_method("__and__", "__rand__", "bitwise_and")(_bitwise(operator.and_, "bitwise_and"))
tensor_method("__or__", "__ror__", "bitwise_or")(_bitwise(operator.or_, "bitwise_or"))
tensor_method("__xor__", "__rxor__", "bitwise_xor")(_bitwise(operator.xor, "bitwise_xor"))


@tensor_method("__invert__", "bitwise_not")
def bitwise_not(x: Tensor) -> Tensor:
    return _make(~x._data, x._device)
