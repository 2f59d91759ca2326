"""Views and in-place ops: PyTorch's *view rebase*.

A view (``y[0]``, ``y.view(...)``, ``y.t()``) shares storage and the version counter with its *root*
(the tensor that is not itself a view). When an in-place op writes through a view ``v`` of ``y``, the
values of ``y`` change too, so ``y``'s graph position must change: ``y`` gets a ``CopySlices`` node
whose backward sends the gradient of the written region through the in-place op's graph and the rest
straight to ``y``'s old graph position. Every live view of ``y`` (``v`` included) is then regenerated
as a gather from the new ``y`` (``AsStridedBackward0``), as PyTorch does.

Which elements of the root a view covers is read from the arrays' memory layout (data pointer, shape
and strides), so every view op is supported without recording how the view was made.
"""

from __future__ import annotations

import weakref

from gradlite.autograd import anomaly_mode
from gradlite.autograd.grad_mode import state
from gradlite.autograd.node import node_class
from gradlite.tensor import Tensor


def note_view(out, base) -> None:
    """Record that ``out`` is a view of ``base`` (called by ``ops.shape.as_view``)."""
    m = base._meta
    root = m.get("base", base) if m else base
    if out._meta or (m and m.get("inference")):  # made in inference_mode, or a view of such a tensor
        out._meta = {"inference": True, "base": root}
        return
    if state.grad_enabled:
        out._meta = {"base": root}
        if m and "multi" in m:  # a view of an output of split / unbind: in-place on it is forbidden too
            out._meta["multi"] = ""
        rm = root._meta
        if rm is None:
            root._meta = {"views": [_ref(out)], "views_limit": 16}
            return
        views = rm.get("views")
        if views is None:
            rm["views"] = [_ref(out)]
            rm["views_limit"] = 16
            return
        views.append(_ref(out))
        if len(views) > rm["views_limit"]:  # drop dead references; amortised O(1) per view
            views[:] = [r for r in views if r() is not None]
            rm["views_limit"] = max(16, 2 * len(views))
    else:
        out._meta = {"base": root, "no_grad_view": True}


_ref = weakref.ref  # a plain list of weak references: cheaper than a WeakSet on every view op


def root_of(x):
    """The tensor whose storage ``x`` views, or None when ``x`` is not a view."""
    m = x._meta
    return m.get("base") if m else None


VIEW_OF_LEAF = "a view of a leaf Variable that requires grad is being used in an in-place operation."
NO_GRAD_VIEW = (
    "A view was created in no_grad mode and is being modified inplace with grad mode enabled. Given that "
    "this use case is ambiguous and error-prone, it is forbidden. You can clarify your code by moving both "
    "the view and the inplace either both inside the no_grad block (if you don't want the inplace to be "
    "tracked) or both outside (if you want the inplace to be tracked)."
)

MULTI_VIEW = (
    " is a view and is being modified inplace. This view is the output of a function that returns multiple "
    "views. Such functions do not allow the output views to be modified inplace. You should replace the "
    "inplace operation by an out-of-place one."
)


def mark_multi_output_views(outs: tuple, name: str) -> tuple:
    """Mark the views that ``name`` (split, unbind) returned of a tensor that requires grad: PyTorch forbids
    in-place ops on them (in grad mode), as no single graph node could rebase all of them."""
    for i, t in enumerate(outs):
        t._meta["multi"] = f"Output {i} of {name}"
    return outs


def check_view_inplace(x, root) -> None:
    """Raise where PyTorch forbids an in-place op on the view ``x`` of ``root`` (grad mode on)."""
    multi = x._meta.get("multi")
    if multi is not None:
        if not multi:  # a view of such an output: PyTorch names the op that made this view
            multi = f"Output {x._output_nr} of {x._grad_fn.name().removesuffix('Backward0')}"
        raise RuntimeError(multi + MULTI_VIEW)
    if root._requires_grad:
        if root._grad_fn is None:
            raise RuntimeError(VIEW_OF_LEAF)
        if x._meta.get("no_grad_view"):
            raise RuntimeError(NO_GRAD_VIEW)


def rebase(x, root, result) -> None:
    """``x`` (a view of ``root``) now holds ``result``: give ``root`` a CopySlices node, regenerate views."""
    rd = root._data
    idx = view_index(root, x)
    b = root._device.backend
    xp = b.xp
    with b.context(root._device.index):
        mask = xp.ones(rd.shape, dtype=xp.bool)
        flat = xp.reshape(mask, (-1,))
        flat[xp.reshape(idx, (-1,))] = False
    from gradlite.ops.pointwise import where
    from gradlite.tensor import _make

    mask_t = _make(mask, root._device)
    shape = rd.shape
    old = None
    if root._requires_grad:
        old = (root._grad_fn, root._output_nr, shape, rd.dtype)
    new = (result._grad_fn, result._output_nr, result._data.shape, result._data.dtype)

    # d root_new / d root_old is the identity outside the view, 0 inside; d root_new / d result is the
    # scatter into the view, whose transpose is the gather of the view's elements. (A structural 0 inside:
    # ``g * mask`` would be NaN where g is infinite.)
    node = node_class("CopySlices")((lambda g: where(mask_t, g, 0.0), lambda g: gather(g, idx)), (old, new))
    if anomaly_mode._enabled:
        anomaly_mode.record_trace(node)
    old_fn, old_nr = root._grad_fn, root._output_nr
    root._grad_fn = node
    root._output_nr = 0
    root._requires_grad = True
    move_retain_grad(root, old_fn, old_nr)
    regenerate_views(root)


def regenerate_views(root) -> None:
    """Point every live view of ``root`` at ``root``'s current graph position (after an in-place op)."""
    views = root._meta and root._meta.get("views")
    if not views:
        return
    from gradlite.ops._base import apply

    shape = root._data.shape
    for v in [r() for r in views]:
        if v is None:
            continue
        idx = view_index(root, v)
        t = apply("AsStridedBackward0", v._data, (root,), (lambda gy, idx=idx: scatter(gy, idx, shape),))
        old_fn, old_nr = v._grad_fn, v._output_nr
        v._grad_fn = t._grad_fn
        v._output_nr = 0
        v._requires_grad = t._requires_grad
        move_retain_grad(v, old_fn, old_nr)


def move_retain_grad(t, old_fn, old_nr) -> None:
    """After an in-place op changed ``t``'s graph position, ``retain_grad`` follows it (as in PyTorch)."""
    store = t._meta and t._meta.get("retains_grad")
    if not callable(store) or t._grad_fn is old_fn:
        return
    hooks = old_fn._pre_hooks.get(old_nr) if old_fn is not None and old_fn._pre_hooks else None
    if hooks and store in hooks:
        hooks.remove(store)
    t._grad_fn._add_pre_hook(t._output_nr, store)


def gather(g, idx):
    """``g.reshape(-1)[idx]`` as an op (its gradient scatters back): the part of ``g`` a view covers."""
    from gradlite.ops._base import apply

    xp = g._device.backend.xp
    shape = g._data.shape
    data = xp.reshape(xp.take(xp.reshape(g._data, (-1,)), xp.reshape(idx, (-1,))), idx.shape)
    return apply("AsStridedBackward0", data, (g,), (lambda gy: scatter(gy, idx, shape),))


def scatter(gy, idx, shape):
    """Zeros of ``shape`` with ``gy`` added at the flat positions ``idx``; its gradient gathers. A position
    repeated in ``idx`` (an expanded view: several of its elements are one element of the root) receives
    the sum of their gradients, as PyTorch's as_strided backward."""
    from gradlite.ops._base import apply

    b = gy._device.backend
    xp = b.xp
    n = 1
    for s in shape:
        n *= s
    with b.context(gy._device.index):
        out = xp.zeros((n,), dtype=gy._data.dtype)
        b.scatter_add(out, xp.reshape(idx, (-1,)), xp.reshape(gy._data, (-1,)))
    return apply("AsStridedScatterBackward0", xp.reshape(out, shape), (gy,), (lambda gg: gather(gg, idx),))


def view_index(root, view):
    """For each element of ``view``, its flat (C-order) index in ``root``, from the memory layouts."""
    b = root._device.backend
    xp = b.xp
    rd, vd = root._data, view._data
    if not hasattr(rd, "strides"):
        raise RuntimeError(f"in-place ops on views need strided arrays; the {b.name} backend has none")
    with b.context(root._device.index):
        addr = _addresses(xp, rd.shape, rd.strides, 0)
        vaddr = _addresses(xp, vd.shape, vd.strides, _pointer(vd) - _pointer(rd))
        flat = xp.reshape(addr, (-1,))
        order = xp.argsort(flat)
        pos = xp.searchsorted(xp.take(flat, order), xp.reshape(vaddr, (-1,)))
        return xp.reshape(xp.take(order, pos), vd.shape)


def _addresses(xp, shape, strides, offset):
    """Byte offset of every element of an array with ``shape`` and byte ``strides``."""
    a = xp.asarray(offset, dtype=xp.int64)
    for n, st in zip(shape, strides, strict=True):
        a = a[..., None] + xp.arange(n, dtype=xp.int64) * st
    return a


def _pointer(a) -> int:
    ptr = getattr(a.data, "ptr", None)  # cupy: a MemoryPointer; numpy: a memoryview
    return a.ctypes.data if ptr is None else ptr


def _base(t):
    """``t._base``: the tensor whose storage ``t`` views (None when ``t`` is not a view)."""
    m = t._meta
    return m.get("base") if m else None


Tensor._base = property(_base)
Tensor._is_view = lambda t: _base(t) is not None
