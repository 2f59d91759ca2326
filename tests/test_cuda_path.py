"""The CUDA path (issue 16): what broke or was missing on CuPy, each written once over both devices and
compared with PyTorch's CPU build where a value is involved.

Without a GPU the ``cuda`` half runs on the CPU stand-in for CuPy (tests/cupy_standin); on a GPU, on CuPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.conftest import assert_close, to_numpy


# -- randint(dtype=bool) ------------------------------------------------------------------------------
def test_randint_bool(device):
    x = gradlite.randint(0, 2, (400,), dtype=gradlite.bool, device=device)
    assert x.dtype is gradlite.bool and x.device == gradlite.device(device if device == "cpu" else "cuda:0")
    v = to_numpy(x)
    assert v.dtype == np.bool_ and v.any() and not v.all()
    assert to_numpy(gradlite.randint(1, 2, (5,), dtype=gradlite.bool, device=device)).all()


@pytest.mark.parametrize(("low", "high", "dtype", "message"), [
    (0, 3, "bool", "to - 1 is out of bounds for bool"),
    (-1, 1, "bool", "from is out of bounds for bool"),
    (0, 300, "uint8", "to - 1 is out of bounds for unsigned char"),
    (-1, 5, "uint8", "from is out of bounds for unsigned char"),
    (-200, 0, "int8", "from is out of bounds for signed char"),
    (0, 2**40, "int32", "to - 1 is out of bounds for int"),
])
def test_randint_range_errors_as_torch(low, high, dtype, message, device, torch_cpu):
    with pytest.raises(RuntimeError, match=message):
        torch_cpu.randint(low, high, (3,), dtype=getattr(torch_cpu, dtype))
    with pytest.raises(RuntimeError, match=message):
        gradlite.randint(low, high, (3,), dtype=getattr(gradlite, dtype), device=device)


def test_randint_float_dtype(device):
    x = gradlite.randint(0, 5, (50,), dtype=gradlite.float32, device=device)
    v = to_numpy(x)
    assert v.dtype == np.float32 and set(np.unique(v)) <= {0.0, 1.0, 2.0, 3.0, 4.0}


# -- Generator: one device, as PyTorch -----------------------------------------------------------------
def test_generator_device_mismatch_raises_as_torch():
    """PyTorch's check_generator: a generator serves one device type (its message, from ATen)."""
    g = gradlite.Generator().manual_seed(0)
    assert g.device == gradlite.device("cpu")
    if gradlite.cuda.is_available():
        with pytest.raises(RuntimeError, match="Expected a 'cuda' device type for generator but found 'cpu'"):
            gradlite.randn(2, device="cuda", generator=g)
        gc = gradlite.Generator(device="cuda").manual_seed(0)
        with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
            gradlite.randn(2, generator=gc)
        with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator but found 'cuda'"):
            gradlite.randperm(4, generator=gc)


def test_generator_draws_on_its_device(device):
    g1 = gradlite.Generator(device=device).manual_seed(3)
    g2 = gradlite.Generator(device=device).manual_seed(3)
    a = gradlite.randn(6, device=device, generator=g1)
    b = gradlite.randn(6, device=device, generator=g2)
    assert a.device.type == device and isinstance(a._data, a.device.backend.array_type)
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    x = gradlite.empty(5, device=device).uniform_(generator=g1)
    assert isinstance(x._data, x.device.backend.array_type)
    p = gradlite.randperm(7, device=device, generator=gradlite.Generator(device=device).manual_seed(1))
    assert p.dtype is gradlite.int64 and p.device.type == device
    assert sorted(to_numpy(p).tolist()) == list(range(7))
    # a CPU generator keeps giving CPU (NumPy) tensors whatever ran on CUDA before
    cpu_gen = gradlite.Generator().manual_seed(0)
    c = gradlite.rand(3, generator=cpu_gen)
    assert type(c._data) is np.ndarray


# -- linalg.solve with broadcast batch dims --------------------------------------------------------------
@pytest.mark.parametrize(("sa", "sb", "left"), [
    ((2, 1, 3, 3), (4, 3, 2), True),
    ((3, 3), (5, 3, 1), True),
    ((5, 3, 3), (3,), True),
    ((1, 3, 3), (4, 3, 2), True),
    ((2, 1, 3, 3), (4, 2, 3), False),
    ((4, 3, 3), (1, 2, 3), False),
])
def test_solve_broadcasts_batch_dims(sa, sb, left, device, torch_cpu):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(sa) + 3 * np.eye(3)
    b = rng.standard_normal(sb)
    ta, tb = (torch_cpu.tensor(v, requires_grad=True) for v in (a, b))
    ga, gb = (gradlite.tensor(v, requires_grad=True, device=device) for v in (a, b))
    tx, gx = torch_cpu.linalg.solve(ta, tb, left=left), gradlite.linalg.solve(ga, gb, left=left)
    assert_close(gx, tx, rtol=1e-10, atol=1e-10)
    w = rng.standard_normal(tuple(tx.shape))
    (tx * torch_cpu.tensor(w)).sum().backward()
    (gx * gradlite.tensor(w, device=device)).sum().backward()
    assert_close(ga.grad, ta.grad, rtol=1e-9, atol=1e-10)
    assert_close(gb.grad, tb.grad, rtol=1e-9, atol=1e-10)


def test_solve_batch_mismatch_raises_as_torch(device, torch_cpu):
    a, b = np.eye(3).repeat(2, 0).reshape(2, 3, 3), np.ones((4, 3, 1))
    message = r"The size of tensor a \(4\) must match the size of tensor b \(2\) at non-singleton dimension 0"
    with pytest.raises(RuntimeError, match=message):
        torch_cpu.linalg.solve(torch_cpu.tensor(a), torch_cpu.tensor(b))
    with pytest.raises(RuntimeError, match=message):
        gradlite.linalg.solve(gradlite.tensor(a, device=device), gradlite.tensor(b, device=device))


# -- cholesky of a non-positive-definite matrix raises ---------------------------------------------------
@pytest.mark.parametrize("batched", [False, True])
def test_cholesky_not_positive_definite_raises(batched, device, torch_cpu):
    m = np.array([[4.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # leading minor of order 2 is 0
    if batched:
        m = np.stack([np.eye(3), m])
    with pytest.raises(RuntimeError) as want:
        torch_cpu.linalg.cholesky(torch_cpu.tensor(m))
    with pytest.raises(gradlite.linalg.LinAlgError) as got:
        gradlite.linalg.cholesky(gradlite.tensor(m, device=device))
    assert str(got.value) == str(want.value)
    ok = gradlite.linalg.cholesky(gradlite.tensor(m[..., :1, :1] + 1, device=device))
    assert_close(ok, torch_cpu.linalg.cholesky(torch_cpu.tensor(m[..., :1, :1] + 1)))


# -- setitem values: numbers and tensors, as PyTorch -----------------------------------------------------
@pytest.mark.parametrize("value", [[1, 2, 3], (1.5, 2, 3), np.array([1.0, 2.0, 3.0]), np.array(2.5), None,
                                   "a", np.bool_(True), np.float32(1.5)])
def test_setitem_non_number_raises_as_torch(value, device, torch_cpu):
    t = torch_cpu.zeros(2, 3)
    with pytest.raises(TypeError) as want:
        t[0] = value
    x = gradlite.zeros(2, 3, device=device)
    with pytest.raises(TypeError) as got:
        x[0] = value
    prefix = "gradlite.cuda." if device == "cuda" else "gradlite."
    assert str(got.value) == str(want.value).replace("torch.", prefix)


@pytest.mark.parametrize("value", [2, 2.5, True, np.int64(3), np.int8(-2), np.float64(-2.0)])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_setitem_numbers_as_torch(value, dtype, device, torch_cpu):
    t = torch_cpu.zeros(2, 3, dtype=getattr(torch_cpu, dtype))
    x = gradlite.zeros(2, 3, dtype=getattr(gradlite, dtype), device=device)
    t[0] = value
    x[0] = value
    t[1, 1:] = torch_cpu.tensor([1, 2])
    x[1, 1:] = gradlite.tensor([1, 2], device=device)
    assert_close(x, t)


# -- float16 Adam: computed in float32, each value rounded once -------------------------------------------
@pytest.mark.parametrize(("name", "kw"), [
    ("Adam", {}),
    ("Adam", {"weight_decay": 0.1}),
    ("AdamW", {"weight_decay": 0.1}),
    ("Adam", {"amsgrad": True, "weight_decay": 0.01}),
    ("AdamW", {"amsgrad": True, "maximize": True}),
])
def test_float16_adam_matches_torch_opmath(name, kw, device, torch_cpu):
    """PyTorch's fused Adam (the float32 opmath of its CUDA kernels) on CPU is the reference; its unfused
    float16 step, like gradlite's was, rounds eps=1e-8 to 0 and gives 0/0 = NaN at zero gradients."""
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal(64).astype(np.float16)
    grads = [(rng.standard_normal(64) * 0.01).astype(np.float16) for _ in range(5)]
    for g in grads:
        g[::3] = 0  # zero moments: the entries where float16 eps underflows
    tp = torch_cpu.tensor(p0, requires_grad=True)
    gp = gradlite.tensor(p0, requires_grad=True, device=device)
    topt = getattr(torch_cpu.optim, name)([tp], lr=1e-2, eps=1e-8, fused=True, **kw)
    gopt = getattr(gradlite.optim, name)([gp], lr=1e-2, eps=1e-8, **kw)
    for g in grads:
        tp.grad, gp.grad = torch_cpu.tensor(g), gradlite.tensor(g, device=device)
        topt.step()
        gopt.step()
        assert np.isfinite(to_numpy(gp)).all()
        assert_close(gp, tp, rtol=0, atol=0)
        for key in ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if kw.get("amsgrad") else ()):
            assert_close(gopt.state[gp][key], topt.state[tp][key], rtol=0, atol=0)


def test_float16_adam_fused_kernel_matches_formula(device):
    """The CuPy backend's fused float16 steps against the same formula run unfused (NumPy on cpu)."""
    b = gradlite.device(device).backend
    from backends._kernels import formulas

    plain = formulas(b.xp)
    rng = np.random.default_rng(1)
    for name, n in (("adam_half_step", 4), ("amsgrad_half_step", 5)):
        arrays = [rng.standard_normal(33).astype(np.float16) for _ in range(n)]
        for a in arrays[3:]:
            a *= a
        factors = (0.1, 0.999, 0.001, -0.05, 0.3, 1e-8, 0.01, 0.999)
        ra = [b.from_host(a.copy()) for a in arrays]
        rb = [b.from_host(a.copy()) for a in arrays]
        getattr(b.kernels, name)(*ra, *factors)
        getattr(plain, name)(*rb, *factors)
        for x, y in zip(ra, rb, strict=True):
            assert x.dtype == np.float16
            # (unfused, CuPy may compute with Python floats in float64: one float16 rounding apart at most)
            np.testing.assert_allclose(b.to_host(x), b.to_host(y), rtol=1e-3, atol=1e-7)
