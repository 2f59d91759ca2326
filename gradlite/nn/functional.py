"""``nn.functional``: stateless building blocks, composed from gradlite ops."""

from __future__ import annotations

from gradlite.ops.pointwise import relu, sigmoid, tanh  # noqa: F401  (re-exported under F.)
from gradlite.tensor import Tensor


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias``; x: (*, in), weight: (out, in), bias: (out,) -> (*, out)."""
    if x.shape[-1:] != weight.shape[-1:]:
        a = f"{x.numel() // max(x.shape[-1], 1)}x{x.shape[-1]}" if x.dim() else "scalar"
        raise RuntimeError(
            f"mat1 and mat2 shapes cannot be multiplied ({a} and {weight.shape[1]}x{weight.shape[0]})"
        )
    y = x @ weight.t()
    return y if bias is None else y + bias
