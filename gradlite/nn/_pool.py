"""Pooling: max_pool2d, avg_pool2d (on ``_conv``'s im2col ``windows``), adaptive_avg_pool2d (two matmuls).

Max pooling keeps the index of each window's first maximum (PyTorch's tie rule: the scan order is
row-major over the kernel) and routes the gradient there with a one-hot mask and ``fold``, so its
backward is made of differentiable ops too.
"""

from __future__ import annotations

from gradlite.nn._conv import fold, fold_array, pair, windows
from gradlite.ops._base import apply
from gradlite.ops.pointwise import where
from gradlite.tensor import Tensor, _make


def _pool_out(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    # with ceil_mode, the last window must start inside the input or its left padding (PyTorch's rule)
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _pool_args(x: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool, op: str):
    if x.dim() not in (3, 4):
        raise RuntimeError(
            f"{op}: Expected 3D or 4D (batch mode) tensor for input with non-zero batch size, "
            "but got input of size: "
            f"{list(x.shape)}"
        )
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else pair(stride, "stride")
    p, d = pair(padding, "padding"), pair(dilation, "dilation")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(
            "pad should be at most half of effective kernel size, but got "
            f"pad={p[0] if p[0] > k[0] // 2 else p[1]}, "
            f"kernel_size={k[0] if p[0] > k[0] // 2 else k[1]} and dilation={d[0]}"
        )
    h, w = x.shape[-2:]
    oh, ow = (
        _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode),
        _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode),
    )
    if oh <= 0 or ow <= 0:
        raise RuntimeError(
            f"Given input size: ({x.shape[-3]}x{h}x{w}). Calculated output size: ({x.shape[-3]}x{oh}x{ow}). "
            "Output size is too small"
        )
    # padding on the right/bottom so that ceil_mode's last partial window exists
    extra_h = max(0, (oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - (h + 2 * p[0]))
    extra_w = max(0, (ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - (w + 2 * p[1]))
    pads = (p[0], p[0] + extra_h, p[1], p[1] + extra_w)
    return k, s, p, d, pads, (oh, ow)


def max_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """Max over each window: (N, C, H, W) or (C, H, W) -> (N, C, oh, ow); padding counts as -inf."""
    k, s, p, d, pads, (oh, ow) = _pool_args(
        input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d"
    )
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    xp = x._device.backend.xp
    kk = k[0] * k[1]
    cols = xp.reshape(windows(x.detach(), k, s, pads, d, pad_value=-float("inf"))._data, (n, c, kk, oh, ow))
    data = xp.max(cols, axis=2)
    mask, idx = _first_max(xp, cols, data, x._device)
    geom = (x._data.shape, k, s, pads, d)
    y = apply("MaxPool2DWithIndicesBackward0", data, (x,), (_max_grad,), args=(_make(mask, x._device), geom),
              rargs=(mask, x._device, geom), rfns=(_max_grad_raw,))
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    # flat position in the (H, W) plane of each chosen element, as PyTorch's indices
    with x._device.backend.context(x._device.index):
        ki, kj = idx // k[1], idx % k[1]
        rows = xp.reshape(xp.arange(oh), (oh, 1)) * s[0] - p[0] + ki * d[0]
        cols_ = xp.reshape(xp.arange(ow), (1, ow)) * s[1] - p[1] + kj * d[1]
        flat = xp.astype(rows * w + cols_, xp.int64)
    ind = _make(flat, x._device)
    return y, ind.squeeze(0) if unbatched else ind


def _first_max(xp, cols, mx, dev):
    """(bool one-hot mask over the window axis 2 of ``cols`` at each window's first maximum ``mx`` (a nan
    counts as the maximum, as it is), that position). One comparison per window offset: NumPy's argmax
    along a middle axis is 25x slower than the max."""
    n, c, kk, oh, ow = cols.shape
    with dev.backend.context(dev.index):
        mask = xp.zeros(cols.shape, dtype=xp.bool)
        idx = xp.zeros((n, c, oh, ow), dtype=xp.int64)
        found = xp.zeros((n, c, oh, ow), dtype=xp.bool)
    for j in range(kk):
        cj = cols[:, :, j, ...]
        hit = ((cj == mx) | (cj != cj)) & ~found
        mask[:, :, j, ...] = hit
        idx = xp.where(hit, j, idx)
        found = found | hit
    return mask, idx


# max pooling's gradient: each window's gradient to its first maximum (the one-hot mask), a structural 0
# elsewhere (not gy * mask: NaN where gy is infinite), windows folded back onto the input (overlaps add up,
# as PyTorch's)
def _max_grad(gy, mask, geom):
    shape, k, s, pads, d = geom
    n, c, oh, ow = gy.shape
    return fold(where(mask, gy.unsqueeze(2), 0.0).reshape(n, c, k[0], k[1], oh, ow), shape, k, s, pads, d)


def _max_grad_raw(gy, mask, dev, geom):
    shape, k, s, pads, d = geom
    n, c, oh, ow = gy.shape
    xp = dev.backend.xp
    g = dev.backend.kernels.zero_where(~mask, xp.reshape(gy, (n, c, 1, oh, ow)))
    cols = xp.reshape(g, (n, c, k[0], k[1], oh, ow))
    return fold_array(cols, dev, shape, k, s, pads, d)


def avg_pool2d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each window: (N, C, H, W) or (C, H, W) -> (N, C, oh, ow), PyTorch's divisor rules."""
    k, s, p, d, pads, (oh, ow) = _pool_args(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    total = windows(x, k, s, pads, d).sum((2, 3))
    if divisor_override:
        y = total / divisor_override
    else:
        y = total / _make(_divisor(x, h, w, k, s, p, (oh, ow), count_include_pad), x._device)
    return y.squeeze(0) if unbatched else y


def _divisor(x: Tensor, h, w, k, s, p, out, count_include_pad: bool):
    """(oh, ow) element counts of each window: within input + padding (include) or within the input only."""
    xp = x._device.backend.xp

    def counts(size, kk, ss, pp, o):
        start = xp.arange(o) * ss - pp
        end = xp.minimum(start + kk, size + pp)
        if not count_include_pad:
            start, end = xp.maximum(start, 0), xp.minimum(end, size)
        return end - start

    with x._device.backend.context(x._device.index):
        ch, cw = counts(h, k[0], s[0], p[0], out[0]), counts(w, k[1], s[1], p[1], out[1])
        return xp.astype(xp.reshape(ch, (-1, 1)) * xp.reshape(cw, (1, -1)), x._data.dtype)


def _adaptive_matrix(x: Tensor, size: int, out: int):
    """(out, size) averaging matrix: row i averages PyTorch's bin [floor(i*n/out), ceil((i+1)*n/out))."""
    xp = x._device.backend.xp
    with x._device.backend.context(x._device.index):
        i = xp.reshape(xp.arange(out), (out, 1))
        j = xp.reshape(xp.arange(size), (1, size))
        start = (i * size) // out
        end = ((i + 1) * size + out - 1) // out
        inside = xp.astype((j >= start) & (j < end), x._data.dtype)
        return _make(inside / xp.astype(end - start, x._data.dtype), x._device)


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average over PyTorch's adaptive bins: (N, C, H, W) or (C, H, W) -> (N, C, *output_size)."""
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    if not input.is_floating_point():
        raise RuntimeError(f"adaptive_avg_pool2d: expected a floating point input, got {input.dtype}")
    h, w = input.shape[-2:]
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    oh, ow = h if oh is None else oh, w if ow is None else ow
    if oh and ow and h % oh == 0 and w % ow == 0:  # equal bins (global pooling, 14 -> 7): a mean per block
        lead = tuple(input.shape[:-2])
        return input.reshape(*lead, oh, h // oh, ow, w // ow).mean((-3, -1))
    # y = P_h @ x @ P_w^T: a weighted sum per bin, differentiable through matmul
    return _adaptive_matrix(input, h, oh) @ input @ _adaptive_matrix(input, w, ow).mT


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """(N, C, L) or (C, L) -> (..., output_size) averaged over PyTorch's adaptive bins."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_avg_pool1d(): Expected 2D or 3D tensor, but got {list(input.shape)}")
    o = output_size if isinstance(output_size, int) else output_size[0]
    return input @ _adaptive_matrix(input, input.shape[-1], o).mT


def max_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    dilation=1,
    ceil_mode: bool = False,
    return_indices: bool = False,
):
    """(N, C, L) or (C, L) max pooling, as max_pool2d over a height of 1."""
    one = lambda v: v if isinstance(v, int) else v[0]
    out = max_pool2d(
        input.unsqueeze(-2),
        (1, one(kernel_size)),
        None if stride is None else (1, one(stride)),
        (0, one(padding)),
        (1, one(dilation)),
        ceil_mode,
        return_indices,
    )
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(
    input: Tensor,
    kernel_size,
    stride=None,
    padding=0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """(N, C, L) or (C, L) average pooling, as avg_pool2d over a height of 1."""
    one = lambda v: v if isinstance(v, int) else v[0]
    return avg_pool2d(
        input.unsqueeze(-2),
        (1, one(kernel_size)),
        None if stride is None else (1, one(stride)),
        (0, one(padding)),
        ceil_mode,
        count_include_pad,
    ).squeeze(-2)


def _bins(size: int, out: int) -> tuple[list, int]:
    """PyTorch's adaptive bins [floor(i*size/out), ceil((i+1)*size/out)) as (out, k) source indices, each
    bin padded to the widest one k by repeating its last index (a repeat never changes a max)."""
    starts = [(i * size) // out for i in range(out)]
    ends = [((i + 1) * size + out - 1) // out for i in range(out)]
    k = max(e - s for s, e in zip(starts, ends, strict=True))
    return [[min(s + j, e - 1) for j in range(k)] for s, e in zip(starts, ends, strict=True)], k


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """Max over PyTorch's adaptive bins: (N, C, H, W) or (C, H, W) -> (N, C, *output_size)."""
    from gradlite.nn._gather import take

    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    n, c, h, w = x.shape
    oh, ow = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    oh, ow = h if oh is None else oh, w if ow is None else ow
    rows, kh = _bins(h, oh)
    cols, kw = _bins(w, ow)
    # (N, C, oh * kh, ow * kw) -> (N, C, oh, ow, kh * kw): each bin's elements along the last dim
    win = take(take(x, 2, [i for b in rows for i in b]), 3, [j for b in cols for j in b])
    win = win.reshape(n, c, oh, kh, ow, kw).permute(0, 1, 2, 4, 3, 5)
    win = win.reshape(n, c, oh, ow, kh * kw)
    xp = x._device.backend.xp
    idx = xp.argmax(win._data, axis=-1)  # the first maximum, PyTorch's tie rule (row-major in the bin)
    with x._device.backend.context(x._device.index):
        onehot = xp.reshape(xp.arange(kh * kw), (1, 1, 1, 1, -1)) == xp.expand_dims(idx, axis=-1)
    # (where, not win * onehot: the others' gradient is a structural 0, and an infinite one no NaN)
    y = where(_make(onehot, x._device), win, 0.0).sum(-1)
    if unbatched:
        y = y.squeeze(0)
    if not return_indices:
        return y
    with x._device.backend.context(x._device.index):
        rr = xp.asarray(rows, dtype=xp.int64)  # (oh, kh)
        cc = xp.asarray(cols, dtype=xp.int64)  # (ow, kw)
        oi = xp.reshape(xp.arange(oh), (oh, 1))
        oj = xp.reshape(xp.arange(ow), (1, ow))
        flat = rr[oi, idx // kw] * w + cc[oj, idx % kw]
    ind = _make(flat, x._device)
    return y, ind.squeeze(0) if unbatched else ind


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """(N, C, L) or (C, L) -> (..., output_size): max over PyTorch's adaptive bins."""
    if input.dim() not in (2, 3):
        raise RuntimeError(f"adaptive_max_pool1d(): Expected 2D or 3D tensor, but got: {list(input.shape)}")
    o = output_size if isinstance(output_size, int) else output_size[0]
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, o), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x**p)**(1/p): (N, C, H, W) or (C, H, W)."""
    kh, kw = pair(kernel_size, "kernel_size")
    if norm_type == float("inf"):
        return max_pool2d(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool2d(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool2d(input**norm_type, kernel_size, stride, 0, ceil_mode)
    # PyTorch's form: sign(out) * relu(|out|) keeps the gradient of a zero window at zero
    return (out.sign() * out.abs().relu() * (kw * kh)) ** (1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x**p)**(1/p): (N, C, L) or (C, L)."""
    one = lambda v: v if isinstance(v, int) else v[0]
    return lp_pool2d(
        input.unsqueeze(-2),
        norm_type,
        (1, one(kernel_size)),
        None if stride is None else (1, one(stride)),
        ceil_mode,
    ).squeeze(-2)


def max_unpool2d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """Place each value of ``input`` at its flat position ``indices`` (from max_pool2d) in a zero map of the
    pooled input's size: (N, C, H, W) -> (N, C, H_out, W_out)."""
    from gradlite.nn._gather import put_along

    if tuple(input.shape) != tuple(indices.shape):
        raise RuntimeError(
            f"Expected shape of indices to be same as that of the input tensor "
            f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}"
        )
    k = pair(kernel_size, "kernel_size")
    s = k if stride is None else pair(stride, "stride")
    p = pair(padding, "padding")
    h, w = input.shape[-2:]
    default = [(h - 1) * s[0] + k[0] - 2 * p[0], (w - 1) * s[1] + k[1] - 2 * p[1]]
    if output_size is None:
        oh, ow = default
    else:
        size = list(output_size)[-2:]
        for d in range(2):
            if not default[d] - s[d] < size[d] < default[d] + s[d]:
                raise ValueError(
                    f'invalid output_size "{list(output_size)}" (dim {d} must be between '
                    f"{default[d] - s[d]} and {default[d] + s[d]})"
                )
        oh, ow = size
    unbatched = input.dim() == 3
    x = input.unsqueeze(0) if unbatched else input
    ind = indices.unsqueeze(0) if unbatched else indices
    n, c = x.shape[:2]
    b = x._device.backend
    flat_ind = b.xp.reshape(ind._data, (n, c, h * w))
    try:
        b.check_bounds(flat_ind, 0, oh * ow)
    except IndexError:
        raise RuntimeError(
            f"Found an invalid max index: the indices must lie in [0, {oh * ow}) for an output of "
            f"size {oh}x{ow}"
        ) from None
    y = put_along(x.reshape(n, c, h * w), flat_ind, (n, c, oh * ow)).reshape(n, c, oh, ow)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(
    input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0, output_size=None
) -> Tensor:
    """(N, C, L) -> (N, C, L_out): max_unpool2d over a height of 1."""
    one = lambda v: v if isinstance(v, int) else v[0]
    size = None if output_size is None else (1, list(output_size)[-1])
    return max_unpool2d(
        input.unsqueeze(-2),
        indices.unsqueeze(-2),
        (1, one(kernel_size)),
        None if stride is None else (1, one(stride)),
        (0, one(padding)),
        size,
    ).squeeze(-2)
