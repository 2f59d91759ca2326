"""Padding layers: Zero/Constant/Reflection/Replication/CircularPad for 1-D and 2-D inputs."""

from __future__ import annotations

from gradlite.nn._padding import pad
from gradlite.nn.module import Module
from gradlite.tensor import Tensor


class _PadNd(Module):
    _n = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        n = 2 * self._n
        self.padding = (padding,) * n if isinstance(padding, int) else tuple(padding)
        if len(self.padding) != n:
            raise ValueError(
                f"{type(self).__name__}: padding must be an int or a tuple of {n} ints, got {padding}"
            )

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() not in (self._n + 1, self._n + 2):
            raise ValueError(
                f"{type(self).__name__}: expected {self._n + 1}D or {self._n + 2}D input, "
                f"got {x.dim()}D input of "
                f"size {list(x.shape)}"
            )
        return pad(x, self.padding, self._mode, getattr(self, "value", None))

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad1d(_PadNd):
    """Pad the last dim with ``value``: padding = (left, right)."""

    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad2d(ConstantPad1d):
    """Pad the last two dims with ``value``: padding = (left, right, top, bottom)."""

    _n = 2


class ZeroPad1d(ConstantPad1d):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ZeroPad1d):
    _n = 2


class ReflectionPad1d(_PadNd):
    _mode = "reflect"


class ReflectionPad2d(ReflectionPad1d):
    _n = 2


class ReplicationPad1d(_PadNd):
    _mode = "replicate"


class ReplicationPad2d(ReplicationPad1d):
    _n = 2


class CircularPad1d(_PadNd):
    _mode = "circular"


class CircularPad2d(CircularPad1d):
    _n = 2
