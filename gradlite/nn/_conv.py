"""Convolution as im2col + matmul: ``windows`` (im2col) and its adjoint ``fold`` (col2im), then conv1d/conv2d.

``windows`` gathers every kernel offset's strided slice of the padded input into one array of shape
(N, C, kh, kw, oh, ow); a convolution is then one batched matmul with the flattened weight, and its
gradients come from matmul's. ``fold`` sums such an array back into the input's shape; each op is the
other's gradient, so double backward works. Both use slicing only: the same code runs on NumPy and CuPy.
"""

from __future__ import annotations

from gradlite.ops._base import apply
from gradlite.tensor import Tensor


def pair(v, name: str = "argument") -> tuple:
    """``3 -> (3, 3)``; ``(2, 3) -> (2, 3)``."""
    if isinstance(v, int):
        return (v, v)
    v = tuple(int(a) for a in v)
    if len(v) == 1:
        return (v[0], v[0])
    if len(v) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {v}")
    return v


def out_size(size: int, k: int, s: int, pad_lo: int, pad_hi: int, d: int) -> int:
    return (size + pad_lo + pad_hi - d * (k - 1) - 1) // s + 1


def windows(
    x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, pad_value: float = 0.0
) -> Tensor:
    """(N, C, H, W) -> (N, C, kh, kw, oh, ow); ``padding`` (top, bottom, left, right) holds ``pad_value``."""
    xd = x._data
    xp = x._device.backend.xp
    n, c, h, w = xd.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    pt, pb, pl, pr = padding
    oh, ow = out_size(h, kh, sh, pt, pb, dh), out_size(w, kw, sw, pl, pr, dw)
    if pt or pb or pl or pr:
        with x._device.backend.context(x._device.index):
            xpd = xp.full((n, c, h + pt + pb, w + pl + pr), pad_value, dtype=xd.dtype)
        xpd[:, :, pt : pt + h, pl : pl + w] = xd
    else:
        xpd = xd
    with x._device.backend.context(x._device.index):
        cols = xp.empty((n, c, kh, kw, oh, ow), dtype=xd.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j, ...] = xpd[
                :, :, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw
            ]
    shape = xd.shape
    return apply(
        "Im2ColBackward0", cols, (x,), (lambda gy: fold(gy, shape, kernel, stride, padding, dilation),)
    )


def fold(cols: Tensor, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> Tensor:
    """The adjoint of ``windows``: sum (N, C, kh, kw, oh, ow) back into ``shape`` (N, C, H, W), unpadded."""
    g = fold_array(cols._data, cols._device, shape, kernel, stride, padding, dilation)
    return apply("Col2ImBackward0", g, (cols,), (lambda gg: windows(gg, kernel, stride, padding, dilation),))


def fold_array(cd, dev, shape: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple):
    """``fold`` on arrays (on device ``dev``)."""
    xp = dev.backend.xp
    n, c, h, w = shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    pt, pb, pl, pr = padding
    oh, ow = cd.shape[-2:]
    with dev.backend.context(dev.index):
        g = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=cd.dtype)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            g[:, :, rows, j * dw : j * dw + sw * (ow - 1) + 1 : sw] += cd[:, :, i, j, ...]
    return g[:, :, pt : pt + h, pl : pl + w]


def _conv_padding(padding, kernel: tuple, dilation: tuple, stride: tuple) -> tuple:
    """(top, bottom, left, right) from an int, a pair, 'valid' or 'same' (extra padding goes bottom/right)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if stride != (1, 1):
                raise ValueError("padding='same' is not supported for strided convolutions")
            out = []
            for k, d in zip(kernel, dilation, strict=True):
                total = d * (k - 1)
                out += [total // 2, total - total // 2]
            return tuple(out)
        raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    ph, pw = pair(padding, "padding")
    return (ph, ph, pw, pw)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation (as PyTorch): (N, C_in, H, W) or (C_in, H, W) -> (N, C_out, oh, ow)."""
    if input.dim() not in (3, 4):
        raise RuntimeError(
            "Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.dim() != 4:
        raise RuntimeError(
            f"conv2d: expected a 4D weight (out_channels, in_channels/groups, kh, kw), "
            f"got weight of size {list(weight.shape)}"
        )
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    o, cg, kh, kw = weight.shape
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
            f"to have {cg * groups} channels, but got {c} channels instead"
        )
    if o % groups:
        raise RuntimeError(
            f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, but "
            f"got weight of size {list(weight.shape)} instead"
        )
    if x.dtype is not weight.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({weight.dtype}) should be the same")
    if x.device != weight.device:
        raise RuntimeError(f"Input ({x.device}) and weight ({weight.device}) must be on the same device")
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    pads = _conv_padding(padding, (kh, kw), dilation, stride)
    oh, ow = (
        out_size(h, kh, stride[0], pads[0], pads[1], dilation[0]),
        out_size(w, kw, stride[1], pads[2], pads[3], dilation[1]),
    )
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"Calculated padded input size per channel: ({h + pads[0] + pads[1]} x {w + pads[2] + pads[3]}). "
            f"Kernel size: ({dilation[0] * (kh - 1) + 1} x {dilation[1] * (kw - 1) + 1}). "
            "Kernel size can't be "
            "greater than actual input size"
        )
    cols = windows(x, (kh, kw), stride, pads, dilation)  # (N, C, kh, kw, oh, ow)
    cols = cols.reshape(n, groups, cg * kh * kw, oh * ow)
    y = weight.reshape(groups, o // groups, cg * kh * kw) @ cols  # (N, G, O/G, L)
    y = y.reshape(n, o, oh, ow)
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> Tensor:
    """1-D convolution: (N, C_in, L) or (C_in, L) -> (N, C_out, L_out), as conv2d over a height of 1."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            "Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.dim() != 3:
        raise RuntimeError(
            f"conv1d: expected a 3D weight (out_channels, in_channels/groups, k), "
            f"got weight of size {list(weight.shape)}"
        )
    c, cg = input.shape[-2], weight.shape[1]
    if c != cg * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
            f"to have {cg * groups} channels, but got {c} channels instead"
        )
    pad = padding if isinstance(padding, str) else (0, _one(padding))
    y = conv2d(
        input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, _one(stride)), pad, (1, _one(dilation)), groups
    )
    return y.squeeze(-2)


def _one(v) -> int:
    if isinstance(v, int):
        return v
    v = tuple(v)
    if len(v) != 1:
        raise ValueError(f"expected an int or a 1-tuple, got {v}")
    return int(v[0])


def conv_transpose2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """The adjoint of conv2d (a "deconvolution"): (N, C_in, H, W) -> (N, C_out, H_out, W_out), weight
    (C_in, C_out / groups, kh, kw); H_out = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + outpad + 1.

    Each input pixel scatters ``weight`` times its value into the output: one matmul, then ``fold``.
    """
    if input.dim() not in (3, 4):
        raise RuntimeError(
            "Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d, but got input of size: "
            f"{list(input.shape)}"
        )
    if weight.dim() != 4:
        raise RuntimeError(
            "conv_transpose2d: expected a 4D weight (in_channels, out_channels/groups, kh, kw), "
            f"got weight of size {list(weight.shape)}"
        )
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    ci, og, kh, kw = weight.shape
    if c != ci or ci % groups:
        raise RuntimeError(
            f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
            f"to have {ci} channels, but got {c} channels instead"
        )
    (sh, sw), (ph, pw) = pair(stride, "stride"), pair(padding, "padding")
    (oph, opw), (dh, dw) = pair(output_padding, "output_padding"), pair(dilation, "dilation")
    if oph >= sh or opw >= sw:
        # PyTorch also allows output_padding < dilation; gradlite's fold needs it below the stride
        raise RuntimeError(
            f"output padding must be smaller than stride, but got output_padding={(oph, opw)}, "
            f"stride={(sh, sw)}"
        )
    oh = (h - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    ow = (w - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    o = og * groups
    # (G, C_in/G, C_out/G * kh * kw)^T @ (N, G, C_in/G, H * W) -> (N, G, C_out/G * kh * kw, H * W)
    wg = weight.reshape(groups, ci // groups, og * kh * kw)
    cols = wg.mT @ x.reshape(n, groups, ci // groups, h * w)
    cols = cols.reshape(n, o, kh, kw, h, w)
    # fold's buffer (oh + 2 * padding rows) holds every written row plus the output_padding ones, which no
    # input reaches (they stay zero, as in PyTorch)
    y = fold(cols, (n, o, oh, ow), (kh, kw), (sh, sw), (ph, ph, pw, pw), (dh, dw))
    if bias is not None:
        y = y + bias.reshape(1, o, 1, 1)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride=1,
    padding=0,
    output_padding=0,
    groups: int = 1,
    dilation=1,
) -> Tensor:
    """(N, C_in, L) or (C_in, L) -> (N, C_out, L_out): conv_transpose2d over a height of 1."""
    if input.dim() not in (2, 3):
        raise RuntimeError(
            "Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, but got input of size: "
            f"{list(input.shape)}"
        )
    y = conv_transpose2d(
        input.unsqueeze(-2),
        weight.unsqueeze(-2),
        bias,
        (1, _one(stride)),
        (0, _one(padding)),
        (0, _one(output_padding)),
        groups,
        (1, _one(dilation)),
    )
    return y.squeeze(-2)
