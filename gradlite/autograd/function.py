"""Custom differentiable functions: ``class F(Function)`` with static ``forward(ctx, ...)`` and
``backward(ctx, ...)``, used as ``F.apply(...)``, as in PyTorch.

The ctx *is* the graph node (``y.grad_fn``, named ``<ClassName>Backward``), as in PyTorch. Its one
backward callable returns a gradient per forward argument. gradlite is stricter than PyTorch here: a
backward that returns the wrong number of gradients, or a gradient of the wrong shape, kind of dtype or
device, raises a RuntimeError naming the function and the index, instead of being silently broadcast or
cast. As PyTorch, a gradient of another floating dtype is cast, and one for an input that does not require
grad is dropped.
Saved outputs are kept as arrays (never as tensors pointing back at the node), so no reference cycle
exists between the node and its outputs.
"""

from __future__ import annotations

import weakref

from gradlite.autograd import anomaly_mode
from gradlite.autograd.engine import _check_versions
from gradlite.autograd.grad_mode import INFERENCE_SAVE_ERROR, no_grad, state
from gradlite.autograd.node import FREED, LEAF, Node, count_uses
from gradlite.tensor import Size, Tensor, _dtype_of, _make


class FunctionCtx:
    """What ``forward`` and ``backward`` see as ``ctx``: saving tensors, marking outputs, materialization."""

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (or None) for backward; they are version-checked when unpacked."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(
                    f"save_for_backward can only save tensors, but argument {tensors.index(t)} is of "
                    f"type {type(t).__name__}"
                )
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """These outputs do not require grad; their gradient in backward is zeros (or None)."""
        self._non_diff = tensors

    def mark_dirty(self, *tensors) -> None:
        """These inputs were modified in place by forward (and must be returned as outputs)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """When False, gradients of outputs that received none are passed to backward as None, not zeros."""
        self._materialize = bool(value)

    @property
    def saved_tensors(self) -> tuple:
        saved = self._saved_values
        if saved is None:
            raise RuntimeError(FREED)
        if self._saved:
            _check_versions(self)
        out = []
        for item in saved:
            if item is None or isinstance(item, Tensor):
                out.append(item)
            else:  # an output of this node, kept as (array, version counter, device, output_nr)
                data, vc, dev, nr = item
                t = _make(data, dev, True, self)
                t._output_nr = nr
                t._version = vc
                out.append(t)
        return tuple(out)

    saved_variables = saved_tensors


class BackwardNode(FunctionCtx, Node):
    """Base of the ``<ClassName>Backward`` nodes; instances carry a ``__dict__`` for user attributes."""

    _function: type = None
    _saved_values = None
    _to_save = ()
    _non_diff = ()
    _dirty = ()
    _materialize = True

    def _release(self) -> None:
        Node._release(self)
        self._saved_values = None

    def name(self) -> str:
        return type(self).__name__


class _FunctionMeta(type):
    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._backward_cls = type(f"{name}Backward", (BackwardNode,), {"_function": cls})


class Function(metaclass=_FunctionMeta):
    """Base class of custom autograd functions; subclass it and call ``MyFn.apply(*args)``."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            f"{type(self).__name__}: custom Functions are used through their static methods; call "
            f"{type(self).__name__}.apply(...) instead of instantiating it."
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Override (with a ``forward`` that takes no ctx) to save what backward needs."""
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD."
        )

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` without recording, then record one node whose backward calls ``cls.backward``."""
        if cls.forward is Function.forward:
            raise NotImplementedError("You must implement the forward function for custom autograd.Function.")
        ctx = cls._backward_cls.__new__(cls._backward_cls)
        Node.__init__(ctx, None, ())
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        with no_grad():
            if cls.setup_context is Function.setup_context:
                outputs = cls.forward(ctx, *args, **kwargs)
            else:  # PyTorch 2's style: forward(*args) without ctx, then setup_context(ctx, inputs, output)
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, outputs)
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        record = state.grad_enabled and any(ctx.needs_input_grad)
        outs = tuple(_own_output(o, args, ctx) for o in outs)
        if not record:
            return outs[0] if single else outs
        _record(cls, ctx, args, outs)
        return outs[0] if single else outs


def _own_output(o, args, ctx):
    """An output that is one of the inputs becomes a new tensor sharing its storage (unless marked dirty)."""
    if not isinstance(o, Tensor) or not any(o is a for a in args) or any(o is d for d in ctx._dirty):
        return o
    t = _make(o._data, o._device)
    t._version = o._version
    return t


def _record(cls, ctx, args, outs) -> None:
    edges = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            d = a._data
            edges.append(
                (a, LEAF, d.shape, d.dtype)
                if a._grad_fn is None
                else (a._grad_fn, a._output_nr, d.shape, d.dtype)
            )
        else:
            edges.append(None)
    ctx._edges = tuple(edges)
    ctx._single = len(edges) - edges.count(None) <= 1
    count_uses(ctx._edges)
    ctx._n_out = len(outs)
    in_meta = tuple(
        (a._data.shape, a._data.dtype, a._device) if isinstance(a, Tensor) else None for a in args
    )
    out_meta = tuple(
        (o._data.shape, o._data.dtype, o._device) if isinstance(o, Tensor) else None for o in outs
    )
    non_diff = ctx._non_diff
    for d in ctx._dirty:
        if d._requires_grad and d._grad_fn is None:
            raise RuntimeError("a leaf Variable that requires grad has been used in an in-place operation.")
        d._version[0] += 1
    for nr, o in enumerate(outs):
        if not isinstance(o, Tensor):
            continue
        if any(o is n for n in non_diff):
            o._requires_grad = False
            continue
        if not o.dtype.is_floating_point:
            continue
        o._grad_fn = ctx
        o._output_nr = nr
        o._requires_grad = True
    # saved tensors: inputs are kept as tensors, outputs as arrays (a tensor would point back at this node)
    values, checks = [], []
    for t in ctx._to_save:
        if t is None:
            values.append(None)
            continue
        if t._meta and t._meta.get("inference"):
            raise RuntimeError(INFERENCE_SAVE_ERROR)
        nr = next((i for i, o in enumerate(outs) if o is t), None)
        if nr is not None and t._grad_fn is ctx:
            values.append((t._data, t._version, t._device, nr))
            checks.append(((t._data, nr), t._version, t._version[0]))
        else:
            values.append(t)
            checks.append((t, t._version, t._version[0]))
    ctx._saved_values = tuple(values)
    ctx._saved = tuple(checks)
    ctx._to_save = ()
    ctx._fns = _backward_fn(cls, ctx, in_meta, out_meta)
    if anomaly_mode._enabled:
        anomaly_mode.record_trace(ctx)


def _backward_fn(cls, ctx, in_meta, out_meta):
    name = f"function {cls.__name__}Backward"
    n_in = len(in_meta)
    ref = weakref.ref(ctx)  # the node holds this function: a strong reference would be a cycle

    def backward(g):
        ctx = ref()
        grads = list(g) if type(g) is list else [g]
        for i, gi in enumerate(grads):
            if gi is None and out_meta[i] is not None and ctx._materialize:
                shape, dt, dev = out_meta[i]
                b = dev.backend
                with b.context(dev.index):
                    grads[i] = _make(b.xp.zeros(shape, dtype=dt), dev)
        result = cls.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != n_in:
            if len(result) > n_in and all(r is None for r in result[n_in:]):
                result = result[:n_in]
            else:
                raise RuntimeError(
                    f"{name} returned an incorrect number of gradients (expected {n_in}, got {len(result)})"
                )
        for i, (gx, meta) in enumerate(zip(result, in_meta, strict=True)):
            if gx is None:
                continue
            if meta is None:
                raise RuntimeError(
                    f"{name} returned a gradient different than None at position {i + 1}, but the "
                    "corresponding forward input was not a Variable"
                )
            if not isinstance(gx, Tensor):
                raise RuntimeError(
                    f"{name} returned a {type(gx).__name__} as gradient {i}; expected a Tensor or None"
                )
            if ctx._edges[i] is None:  # an input that does not require grad: dropped, as PyTorch
                result = result[:i] + (None,) + result[i + 1 :]
                continue
            shape, dt, dev = meta
            if gx._data.shape != shape:
                raise RuntimeError(
                    f"{name} returned an invalid gradient at index {i} - got {Size(gx._data.shape)} but "
                    "expected "
                    f"shape {Size(shape)} (gradlite does not broadcast the gradients of custom functions)"
                )
            if gx._data.dtype != dt:
                want = _name(dt)
                if not (gx.dtype.is_floating_point and want.is_floating_point):
                    raise RuntimeError(
                        f"{name} returned an invalid gradient at index {i} - expected dtype {want} but got "
                        f"{gx.dtype}"
                    )
                gx = gx.to(want)  # another floating dtype is cast, as PyTorch
                result = result[:i] + (gx,) + result[i + 1 :]
            if gx._device is not dev:
                raise RuntimeError(
                    f"{name} returned an invalid gradient at index {i} - expected device {dev} but got "
                    f"{gx._device}"
                )
        return result

    return backward


def _name(dt):
    class _A:  # _dtype_of reads ``.dtype``
        dtype = dt

    return _dtype_of(_A)


def once_differentiable(fn):
    """Decorator for ``backward``: run it without recording a graph (its result cannot be differentiated)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            return fn(ctx, *args)

    return wrapper
