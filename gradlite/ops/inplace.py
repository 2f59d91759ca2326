"""In-place ops: ``add_``, ``mul_``, ``zero_``, ``+=``, ... built on one mechanism, ``assign``.

An in-place op computes its out-of-place result (recording the node with the tensor's current graph
position), writes the values into the tensor's storage (so views see them), bumps the version counter
(so a backward that saved the old values raises) and makes the tensor the node's output.
"""

from __future__ import annotations

import operator

from gradlite.autograd import views
from gradlite.autograd.grad_mode import no_grad, state
from gradlite.autograd.node import NOT_IMPLEMENTED, zero
from gradlite.ops import arithmetic as A
from gradlite.ops._base import apply, checked_int, tensor_method
from gradlite.tensor import _DTYPE_OF, Tensor, _dtype_of, _make

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


OVERLAP_ERROR = (
    "unsupported operation: more than one element of the written-to tensor refers to a single memory "
    "location. Please clone() the tensor before performing the operation."
)


def _overlap_error(op: str | None) -> RuntimeError:
    return RuntimeError(OVERLAP_ERROR[:-1] + (f" (in {op})." if op else "."))


def check_inplace(x: Tensor, op: str | None = None) -> None:
    """Raise when an in-place op would silently break autograd (a leaf that requires grad, in grad mode) or
    write one memory location for several elements (an expanded view)."""
    m = x._meta
    root = m.get("base") if m else None
    if state.grad_enabled:
        if x._requires_grad and x._grad_fn is None:
            raise RuntimeError(LEAF_ERROR)
        if root is not None:
            views.check_view_inplace(x, root)
    if root is not None and shares_elements(x._data):
        raise _overlap_error(op)
    if m and m.get("inference") and not state.inference:
        raise RuntimeError(
            "Inplace update to inference tensor outside InferenceMode is not allowed.You can make a clone to "
            "get "
            "a normal tensor before doing inplace update."
        )


PARTIAL_OVERLAP_ERROR = (
    "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
    "memory location. Please clone() the tensor before performing the operation."
)


def check_overlap(x: Tensor, y: Tensor) -> None:
    """Raise, as PyTorch, when the operand ``y`` of an in-place op on ``x`` partly overlaps ``x``
    (``x.sub_(x[-1])``: the result would depend on the order elements are written in). Only views of one
    root are compared; as PyTorch, an operand that is exactly ``x``'s elements is fine and one that is not
    dense is not checked."""
    xm, ym = x._meta, y._meta
    if y is x or not (xm or ym):
        return
    xr, yr = xm.get("base") if xm else None, ym.get("base") if ym else None
    if (x if xr is None else xr) is not (y if yr is None else yr):
        return
    xd, yd = x._data, y._data
    if not (_dense(xd) and _dense(yd)):
        return
    xb, yb = views._pointer(xd), views._pointer(yd)
    xe, ye = xb + xd.nbytes, yb + yd.nbytes
    if (xb == yb and xe == ye and xd.strides == yd.strides) or xb >= ye or yb >= xe:
        return
    raise RuntimeError(PARTIAL_OVERLAP_ERROR)


def _dense(a) -> bool:
    """PyTorch's ``is_non_overlapping_and_dense`` (False for an empty array: it overlaps nothing)."""
    st = getattr(a, "strides", None)
    if st is None or a.size == 0:
        return False
    expected = a.itemsize
    for s, n in sorted((s, n) for s, n in zip(st, a.shape, strict=True) if n != 1):
        if s != expected:
            return False
        expected *= n
    return True


def shares_elements(a) -> bool:
    """Whether several elements of array ``a`` are one memory location (a zero stride on a dim longer than
    1: an expanded view). Checked before every in-place write, on every backend: NumPy marks such views
    read-only, CuPy does not, so a write there would silently land in every element that shares it."""
    st = getattr(a, "strides", None)
    if not st or 0 not in st or a.size < 2:  # (an empty array's strides may be anything)
        return False
    for s, n in zip(st, a.shape, strict=True):
        if s == 0 and n > 1:
            return True
    return False


def assign(x: Tensor, result: Tensor, op: str) -> Tensor:
    """Write ``result`` into ``x``'s storage and make ``x`` carry ``result``'s graph position."""
    xt, rt = _dtype_of(x._data), _dtype_of(result._data)
    if rt is not xt and rt.category > xt.category:
        raise RuntimeError(
            f"result type {_NAMES[rt.category]} can't be cast to the desired output type "
            f"{_NAMES_T.get(xt.name, xt.name)} (in {op})"
        )
    if result._data.shape != x._data.shape:
        raise RuntimeError(
            f"output with shape {list(x._data.shape)} doesn't match the broadcast shape "
            f"{list(result._data.shape)}"
            f" (in {op})"
        )
    b = x._device.backend
    data = result._data if rt is xt else b.xp.astype(result._data, x._data.dtype)
    if shares_elements(x._data):
        raise _overlap_error(op)
    try:
        x._data[...] = data
    except ValueError as err:  # a read-only array without strides (array_api_strict's broadcast views)
        if x._data.size:  # an empty broadcast view (NumPy marks it read-only too) has nothing to write
            raise _overlap_error(op) from err
    x._version[0] += 1
    node = result._grad_fn
    if node is not None:
        if node._out is not None and node._out[0] is result._data:
            # the node saved its output, which is now x: later in-place changes of x must be caught
            node._out = (x._data, x._version, x._device)
            node._saved = node._saved[:-1] + ((None, x._version, x._version[0]),)
        root = x._meta and x._meta.get("base")
        if root is not None:
            views.rebase(x, root, result)
        else:
            old_fn, old_nr = x._grad_fn, x._output_nr
            x._grad_fn = node
            x._output_nr = result._output_nr
            x._requires_grad = True
            if x._meta:
                views.move_retain_grad(x, old_fn, old_nr)
            if x._meta and x._meta.get("views"):
                views.regenerate_views(x)
    return x


_NAMES = {0: "Bool", 1: "Long", 2: "Float"}
_NAMES_T = {
    "int64": "Long",
    "int32": "Int",
    "bool": "Bool",
    "int16": "Short",
    "int8": "Char",
    "uint8": "Byte",
    "float32": "Float",
    "float64": "Double",
    "float16": "Half",
}


# out-of-place op -> its operator (``backend.ioperate`` applies it in place)
_FAST_OPS = {A.add: operator.add, A.sub: operator.sub, A.mul: operator.mul, A.div: operator.truediv}


def in_place(fn, x: Tensor, args: tuple, kwargs: dict | None = None, saves_self: bool = False,
             op: str | None = None) -> Tensor:
    """``fn(x, *args)`` computed out of place and written back into ``x`` with ``assign``.

    ``saves_self``: the op's backward reads its input's values (``mul``: d/d other = self), which the
    write would destroy; the op then runs on a copy holding the original values (PyTorch's
    ``original_self``), so ``y *= w`` stays differentiable.
    """
    check_inplace(x, op)
    for a in args:
        if isinstance(a, Tensor):
            check_overlap(x, a)
    src = x
    if saves_self and state.grad_enabled and (
        x._requires_grad or any(getattr(a, "_requires_grad", False) for a in args)
    ):
        src = _make(x._device.backend.xp.asarray(x._data, copy=True), x._device, x._requires_grad, x._grad_fn)
        src._output_nr = x._output_nr
    return assign(x, fn(src, *args, **(kwargs or {})), op or f"{getattr(fn, '__name__', 'op')}_")


def _inplace(fn, op, saves_self=False):
    """The in-place method ``op`` of the out-of-place ``fn`` (a function, or a Tensor method's name)."""

    def general(x: Tensor, *args, **kwargs) -> Tensor:
        f = getattr(Tensor, fn) if isinstance(fn, str) else fn  # ops of other files are looked up late
        return in_place(f, x, args, kwargs, saves_self, op)

    fast = _FAST_OPS.get(fn) if not isinstance(fn, str) else None
    if fast is None:
        method = general
    else:
        def one(x: Tensor, y) -> Tensor:
            """``x op= y`` as one in-place array op when no graph is recorded and nothing is cast (the
            optimizer step ``p -= lr * p.grad``): no temporary result and no copy back, so a step's peak
            memory is NumPy's. Taken for a floating ``x`` with a python number, or with a tensor of its
            dtype and device whose shape broadcasts into x's; any other case (errors included) is the
            general path's."""
            if x._meta:
                check_inplace(x, op)
            xd = x._data
            if y.__class__ is float or y.__class__ is int:
                if state.grad_enabled and x._requires_grad:
                    return general(x, y)
                yd = y
            elif isinstance(y, Tensor):
                if state.grad_enabled and (x._requires_grad or y._requires_grad):
                    return general(x, y)
                if y._meta or x._meta:
                    check_overlap(x, y)
                yd = y._data
                if y._device is not x._device or (yd.dtype is not xd.dtype and yd.dtype != xd.dtype):
                    return general(x, y)
                xs, ys = xd.shape, yd.shape
                if ys != xs:
                    if len(ys) > len(xs):
                        return general(x, y)
                    for a, b in zip(reversed(ys), reversed(xs), strict=False):  # trailing dims
                        if a != b and a != 1:
                            return general(x, y)
            else:
                return general(x, y)
            if not (_DTYPE_OF.get(xd.dtype) or _dtype_of(xd)).is_floating_point:
                return general(x, y)
            try:
                x._device.backend.ioperate(xd, yd, fast)
            except ValueError:  # a read-only (expanded) array: the general path raises PyTorch's error
                return general(x, y)
            x._version[0] += 1
            return x

        if op.startswith("__"):  # ``x op= y``: one operand, no keywords
            method = one
        else:

            def method(x: Tensor, *args, **kwargs) -> Tensor:
                if len(args) == 1 and not kwargs:
                    return one(x, args[0])
                return general(x, *args, **kwargs)

    method.__name__ = op
    method.__doc__ = f"In-place ``{op.strip('_')}``; returns self."
    return method


# (out-of-place op, whether its backward reads the input's values)
_INPLACE = {
    "add_": (A.add, False),
    "sub_": (A.sub, False),
    "mul_": (A.mul, True),
    "div_": (A.div, True),
    "pow_": (A.pow, True),
    "__iadd__": (A.add, False),
    "__isub__": (A.sub, False),
    "__imul__": (A.mul, True),
    "__itruediv__": (A.div, True),
    "__ipow__": (A.pow, True),
    "exp_": ("exp", False),
    "tanh_": ("tanh", False),
    "sigmoid_": ("sigmoid", False),
    "relu_": ("relu", False),
    "clamp_": ("clamp", True),
    "masked_fill_": ("masked_fill", False),
    "index_add_": ("index_add", False),
    "scatter_": ("scatter", False),
    "scatter_add_": ("scatter_add", False),
    "scatter_reduce_": ("scatter_reduce", True),
    "neg_": (A.neg, False),
}
# The other elementwise ops, their scans and triangles in place: the op out of place (on a copy of the
# input when its backward needs the old values), written back with ``assign``. (Comparisons and logical
# ops are not here: their results have no gradient, and writing one would leave x's old history behind.)
_ELEMENTWISE = (
    "abs absolute acos arccos arcsin arctan asin atan ceil cos cosh erf erfc exp2 expm1 fix floor frac log10 "
    "log1p log2 log negative reciprocal round rsqrt sign sin sinh sqrt square tan trunc atan2 arctan2 "
    "clamp_max clamp_min divide true_divide subtract fmod remainder lerp cumsum cumprod tril triu"
).split()
for _op in _ELEMENTWISE:
    _INPLACE[_op + "_"] = (_op, True)


def _underived(op: str, node: str, error: type, message: str):
    """``op`` recorded as ``node`` whose backward raises: PyTorch implements no derivative for the in-place
    inverse hyperbolic functions nor for ``floor_divide_`` (their values are as usual)."""

    def fails(gy):
        raise error(message)

    def fn(x: Tensor, *args) -> Tensor:
        with no_grad():
            y = getattr(Tensor, op)(x, *args)
        return apply(node, y._data, (x, *args), (fails,) * (1 + len(args)))

    return fn


for _op, _alias in (("acosh", "arccosh"), ("asinh", "arcsinh"), ("atanh", "arctanh")):
    _f = _underived(_op, _op.capitalize() + "Backward1", NotImplementedError,
                    f"the derivative for 'inplace version of {_op}' is not implemented.")
    _INPLACE[_op + "_"] = _INPLACE[_alias + "_"] = (_f, False)
_f = _underived("floor_divide", NOT_IMPLEMENTED, RuntimeError,
                "derivative for aten::floor_divide_ is not implemented")
_INPLACE["floor_divide_"] = (_f, False)
for _name, (_fn, _saves) in _INPLACE.items():
    setattr(Tensor, _name, _inplace(_fn, _name, _saves))
Tensor.clip_ = Tensor.clamp_


@tensor_method()
def zero_(x: Tensor) -> Tensor:
    """Fill with zeros in place."""
    if not x._meta and not (x._requires_grad and state.grad_enabled):  # ``grad.zero_()``: nothing to check
        try:
            x._data.fill(0)  # (a third cheaper than ``[...] = 0`` on NumPy)
        except (ValueError, AttributeError):  # a read-only (expanded) array: the general path raises
            pass  # PyTorch's error; an array type without ``fill`` takes it too
        else:
            x._version[0] += 1
            return x
    return _fill(x, 0, "ZeroBackward0", "zero_")


@tensor_method()
def fill_(x: Tensor, value) -> Tensor:
    """Fill with ``value`` (a number or 0-d tensor) in place; the gradient w.r.t. the old values is zero."""
    return _fill(x, value, "FillBackward2", "fill_")


def _fill(x: Tensor, value, name: str, op: str) -> Tensor:
    check_inplace(x, op)
    b = x._device.backend
    if isinstance(value, Tensor):  # a 0-d tensor value stays on the device (no host sync)
        if value.dim() != 0:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} dimensions."
            )
        if value._device is not x._device:
            raise RuntimeError(f"fill_: value is on {value._device} but the tensor is on {x._device}")
        data = b.xp.astype(b.xp.broadcast_to(value._data, x._data.shape), x._data.dtype, copy=True)
        # d/d value = the sum of the incoming gradient (value was broadcast everywhere)
        result = apply("FillBackward3", data, (x, value), (zero, lambda gy: gy.sum()))
    else:
        if value.__class__ is int:  # converted as PyTorch: -1 is 255 for uint8, 300 raises
            value = checked_int(_dtype_of(x._data), value)
        if not (state.grad_enabled and x._requires_grad):  # nothing to record: write in place, no temporary
            try:
                x._data[...] = value
            except ValueError:  # a read-only (expanded) array: the general path raises PyTorch's error
                pass
            else:
                x._version[0] += 1
                return x
        with b.context(x._device.index):
            data = b.xp.full(x._data.shape, value, dtype=x._data.dtype)
        result = apply(name, data, (x,), (zero,))
    return assign(x, result, op)


@tensor_method()
def copy_(x: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved to this device) into ``x`` in place; differentiable in ``src``."""
    check_inplace(x, "copy_")
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    check_overlap(x, src)
    src = src.to(x._device).to(x.dtype)
    moved = src.expand(x._data.shape) if src._data.shape != x._data.shape else src
    result = apply("CopyBackwards", moved._data, (x, moved), (zero, lambda gy: gy))
    return assign(x, result, "copy_")


@tensor_method()
def clone(x: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own storage; the gradient passes straight through. Its layout is x's (a transposed
    tensor stays transposed), except that an expanded tensor becomes contiguous, as PyTorch's
    ``preserve_format``: the copy of a broadcast view can then be viewed to any shape."""
    xp, xd = x._device.backend.xp, x._data
    if 0 in getattr(xd, "strides", ()) and xd.size > 1:
        data = xp.reshape(xd, xd.shape, copy=True)  # (a copy in C order)
    else:
        data = xp.asarray(xd, copy=True)
    return apply("CloneBackward0", data, (x,), (lambda gy: gy,))
