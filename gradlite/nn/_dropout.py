"""Channel-wise dropout (dropout1d/2d/3d) and alpha dropout; the masks are constants, so gradients are
the upstream gradient times the same mask and scale."""

from __future__ import annotations

import math

from gradlite.creation import rand
from gradlite.tensor import Tensor


def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _feature_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, spatial: int, name: str
) -> Tensor:
    _check_p(p)
    if input.dim() not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but received a {input.dim()}D "
            "input of "
            "size "
            f"{list(input.shape)}"
        )
    if not training or p == 0.0:
        return input
    # one keep/drop decision per (sample, channel): the mask broadcasts over the spatial dims
    shape = tuple(input.shape[: input.dim() - spatial]) + (1,) * spatial
    keep = rand(*shape, dtype=input.dtype, device=input.device) >= p
    scale = keep * (1.0 / (1.0 - p)) if p < 1.0 else keep * 0.0
    return input.mul_(scale) if inplace else input * scale


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) with probability ``p``; scale the rest by 1/(1-p)."""
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) or (C, H, W) with probability ``p``; scale the rest by 1/(1-p)."""
    return _feature_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout3d")


# SELU's negative saturation value -lambda * alpha: dropped units are set to it so that mean and variance
# are kept (Klambauer et al., 2017)
_ALPHA_PRIME = -1.7580993408473766


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout for SELU networks: dropped units take SELU's saturation value, then an affine map restores the
    input's mean and variance."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input.mul_(0.0) if inplace else input * 0.0
    keep = (rand(*input.shape, dtype=input.dtype, device=input.device) >= p).to(input.dtype)
    a = 1.0 / math.sqrt((1 - p) * (1 + p * _ALPHA_PRIME**2))
    b = -a * _ALPHA_PRIME * p
    y = (input * keep + (1 - keep) * _ALPHA_PRIME) * a + b
    return input.copy_(y) if inplace else y
