"""Distances: cosine_similarity, pairwise_distance, normalize and the distance modules."""

from __future__ import annotations

from gradlite.autograd.grad_mode import no_grad
from gradlite.dtypes import DIM, TORCH_NAMES, ZERO_DIM, promote
from gradlite.nn.module import Module
from gradlite.tensor import Tensor


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """<x1, x2> / (max(||x1||, eps) * max(||x2||, eps)) along ``dim``, as PyTorch 2 computes it: x1 and x2
    broadcast to one shape, each divided by its norm clamped below by eps (the clamp outside autograd, so
    the gradient flows through the norm as it is), then the products summed."""
    common = promote(x1.dtype, DIM if x1.dim() else ZERO_DIM, x2.dtype, DIM if x2.dim() else ZERO_DIM)
    if not common.is_floating_point:
        raise RuntimeError(
            "expected common dtype to be floating point, yet common dtype is "
            f"{TORCH_NAMES.get(common.name, common.name)}"
        )
    x1 = x1 if x1.dtype.is_floating_point else x1.to(common)
    x2 = x2 if x2.dtype.is_floating_point else x2.to(common)
    shape = x1.shape if x1.shape == x2.shape else (x1 + x2).shape  # (the broadcast shape; raises PyTorch's
    x1, x2 = x1.expand(shape), x2.expand(shape)  # error when there is none)
    n1 = x1.norm(dim=dim, keepdim=True).clone()
    n2 = x2.norm(dim=dim, keepdim=True).clone()
    with no_grad():
        n1.clamp_(min=eps)
        n2.clamp_(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:  # noqa: A002
    """``input / max(||input||_p, eps)`` along ``dim`` (PyTorch's ``F.normalize``)."""
    if out is not None:
        raise NotImplementedError("normalize(out=...) is not supported")
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """||x1 - x2 + eps||_p over the last dim."""
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


class CosineSimilarity(Module):
    def __init__(self, dim: int = 1, eps: float = 1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
