"""Indexing: ``x[idx]`` with ints, slices, None, Ellipsis, bool masks and integer tensors.

Basic indexing (ints, slices, None, Ellipsis) gives a view; its gradient writes ``gy`` into zeros at
``idx``. Advanced indexing (integer or bool arrays) copies; its gradient scatter-adds, so repeated
indices accumulate. Both gradients are ops themselves (their own gradient is ``g[idx]``), which keeps
double backward working.
"""

from __future__ import annotations

import numbers

from gradlite import dtypes
from gradlite.ops._base import apply, check_broadcast, checked_int, tensor_method
from gradlite.ops._errors import backend_error, expand_error
from gradlite.ops.shape import as_view, broadcast_shapes
from gradlite.tensor import Tensor, _dtype_of, _wrap_dim


def _normalise(x: Tensor, idx):
    """Turn tensors in an index into backend arrays; return (index, is_basic)."""
    parts = idx if isinstance(idx, tuple) else (idx,)
    out, basic = [], True
    for p in parts:
        if isinstance(p, Tensor):
            if p._device is not x._device:
                raise RuntimeError(
                    "indices should be either on cpu or on the same device as the indexed tensor "
                    f"({x.device})"
                )
            if p._data.ndim == 0 and _dtype_of(p._data).category == 1:
                p = int(p.item())
            else:
                if _dtype_of(p._data).is_floating_point:
                    raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
                p, basic = p._data, False
        elif isinstance(p, x._device.backend.array_type):  # raw arrays: keys saved by index gradients
            basic = basic and p.ndim == 0 and not _is_bool(p)
            p = int(p) if basic else p
        elif isinstance(p, numbers.Integral) and not isinstance(p, bool):
            p = int(p)  # NumPy integers index like python ints: a view, as in PyTorch
        elif isinstance(p, slice):
            if p.step is not None and int(p.step) <= 0:
                raise ValueError("step must be greater than zero")
        elif isinstance(p, (list,)) or hasattr(p, "__array__") and not isinstance(p, (int, slice)):
            from gradlite.creation import tensor

            # host data (lists, NumPy arrays) becomes an index array on x's device, as torch.tensor would
            p, basic = tensor(p, device=x._device)._data, False
        elif isinstance(p, float):
            raise IndexError(
                "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                "indices"
            )
        out.append(p)
    if not any(p is Ellipsis or _is_bool(p) for p in out):
        # the array API needs every dimension indexed (`...` covers the rest), but a mask must stand alone
        out.append(Ellipsis)
    return tuple(out), basic


def _check(x: Tensor, idx) -> None:
    """IndexError for indices out of range, with the same message on every backend (CuPy wraps silently)."""
    shape = x._data.shape
    used = sum(p.ndim if _is_bool(p) else 1 for p in idx if p is not None and p is not Ellipsis)
    if used > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    dim = 0
    for p in idx:
        if p is None:
            continue
        if p is Ellipsis:
            dim += len(shape) - used
            continue
        if _is_bool(p):
            for k, m in enumerate(p.shape):
                if m != shape[dim + k]:
                    raise IndexError(
                        f"The shape of the mask {list(p.shape)} at index {k} does not match the shape of the "
                        f"indexed tensor {list(shape)} at index {dim + k}"
                    )
        if isinstance(p, int):
            if not -shape[dim] <= p < shape[dim]:
                raise IndexError(f"index {p} is out of bounds for dimension {dim} with size {shape[dim]}")
        elif hasattr(p, "dtype") and not _is_bool(p):
            x._device.backend.check_bounds(p, dim, shape[dim])
        dim += p.ndim if _is_bool(p) else 1


def _is_bool(p) -> bool:
    return hasattr(p, "dtype") and _dtype_of(p).category == 0


def _is_scalar_mask(p) -> bool:
    """A 0-d boolean index: python bool, or a 0-d bool tensor or array."""
    if isinstance(p, bool):
        return True
    d = p._data if isinstance(p, Tensor) else p
    return getattr(d, "ndim", None) == 0 and hasattr(d, "dtype") and _dtype_of(d).category == 0


def _expand_scalar_masks(x: Tensor, idx):
    """``(x', idx')`` without 0-d masks: ``x[..., m, ...]`` is ``x.unsqueeze(d)[..., m.reshape(1), ...]``.

    A 0-d mask indexes a new dim of size 1 (NumPy's and PyTorch's rule: ``x[True]`` has shape (1, *x.shape),
    ``x[False]`` (0, *x.shape)); rewritten so, the backends and the index gradients only meet masks with dims.
    """
    parts = idx if isinstance(idx, tuple) else (idx,)
    for p in parts:  # (every getitem passes here: ints and slices are let through first)
        c = p.__class__
        if c is not int and c is not slice and _is_scalar_mask(p):
            break
    else:
        return x, idx
    from gradlite.creation import tensor

    def width(p) -> int:  # the dims of x that an index entry consumes
        if p is None or p is Ellipsis or _is_scalar_mask(p):
            return 0
        d = p._data if isinstance(p, Tensor) else p
        return d.ndim if hasattr(d, "dtype") and _dtype_of(d).category == 0 else 1

    used = sum(width(p) for p in parts)
    if used > x.dim():
        raise IndexError(f"too many indices for tensor of dimension {x.dim()}")
    ellipsis = x.dim() - used
    out, dim = [], 0
    for p in parts:
        if _is_scalar_mask(p):
            x = x.unsqueeze(dim)
            p = (p if isinstance(p, Tensor) else tensor(p, device=x._device)).reshape(1)
            dim += 1
        else:
            dim += ellipsis if p is Ellipsis else width(p)
        out.append(p)
    return x, tuple(out)


@tensor_method("__getitem__")
def getitem(x: Tensor, idx) -> Tensor:
    xe, idx = _expand_scalar_masks(x, idx)
    if xe is not x:
        return getitem(xe, idx)
    idx, basic = _normalise(x, idx)
    _check(x, idx)
    key = idx[0] if len(idx) == 1 else idx
    if basic:
        data = x._data[key]
    else:
        b = x._device.backend
        with b.context(x._device.index):  # index arrays made here belong on x's GPU
            data = advanced_get(b.xp, x._data, idx)
    shape = x._data.shape
    args, rargs = (key, shape, basic), (x._device, key, shape, basic)
    if basic:
        name = "SelectBackward0" if any(isinstance(p, int) for p in idx) else "SliceBackward0"
        return as_view(apply(name, data, (x,), (index_grad,), args=args, rargs=rargs, rfns=_INDEX_RAW), x)
    return apply("IndexBackward0", data, (x,), (index_grad,), args=args, rargs=rargs, rfns=_INDEX_RAW)


def advanced_get(xp, data, idx: tuple):
    """``data[idx]`` with NumPy's advanced-indexing semantics, written with array-API calls only.

    The array API allows integer arrays only when every index is one, so: expand ``...``, turn masks
    into integer arrays (``nonzero``), index the basic part, then gather the advanced dims as one
    flattened dim with ``take``. As NumPy, the broadcast index dims replace the advanced dims in place
    when those are adjacent, and go first otherwise.
    """
    if len(idx) == 1 and _is_bool(idx[0]) and idx[0].ndim == data.ndim and data.ndim:
        return data[idx[0]]  # a sole mask: the array API's own boolean indexing
    used = sum(p.ndim if _is_bool(p) else 1 for p in idx if p is not None and p is not Ellipsis)
    items = []
    for p in idx:
        if p is Ellipsis:
            items += [slice(None)] * (data.ndim - used)
        elif _is_bool(p):
            items += list(xp.nonzero(p)) if p.ndim else [p]
        else:
            items.append(p)
    items += [slice(None)] * (data.ndim - sum(1 for p in items if p is not None))
    arrays = [i for i, p in enumerate(items) if hasattr(p, "dtype") or isinstance(p, int)]
    if not any(hasattr(items[i], "dtype") for i in arrays):
        return data[tuple(items)]
    # the basic part keeps every advanced dim whole; item i becomes dim i of y
    y = data[tuple(slice(None) if i in arrays else p for i, p in enumerate(items))]
    sizes = [y.shape[i] for i in arrays]
    ixs = [xp.asarray(items[i], dtype=xp.int64) for i in arrays]
    ixs = xp.broadcast_arrays(*ixs) if len(ixs) > 1 else ixs
    lin = None
    for a, n in zip(ixs, sizes, strict=True):
        a = xp.where(a < 0, a + n, a)
        lin = a if lin is None else lin * n + a
    rest = [i for i in range(y.ndim) if i not in arrays]
    flat = xp.reshape(xp.permute_dims(y, tuple(arrays + rest)), (-1,) + tuple(y.shape[i] for i in rest))
    bshape = tuple(lin.shape)
    out = xp.reshape(xp.take(flat, xp.reshape(lin, (-1,)), axis=0), bshape + flat.shape[1:])
    first = arrays[0]
    if arrays == list(range(first, first + len(arrays))) and first:
        # adjacent advanced indices: their broadcast dims sit where the indexed dims were
        nb = len(bshape)
        order = list(range(nb, nb + first)) + list(range(nb)) + list(range(nb + first, out.ndim))
        out = xp.permute_dims(out, tuple(order))
    return out


def index_grad(gy: Tensor, key, shape: tuple, basic: bool) -> Tensor:
    """Zeros of ``shape`` with ``gy`` written (basic) or scatter-added (advanced) at ``key``."""
    g = _index_grad_raw(gy._data, gy._device, key, shape, basic)
    return apply("IndexPutBackward0", g, (gy,), (lambda gg: gg[key],))


def _index_grad_raw(gy, dev, key, shape: tuple, basic: bool):
    """``index_grad`` on arrays (the getitem backward without create_graph)."""
    b = dev.backend
    with b.context(dev.index):
        g = b.xp.zeros(shape, dtype=gy.dtype)
    if basic:
        # write without the None (new-axis) entries: the array API's setitem refuses them
        k = tuple(p for p in key if p is not None) if isinstance(key, tuple) else key
        if k is not key:
            gy = b.xp.reshape(gy, g[k].shape)
        g[k] = gy
    else:
        b.scatter_add(g, key, gy)
    return g


_INDEX_RAW = (_index_grad_raw,)


@tensor_method("__setitem__")
def setitem(x: Tensor, idx, value) -> None:
    """``x[idx] = value``, differentiable w.r.t. both ``x`` (zero at idx) and a tensor ``value``."""
    from gradlite.autograd.grad_mode import state
    from gradlite.ops.inplace import assign, check_inplace

    check_inplace(x, "index_put_")
    xe, idx = _expand_scalar_masks(x, idx)
    if xe is not x:
        # written on a copy, then copied back whole: no write through a view (the strict backend has none)
        tmp = xe.clone()
        del xe  # (a live view of x would be regenerated by the write below)
        setitem(tmp, idx, value)
        setitem(x, Ellipsis, tmp.reshape(x._data.shape))
        return
    idx, basic = _normalise(x, idx)
    _check(x, idx)
    key = idx[0] if len(idx) == 1 else idx
    b = x._device.backend
    is_t = isinstance(value, Tensor)
    if not is_t and not _is_number(value):
        raise TypeError(f"can't assign a {_type_name(value)} to a {x.type()}")
    if is_t and value._device is not x._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {x.device} and "
            f"{value.device}! (when checking argument for setitem)"
        )
    v = value._data if is_t else _scalar_as(value, x)
    if is_t and v.dtype != x._data.dtype:
        v = b.xp.astype(v, x._data.dtype)
    # an integer or bool x holds no gradient: writing a float that requires grad into it records nothing
    tracked = state.grad_enabled and (x._requires_grad or (is_t and value._requires_grad))
    if not tracked or not x.dtype.is_floating_point:
        _put(b, x._data, key, v, basic)
        x._version[0] += 1
        return
    data = b.xp.asarray(x._data, copy=True)
    _put(b, data, key, v, basic)
    # d/dx: gy with the overwritten positions zeroed; d/dvalue: gy read back at idx (summed to value's shape)
    result = apply(
        "IndexPutBackward0",
        data,
        (x, value),
        (lambda gy: _zero_at(gy, key), lambda gy: _to_value(gy[key], value)),
    )
    assign(x, result, "setitem")


def _put(b, target, key, values, basic: bool) -> None:
    """``target[key] = values``. NumPy and CuPy assign through integer arrays and masks natively; the
    array API has no such setitem, so other namespaces get an exact emulation with scatter-add."""
    if basic or b.name in _NATIVE_FANCY_SETITEM:
        try:
            target[key] = values
        except ValueError as e:  # a value that does not broadcast to the selection: PyTorch's RuntimeError
            if not hasattr(values, "shape"):
                raise backend_error(e, "index_put_", target, values) from e
            raise expand_error(target[key].shape, values.shape) from e
        return
    xp = b.xp
    idx = key if isinstance(key, tuple) else (key,)
    # the flat position of every element that target[key] selects, in the order it selects them
    flat_pos = xp.reshape(xp.arange(_size(target.shape), dtype=xp.int64), target.shape)
    selected = advanced_get(xp, flat_pos, idx)
    pos = xp.reshape(selected, (-1,))
    if not pos.shape[0]:
        return
    v = values if hasattr(values, "dtype") else xp.asarray(values, dtype=target.dtype)
    v = xp.reshape(xp.broadcast_to(xp.astype(v, target.dtype), tuple(selected.shape)), (-1,))
    # a position written twice keeps its last value (as NumPy): sort stably, keep each run's last element
    order = xp.argsort(pos, stable=True)
    pos, v = xp.take(pos, order), xp.take(v, order)
    last = xp.concat([pos[1:] != pos[:-1], xp.ones((1,), dtype=xp.bool)])
    written = xp.zeros((_size(target.shape),), dtype=target.dtype)
    b.scatter_add(written, pos, xp.where(last, v, xp.zeros_like(v)))
    hit = xp.zeros((_size(target.shape),), dtype=xp.int64)
    b.scatter_add(hit, pos, xp.astype(last, xp.int64))
    target[...] = xp.reshape(xp.where(hit > 0, written, xp.reshape(target, (-1,))), target.shape)


_NATIVE_FANCY_SETITEM = ("numpy", "cupy")


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def _is_number(value) -> bool:
    """What PyTorch's setitem takes besides a tensor: a python number (float subclasses such as
    numpy.float64 included) or a NumPy integer. A list, a tuple or an array raises on every device, as in
    PyTorch (CuPy would refuse them where NumPy took them)."""
    if isinstance(value, (bool, int, float, complex)):
        return True
    import numpy as np  # (only to recognise its scalar types)

    return isinstance(value, np.integer)


def _type_name(value) -> str:
    t = type(value)
    mod = t.__module__
    return t.__qualname__ if mod == "builtins" else f"{mod.split('.')[0]}.{t.__qualname__}"


def _scalar_as(value, x: Tensor):
    """A number (``_is_number``) converted on the host to a python number of x's category (2.5 written into
    an int64 tensor is 2; True or a NumPy integer into a float tensor is a float: the array API takes no
    other scalar there)."""
    cat = _dtype_of(x._data).category
    if isinstance(value, complex) or cat > 2:
        return value
    return bool(value) if cat == 0 else int(value) if cat == 1 else float(value)


def _to_value(g: Tensor, value: Tensor) -> Tensor:
    """Bring the gradient of the indexed region to value's shape when value has extra leading size-1 dims."""
    vs = value._data.shape
    if len(vs) > g.dim():
        g = g.reshape((1,) * (len(vs) - g.dim()) + tuple(g._data.shape))
    return g


def _zero_at(gy: Tensor, key) -> Tensor:
    """``gy`` with the elements at ``key`` set to zero; linear and self-adjoint, so its gradient is itself."""
    b = gy._device.backend
    data = b.xp.asarray(gy._data, copy=True)
    basic = not any(hasattr(p, "dtype") for p in (key if isinstance(key, tuple) else (key,)))
    _put(b, data, key, 0, basic)
    return apply("IndexPutBackward0", data, (gy,), (lambda gg: _zero_at(gg, key),))


def _index(ix, op: str, x: Tensor, allow_int32: bool = True):
    """Check an index tensor (int64, or int32 where PyTorch takes it; same device) and return its array."""
    if not isinstance(ix, Tensor):
        raise TypeError(f"{op}(): argument 'index' must be Tensor, not {type(ix).__name__}")
    dt = _dtype_of(ix._data)
    if dt.name != "int64" and not (allow_int32 and dt.name == "int32"):
        raise RuntimeError(
            f"{op}(): Expected dtype int32/int64 for index"
            if allow_int32
            else f"{op}(): Expected a long tensor for index, but got {dtypes.TORCH_NAMES[dt.name]}"
        )
    if ix._device is not x._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {x.device} and "
            f"{ix.device}! (when checking argument for argument index in method {op})"
        )
    return ix._data


def _bounds(
    x: Tensor, ix, dim: int, size: int, exc=RuntimeError, negative_ok: bool = False, msg=None
) -> None:
    """Raise ``exc`` for indices outside [0, size) (or [-size, size)): ``backend.check_range`` (on CUDA
    checked on the device and raised at the next host read)."""
    lo = -size if negative_ok else 0
    x._device.backend.check_range(
        ix, lo, size, exc, msg or f"index {{bad}} is out of bounds for dimension {dim} with size {size}"
    )


def _grid(shape: tuple, ix, d: int, x: Tensor) -> tuple:
    """An advanced-indexing key addressing, for each element of ``ix``, its target along ``d``."""
    n = len(shape)
    if not n and x.dim() == 1:  # a 0-d index into a 1-d tensor addresses one element (PyTorch's rule)
        return (ix,)
    b = x._device.backend
    xp = b.xp
    with b.context(x._device.index):
        return tuple(
            ix if i == d else xp.reshape(xp.arange(shape[i]), (1,) * i + (-1,) + (1,) * (n - i - 1))
            for i in range(n)
        )


def _scatter_add_grad(gy: Tensor, key, shape: tuple) -> Tensor:
    return index_grad(gy, key, shape, False)


@tensor_method()
def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """Entries ``index`` (1-D) along ``dim``: (a, b) with dim=1 and k indices -> (a, k)."""
    ix = _index(index, "index_select", x)
    if ix.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = _wrap_dim(dim, x.dim())
    shape = x._data.shape
    size = shape[d] if shape else 1
    _bounds(x, ix, d, size, IndexError, msg="index out of range in self")
    xp = x._device.backend.xp
    flat = xp.reshape(ix, (-1,))
    data = (
        xp.take(x._data, flat, axis=d) if shape else xp.reshape(xp.take(xp.reshape(x._data, (1,)), flat), ())
    )
    key = (slice(None),) * d + (flat, ...) if shape else flat
    return apply(
        "IndexSelectBackward0",
        data,
        (x,),
        (
            lambda gy: _scatter_add_grad(gy.reshape(-1) if not shape else gy, key, shape or (1,)).reshape(
                shape
            ),
        ),
    )


def _gather_checks(x: Tensor, d: int, ix, op: str, src_shape=None) -> None:
    if ix.ndim != x.dim() and not (ix.ndim <= 1 and x.dim() <= 1):
        who = "input" if op == "gather" else "self"
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {who} tensor")
    for i in range(ix.ndim):
        if i != d and ix.shape[i] > x._data.shape[i]:
            raise RuntimeError(
                f"Size does not match at dimension {i} expected index {list(ix.shape)} to be no larger than "
                f"self {list(x._data.shape)} apart from dimension {d}"
            )
        if src_shape is not None and ix.shape[i] > src_shape[i]:
            raise RuntimeError(
                f"Expected index {list(ix.shape)} to be no larger than self {list(x._data.shape)} apart from "
                f"dimension {d} and to be no larger size than src {list(src_shape)}"
            )
    size = x._data.shape[d] if x.dim() else 1
    _bounds(x, ix, d, size)


@tensor_method()
def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """``out[i][j] = x[index[i][j]][j]`` for dim=0 (and so on): output has index's shape."""
    ix = _index(index, "gather", x)
    d = _wrap_dim(dim, x.dim())
    _gather_checks(x, d, ix, "gather")
    xp = x._device.backend.xp
    shape = x._data.shape
    if not shape:
        return apply(
            "GatherBackward0", xp.reshape(x._data, ix.shape), (x,), (lambda gy: gy.sum().reshape(()),)
        )
    key = _grid(ix.shape, ix, d, x)
    data = x._data[key]
    # each gathered element sends its gradient back to where it came from; repeats accumulate
    return apply("GatherBackward0", data, (x,), (lambda gy: _scatter_add_grad(gy, key, shape),))


def _src(x: Tensor, src, ix, op: str):
    """The values a scatter writes: a tensor ``src`` (sliced to index's shape) or a python scalar."""
    if isinstance(src, Tensor):
        if src._device is not x._device:
            raise RuntimeError(
                f"{op}(): expected self and src on the same device, got {x.device} and {src.device}"
            )
        if _dtype_of(src._data) is not _dtype_of(x._data):
            raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
        sub = src._data[tuple(slice(0, n) for n in ix.shape)] if src.dim() else src._data
        return src, sub
    return None, src


@tensor_method()
def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of ``x`` with ``src`` (tensor or scalar) written at ``index`` along ``dim``."""
    if src is None:
        src = value
    d = _wrap_dim(dim, x.dim())
    if reduce is not None:
        from gradlite.ops.scatter_reduce import scatter_with_reduce

        return scatter_with_reduce(x, d, index, src, reduce)
    ix = _index(index, "scatter", x)
    srct, sub = _src(x, src, ix, "scatter")
    _gather_checks(x, d, ix, "scatter", None if srct is None else srct._data.shape)
    xp = x._device.backend.xp
    key = _grid(ix.shape, ix, d, x)
    data = xp.asarray(x._data, copy=True)
    _put(x._device.backend, data, key, sub, False)
    fns = (lambda gy: _zero_at(gy, key), lambda gy: _pad_to(gy.gather(d, index), srct))
    return apply("ScatterBackward0" if srct is not None else "ScatterBackward1", data, (x, srct), fns)


def _pad_to(g: Tensor, src: Tensor) -> Tensor:
    """A gradient for the first index.shape elements of ``src``, padded with zeros to src's shape."""
    if g._data.shape == src._data.shape:
        return g
    return index_grad(g, tuple(slice(0, n) for n in g._data.shape), src._data.shape, True)


@tensor_method()
def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim``; repeated indices accumulate."""
    ix = _index(index, "scatter_add", x)
    d = _wrap_dim(dim, x.dim())
    srct, sub = _src(x, src, ix, "scatter_add")
    if srct is None:
        raise TypeError("scatter_add(): argument 'src' must be Tensor")
    _gather_checks(x, d, ix, "scatter_add", srct._data.shape)
    b = x._device.backend
    key = _grid(ix.shape, ix, d, x)
    data = b.xp.asarray(x._data, copy=True)
    b.scatter_add(data, key, sub)
    return apply(
        "ScatterAddBackward0", data, (x, srct), (lambda gy: gy, lambda gy: _pad_to(gy.gather(d, index), srct))
    )


@tensor_method()
def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``x`` with ``alpha * source`` added at ``index`` along ``dim``; repeats accumulate."""
    ix = _index(index, "index_add", x)
    if ix.ndim > 1:
        raise IndexError("index_add_(): Index is supposed to be a vector")
    d = _wrap_dim(dim, x.dim())
    shape = x._data.shape
    if _dtype_of(source._data) is not _dtype_of(x._data):
        raise RuntimeError(
            f"index_add_(): self ({x.dtype}) and source ({source.dtype}) must have the same scalar type"
        )
    want = shape[:d] + (ix.shape[0] if ix.ndim else 1,) + shape[d + 1 :] if shape else ()
    if source._data.shape != want and not (not shape and source.numel() == 1):
        raise RuntimeError(
            f"index_add_(): source tensor shape {list(source._data.shape)} must match self shape "
            f"{list(shape)} except along dim {d} with size {ix.shape[0] if ix.ndim else 1}"
        )
    _bounds(x, ix, d, shape[d] if shape else 1)
    b = x._device.backend
    flat = b.xp.reshape(ix, (-1,))
    key = (slice(None),) * d + (flat, ...)
    data = b.xp.asarray(x._data, copy=True)
    srcd = b.xp.reshape(source._data, want or (1,))
    if alpha != 1:
        srcd = srcd * alpha
    if shape:
        b.scatter_add(data, key, srcd)
    else:
        data = data + b.xp.reshape(srcd, ())
    sshape = source._data.shape
    return apply(
        "IndexAddBackward0",
        data,
        (x, source),
        (lambda gy: gy, lambda gy: (gy.index_select(d, index) * alpha).reshape(sshape)),
    )


@tensor_method()
def masked_fill(x: Tensor, mask: Tensor, value) -> Tensor:
    """``x`` with ``value`` (scalar or 0-d tensor) where ``mask`` (bool, broadcastable to x) is True."""
    if not isinstance(mask, Tensor) or _dtype_of(mask._data).name != "bool":
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype {got}")
    if mask._device is not x._device:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {x.device} and "
            f"{mask.device}! (when checking argument for masked_fill)"
        )
    vt = isinstance(value, Tensor)
    if vt and value.dim() != 0:
        raise RuntimeError(
            f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor with {value.dim()} "
            "dimension(s)."
        )
    xp = x._device.backend.xp
    xd, m = x._data, mask._data
    if m.shape != xd.shape:  # the mask may broadcast the result too (x's gradient is summed back centrally)
        check_broadcast(m.shape, xd.shape)
        shape = tuple(broadcast_shapes(m.shape, xd.shape))
        xd, m = xp.broadcast_to(xd, shape), xp.broadcast_to(m, shape)
    v = xp.astype(value._data, xd.dtype) if vt else xp.asarray(checked_int(x.dtype, value), dtype=xd.dtype)
    data = xp.where(m, v, xd)
    from gradlite.ops.pointwise import where

    # masked positions took the value: their gradient goes to it (summed), the rest passes to x
    return apply(
        "MaskedFillBackward1" if vt else "MaskedFillBackward0",  # (PyTorch's names: tensor or scalar value)
        data,
        (x, value),
        (lambda gy: where(mask, 0.0, gy), lambda gy: where(mask, gy, 0.0).sum()),
    )


@tensor_method()
def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The 1-D tensor of elements of ``x`` where ``mask`` (broadcast with x) is True, in row-major order."""
    if not isinstance(mask, Tensor) or _dtype_of(mask._data).name != "bool":
        raise RuntimeError(
            f"masked_select: expected BoolTensor for mask, got {getattr(mask, 'dtype', type(mask))}"
        )
    xp = x._device.backend.xp
    try:
        xb, mb = xp.broadcast_arrays(x._data, mask._data)
    except ValueError:
        raise RuntimeError(
            f"The size of tensor a ({x._data.shape}) must match the size of tensor b ({mask._data.shape})"
        ) from None
    shape = xb.shape
    data = xb[mb] if shape else xp.reshape(xb, (1,))[xp.reshape(mb, (1,))]
    key = mb if shape else xp.reshape(mb, (1,))
    return apply(
        "MaskedSelectBackward0",
        data,
        (x,),
        (lambda gy: index_grad(gy, key, shape or (1,), True).reshape(shape),),
    )


@tensor_method()
def take(x: Tensor, index: Tensor) -> Tensor:
    """Elements of ``x`` viewed as 1-D at ``index``; the result has index's shape. Negative indices wrap."""
    ix = _index(index, "take", x, allow_int32=False)
    n = x.numel()
    x._device.backend.check_range(
        ix, -n, n, IndexError, f"out of range: tried to access index {{bad}} on a tensor of {n} elements."
    )
    return x.reshape(-1)[index]


def take_along_dim(x: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """``gather`` after broadcasting x and indices in all dims but ``dim`` (flattened when dim is None)."""
    if dim is None:
        return gather(x.reshape(-1), 0, indices.reshape(-1))
    if x.dim() != indices.dim():
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of dimensions, but got "
            f"{x.dim()} dimensions for input, and {indices.dim()} dimensions for indices"
        )
    d = _wrap_dim(dim, x.dim())
    xs, js = list(x._data.shape), list(indices._data.shape)
    xs[d] = js[d] = 1
    if any(a != b and 1 not in (a, b) for a, b in zip(xs, js, strict=True)):
        raise RuntimeError(
            f"take_along_dim(): shapes {list(x.shape)} and {list(indices.shape)} cannot be broadcast apart "
            f"from dimension {d}"
        )
    bshape = [max(a, b) if 0 not in (a, b) else 0 for a, b in zip(xs, js, strict=True)]
    xe, je = list(bshape), list(bshape)
    xe[d], je[d] = x._data.shape[d], indices._data.shape[d]
    return gather(x.expand(xe), d, indices.expand(je))


Tensor.take_along_dim = take_along_dim
