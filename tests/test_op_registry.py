"""Generic op tests: every entry of the op registry (``tests/opinfo``) checked the same ways.

Per op x sample (x dtype x device): forward against the NumPy reference; values, dtype and device against
PyTorch; method and in-place variants; gradients against finite differences in float64 (``gradcheck``),
second derivatives (``gradgradcheck``) where claimed, gradients against PyTorch; inputs never mutated and
``.grad`` never aliasing the upstream gradient; error samples raising what they declare. A capability
claimed but missing fails, and so does one not claimed that silently works.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import gradlite as gl
from gradlite.autograd import GradcheckError, gradcheck, gradgradcheck
from tests.conftest import STANDIN, STRICT, to_numpy
from tests.opinfo import REGISTRY, Sample, load_all

load_all()
# GRADLITE_OPINFO_MODULES=elementwise,reductions restricts the run to those registry modules
_ONLY = os.environ.get("GRADLITE_OPINFO_MODULES")
OPS = [op for op in REGISTRY if _ONLY is None or op.module in _ONLY.split(",")]

try:
    import torch as _torch
except ImportError:  # torch parity checks skip themselves
    _torch = None

FLOATS = ("float16", "float32", "float64")
_SAMPLES: dict = {}
_ERRORS: dict = {}


def samples_of(op) -> list[Sample]:
    """The op's samples, drawn once from a fixed seed (collection and test see the same ones)."""
    if op.name not in _SAMPLES:
        _SAMPLES[op.name] = op.samples(np.random.default_rng(0))
    return _SAMPLES[op.name]


def errors_of(op) -> list:
    if op.name not in _ERRORS:
        _ERRORS[op.name] = op.errors(np.random.default_rng(0))
    return _ERRORS[op.name]


def _marks(op, extra: bool = False):
    """``slow`` for ops declared slow, and for the extra cases that ``-m "not slow"`` leaves out."""
    return [pytest.mark.slow] if op.slow or extra else []


def _sample_id(op, i, s) -> str:
    return f"{op.name}-{s.name or i}"


SAMPLE_CASES = [
    pytest.param(op, i, id=_sample_id(op, i, s), marks=_marks(op))
    for op in OPS
    for i, s in enumerate(samples_of(op))
]
# The quick run (-m "not slow") keeps every sample in the op's first dtype and every dtype on the first two
# samples; the full run checks every sample in every dtype, and gradgradcheck on every sample (quick: first).
DTYPE_CASES = [
    pytest.param(
        op,
        i,
        dt,
        id=f"{_sample_id(op, i, s)}-{dt}",
        marks=_marks(op, i >= 2 and dt != op.dtypes[0]),
    )
    for op in OPS
    for i, s in enumerate(samples_of(op))
    for dt in op.dtypes
    if s.dtypes is None or dt in s.dtypes
]
GRADGRAD_CASES = [
    pytest.param(op, i, id=_sample_id(op, i, s), marks=_marks(op, i > 0))
    for op in OPS
    for i, s in enumerate(samples_of(op))
]
ERROR_CASES = [
    pytest.param(op, j, id=f"{op.name}-{e.sample.name or j}", marks=_marks(op))
    for op in OPS
    for j, e in enumerate(errors_of(op))
]
OP_CASES = [pytest.param(op, id=op.name, marks=_marks(op)) for op in OPS]


# -- building the arguments -----------------------------------------------------------------------------
def _cast(a: np.ndarray, dtype: str, keep: bool) -> np.ndarray:
    """A sample array in the test's dtype; float arrays follow the dtype, others keep theirs."""
    if keep or a.dtype.kind != "f" or dtype == a.dtype.name:
        return a
    if dtype == "bool":
        return np.asarray(a > 0)
    if dtype not in FLOATS:
        return np.asarray(np.round(a * 3)).astype(dtype)
    return a.astype(dtype)


def prepare(sample: Sample, dtype: str):
    """The sample's args/kwargs with arrays cast for the test dtype (same layout: transposes stay so)."""

    def conv(a):
        if isinstance(a, np.ndarray):
            c = _cast(a, dtype, sample.keep_dtype)
            if a.ndim >= 2 and not a.flags.c_contiguous and a.T.flags.c_contiguous:
                c = np.ascontiguousarray(c.T).T  # keep it a transposed (non-contiguous) layout
            return c
        if isinstance(a, (list, tuple)):
            return type(a)(conv(v) for v in a)
        return a

    return conv(sample.args), {k: conv(v) for k, v in sample.kwargs.items()}


def _differentiable_positions(sample: Sample) -> set | None:
    return None if sample.grad is None else set(sample.grad)


def build(m, np_args, np_kwargs, device, sample, requires_grad: bool):
    """Tensors of module ``m`` (gradlite or torch) from prepared NumPy args; leaves listed in order."""
    leaves = []
    wanted = _differentiable_positions(sample)

    def make(a, grad_ok):
        rev = None
        if a.ndim >= 2 and not a.flags.c_contiguous and a.T.flags.c_contiguous:
            rev = tuple(reversed(range(a.ndim)))
            a = a.T
        t = m.tensor(np.array(a, copy=True), device=device)
        if rev is not None:
            t = t.permute(rev)
        if requires_grad and grad_ok and a.dtype.kind == "f":
            t = t.detach().requires_grad_(True)
            leaves.append(t)
        return t

    def conv(a, grad_ok):
        if isinstance(a, np.ndarray):
            return make(a, grad_ok)
        if isinstance(a, (list, tuple)):
            return type(a)(conv(v, grad_ok) for v in a)
        return a

    args = tuple(conv(a, wanted is None or i in wanted) for i, a in enumerate(np_args))
    kwargs = {k: conv(v, wanted is None) for k, v in np_kwargs.items()}
    return args, kwargs, leaves


def call(op, m, args, kwargs):
    if m is gl or op.torch_op is None:
        return op.op(m, *args, **kwargs)
    return op.torch_op(m, *args, **kwargs)


def outputs(out) -> list:
    """An op's result as a list (a tensor, or the tensors of a tuple / namedtuple, or a python value)."""
    if isinstance(out, (tuple, list)):
        return list(out)
    return [out]


def is_tensor(x) -> bool:
    return isinstance(x, gl.Tensor) or (_torch is not None and isinstance(x, _torch.Tensor))


def _skip_if(op, check: str, sample: Sample | None = None) -> None:
    if check in op.skips:
        pytest.skip(f"{op.name}: {op.skips[check]}")
    if sample is not None and check in sample.skip:
        pytest.skip(f"{op.name}, sample {sample.name}: {sample.skip[check]}")


def _torch_device(device):
    """Where the PyTorch reference runs: the test's device, or the CPU for the CuPy stand-in's cuda; None
    when there is no PyTorch for it (not installed, the strict backend, or CUDA without a PyTorch GPU)."""
    if _torch is None or STRICT:
        return None
    if device == "cuda" and not _torch.cuda.is_available():
        return "cpu" if STANDIN else None
    return device


def _need_torch(device):
    if STRICT:
        pytest.skip("torch parity does not run on the strict array-API backend")
    if _torch is None:
        pytest.skip("torch is not installed")
    if device == "cuda" and not _torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA device here")
    return _torch


def _tol(op, dtype):
    if dtype == "float16":
        return max(op.rtol, 1e-3), max(op.atol, 1e-3)
    return op.rtol, op.atol


def _compare(actual, expected, rtol, atol, what):
    a = to_numpy(actual) if is_tensor(actual) else np.asarray(actual)
    e = to_numpy(expected) if is_tensor(expected) else np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if a.dtype == bool or e.dtype == bool:
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(
            a.astype(np.float64), e.astype(np.float64), rtol=rtol, atol=atol, equal_nan=True, err_msg=what
        )


def _values(ts) -> list:
    return [to_numpy(t).copy() if is_tensor(t) else t for t in ts]


def _assert_unchanged(leaves_or_args, before, what):
    for k, (t, b) in enumerate(zip(leaves_or_args, before, strict=False)):
        if is_tensor(t):
            np.testing.assert_array_equal(to_numpy(t), b, err_msg=f"{what}: input {k} was mutated")


def _flat_tensors(args, kwargs) -> list:
    out = []

    def walk(a):
        if is_tensor(a):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            for v in a:
                walk(v)

    walk(args)
    walk(tuple(kwargs.values()))
    return out


def _raw(t):
    d = t._data
    return getattr(d, "_array", d)  # array_api_strict wraps a NumPy array


def _shares_memory(a, b) -> bool:
    x, y = _raw(a), _raw(b)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return np.shares_memory(x, y)
    import cupy

    return cupy.shares_memory(x, y)


# -- forward --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op, i, dtype", DTYPE_CASES)
def test_forward(op, i, dtype, device):
    """Values vs NumPy, method form, no input mutation; dtype, device and values vs PyTorch."""
    sample = samples_of(op)[i]
    _skip_if(op, "forward", sample)
    np_args, np_kwargs = prepare(sample, dtype)
    args, kwargs, _ = build(gl, np_args, np_kwargs, device, sample, requires_grad=False)
    inputs = _flat_tensors(args, kwargs)
    before = _values(inputs)
    out = outputs(call(op, gl, args, kwargs))
    _assert_unchanged(inputs, before, op.name)
    rtol, atol = _tol(op, dtype)
    for t in out:
        if is_tensor(t):
            assert t.device == gl.device(device) or (device == "cuda" and t.device.type == "cuda"), (
                f"{op.name}: output on {t.device}, inputs on {device}"
            )
    if op.ref is not None:
        expected = outputs(op.ref(np, *np_args, **np_kwargs))
        assert len(out) == len(expected), f"{op.name}: {len(out)} outputs, reference has {len(expected)}"
        for k, (a, e) in enumerate(zip(out, expected, strict=False)):
            _compare(a, e, rtol, atol, f"{op.name} output {k} vs NumPy")
    if (
        op.method is not None
        and "method" not in op.skips
        and "method" not in sample.skip
        and is_tensor(args[0])
    ):
        via_method = outputs(getattr(args[0], op.method)(*args[1:], **kwargs))
        for k, (a, e) in enumerate(zip(via_method, out, strict=False)):
            _compare(a, e, 0, 0, f"{op.name}: method .{op.method} output {k} vs function form")
    if (
        "torch" in op.skips
        or "torch" in sample.skip
        or _torch_device(device) is None
    ):
        return
    targs, tkwargs, _ = build(_torch, np_args, np_kwargs, _torch_device(device), sample, requires_grad=False)
    expected = outputs(call(op, _torch, targs, tkwargs))
    assert len(out) == len(expected), f"{op.name}: {len(out)} outputs, torch has {len(expected)}"
    for k, (a, e) in enumerate(zip(out, expected, strict=False)):
        assert is_tensor(a) == is_tensor(e), (
            f"{op.name} output {k}: {type(a).__name__} vs torch {type(e).__name__}"
        )
        if is_tensor(e):
            assert str(a.dtype).split(".")[-1] == str(e.dtype).split(".")[-1], (
                f"{op.name} output {k}: dtype {a.dtype}, torch gives {e.dtype}"
            )
            assert a.device.type == device.split(":")[0] and e.device.type == _torch_device(device), (
                f"{op.name} output {k}: device {a.device}, torch {e.device}"
            )
        _compare(a, e, rtol, atol, f"{op.name} output {k} vs torch")


# -- gradients ------------------------------------------------------------------------------------------
def _float_dtypes(op, sample: Sample | None = None) -> list:
    return [
        d
        for d in op.dtypes
        if d in ("float32", "float64") and (sample is None or sample.dtypes is None or d in sample.dtypes)
    ]


def _upstream(m, outs, device, rng):
    """Random upstream gradients (NumPy arrays) for the float outputs that require grad."""
    return [rng.standard_normal(tuple(o.shape)).astype(str(o.dtype).split(".")[-1]) for o in outs]


def _run_backward(m, op, sample, np_args, np_kwargs, device):
    """Forward + backward with random upstream gradients; returns (leaves, float outs, grads, checks)."""
    args, kwargs, leaves = build(m, np_args, np_kwargs, device, sample, requires_grad=True)
    inputs = _flat_tensors(args, kwargs)
    before = _values(inputs)
    outs = [o for o in outputs(call(op, m, args, kwargs)) if is_tensor(o) and o.dtype.is_floating_point]
    outs = [o for o in outs if o.requires_grad]
    gs_np = _upstream(m, outs, device, np.random.default_rng(1))
    gs = [m.tensor(g, device=device) for g in gs_np]
    if outs:
        m.autograd.backward(outs, gs)
    return leaves, inputs, before, outs, gs, gs_np


@pytest.mark.parametrize("op, i", SAMPLE_CASES)
def test_gradients(op, i, device):
    """Backward: matches PyTorch; never mutates inputs or the upstream gradient, never aliases it in .grad.

    A non-differentiable op must give outputs that do not require grad (as PyTorch) when inputs do.
    """
    sample = samples_of(op)[i]
    if not op.differentiable:
        _check_not_differentiable(op, sample, device)
        return
    _skip_if(op, "gradients", sample)
    for dtype in _float_dtypes(op, sample) or ["float32"]:
        np_args, np_kwargs = prepare(sample, dtype)
        leaves, inputs, before, outs, gs, gs_np = _run_backward(gl, op, sample, np_args, np_kwargs, device)
        if not leaves:
            pytest.skip(f"{op.name}: sample {sample.name or i} has no differentiable input")
        assert outs, f"{op.name} is declared differentiable but no floating output requires grad"
        _assert_unchanged(inputs, before, f"{op.name} (after backward)")
        for g, g0 in zip(gs, gs_np, strict=False):
            np.testing.assert_array_equal(
                to_numpy(g), g0, err_msg=f"{op.name}: backward mutated grad_outputs"
            )
        for k, leaf in enumerate(leaves):
            if leaf.grad is not None:
                for g in gs:
                    assert not _shares_memory(leaf.grad, g), (
                        f"{op.name}: .grad of input {k} aliases grad_outputs"
                    )
                assert leaf.grad.dtype == leaf.dtype and tuple(leaf.grad.shape) == tuple(leaf.shape)
        if (
            "torch" in op.skips
            or "torch" in sample.skip
            or _torch_device(device) is None
        ):
            continue
        tdev = _torch_device(device)
        tleaves, _, _, touts, _, _ = _run_backward(_torch, op, sample, np_args, np_kwargs, tdev)
        assert len(touts) == len(outs), (
            f"{op.name}: {len(outs)} differentiable outputs, torch has {len(touts)}"
        )
        rtol, atol = _tol(op, dtype)
        for k, (a, e) in enumerate(zip(leaves, tleaves, strict=False)):
            if e.grad is None:
                assert a.grad is None or not np.any(to_numpy(a.grad)), (
                    f"{op.name}: input {k} got a gradient, torch gives None"
                )
                continue
            assert a.grad is not None, f"{op.name}: input {k} got no gradient, torch gives one"
            _compare(a.grad, e.grad, rtol * 10, atol * 10, f"{op.name} grad of input {k} ({dtype}) vs torch")


def _check_not_differentiable(op, sample, device):
    """No output requires grad, or (as PyTorch's floor_divide) backward raises; as torch does when present."""
    dtype = (_float_dtypes(op) or ["float32"])[0]
    np_args, np_kwargs = prepare(sample, dtype)
    args, kwargs, leaves = build(gl, np_args, np_kwargs, device, sample, requires_grad=True)
    if not leaves:
        pytest.skip(f"{op.name}: sample has no floating input")
    outs = [o for o in outputs(call(op, gl, args, kwargs)) if is_tensor(o) and o.requires_grad]
    if not STRICT and _torch is not None and "torch" not in op.skips and device == "cpu":
        targs, tkwargs, _ = build(_torch, np_args, np_kwargs, device, sample, requires_grad=True)
        touts = [o for o in outputs(call(op, _torch, targs, tkwargs)) if is_tensor(o) and o.requires_grad]
        assert len(outs) == len(touts), f"{op.name}: {len(outs)} outputs require grad, torch has {len(touts)}"
    for o in outs:
        with pytest.raises(RuntimeError, match="derivative for .* is not implemented"):
            o.sum().backward()


def _gradcheck_setup(op, i, device):
    if not op.differentiable:
        pytest.skip(f"{op.name} is not differentiable (checked by test_gradients)")
    sample = samples_of(op)[i]
    if "float64" not in _float_dtypes(op, sample):
        pytest.skip(f"{op.name} (sample {sample.name or i}) does not run in float64")
    np_args, np_kwargs = prepare(sample, "float64")
    args, kwargs, leaves = build(gl, np_args, np_kwargs, device, sample, requires_grad=True)
    if not leaves:
        pytest.skip(f"{op.name}: sample {sample.name or i} has no differentiable input")
    ids = {id(t): k for k, t in enumerate(leaves)}

    def swap(a, xs):
        if is_tensor(a):
            return xs[ids[id(a)]] if id(a) in ids else a
        if isinstance(a, (list, tuple)):
            return type(a)(swap(v, xs) for v in a)
        return a

    def fn(*xs):
        out = call(op, gl, swap(args, xs), {k: swap(v, xs) for k, v in kwargs.items()})
        return tuple(o for o in outputs(out) if is_tensor(o))

    return fn, leaves


@pytest.mark.parametrize("op, i", SAMPLE_CASES)
def test_gradcheck(op, i, device):
    """Analytical gradients equal central finite differences (float64)."""
    _skip_if(op, "gradcheck", samples_of(op)[i])
    fn, leaves = _gradcheck_setup(op, i, device)
    assert gradcheck(fn, tuple(leaves), atol=op.gradcheck_atol, rtol=op.gradcheck_rtol)


@pytest.mark.parametrize("op, i", GRADGRAD_CASES)
def test_gradgradcheck(op, i, device):
    """Second derivatives pass gradgradcheck when claimed, and fail it when not claimed."""
    _skip_if(op, "gradgradcheck", samples_of(op)[i])
    fn, leaves = _gradcheck_setup(op, i, device)
    if op.supports_gradgrad:
        assert gradgradcheck(fn, tuple(leaves), atol=op.gradcheck_atol, rtol=op.gradcheck_rtol)
    else:
        with pytest.raises((GradcheckError, RuntimeError)):
            gradgradcheck(fn, tuple(leaves), atol=op.gradcheck_atol, rtol=op.gradcheck_rtol)


# -- in-place variant -----------------------------------------------------------------------------------
@pytest.mark.parametrize("op, i", SAMPLE_CASES)
def test_inplace(op, i, device):
    """``x.op_(...)`` returns x, holds the out-of-place result, bumps the version, and is differentiable."""
    if op.inplace is None:
        pytest.skip(f"{op.name} has no in-place variant")
    sample = samples_of(op)[i]
    _skip_if(op, "inplace", sample)
    dtype = (sample.dtypes or op.dtypes)[0]
    np_args, np_kwargs = prepare(sample, dtype)
    args, kwargs, _ = build(gl, np_args, np_kwargs, device, sample, requires_grad=False)
    expected = call(op, gl, args, kwargs)
    x = args[0]
    if not is_tensor(x):
        pytest.skip("first argument is not a tensor")
    if tuple(expected.shape) != tuple(x.shape) or expected.dtype != x.dtype:
        # the result cannot be written into x: PyTorch raises, and so must we
        with pytest.raises(RuntimeError):
            getattr(x.clone(), op.inplace)(*args[1:], **kwargs)
        return
    y = x.clone()
    v = y._version_count
    r = getattr(y, op.inplace)(*args[1:], **kwargs)
    assert r is y, f"{op.inplace} must return self"
    assert y._version_count > v, f"{op.inplace} must bump the version counter"
    _compare(y, expected, 0, 0, f"{op.inplace} vs {op.name}")
    if not op.differentiable or dtype not in ("float32", "float64"):
        return
    args, kwargs, leaves = build(gl, np_args, np_kwargs, device, sample, requires_grad=True)
    if not leaves:
        return
    g = gl.randn(*expected.shape, dtype=expected.dtype, device=device)
    x = args[0]
    if not x.requires_grad:
        return
    # the gradient w.r.t. the overwritten tensor (other operands constant) flows through the in-place op
    rest = [a.detach() if is_tensor(a) else a for a in args[1:]]
    out = call(op, gl, (x, *rest), kwargs)
    (ref,) = gl.autograd.grad(out, x, g)
    res = getattr(x * 1, op.inplace)(*rest, **kwargs)
    (got,) = gl.autograd.grad(res, x, g)
    _compare(got, ref, op.rtol, op.atol, f"{op.inplace}: grad of the first input")


# -- errors and capability claims ----------------------------------------------------------------------
@pytest.mark.parametrize("op, j", ERROR_CASES)
def test_errors(op, j, device):
    """Each error sample raises the declared exception with a message matching the declared pattern."""
    _skip_if(op, "errors")
    err = errors_of(op)[j]
    np_args, np_kwargs = prepare(err.sample, op.dtypes[0])
    args, kwargs, _ = build(gl, np_args, np_kwargs, device, err.sample, requires_grad=False)
    with pytest.raises(err.exc, match=err.match):
        call(op, gl, args, kwargs)
        if device == "cuda":  # a device-side check reports at the next synchronisation, as CUDA's asserts
            gl.cuda.synchronize()
    if err.match:
        re.compile(err.match)


@pytest.mark.parametrize("op", OP_CASES)
def test_declared_dtypes_match_torch(op, device):
    """Declared dtypes are exactly those among float/int/bool for which PyTorch runs the op (first sample)."""
    torch = _need_torch(device)
    _skip_if(op, "torch")
    samples = samples_of(op)
    if not samples:
        pytest.fail(f"{op.name} has no samples")
    sample = samples[0]
    for dtype in ("float32", "float64", "int64", "bool"):
        np_args, np_kwargs = prepare(sample, dtype)
        if not any(isinstance(a, np.ndarray) and a.dtype.name == dtype for a in _flat_np(np_args, np_kwargs)):
            continue  # the sample holds no array of this dtype: nothing to learn
        targs, tkwargs, _ = build(torch, np_args, np_kwargs, device, sample, requires_grad=False)
        try:
            call(op, torch, targs, tkwargs)
            torch_ok = True
        except (RuntimeError, TypeError, NotImplementedError):
            torch_ok = False
        if dtype in op.dtypes:
            assert torch_ok, f"{op.name} declares {dtype}, which torch rejects"
        elif torch_ok and dtype in ("float32", "float64"):
            pytest.fail(f"{op.name}: torch supports {dtype}; declare it")
        elif not torch_ok:
            args, kwargs, _ = build(gl, np_args, np_kwargs, device, sample, requires_grad=False)
            with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
                call(op, gl, args, kwargs)


def _flat_np(np_args, np_kwargs) -> list:
    out = []

    def walk(a):
        if isinstance(a, np.ndarray):
            out.append(a)
        elif isinstance(a, (list, tuple)):
            for v in a:
                walk(v)

    walk(np_args)
    walk(tuple(np_kwargs.values()))
    return out


def test_registry_is_consistent():
    """Every entry has samples, valid dtypes and check names; names are unique."""
    names = [op.name for op in REGISTRY]
    assert len(names) == len(set(names))
    known = {"forward", "torch", "gradients", "gradcheck", "gradgradcheck", "method", "inplace", "errors"}
    for op in REGISTRY:
        assert samples_of(op), f"{op.name} has no samples"
        assert set(op.dtypes) <= set(gl.dtypes.BY_NAME), f"{op.name}: unknown dtypes {op.dtypes}"
        assert set(op.skips) <= known, f"{op.name}: unknown skip keys {set(op.skips) - known}"
        for s in samples_of(op):
            assert set(s.skip) <= known, (
                f"{op.name}, sample {s.name}: unknown skip keys {set(s.skip) - known}"
            )
            assert s.dtypes is None or set(s.dtypes) <= set(op.dtypes), f"{op.name}, sample {s.name}: dtypes"
        if op.method is not None:
            assert hasattr(gl.Tensor, op.method), f"{op.name}: Tensor has no method {op.method!r}"
        if op.inplace is not None:
            assert hasattr(gl.Tensor, op.inplace), f"{op.name}: Tensor has no method {op.inplace!r}"
