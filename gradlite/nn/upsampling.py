"""Resizing: ``interpolate`` (nearest, nearest-exact, linear, bilinear) and the Upsample modules.

Interpolation is separable: each spatial dim is resized in turn by gathering source rows
(``take``, whose gradient scatter-adds) and, for the linear modes, blending two of them with
constant weights. Source positions follow PyTorch's formulas (including its float32 scale for nearest).
"""

from __future__ import annotations

import math
import struct

from gradlite.nn._gather import constant, take
from gradlite.nn.module import Module
from gradlite.tensor import Tensor, _make

_SPATIAL = {"linear": 1, "bilinear": 2}


def _f32(v: float) -> float:
    """``v`` rounded to float32 (PyTorch computes nearest-neighbour source indices in float)."""
    return struct.unpack("f", struct.pack("f", v))[0]


def _scale(in_size: int, out_size: int, scale_factor: float | None, align_corners: bool) -> float:
    if align_corners:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    return 1.0 / scale_factor if scale_factor is not None else in_size / out_size


def _resize_dim(x: Tensor, dim: int, out: int, mode: str, scale_factor, align_corners: bool) -> Tensor:
    n_in = x.shape[dim]
    dev = x._device
    if mode in ("nearest", "nearest-exact"):
        scale = _f32(1.0 / scale_factor if scale_factor is not None else n_in / out)
        shift = 0.5 if mode == "nearest-exact" else 0.0
        src = [min(int(math.floor(_f32((j + shift) * scale))), n_in - 1) for j in range(out)]
        return take(x, dim, src)
    scale = _scale(n_in, out, scale_factor, align_corners)
    lo, hi, frac = [], [], []
    for j in range(out):
        pos = j * scale if align_corners else max((j + 0.5) * scale - 0.5, 0.0)
        i0 = min(int(pos), n_in - 1)
        lo.append(i0)
        hi.append(min(i0 + 1, n_in - 1))
        frac.append(pos - i0)
    shape = [1] * x.dim()
    shape[dim] = out
    w = _make(constant(tuple(frac), x.dtype, dev), dev).reshape(shape)
    a, b = take(x, dim, lo), take(x, dim, hi)
    return a * (1 - w) + b * w


def interpolate(
    input: Tensor,
    size=None,
    scale_factor=None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial dims of (N, C, *spatial) to ``size`` or by ``scale_factor``."""
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear"):
        raise NotImplementedError(
            f"interpolate: gradlite supports modes nearest, nearest-exact, linear and "
            f"bilinear, got mode={mode!r}"
        )
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported")
    if mode in ("nearest", "nearest-exact") and align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: linear | bilinear | "
            "bicubic | trilinear"
        )
    spatial = input.dim() - 2
    if spatial < 1:
        raise ValueError(f"interpolate expects an input of shape (N, C, *spatial), got {list(input.shape)}")
    if mode in _SPATIAL and _SPATIAL[mode] != spatial:
        raise NotImplementedError(
            f"Got {input.dim()}D input, but {mode} mode needs {_SPATIAL[mode] + 2}D input"
        )
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = list(input.shape[2:])
    if size is not None:
        sizes = [int(size)] * spatial if isinstance(size, int) else [int(s) for s in size]
        if len(sizes) != spatial:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {in_sizes} and output size of {list(size)}. Please provide input "
                "tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format."
            )
        factors = [None] * spatial
    else:
        factors = (
            [float(scale_factor)] * spatial
            if not isinstance(scale_factor, (tuple, list))
            else [float(f) for f in scale_factor]
        )
        if len(factors) != spatial:
            raise ValueError(
                f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                f"with spatial dimensions of {in_sizes} and scale_factor of shape {list(scale_factor)}."
            )
        sizes = [int(math.floor(n * f)) for n, f in zip(in_sizes, factors, strict=True)]
        if recompute_scale_factor:
            factors = [None] * spatial
    y = input
    for i in range(spatial):
        y = _resize_dim(y, 2 + i, sizes[i], mode, factors[i], bool(align_corners))
    return y


class Upsample(Module):
    """Resize (N, C, *spatial) to ``size`` or by ``scale_factor`` with ``interpolate``."""

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners, self.recompute_scale_factor = (
            mode,
            align_corners,
            recompute_scale_factor,
        )

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(
            x,
            self.size,
            self.scale_factor,
            self.mode,
            self.align_corners,
            recompute_scale_factor=self.recompute_scale_factor,
        )

    def extra_repr(self) -> str:
        info = (
            f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        )
        return info + f", mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)
