"""Unfold (im2col) and Fold (col2im) as PyTorch exposes them: (N, C * kh * kw, L) columns."""

from __future__ import annotations

from gradlite.nn._conv import fold as _fold
from gradlite.nn._conv import out_size, pair, windows
from gradlite.nn.module import Module
from gradlite.tensor import Tensor


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """(N, C, H, W) or (C, H, W) -> (N, C * kh * kw, L): every sliding block flattened into a column."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Input Error: Only 3D or 4D input Tensors are supported (got {input.dim()}D)")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c = x.shape[:2]
    k, d, p, s = pair(kernel_size), pair(dilation), pair(padding), pair(stride)
    cols = windows(x, k, s, (p[0], p[0], p[1], p[1]), d)  # (N, C, kh, kw, oh, ow)
    oh, ow = cols.shape[-2:]
    y = cols.reshape(n, c * k[0] * k[1], oh * ow)
    return y.squeeze(0) if unbatched else y


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """(N, C * kh * kw, L) or (C * kh * kw, L) -> (N, C, H, W): sums overlapping blocks (unfold's adjoint)."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are supported "
            f"(got {input.dim()}D)"
        )
    unbatched = input.dim() == 2
    x = input.unsqueeze(0) if unbatched else input
    (h, w), k, d = pair(output_size), pair(kernel_size), pair(dilation)
    p, s = pair(padding), pair(stride)
    n, ck, length = x.shape
    oh, ow = out_size(h, k[0], s[0], p[0], p[0], d[0]), out_size(w, k[1], s[1], p[1], p[1], d[1])
    if ck % (k[0] * k[1]):
        raise RuntimeError(
            f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
            f"but got input.size(1)={ck} and kernel_size={k}"
        )
    if length != oh * ow:
        raise RuntimeError(
            f"Given output_size={(h, w)}, kernel_size={k}, dilation={d}, padding={p}, stride={s}, "
            f"expected size of input's dimension 2 to match the calculated number of sliding blocks "
            f"{oh} * {ow} = {oh * ow}, but got input.size(2)={length}."
        )
    c = ck // (k[0] * k[1])
    y = _fold(x.reshape(n, c, k[0], k[1], oh, ow), (n, c, h, w), k, s, (p[0], p[0], p[1], p[1]), d)
    return y.squeeze(0) if unbatched else y


class Unfold(Module):
    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return unfold(x, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, "
            f"stride={self.stride}"
        )


class Fold(Module):
    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return fold(x, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
            f"padding={self.padding}, stride={self.stride}"
        )
