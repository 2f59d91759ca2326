"""Dropout layer."""

from __future__ import annotations

from gradlite.nn import functional as F
from gradlite.nn.module import Module
from gradlite.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability ``p`` in training (the rest scaled by 1/(1-p)); identity in eval."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
