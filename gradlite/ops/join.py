"""Joining and splitting: cat, stack, hstack, vstack, split, chunk, unbind, and constant padding.

A join's gradient slices ``gy`` back into the pieces; a split's pieces are slices (views) of the input,
so their gradients are written back by the slicing op itself.
"""

from __future__ import annotations

from gradlite import dtypes
from gradlite.autograd.grad_mode import state
from gradlite.autograd.views import mark_multi_output_views
from gradlite.ops._base import apply, tensor_method
from gradlite.tensor import Size, Tensor, _dtype_of, _wrap_dim


def _tensors(tensors, op: str) -> list:
    """Check a sequence of tensors on one device; returns them as a list."""
    if isinstance(tensors, Tensor):
        raise TypeError(f"{op}(): argument 'tensors' must be tuple of Tensors, not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{op}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{op}(): expected Tensor as element {i} in argument 0, but got {type(t).__name__}"
            )
        if t._device is not tensors[0]._device:
            raise RuntimeError(
                "Expected all tensors to be on the same device, but found at least two devices, "
                f"{tensors[0].device} and {t.device}! (when checking argument for argument tensors in {op})"
            )
    return tensors


def _common(tensors: list):
    """The tensors' arrays cast to their promoted dtype (cat and stack promote, as PyTorch)."""
    r = _dtype_of(tensors[0]._data)
    for t in tensors[1:]:
        r = dtypes.promote(r, 1, _dtype_of(t._data), 1)
    b = tensors[0]._device.backend
    return [t._data if _dtype_of(t._data) is r else b.xp.astype(t._data, b.dtype(r.name)) for t in tensors]


def _piece(d: int, start: int, size: int):
    return lambda gy: gy.narrow(d, start, size)


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along an existing ``dim``: (a, n1), (a, n2) -> (a, n1 + n2)."""
    tensors = _tensors(tensors, "torch.cat")
    arrays = _common(tensors)
    # PyTorch still accepts legacy empty 1-D tensors of shape (0,) beside tensors of any rank: skip them
    kept = [i for i, t in enumerate(tensors) if t._data.shape != (0,)] or [0]
    for i in kept:
        if tensors[i].dim() == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    ref = tensors[kept[0]]._data.shape
    d = _wrap_dim(dim, len(ref))
    for i in kept:
        s = tensors[i]._data.shape
        if len(s) != len(ref):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(ref)} and {len(s)}")
        for j in range(len(s)):
            if j != d and s[j] != ref[j]:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {ref[j]} but got "
                    f"size {s[j]} for tensor number {i} in the list."
                )
    xp = tensors[0]._device.backend.xp
    data = xp.concat([arrays[i] for i in kept], axis=d)
    if not getattr(getattr(data, "flags", None), "c_contiguous", True):
        # NumPy concatenates column-major inputs into a column-major result; PyTorch's cat is contiguous
        # (so that its result can be viewed)
        data = xp.reshape(data, data.shape, copy=True)
    fns, start = [_skipped] * len(tensors), 0
    for i in kept:
        size = tensors[i]._data.shape[d]
        fns[i] = _piece(d, start, size)
        start += size
    return apply("CatBackward0", data, tuple(tensors), tuple(fns))


concat = concatenate = cat


def _skipped(gy: Tensor) -> Tensor:
    """Gradient of a skipped legacy (0,) input: empty, and still connected to gy for double backward."""
    return gy.reshape(-1).narrow(0, 0, 0)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally shaped tensors along a new ``dim``: k tensors of (a, b) -> (k, a, b) for dim=0."""
    tensors = _tensors(tensors, "stack")
    ref = tensors[0]._data.shape
    for i, t in enumerate(tensors):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                f"{list(t._data.shape)} at entry {i}"
            )
    d = _wrap_dim(dim, len(ref) + 1)
    data = tensors[0]._device.backend.xp.stack(_common(tensors), axis=d)
    return apply("StackBackward0", data, tuple(tensors), tuple(_select(d, i) for i in range(len(tensors))))


def _select(d: int, i: int):
    return lambda gy: gy.select(d, i)


def hstack(tensors) -> Tensor:
    """Concatenate column-wise: along dim 0 for 1-D tensors, else dim 1 (0-d become 1-D)."""
    tensors = [atleast_1d(t) for t in _tensors(tensors, "hstack")]
    return cat(tensors, 0 if tensors[0].dim() == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate row-wise along dim 0 (0-d and 1-D tensors become rows)."""
    return cat([atleast_2d(t) for t in _tensors(tensors, "vstack")], 0)


row_stack = vstack


def atleast_1d(x: Tensor) -> Tensor:
    return x.reshape(1) if x.dim() == 0 else x


def atleast_2d(x: Tensor) -> Tensor:
    return x.reshape(1, -1) if x.dim() < 2 else x


@tensor_method()
def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``, of ``split_size`` (last may be shorter) or given sizes."""
    n = x.dim()
    if n == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = _wrap_dim(dim, n)
    length = x._data.shape[d]
    if isinstance(split_size_or_sections, int):
        size = split_size_or_sections
        if size < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got split_size={size}")
        if size == 0 and length != 0:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {length}"
            )
        # an empty dim still gives one (empty) piece, as PyTorch: max(ceil(length / size), 1) pieces
        sizes = [size] * (length // size) + ([length % size] if length % size else []) if size else [0]
        sizes = sizes or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != length:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {length} (input tensor's size at "
                f"dimension {d}), but got split_sizes={sizes}"
            )
    out, start = [], 0
    for s in sizes:
        out.append(x.narrow(d, start, s))
        start += s
    if x._requires_grad and state.grad_enabled:
        return mark_multi_output_views(
            tuple(out), "Split" if isinstance(split_size_or_sections, int) else "SplitWithSizes"
        )
    return tuple(out)


@tensor_method()
def split_with_sizes(x: Tensor, split_sizes, dim: int = 0) -> tuple:
    return split(x, list(split_sizes), dim)


@tensor_method()
def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` views of equal size ``ceil(n / chunks)`` along ``dim`` (the last may be smaller)."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if x.dim() == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    length = x._data.shape[_wrap_dim(dim, x.dim())]
    size = -(-length // chunks)
    if size == 0:
        return tuple(x.narrow(dim, 0, 0) for _ in range(chunks)) if length == 0 else ()
    return split(x, size, dim)


@tensor_method()
def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim`` as a tuple of views, each with ``dim`` removed."""
    if x.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, x.dim())
    out = tuple(x.select(d, i) for i in range(x._data.shape[d]))
    return mark_multi_output_views(out, "Unbind") if x._requires_grad and state.grad_enabled else out


def pad(x: Tensor, pad: tuple, mode: str = "constant", value: float | None = None) -> Tensor:
    """Constant padding: ``pad`` = (left, right) of the last dim, then the one before...; negative crops."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is supported, got mode={mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2, but got {len(pad)}")
    shape = x._data.shape
    if len(pad) // 2 > len(shape):
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but got padding "
            f"length {len(pad)} and input of dimension {len(shape)}"
        )
    new, src, dst = list(shape), [slice(None)] * len(shape), [slice(None)] * len(shape)
    for k in range(len(pad) // 2):
        d = len(shape) - 1 - k
        lo, hi = pad[2 * k], pad[2 * k + 1]
        new[d] = shape[d] + lo + hi
        if shape[d] + min(lo, 0) + min(hi, 0) < 0:  # PyTorch narrows by each negative pad before padding
            raise RuntimeError("narrow(): length must be non-negative.")
        # negative padding crops the input: read from max(-lo, 0), write to max(lo, 0)
        n = shape[d] - max(-lo, 0) - max(-hi, 0)
        src[d] = slice(max(-lo, 0), max(-lo, 0) + max(n, 0))
        dst[d] = slice(max(lo, 0), max(lo, 0) + max(n, 0))
    b = x._device.backend
    with b.context(x._device.index):
        data = b.xp.full(tuple(new), 0 if value is None else value, dtype=x._data.dtype)
    src, dst = tuple(src), tuple(dst)
    data[dst] = x._data[src]
    shape_ = Size(shape)
    # the gradient is gy's window over the input; cropped input elements get zero
    return apply("ConstantPadNdBackward0", data, (x,), (lambda gy: _unpad(gy, dst, src, shape_),))


def _unpad(gy: Tensor, dst: tuple, src: tuple, shape: tuple) -> Tensor:
    from gradlite.ops.indexing import index_grad

    window = gy[dst]
    if all(s == slice(None) or (s.start == 0 and s.stop == n) for s, n in zip(src, shape, strict=False)):
        return window
    return index_grad(window, src, shape, True)
