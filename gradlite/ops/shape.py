"""Shape ops: reshape/view, transpose/t/T/mT, unsqueeze/squeeze, expand. Views share the version counter."""

from __future__ import annotations

import warnings

from gradlite.autograd.views import note_view
from gradlite.ops._base import apply, check_broadcast, tensor_method
from gradlite.tensor import Size, Tensor, _wrap_dim


def _shape_arg(shape) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``; ints only."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, Size)):
        shape = shape[0]
    try:
        return tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be a sequence of ints, got {shape!r}") from None


def infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` and check the element count, raising PyTorch's error otherwise."""
    known, unknown = 1, []
    for i, s in enumerate(shape):
        if s == -1:
            unknown.append(i)
        elif s < 0:
            raise RuntimeError(f"invalid shape dimension {s}")
        else:
            known *= s
    if len(unknown) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if unknown:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = shape[: unknown[0]] + (numel // known,) + shape[unknown[0] + 1 :]
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


def as_view(out: Tensor, base: Tensor) -> Tensor:
    """Mark ``out`` as a view of ``base``: they share storage, so they share the version counter."""
    out._version = base._version
    note_view(out, base)  # in-place ops through the view must update the base's graph
    return out


@tensor_method()
def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements in a new shape; a view when the layout allows, else a copy."""
    shape = infer_shape(_shape_arg(shape), x.numel())
    xd = x._data
    xp = x._device.backend.xp
    try:
        data, is_view = xp.reshape(xd, shape, copy=False), True
    except (ValueError, AttributeError, TypeError):
        data, is_view = xp.reshape(xd, shape), False
    out = _back_to("ViewBackward0" if is_view else "UnsafeViewBackward0", data, x, xd.shape)
    return as_view(out, x) if is_view else out


# Backward functions ``fn(gy, *args)`` (tensors, under create_graph) and their array versions
# ``fn(gy, xp, *args)`` (see ``apply``): the shape ops' gradients are the inverse shape ops.
def _reshape_grad(gy, shape):
    return gy.reshape(shape)


def _reshape_grad_raw(gy, xp, shape):
    return xp.reshape(gy, shape)


def _permute_grad(gy, inv):
    return gy.permute(inv)


def _permute_grad_raw(gy, xp, inv):
    return xp.permute_dims(gy, inv)


def _t_grad(gy):
    return gy.T


def _same_grad(gy, *_):
    return gy


_RESHAPE, _RESHAPE_RAW = (_reshape_grad,), (_reshape_grad_raw,)
_PERMUTE, _PERMUTE_RAW = (_permute_grad,), (_permute_grad_raw,)
_T, _SAME = (_t_grad,), (_same_grad,)


def _back_to(name: str, data, x: Tensor, shape: tuple) -> Tensor:
    """``apply`` for a shape op whose gradient is reshaped back to ``shape``."""
    return apply(name, data, (x,), _RESHAPE, args=(shape,), rargs=(x._device.backend.xp, shape),
                 rfns=_RESHAPE_RAW)


def _permuted_back(name: str, data, x: Tensor, inv: tuple) -> Tensor:
    """``apply`` for a shape op whose gradient is permuted back by ``inv``."""
    return apply(name, data, (x,), _PERMUTE, args=(inv,), rargs=(x._device.backend.xp, inv),
                 rfns=_PERMUTE_RAW)


def _passed(name: str, data, x: Tensor) -> Tensor:
    """``apply`` for an op whose gradient is the output's (the engine sums an expanded one back)."""
    return apply(name, data, (x,), _SAME, args=(), rargs=())


@tensor_method()
def view(x: Tensor, *shape) -> Tensor:
    """A view with a new shape; raises when the strides do not allow one (use ``reshape``)."""
    from gradlite import dtypes

    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise NotImplementedError("view(dtype) is not supported")
    shape = infer_shape(_shape_arg(shape), x.numel())
    xd = x._data
    try:
        # an empty tensor has no layout to preserve (some namespaces refuse copy=False on it)
        data = x._device.backend.xp.reshape(xd, shape, copy=False if xd.size else None)
    except (ValueError, AttributeError) as err:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead."
        ) from err
    return as_view(_back_to("ViewBackward0", data, x, xd.shape), x)


@tensor_method()
def view_as(x: Tensor, other: Tensor) -> Tensor:
    return view(x, other._data.shape)


@tensor_method()
def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, other._data.shape)


@tensor_method()
def permute(x: Tensor, *dims) -> Tensor:
    """A view with dimensions reordered: ``x.permute(2, 0, 1)``."""
    dims = _shape_arg(dims)
    n = x.dim()
    if len(dims) != n:
        raise RuntimeError(
            f"permute(sparse_coo): number of dimensions in the tensor input does not match the length of the "
            f"desired ordering of dimensions i.e. input.dim() = {n} is not equal to len(dims) = {len(dims)}"
        )
    axes = tuple(_wrap_dim(d, n) for d in dims)
    if len(set(axes)) != n:
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    inv = tuple(sorted(range(n), key=lambda i: axes[i]))
    data = x._device.backend.xp.permute_dims(x._data, axes)
    return as_view(_permuted_back("PermuteBackward0", data, x, inv), x)


@tensor_method("transpose", "swapaxes", "swapdims")
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with two dimensions swapped."""
    n = x.dim()
    if n == 0:
        _wrap_dim(dim0, 0)
        _wrap_dim(dim1, 0)
        return as_view(_passed("TransposeBackward0", x._data, x), x)
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    axes = list(range(n))
    axes[d0], axes[d1] = d1, d0
    data = x._device.backend.xp.permute_dims(x._data, tuple(axes))
    return as_view(_permuted_back("TransposeBackward0", data, x, tuple(axes)), x)


@tensor_method()
def t(x: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dimensions."""
    if x.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.dim()}D")
    if x.dim() == 2:  # PyTorch names this node TBackward0, not TransposeBackward0
        data = x._device.backend.xp.permute_dims(x._data, (1, 0))
        return as_view(apply("TBackward0", data, (x,), _T, args=(), rargs=()), x)
    return as_view(_passed("TBackward0", x._data, x), x)


def _all_reversed(x: Tensor) -> Tensor:
    n = x.dim()
    if n != 2 and not _T_WARNED[n == 0]:  # PyTorch warns once per process (TORCH_WARN_ONCE), each case
        _T_WARNED[n == 0] = True
        warnings.warn(_T_DEPRECATED[n == 0], UserWarning, stacklevel=2)
    return x.permute(*range(n - 1, -1, -1))


_T_WARNED = [False, False]  # [other than 2-D, 0-D]
_MT_WARNED = []  # non-empty once x.mT of a 0-d tensor has warned
_T_DEPRECATED = (
    "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it will "
    "throw an error in a future release. Consider `x.mT` to transpose batches of matrices or "
    "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor.",
    "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.",
)
Tensor.T = property(_all_reversed, doc="All dimensions reversed (deprecated by PyTorch for other than 2-D).")
Tensor.mT = property(lambda x: _mT(x), doc="The last two dimensions swapped (batched matrix transpose).")


def _mT(x: Tensor) -> Tensor:
    if x.dim() == 0:  # PyTorch 2.13 returns x itself, warning once per process
        if not _MT_WARNED:
            _MT_WARNED.append(True)
            warnings.warn(
                "Tensor.mT is deprecated on 0-D tensors. This function is the identity in these cases.",
                UserWarning,
                stacklevel=3,
            )
        return x
    if x.dim() < 2:
        raise RuntimeError(
            f"tensor.mT is only supported on matrices or batches of matrices. Got {x.dim()}-D tensor."
        )
    return transpose(x, -2, -1)


@tensor_method()
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dimension inserted at ``dim``."""
    n = x.dim() + 1
    d = _wrap_dim(dim, n)
    shape = x._data.shape
    new = shape[:d] + (1,) + shape[d:]
    data = x._device.backend.xp.reshape(x._data, new)
    return as_view(_back_to("UnsqueezeBackward0", data, x, shape), x)


@tensor_method()
def squeeze(x: Tensor, dim=None) -> Tensor:
    """A view without size-1 dimensions (all, or those in ``dim``)."""
    shape = x._data.shape
    if dim is None:
        axes = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = (dim,) if isinstance(dim, int) else dim
        axes = {_wrap_dim(d, len(shape)) for d in dims}  # (a 0-d tensor takes dim 0 or -1)
        axes = {a for a in axes if shape and shape[a] == 1}
    new = tuple(s for i, s in enumerate(shape) if i not in axes)
    data = x._device.backend.xp.reshape(x._data, new)
    return as_view(_back_to("SqueezeBackward0", data, x, shape), x)


@tensor_method()
def expand(x: Tensor, *sizes) -> Tensor:
    """A broadcast view to ``sizes`` (-1 keeps a dimension); the gradient sums back (in the engine)."""
    sizes = _shape_arg(sizes)
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand({x.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor "
            f"({len(shape)})"
        )
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        if i < lead:
            if s < 0:
                raise RuntimeError(f"expand: -1 is not allowed in a leading, non-existing dimension {i}")
            target.append(s)
            continue
        cur = shape[i - lead]
        if s == -1:
            s = cur
        if cur != s and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at "
                f"non-singleton "
                f"dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    if target == shape:
        return as_view(_passed("ExpandBackward0", x._data, x), x)
    data = x._device.backend.xp.broadcast_to(x._data, target)
    return as_view(_passed("ExpandBackward0", data, x), x)


@tensor_method()
def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other._data.shape)


@tensor_method()
def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dimensions ``start_dim..end_dim`` into one."""
    shape = x._data.shape
    if not shape:
        return reshape(x, (1,))
    s, e = _wrap_dim(start_dim, len(shape)), _wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:  # nothing to merge: x itself, as PyTorch (``v.flatten() is v`` for a 1-D v)
        return x
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1 :])


@tensor_method()
def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """``x`` itself when its array is C-contiguous, else a C-ordered copy (``CloneBackward0``), as PyTorch:
    an in-place write into the result of ``x[::2].contiguous()`` must not reach ``x``."""
    flags = getattr(x._data, "flags", None)
    if flags is None or flags.c_contiguous:
        return x
    xp = x._device.backend.xp
    return apply("CloneBackward0", xp.reshape(x._data, x._data.shape, copy=True), (x,), (lambda gy: gy,))


@tensor_method()
def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Split dimension ``dim`` into ``sizes`` (one may be -1): (a, b*c) -> (a, b, c)."""
    shape = x._data.shape
    d = _wrap_dim(dim, len(shape))
    sizes = _shape_arg((sizes,))
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    try:
        sizes = infer_shape(sizes, shape[d])
    except RuntimeError:
        raise RuntimeError(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
            f"({shape[d]}) in "
            f"the input tensor"
        ) from None
    return reshape(x, shape[:d] + sizes + shape[d + 1 :])


@tensor_method()
def broadcast_to(x: Tensor, size) -> Tensor:
    """``x`` broadcast to ``size`` as a view (same as ``expand``)."""
    return expand(x, _shape_arg((size,)))


def broadcast_shapes(*shapes) -> Size:
    """The shape that ``shapes`` (sizes, or ints) broadcast to, without making a tensor."""
    shapes = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    out = [1] * max((len(s) for s in shapes), default=0)
    for k, s in enumerate(shapes):
        for i, d in enumerate(s, len(out) - len(s)):
            if d < 0:
                raise ValueError("Attempting to broadcast a dimension with negative length!")
            if out[i] == 1:
                out[i] = d
            elif d != 1 and d != out[i]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {d} at {i - len(out)}! Mismatching "
                    f"argument at index {k} had {s}; but expected shape should be broadcastable to {out}"
                )
    return Size(out)


def broadcast_tensors(*tensors: Tensor) -> tuple:
    """``tensors`` expanded to their common shape (views, as ``expand``)."""
    shape = tensors[0].shape if tensors else ()
    for t in tensors[1:]:
        if t.shape != shape:
            check_broadcast(tuple(shape), tuple(t.shape))  # (PyTorch's message for two tensors)
            shape = broadcast_shapes(shape, t.shape)
    return tuple(t if t.shape == shape else expand(t, shape) for t in tensors)


@tensor_method()
def narrow(x: Tensor, dim: int, start, length: int) -> Tensor:
    """A view of ``length`` elements from ``start`` along ``dim``."""
    if x.dim() == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    d = _wrap_dim(dim, x.dim())
    size = x._data.shape[d]
    start = int(start)
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    key = (slice(None),) * d + (slice(start, start + length), ...)
    return _basic(x, key, "SliceBackward0")


@tensor_method()
def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The view at ``index`` along ``dim``, with ``dim`` removed."""
    if x.dim() == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = _wrap_dim(dim, x.dim())
    size = x._data.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(x._data.shape)} at dimension {d}"
        )
    return _basic(x, (slice(None),) * d + (index, ...), "SelectBackward0")


def _basic(x: Tensor, key: tuple, name: str) -> Tensor:
    """A view by basic indexing with ``key``; the gradient writes ``gy`` into zeros at ``key``."""
    from gradlite.ops.indexing import index_grad

    shape = x._data.shape
    return as_view(apply(name, x._data[key], (x,), (lambda gy: index_grad(gy, key, shape, True),)), x)


@tensor_method()
def repeat(x: Tensor, *sizes) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along each dim (new leading dims allowed): (a, b), (2, 3) -> (2a, 3b)."""
    sizes = _shape_arg(sizes)
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
        )
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: {list(sizes)}")
    full = (1,) * (len(sizes) - len(shape)) + shape
    xp = x._device.backend.xp
    data = xp.tile(xp.reshape(x._data, full), sizes)

    # gy viewed as (r0, s0, r1, s1, ...) sums over the repeat axes r_i back to full, then to x's shape
    def gx(gy):
        split = tuple(v for r, s in zip(sizes, full, strict=False) for v in (r, s))
        return gy.reshape(split).sum(tuple(range(0, len(split), 2))).reshape(shape)

    return apply("RepeatBackward0", data, (x,), (gx,))


@tensor_method()
def tile(x: Tensor, *dims) -> Tensor:
    """``repeat`` that also accepts fewer ``dims`` than x has dimensions (leading ones are implied)."""
    dims = _shape_arg(dims)
    return repeat(x, (1,) * (x.dim() - len(dims)) + dims)


def _dims(dims, ndim: int) -> tuple:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    axes = tuple(_wrap_dim(d, ndim) for d in dims)
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"dim {axes[0]} appears multiple times in the list of dims")
    return axes


@tensor_method()
def flip(x: Tensor, *dims) -> Tensor:
    """A copy with the order of elements reversed along ``dims``; the gradient flips back."""
    dims = dims[0] if len(dims) == 1 and not isinstance(dims[0], int) else dims
    axes = _dims(dims, x.dim())
    data = x._device.backend.xp.flip(x._data, axis=axes) if axes and x.dim() else x._data
    # always a copy (NumPy's flip is a view): an in-place write into x must not reach the result
    data = x._device.backend.xp.asarray(data, copy=True)
    return apply("FlipBackward0", data, (x,), (lambda gy: gy.flip(axes),))


@tensor_method()
def fliplr(x: Tensor) -> Tensor:
    if x.dim() < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(x, (1,))


@tensor_method()
def flipud(x: Tensor) -> Tensor:
    if x.dim() < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(x, (0,))


@tensor_method()
def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """Rotate elements along ``dims`` by ``shifts`` (over the flattened tensor when ``dims`` is None)."""
    shifts = (shifts,) if isinstance(shifts, int) else tuple(int(s) for s in shifts)
    xp = x._device.backend.xp
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        shape = x._data.shape
        data = xp.reshape(xp.roll(xp.reshape(x._data, (-1,)), shifts[0]), shape)
        return apply("RollBackward0", data, (x,), (lambda gy: gy.roll(-shifts[0]),))
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if x.dim() == 0:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    axes = tuple(_wrap_dim(d, x.dim()) for d in dims)
    data = xp.roll(x._data, shift=shifts, axis=axes)
    back = tuple(-s for s in shifts)
    return apply("RollBackward0", data, (x,), (lambda gy: gy.roll(back, axes),))


@tensor_method()
def movedim(x: Tensor, source, destination) -> Tensor:
    """A view with dims ``source`` moved to positions ``destination``."""
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(
            f"movedim: Invalid source or destination dims: source ({list(src)} dims) should contain the same "
            f"number of dims as destination ({list(dst)} dims)"
        )
    n = x.dim()
    src, dst = _dims(src, n), _dims(dst, n)
    if n == 0:  # (dims 0 and -1 of a 0-d tensor are valid: nothing moves)
        return permute(x, ())
    order = [None] * n
    for s, d in zip(src, dst, strict=False):
        order[d] = s
    rest = iter(i for i in range(n) if i not in src)
    return permute(x, tuple(o if o is not None else next(rest) for o in order))


Tensor.moveaxis = movedim
moveaxis = movedim
swapaxes = swapdims = transpose
