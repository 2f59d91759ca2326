"""What every op uses: ``apply`` (the only code that records graph nodes), operand preparation with
PyTorch's promotion, and ``tensor_method`` (which makes an op a Tensor method too).

An op is a few lines: compute the forward on the arrays with the backend namespace of its inputs, then
``apply`` it with one backward function per input. Backward functions take the output gradient ``gy``
(and the output ``y`` when ``save_output=True``) and are written with gradlite ops, so they are
differentiable themselves (``create_graph=True``). The engine un-broadcasts their results centrally.
"""

from __future__ import annotations

from gradlite import dtypes
from gradlite.autograd import anomaly_mode
from gradlite.autograd.grad_mode import _State, state
from gradlite.autograd.node import LEAF, Node
from gradlite.dtypes import DIM, SCALAR, ZERO_DIM, promote, scalar_dtype
from gradlite.tensor import _DTYPE_OF, Tensor, _dtype_of, _make

_new = object.__new__

_SCALARS = (int, float, bool)
_PLAIN = frozenset((type(None), int, float, bool))  # saved values that are not tensors


def tensor_method(*names):
    """Register the decorated op as Tensor method(s): ``@tensor_method("__mul__", "mul")``."""

    def register(fn):
        for name in names or (fn.__name__,):
            setattr(Tensor, name, fn)
        return fn

    return register


def apply(name: str, data, inputs: tuple, fns: tuple, saved: tuple = (), save_output: bool = False,
          dev=None, args=None, rargs=None, rfns=None) -> Tensor:
    """Wrap ``data`` as the op's output and, when grad mode is on and an input requires grad, record a node.

    ``inputs`` may hold python scalars (they get no edge). ``fns[i]`` computes input i's gradient and is
    called only if input i requires grad. ``saved[i]`` is the tensor (or tuple of tensors) that ``fns[i]``
    reads: it is version-checked at backward, so an in-place change after the op raises there.
    The output lives on the first tensor input's device unless ``dev`` says otherwise (``to``).

    Two ways to write ``fns``. Closures: ``fn(gy)`` (``fn(gy, y)`` with ``save_output``), gradlite ops on
    gradlite tensors. Or module-level functions with ``args``: ``fn(gy, *args)`` (``fn(gy, *args, y)``),
    which the engine calls with tensors under ``create_graph`` and, otherwise, with ``rargs`` (the
    arrays; by default the arrays of ``args``) and plain arrays for ``gy``/``y``: no tensor is made and no
    op dispatched. The functions then serve both modes when they use only operators; ``rfns`` gives
    array versions where they do not.
    """
    # Hot path (every op): plain code, no generators, no getattr defaults, Node and Tensor made inline.
    x = inputs[0]
    if dev is None:
        if isinstance(x, Tensor):
            dev = x._device
        else:
            for t in inputs:
                if isinstance(t, Tensor):
                    dev = t._device
                    break
    b = dev.backend
    if data.__class__ is not b.array_type:
        data = b.xp.asarray(data)
    if not state.grad_enabled:  # (``_make``, inlined: the optimizer's arithmetic comes here)
        out = _new(Tensor)
        out._data = data
        out._device = dev
        out._requires_grad = False
        out._grad = out._grad_fn = None
        out._output_nr = 0
        out._version = [0]
        # (the class flag first: a plain attribute, cheaper than the thread-local one)
        out._meta = {"inference": True} if _State.inference_used and state.inference else None
        return out
    n = len(inputs)
    checks = ()
    single = True  # whether one input at most gets a gradient (the engine: then it may be the output's own)
    if n == 1:  # unary ops: the input is a tensor
        if not x._requires_grad:
            return _make(data, dev)
        fn = x._grad_fn
        xd = x._data
        if fn is None:
            edges = ((x, LEAF, xd.shape, xd.dtype),)
        else:
            fn._uses += 1
            edges = ((fn, x._output_nr, xd.shape, xd.dtype),)
        if saved:
            s = saved[0]
            if s.__class__ is Tensor:
                v = s._version
                checks = ((s, v, v[0]),)
            elif s is not None:
                checks = _checks(saved, edges)
    elif n == 2:  # binary ops: either operand may be a python scalar
        y = inputs[1]
        ex = ey = None
        if isinstance(x, Tensor) and x._requires_grad:
            fn = x._grad_fn
            xd = x._data
            if fn is None:
                ex = (x, LEAF, xd.shape, xd.dtype)
            else:
                fn._uses += 1
                ex = (fn, x._output_nr, xd.shape, xd.dtype)
        if isinstance(y, Tensor) and y._requires_grad:
            fn = y._grad_fn
            yd = y._data
            if fn is None:
                ey = (y, LEAF, yd.shape, yd.dtype)
            else:
                fn._uses += 1
                ey = (fn, y._output_nr, yd.shape, yd.dtype)
            single = ex is None
        elif ex is None:
            return _make(data, dev)
        edges = (ex, ey)
        if saved:
            s0 = saved[0] if ex is not None else None
            s1 = saved[1] if ey is not None else None
            c0, c1 = s0.__class__, s1.__class__
            if c0 is Tensor and c1 in _PLAIN:  # (the common cases without a list)
                v = s0._version
                checks = ((s0, v, v[0]),)
            elif c1 is Tensor and c0 in _PLAIN:
                v = s1._version
                checks = ((s1, v, v[0]),)
            elif c0 is Tensor and c1 is Tensor:
                v = s0._version
                v1 = s1._version
                checks = ((s0, v, v[0]), (s1, v1, v1[0]))
            elif c0 not in _PLAIN or c1 not in _PLAIN:
                checks = _checks(saved, edges)
    else:
        edges = None
        i = 0
        for x in inputs:
            if isinstance(x, Tensor) and x._requires_grad:
                if edges is None:
                    edges = [None] * n
                fn = x._grad_fn
                xd = x._data
                if fn is None:
                    edges[i] = (x, LEAF, xd.shape, xd.dtype)
                else:
                    fn._uses += 1
                    edges[i] = (fn, x._output_nr, xd.shape, xd.dtype)
            i += 1
        if edges is None:
            return _make(data, dev)
        single = n - edges.count(None) <= 1
        edges = tuple(edges)
        if saved:
            checks = _checks(saved, edges)
    if checks and _State.inference_used:
        _no_inference_saved(checks)
    node = _new(Node)  # Node.__init__, inlined; one class for every op (see Node), the name kept
    node._name = name
    node._fns = fns
    node._edges = edges
    node._saved = checks
    node._out = None
    node._n_out = 1
    node._uses = 0
    node._single = single
    node._dev = dev
    node._args = args
    node._rargs = rargs
    node._rfns = rfns
    node._hx = None
    out = _new(Tensor)  # _make, inlined
    out._data = data
    out._device = dev
    out._requires_grad = True
    out._grad = None
    out._grad_fn = node
    out._output_nr = 0
    out._version = v = [0]
    out._meta = None  # (recording: not in inference mode)
    if save_output:
        node._out = (data, v, dev)
        node._saved = checks + ((None, v, 0),)
    if anomaly_mode._enabled:
        anomaly_mode.record_trace(node)
    return out


def _checks(saved: tuple, edges: tuple) -> tuple:
    """``((tensor, version_counter, version), ...)`` of the saved tensors of the inputs that need a gradient
    (``saved[i]``: None, a tensor, or a tuple of tensors and other values)."""
    checks = []
    i = 0
    for s in saved:
        if s is not None and edges[i] is not None:
            if isinstance(s, Tensor):
                v = s._version
                checks.append((s, v, v[0]))
            elif isinstance(s, tuple):
                for t in s:
                    if isinstance(t, Tensor):
                        v = t._version
                        checks.append((t, v, v[0]))
        i += 1
    return tuple(checks)


def _no_inference_saved(checks) -> None:
    for t, _, _ in checks:
        if t._meta and t._meta.get("inference"):
            from gradlite.autograd.grad_mode import INFERENCE_SAVE_ERROR

            raise RuntimeError(INFERENCE_SAVE_ERROR)


def _tier(a) -> int:
    return DIM if a.shape else ZERO_DIM


def operands(x, y, op: str):
    """``(xd, yd)``: the arrays (or python scalars) of a binary op's operands, cast to PyTorch's result type.

    Raises RuntimeError when the tensors live on different devices, TypeError for unsupported operands.
    """
    yc = y.__class__
    if (yc is float or yc is int) and isinstance(x, Tensor):  # fast path: a floating tensor with a python
        xd = x._data  # float or int keeps its dtype
        d = _DTYPE_OF.get(xd.dtype)
        if d is not None and d.is_floating_point:
            return xd, y
    xt, yt = isinstance(x, Tensor), isinstance(y, Tensor)
    if xt and yt:
        if x._device is not y._device:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{x._device} and {y._device}! (when checking arguments for {op})"
            )
        xd, yd = x._data, y._data
        xs, ys = xd.shape, yd.shape
        if xs != ys and (xs, ys) not in _BROADCASTS:  # (the pairs seen before need no call)
            check_broadcast(xs, ys)
        if xd.dtype is not yd.dtype and xd.dtype != yd.dtype:
            xt_, yt_ = _dtype_of(xd), _dtype_of(yd)
            r = promote(xt_, _tier(xd), yt_, _tier(yd))
            xp = x._device.backend.xp
            if r is not xt_:
                xd = xp.astype(xd, _bdtype(x, r))
            if r is not yt_:
                yd = xp.astype(yd, _bdtype(y, r))
        return xd, yd
    if xt:
        if type(y) not in _SCALARS:
            _bad(x, y, op)
        return _with_scalar(x, y), (y if yc is not int or 0 <= y <= 127 else wrap_int(_dtype_of(x._data), y))
    if yt:
        if type(x) not in _SCALARS:
            _bad(y, x, op)
        xs = x if x.__class__ is not int or 0 <= x <= 127 else wrap_int(_dtype_of(y._data), x)
        return xs, _with_scalar(y, x)
    raise TypeError(
        f"{op}: expected at least one Tensor operand, got {type(x).__name__} and {type(y).__name__}"
    )


_BROADCASTS: set = set()  # shape pairs known to broadcast (a training loop meets the same few)


def check_broadcast(xs: tuple, ys: tuple) -> None:
    """Raise PyTorch's RuntimeError when shapes ``xs`` and ``ys`` cannot broadcast together (and remember
    the pairs that can, in ``_BROADCASTS``)."""
    n = max(len(xs), len(ys))
    for i in range(1, n + 1):
        a = xs[-i] if i <= len(xs) else 1
        b = ys[-i] if i <= len(ys) else 1
        if a != b and a != 1 and b != 1:
            raise RuntimeError(
                f"The size of tensor a ({a}) must match the size of tensor b ({b}) at non-singleton "
                f"dimension {n - i}"
            )
    if len(_BROADCASTS) < 4096:
        _BROADCASTS.add((xs, ys))


# value ranges of the integer dtypes, and the C names PyTorch's overflow errors give them
_INT_RANGE = {
    name: (-(2 ** (8 * n - 1)), 2 ** (8 * n - 1) - 1, f"int{8 * n}_t" if n != 4 else "int")
    for name, n in (("int8", 1), ("int16", 2), ("int32", 4), ("int64", 8))
}
_INT_RANGE["uint8"] = (0, 255, "uint8_t")


def wrap_int(d: dtypes.dtype, s):
    """A python int operand of the arithmetic or comparison of a tensor of dtype ``d``, wrapped into an
    integer dtype's range as PyTorch does (``uint8 + -1`` is ``uint8 + 255``, ``uint8 > -1`` is False); NumPy
    would raise OverflowError. An int beyond 64 bits is left to raise there, as in PyTorch."""
    r = _INT_RANGE.get(d.name) if s.__class__ is int else None
    if r is None or r[0] <= s <= r[1] or not -(2**63) <= s < 2**64:
        return s
    return (s - r[0]) % (r[1] - r[0] + 1) + r[0]


def checked_int(d: dtypes.dtype, s):
    """A python int bound or fill value for a tensor of dtype ``d``, as PyTorch converts it: RuntimeError
    beyond an integer dtype's range, where an unsigned dtype also takes negatives down to -max (wrapped: -1 is
    255). Other values and dtypes pass unchanged."""
    r = _INT_RANGE.get(d.name) if s.__class__ is int else None
    if r is None or r[0] <= s <= r[1]:
        return s
    if r[0] == 0 and -r[1] <= s < 0:
        return s + r[1] + 1
    raise RuntimeError(f"value cannot be converted to type {r[2]} without overflow")


def _with_scalar(t: Tensor, s):
    """The tensor's array, cast when a python scalar of a higher category decides the result type.

    Python scalars never upcast within their category (float32 * 2.5 stays float32), as in PyTorch;
    NumPy's weak scalars (NEP 50) then give the same dtype for the op itself.
    """
    td = _dtype_of(t._data)
    if scalar_dtype(s).category <= td.category:
        return t._data
    r = promote(td, DIM, scalar_dtype(s), SCALAR)
    return t._device.backend.xp.astype(t._data, _bdtype(t, r))


def _bad(t, other, op):
    raise TypeError(
        f"unsupported operand type(s) for {op}: 'Tensor' and '{type(other).__name__}'"
    )


def _bdtype(t: Tensor, d: dtypes.dtype):
    return t._device.backend.dtype(d.name)
