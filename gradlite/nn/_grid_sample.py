"""Spatial transformers: ``affine_grid`` and ``grid_sample`` (bilinear / nearest; zeros, border or
reflection padding), differentiable w.r.t. both the input and the sampling grid.

Sampling gathers the input at integer corner positions (clamped into range, so the gather needs no
bounds check and no GPU sync) and blends them with weights computed from the grid by ordinary ops:
the gradient w.r.t. the grid flows through the weights, the one w.r.t. the input through the gather.
"""

from __future__ import annotations

from gradlite.autograd.node import identity
from gradlite.creation import linspace, ones, zeros_like
from gradlite.nn._gather import take_along
from gradlite.ops._base import apply
from gradlite.ops.join import stack
from gradlite.ops.pointwise import clip_array, where
from gradlite.tensor import Tensor, _make


def affine_grid(theta: Tensor, size, align_corners: bool = False) -> Tensor:
    """(N, 2, 3) affine matrices -> (N, H, W, 2) sampling grid of normalised (x, y) for output ``size``."""
    if theta.dim() != 3 or tuple(theta.shape[1:]) != (2, 3):
        raise ValueError(
            f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {list(size)}. "
            f"Got {list(theta.shape)}."
        )
    if len(size) != 4:
        raise NotImplementedError(f"affine_grid only supports 4D sizes (N, C, H, W), got size {list(size)}")
    n, _, h, w = size
    if n != theta.shape[0]:
        raise ValueError(f"Expected theta to have {n} matrices for size {list(size)}, got {theta.shape[0]}")

    def base(steps: int) -> Tensor:
        t = linspace(-1, 1, steps, dtype=theta.dtype, device=theta.device)
        return t if align_corners or steps <= 1 else t * ((steps - 1) / steps)

    xs = base(w).reshape(1, w).expand(h, w)
    ys = base(h).reshape(h, 1).expand(h, w)
    grid = stack([xs, ys, ones(h, w, dtype=theta.dtype, device=theta.device)], -1)  # (H, W, 3)
    return (grid.reshape(1, h * w, 3) @ theta.transpose(1, 2)).reshape(n, h, w, 2)


def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """Fold ``coord`` back into [twice_low / 2, twice_high / 2] by mirror reflections (PyTorch's rule)."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    c = (coord - low).abs()
    extra = c.fmod(span)
    flips = (c.detach() / span).floor()
    return where(flips.fmod(2) == 0, extra + low, span - extra + low)


def _source(coord: Tensor, size: int, padding_mode: str, align_corners: bool) -> Tensor:
    c = _unnormalize(coord, size, align_corners)
    if padding_mode == "border":
        c = c.clamp(0, size - 1)
    elif padding_mode == "reflection":
        c = _reflect(c, 0, 2 * (size - 1)) if align_corners else _reflect(c, -1, 2 * size - 1)
        c = c.clamp(0, size - 1)
    return c


def grid_sample(
    input: Tensor,
    grid: Tensor,
    mode: str = "bilinear",
    padding_mode: str = "zeros",
    align_corners: bool | None = None,
) -> Tensor:
    """Sample (N, C, H, W) at the normalised (x, y) locations of ``grid`` (N, Ho, Wo, 2) -> (N, C, Ho, Wo)."""
    if mode not in ("bilinear", "nearest"):
        raise NotImplementedError(
            f"grid_sample: gradlite supports mode 'bilinear' and 'nearest', got {mode!r}"
        )
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(
            "nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or 'reflection', "
            f"but got: '{padding_mode}'"
        )
    if input.dim() != 4 or grid.dim() != 4 or grid.shape[-1] != 2 or grid.shape[0] != input.shape[0]:
        raise RuntimeError(
            "grid_sample: expected 4D input (N, C, H, W) and grid (N, H_out, W_out, 2) with the same N, "
            f"but got input of size {list(input.shape)} and grid of size {list(grid.shape)}"
        )
    align_corners = bool(align_corners)
    n, c, h, w = input.shape
    ho, wo = grid.shape[1:3]
    ix = _source(grid[..., 0], w, padding_mode, align_corners)  # (N, Ho, Wo), in pixel units
    iy = _source(grid[..., 1], h, padding_mode, align_corners)
    flat = input.reshape(n, c, h * w)
    xp = input._device.backend.xp

    def corner(xi, yi):
        """Values at integer positions (xi, yi) (arrays), zero outside the image; (N, C, Ho, Wo)."""
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        pos = xp.astype(clip_array(xp, yi, 0, h - 1) * w + clip_array(xp, xi, 0, w - 1), xp.int64)
        vals = take_along(flat, xp.reshape(pos, (n, 1, ho * wo))).reshape(n, c, ho, wo)
        return vals * _make(xp.expand_dims(xp.astype(inside, input._data.dtype), axis=1), input._device)

    if mode == "nearest":
        out = corner(xp.round(ix._data), xp.round(iy._data))
        # flat in the grid: the grid's gradient is zeros (PyTorch's, where no edge would leave it None)
        fns = (identity, lambda gy: zeros_like(grid))
        return apply("GridSampler2DBackward0", out._data, (out, grid), fns)
    x0, y0 = xp.floor(ix._data), xp.floor(iy._data)
    # bilinear weights are differentiable in (ix, iy): the gradient w.r.t. the grid flows through them
    fx = (ix - _make(x0, input._device)).unsqueeze(1)
    fy = (iy - _make(y0, input._device)).unsqueeze(1)
    return (
        corner(x0, y0) * ((1 - fx) * (1 - fy))
        + corner(x0 + 1, y0) * (fx * (1 - fy))
        + corner(x0, y0 + 1) * ((1 - fx) * fy)
        + corner(x0 + 1, y0 + 1) * (fx * fy)
    )
