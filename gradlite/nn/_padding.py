"""Padding of the last dims with mode 'constant', 'reflect', 'replicate' or 'circular', as ``F.pad``.

The non-constant modes gather source positions with ``take`` (its gradient scatter-adds, so an edge
value that is copied several times gets all their gradients).
"""

from __future__ import annotations

from gradlite.nn._gather import take
from gradlite.tensor import Tensor


def pad_dim(x: Tensor, dim: int, lo: int, hi: int, mode: str) -> Tensor:
    """Pad one dim by ``lo`` before and ``hi`` after with ``mode`` in reflect (mirror, edge excluded),
    replicate (repeat the edge) or circular (wrap around)."""
    if not lo and not hi:
        return x
    size = x.shape[dim]
    if mode == "reflect" and (lo >= size or hi >= size):
        raise RuntimeError(
            "Padding size should be less than the corresponding input dimension, but got: "
            f"padding ({lo}, {hi}) "
            f"at dimension {dim} of input {list(x.shape)}"
        )
    if mode == "circular" and (lo > size or hi > size):
        raise RuntimeError(
            f"Padding value causes wrapping around more than once (padding ({lo}, {hi}) at dimension {dim} "
            "of "
            f"input {list(x.shape)})"
        )
    if mode == "replicate" and size == 0:
        raise RuntimeError(f"replicate padding needs a non-empty dimension {dim}, got input {list(x.shape)}")
    if mode == "circular":  # a negative amount crops first; the rest wraps around what remains (PyTorch)
        start, kept = max(-lo, 0), size - max(-lo, 0) - max(-hi, 0)
        src = [start + j % kept for j in range(-max(lo, 0), kept + max(hi, 0))]
        return take(x, dim, src)
    src = []
    for j in range(-lo, size + hi):  # (a negative amount crops: reflect/replicate use the input's edges)
        if mode == "reflect":
            src.append(-j if j < 0 else 2 * (size - 1) - j if j >= size else j)
        else:
            src.append(min(max(j, 0), size - 1))
    return take(x, dim, src)


def pad(input: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """``pad`` = (left, right) for the last dim, then (top, bottom) for the one before, ...; negative
    amounts crop."""
    if mode == "constant":  # the op itself validates, with PyTorch's messages
        from gradlite.ops.join import pad as constant_pad

        return constant_pad(input, tuple(pad), "constant", value)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > input.dim():
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {input.dim()}"
        )
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    k = len(pad) // 2
    if k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):  # PyTorch's supported combinations
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)"
        )
    # a negative amount crops that side (the source positions still reflect/wrap about the input's edges)
    y = input
    for i in range(len(pad) // 2):
        y = pad_dim(y, input.dim() - 1 - i, pad[2 * i], pad[2 * i + 1], mode)
    return y
