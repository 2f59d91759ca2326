"""The backends' elementwise kernels (backends/_kernels.py).

On CuPy each formula is one fused kernel (``cupy.fuse``): compared here with the same formula run unfused,
one kernel per operator. On every device, the kernels the backend runs are compared with PyTorch's
gradients (the updates are compared through the optimizers, in tests/optim).
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.conftest import HAS_CUDA

# name -> the shapes of its array arguments and its scalar arguments (fixed, PyTorch-like values)
CASES = {
    "relu_grad": ((5, 7), (5, 7)),
    "tanh_grad": ((5, 7), (5, 7)),
    "sigmoid_grad": ((5, 7), (5, 7)),
    "softmax_grad": ((5, 7), (5, 7), (5, 1)),
    "log_softmax_grad": ((5, 7), (5, 7), (5, 1)),
    "sgd_step": ((5, 7), (5, 7), -0.1),
    "sgd_momentum_step": ((5, 7), (5, 7), (5, 7), 0.9, 0.8, -0.1),
    "sgd_nesterov_step": ((5, 7), (5, 7), (5, 7), 0.9, 1.0, -0.1),
    "adam_step": ((5, 7), (5, 7), (5, 7), (5, 7), 0.1, 0.999, 0.001, -0.05, 0.3, 1e-8),
    "amsgrad_step": ((5, 7), (5, 7), (5, 7), (5, 7), (5, 7), 0.1, 0.999, 0.001, -0.05, 0.3, 1e-8),
}


def _args(name, dtype, xp, seed=0):
    """Arguments for kernel ``name``: random arrays (second moments non-negative, as Adam keeps them)."""
    rng = np.random.default_rng(seed)
    out = []
    for i, spec in enumerate(CASES[name]):
        if isinstance(spec, tuple):
            a = rng.standard_normal(spec).astype(dtype)
            if name.startswith(("adam", "amsgrad")) and i >= 3:  # v, vmax
                a = a * a
            out.append(xp.asarray(a))
        else:
            out.append(spec)
    return out


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_kernel_matches_unfused_formula(name, dtype):
    import cupy
    from gradlite.backends import cupy_kernels

    fused, plain = getattr(cupy_kernels.FUSED, name), getattr(cupy_kernels.UNFUSED, name)
    assert type(getattr(cupy_kernels.KERNELS, name)).__name__ == "Fusion"  # a cupy.fuse kernel
    a, b = _args(name, dtype, cupy), _args(name, dtype, cupy)
    ra, rb = fused(*a), plain(*b)
    tol = {"float32": 1e-5, "float64": 1e-12}[dtype]
    if ra is not None or rb is not None:
        assert ra.dtype == rb.dtype == np.dtype(dtype)
        np.testing.assert_allclose(cupy.asnumpy(ra), cupy.asnumpy(rb), rtol=tol, atol=tol)
    for x, y in zip(a, b, strict=True):  # the arrays an update writes in place
        if isinstance(x, cupy.ndarray):
            np.testing.assert_allclose(cupy.asnumpy(x), cupy.asnumpy(y), rtol=tol, atol=tol)
    if name.endswith("_step"):  # an update changed its parameter
        assert not np.allclose(cupy.asnumpy(a[0]), cupy.asnumpy(_args(name, dtype, cupy)[0]))


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")
def test_cuda_backend_runs_the_fused_kernels():
    from gradlite.backends import cupy_kernels

    assert gradlite.device("cuda").backend.kernels is cupy_kernels.FUSED


@pytest.mark.parametrize("act", ["relu", "tanh", "sigmoid"])
def test_activation_kernels_match_torch(act, device, torch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6)).astype(np.float32)
    x[0, :2] = 0.0  # relu's gradient at 0 is 0 (PyTorch's choice)
    gy = rng.standard_normal((4, 6)).astype(np.float32)
    tx = torch.tensor(x, device=device, requires_grad=True)
    ty = getattr(torch, act)(tx)
    (expect,) = torch.autograd.grad(ty, tx, torch.tensor(gy, device=device))
    b = gradlite.device(device).backend
    got = getattr(b.kernels, f"{act}_grad")(b.from_host(gy), b.from_host(ty.detach().cpu().numpy()))
    np.testing.assert_allclose(b.to_host(got), expect.cpu().numpy(), rtol=1e-6, atol=1e-7)
    # and the op's backward runs it
    t = gradlite.tensor(x, device=device, requires_grad=True)
    getattr(gradlite, act)(t).backward(gradlite.tensor(gy, device=device))
    np.testing.assert_allclose(t.grad.cpu().numpy(), expect.cpu().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_kernels_match_torch(fn, dim, device, torch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6)).astype(np.float32) * 3
    gy = rng.standard_normal((4, 6)).astype(np.float32)
    tx = torch.tensor(x, device=device, requires_grad=True)
    (expect,) = torch.autograd.grad(getattr(torch, fn)(tx, dim), tx, torch.tensor(gy, device=device))
    t = gradlite.tensor(x, device=device, requires_grad=True)
    getattr(gradlite, fn)(t, dim).backward(gradlite.tensor(gy, device=device))
    np.testing.assert_allclose(t.grad.cpu().numpy(), expect.cpu().numpy(), rtol=1e-5, atol=1e-6)


def test_cross_entropy_gradient_goes_through_the_log_softmax_kernel(device, torch, monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    target = rng.integers(0, 5, 8)
    b = gradlite.device(device).backend
    calls = []
    plain = b.kernels.log_softmax_grad
    monkeypatch.setattr(b.kernels, "log_softmax_grad", lambda *a: calls.append(1) or plain(*a))
    t = gradlite.tensor(x, device=device, requires_grad=True)
    gradlite.nn.functional.cross_entropy(t, gradlite.tensor(target, device=device)).backward()
    tx = torch.tensor(x, device=device, requires_grad=True)
    torch.nn.functional.cross_entropy(tx, torch.tensor(target, device=device)).backward()
    assert calls == [1]
    np.testing.assert_allclose(t.grad.cpu().numpy(), tx.grad.cpu().numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize(
    "name", ["sgd_step", "sgd_momentum_step", "sgd_nesterov_step", "adam_step", "amsgrad_step"]
)
def test_optimizer_steps_get_their_factors_in_the_parameter_dtype(name, dtype):
    """The CUDA backend's steps pass Python-float factors to the fused kernel as numbers of the parameter's
    dtype (so CuPy computes a float32 update in float32): the wrapper, around the NumPy formula."""
    from backends._kernels import STEP_ARRAYS, formulas, scalars_in_param_dtype

    seen = []
    plain = getattr(formulas(np), name)

    def recording(*args):
        seen.extend(type(a) for a in args[STEP_ARRAYS[name]:])
        return plain(*args)

    a, b = _args(name, dtype, np), _args(name, dtype, np)
    scalars_in_param_dtype(recording, STEP_ARRAYS[name])(*a)
    plain(*b)
    assert seen and all(t is np.dtype(dtype).type for t in seen)
    for x, y in zip(a, b, strict=True):  # the same update, written in place
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(x, y, rtol={"float16": 1e-3}.get(dtype, 1e-6))


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("op", ["add", "sub", "mul", "truediv"])
def test_numpy_one_element_inplace_is_the_ufunc_bit_for_bit(op, dtype):
    """``ioperate`` computes one element on python floats (double) and rounds once into the array: the
    same bits as NumPy's own operator in the dtype, for values across the exponent range, subnormals,
    signed zeros, infinities and NaN; arrays of several elements and python numbers take the ufunc."""
    import operator

    from backends import _common
    from backends.numpy_backend import ioperate

    f = getattr(operator, op)
    dt = np.dtype(dtype)
    info = np.finfo(dt)
    rng = np.random.default_rng(0)
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, info.tiny, info.smallest_subnormal, info.max,
                        -info.max, info.eps, 1.0, -1.0, 3.0], dt)
    mant = rng.uniform(-2, 2, 4000)
    exps = rng.integers(info.minexp - info.nmant, info.maxexp, 4000)
    vals = np.concatenate([special, np.ldexp(mant, exps).astype(dt)])
    a, b = vals, rng.permutation(vals)
    if op == "truediv":
        b = np.where(b == 0, dt.type(3), b)  # (division keeps the ufunc either way; 0 checked below)
    with np.errstate(all="ignore"):
        want = f(a, b)
        got = np.empty_like(a)
        for i in range(a.size):
            for shape in ((), (1,), (1, 1)):
                dst, src = np.full(shape, a[i], dt), np.full(shape, b[i], dt)
                ioperate(dst, src, f)
                assert dst.shape == shape and dst.dtype == dt
            got[i] = dst.item()
        np.testing.assert_array_equal(got.view(f"u{dt.itemsize}"), want.view(f"u{dt.itemsize}"))
        # several elements, a python number, division by zero: NumPy's operators, in place
        many = np.array([1.5, -2.0, 0.0], dt)
        ioperate(many, np.array([0.25, 3.0, 0.0], dt), f)
        assert np.array_equal(many, f(np.array([1.5, -2.0, 0.0], dt), np.array([0.25, 3.0, 0.0], dt)),
                              equal_nan=True)
        one = np.array([0.1], dt)
        ioperate(one, 0.1, f)
        assert one[0] == f(np.array([0.1], dt), 0.1)[0]  # 0.1 rounded to the dtype first, as PyTorch
        zero = np.array([1.0], dt)
        ioperate(zero, np.array([0.0], dt), f)
        assert zero[0] == f(np.array([1.0], dt), np.array([0.0], dt))[0]
    ro = np.zeros(1, dt)
    ro.flags.writeable = False
    with pytest.raises(ValueError):
        ioperate(ro, np.ones(1, dt), f)
    with pytest.raises(ValueError):
        _common.ioperate(ro, np.ones(1, dt), f)
