"""In-place ops: ``add_``, ``mul_``, ``zero_``, ``+=``, ... built on one mechanism, ``assign``.

An in-place op computes its out-of-place result (recording the node with the tensor's current graph
position), writes the values into the tensor's storage (so views see them), bumps the version counter
(so a backward that saved the old values raises) and makes the tensor the node's output.
"""

from __future__ import annotations

from gradlite.autograd.grad_mode import state
from gradlite.ops import arithmetic as A
from gradlite.ops._base import apply, tensor_method
from gradlite.tensor import Tensor, _dtype_of

LEAF_ERROR = "a leaf Variable that requires grad is being used in an in-place operation."


def check_inplace(x: Tensor) -> None:
    """Raise when an in-place op would silently break autograd (a leaf that requires grad, in grad mode)."""
    if x._requires_grad and x._grad_fn is None and state.grad_enabled:
        raise RuntimeError(LEAF_ERROR)
    if x._meta and x._meta.get("inference") and not state.inference:
        raise RuntimeError("Inplace update to inference tensor outside InferenceMode is not allowed.")


def assign(x: Tensor, result: Tensor, op: str) -> Tensor:
    """Write ``result`` into ``x``'s storage and make ``x`` carry ``result``'s graph position."""
    xt, rt = _dtype_of(x._data), _dtype_of(result._data)
    if rt is not xt and rt.category > xt.category:
        raise RuntimeError(f"result type {_NAMES[rt.category]} can't be cast to the desired output type "
                           f"{_NAMES_T.get(xt.name, xt.name)} (in {op})")
    if result._data.shape != x._data.shape:
        raise RuntimeError(
            f"output with shape {list(x._data.shape)} doesn't match the broadcast shape {list(result._data.shape)}"
            f" (in {op})"
        )
    b = x._device.backend
    data = result._data if rt is xt else b.xp.astype(result._data, x._data.dtype)
    try:
        x._data[...] = data
    except ValueError as err:  # a broadcast (expanded) view: several elements share one memory location
        raise RuntimeError(
            f"unsupported operation: more than one element of the written-to tensor refers to a single memory "
            f"location. Please clone() the tensor before performing the operation (in {op})."
        ) from err
    x._version[0] += 1
    if result._grad_fn is not None:
        x._grad_fn = result._grad_fn
        x._output_nr = result._output_nr
        x._requires_grad = True
    return x


_NAMES = {0: "Bool", 1: "Long", 2: "Float"}
_NAMES_T = {"int64": "Long", "int32": "Int", "bool": "Bool", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "float32": "Float", "float64": "Double", "float16": "Half"}


def _inplace(fn, op):
    def method(x: Tensor, *args, **kwargs) -> Tensor:
        check_inplace(x)
        return assign(x, fn(x, *args, **kwargs), op)

    method.__name__ = op
    method.__doc__ = f"In-place ``{op.rstrip('_')}``; returns self."
    return method


for _name, _fn in {"add_": A.add, "sub_": A.sub, "mul_": A.mul, "div_": A.div, "pow_": A.pow}.items():
    setattr(Tensor, _name, _inplace(_fn, _name))
for _name, _fn in {"__iadd__": A.add, "__isub__": A.sub, "__imul__": A.mul, "__itruediv__": A.div,
                   "__ipow__": A.pow}.items():
    setattr(Tensor, _name, _inplace(_fn, _name))


@tensor_method()
def zero_(x: Tensor) -> Tensor:
    """Fill with zeros in place."""
    return fill_(x, 0)


@tensor_method()
def fill_(x: Tensor, value) -> Tensor:
    """Fill with ``value`` in place; the gradient w.r.t. the old values is zero."""
    check_inplace(x)
    if isinstance(value, Tensor):
        value = value.item()
    b = x._device.backend
    with b.context(x._device.index):
        data = b.xp.full(x._data.shape, value, dtype=x._data.dtype)
    if x._requires_grad and state.grad_enabled:
        result = apply("FillBackward0", data, (x,), (lambda gy: gy * 0,))
    else:
        from gradlite.tensor import _make

        result = _make(data, x._device)
    return assign(x, result, "fill_")


@tensor_method()
def copy_(x: Tensor, src: Tensor, non_blocking: bool = False) -> Tensor:
    """Copy ``src`` (broadcast, cast, moved to this device) into ``x`` in place; differentiable w.r.t. ``src``."""
    check_inplace(x)
    if not isinstance(src, Tensor):
        raise TypeError(f"copy_(): argument 'src' must be Tensor, not {type(src).__name__}")
    src = src.to(x._device).to(x.dtype)
    moved = src.expand(x._data.shape) if src._data.shape != x._data.shape else src
    result = apply("CopyBackwards", moved._data, (x, moved), (lambda gy: gy * 0, lambda gy: gy))
    return assign(x, result, "copy_")


@tensor_method()
def clone(x: Tensor, *, memory_format=None) -> Tensor:
    """A copy with its own storage; the gradient passes straight through."""
    data = x._device.backend.xp.asarray(x._data, copy=True)
    return apply("CloneBackward0", data, (x,), (lambda gy: gy,))
