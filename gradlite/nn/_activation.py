"""Activation functions that gradlite's nn adds to the op library's: prelu, rrelu, glu, softmin, softsign,
tanhshrink, threshold, hardshrink, softshrink, all composed from differentiable ops."""

from __future__ import annotations

from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where x > 0, else ``weight * x``; weight has 1 or C (the size of dim 1) entries."""
    n = weight.numel()
    if n != 1:
        if input.dim() < 2 or input.shape[1] != n:
            raise RuntimeError(
                f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {n} and "
                f"channel size = {input.shape[1] if input.dim() >= 2 else 1}."
            )
        weight = weight.reshape((1, n) + (1,) * (input.dim() - 2))
    # the gradient at 0 goes to the negative branch (PyTorch's choice): its weight gradient is x * g = 0 there
    return where(input > 0, input, weight * input)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: a * sigmoid(b) where (a, b) are the two halves of ``input`` along ``dim``."""
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(
            f"Halving dimension must be even, but dimension {dim % input.dim()} is size {size}"
        )
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-input) along ``dim``."""
    from gradlite.nn import functional as F

    return F.softmax(-input, dim, _stacklevel, dtype)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where x > threshold, else ``value``."""
    y = where(input > threshold, input, float(value))
    return input.copy_(y) if inplace else y


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where |x| > lambd, else 0."""
    return where(input.abs() > lambd, input, 0.0)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 between."""
    if lambd < 0:
        raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Randomised leaky ReLU: negative inputs scaled by a slope drawn from U(lower, upper) per element while
    training, by the mean slope (lower + upper) / 2 otherwise."""
    if training:
        from gradlite.creation import rand

        slope = rand(*input.shape, dtype=input.dtype, device=input.device) * (upper - lower) + lower
    else:
        slope = (lower + upper) / 2
    y = where(input >= 0, input, input * slope)
    return input.copy_(y) if inplace else y
