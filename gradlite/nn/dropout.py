"""Dropout layers: Dropout, Dropout1d/2d/3d (whole channels), AlphaDropout (for SELU networks)."""

from __future__ import annotations

from gradlite.nn import _dropout
from gradlite.nn import functional as F
from gradlite.nn.module import Module
from gradlite.tensor import Tensor


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability ``p`` in training (the rest scaled by 1/(1-p)); identity in eval."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) while training."""

    def forward(self, x: Tensor) -> Tensor:
        return _dropout.dropout1d(x, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Zero whole channels of (N, C, H, W) while training."""

    def forward(self, x: Tensor) -> Tensor:
        return _dropout.dropout2d(x, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) while training."""

    def forward(self, x: Tensor) -> Tensor:
        return _dropout.dropout3d(x, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout that keeps SELU activations' mean and variance."""

    def forward(self, x: Tensor) -> Tensor:
        return _dropout.alpha_dropout(x, self.p, self.training)
