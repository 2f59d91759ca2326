"""Shape ops: reshape/view, transpose/t/T/mT, unsqueeze/squeeze, expand. Views share the version counter."""

from __future__ import annotations

from gradlite.ops._base import apply, tensor_method
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
    out = apply("ViewBackward0" if is_view else "UnsafeViewBackward0", data, (x,), (_back_to(xd.shape),))
    return as_view(out, x) if is_view else out


def _back_to(shape):
    return lambda gy: gy.reshape(shape)


@tensor_method()
def view(x: Tensor, *shape) -> Tensor:
    """A view with a new shape; raises when the strides do not allow one (use ``reshape``)."""
    from gradlite import dtypes

    if len(shape) == 1 and isinstance(shape[0], dtypes.dtype):
        raise NotImplementedError("view(dtype) is not supported")
    shape = infer_shape(_shape_arg(shape), x.numel())
    xd = x._data
    try:
        data = x._device.backend.xp.reshape(xd, shape, copy=False)
    except (ValueError, AttributeError) as err:
        raise RuntimeError(
            "view size is not compatible with input tensor's size and stride (at least one dimension spans "
            "across two contiguous subspaces). Use .reshape(...) instead."
        ) from err
    return as_view(apply("ViewBackward0", data, (x,), (_back_to(xd.shape),)), x)


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
    return as_view(apply("PermuteBackward0", data, (x,), (lambda gy: gy.permute(inv),)), x)


@tensor_method("transpose", "swapaxes", "swapdims")
def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """A view with two dimensions swapped."""
    n = x.dim()
    if n == 0:
        _wrap_dim(dim0, 0)
        _wrap_dim(dim1, 0)
        return as_view(apply("TransposeBackward0", x._data, (x,), (lambda gy: gy,)), x)
    d0, d1 = _wrap_dim(dim0, n), _wrap_dim(dim1, n)
    axes = list(range(n))
    axes[d0], axes[d1] = d1, d0
    data = x._device.backend.xp.permute_dims(x._data, tuple(axes))
    return as_view(apply("TransposeBackward0", data, (x,), (lambda gy: gy.transpose(d0, d1),)), x)


@tensor_method()
def t(x: Tensor) -> Tensor:
    """Transpose of a tensor with at most 2 dimensions."""
    if x.dim() > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.dim()}D")
    if x.dim() == 2:  # PyTorch names this node TBackward0, not TransposeBackward0
        data = x._device.backend.xp.permute_dims(x._data, (1, 0))
        return as_view(apply("TBackward0", data, (x,), (lambda gy: gy.t(),)), x)
    return as_view(apply("TBackward0", x._data, (x,), (lambda gy: gy,)), x)


Tensor.T = property(lambda x: x.permute(*range(x.dim() - 1, -1, -1)), doc="All dimensions reversed.")
Tensor.mT = property(lambda x: _mT(x), doc="The last two dimensions swapped (batched matrix transpose).")


def _mT(x: Tensor) -> Tensor:
    if x.dim() < 2:
        raise RuntimeError(f"tensor.mT is only supported on matrices or batches of matrices. Got {x.dim()}-D tensor.")
    return transpose(x, -2, -1)


@tensor_method()
def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """A view with a size-1 dimension inserted at ``dim``."""
    n = x.dim() + 1
    d = _wrap_dim(dim, n)
    shape = x._data.shape
    new = shape[:d] + (1,) + shape[d:]
    data = x._device.backend.xp.reshape(x._data, new)
    return as_view(apply("UnsqueezeBackward0", data, (x,), (_back_to(shape),)), x)


@tensor_method()
def squeeze(x: Tensor, dim=None) -> Tensor:
    """A view without size-1 dimensions (all, or those in ``dim``)."""
    shape = x._data.shape
    if dim is None:
        axes = {i for i, s in enumerate(shape) if s == 1}
    else:
        dims = (dim,) if isinstance(dim, int) else dim
        axes = {_wrap_dim(d, len(shape)) for d in dims} if shape else set()
        axes = {a for a in axes if shape[a] == 1}
    new = tuple(s for i, s in enumerate(shape) if i not in axes)
    data = x._device.backend.xp.reshape(x._data, new)
    return as_view(apply("SqueezeBackward0", data, (x,), (_back_to(shape),)), x)


@tensor_method()
def expand(x: Tensor, *sizes) -> Tensor:
    """A broadcast view to ``sizes`` (-1 keeps a dimension); the gradient sums back (in the engine)."""
    sizes = _shape_arg(sizes)
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand({x.type()}{{{list(shape)}}}, size={list(sizes)}): the number of sizes provided "
            f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({len(shape)})"
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
                f"The expanded size of the tensor ({s}) must match the existing size ({cur}) at non-singleton "
                f"dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}"
            )
        target.append(s)
    target = tuple(target)
    if target == shape:
        return as_view(apply("ExpandBackward0", x._data, (x,), (lambda gy: gy,)), x)
    data = x._device.backend.xp.broadcast_to(x._data, target)
    return as_view(apply("ExpandBackward0", data, (x,), (lambda gy: gy,)), x)


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
    n = 1
    for d in shape[s : e + 1]:
        n *= d
    return reshape(x, shape[:s] + (n,) + shape[e + 1 :])


@tensor_method()
def contiguous(x: Tensor, memory_format=None) -> Tensor:
    """The tensor itself: gradlite's ops accept any layout, so no copy is needed."""
    return x
