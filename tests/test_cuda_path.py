"""The CUDA path (issue 16): what broke or was missing on CuPy, each written once over both devices and
compared with PyTorch's CPU build where a value is involved.

Without a GPU the ``cuda`` half runs on the CPU stand-in for CuPy (tests/cupy_standin); on a GPU, on CuPy.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.conftest import STRICT, assert_close, to_numpy

no_float16 = pytest.mark.skipif(STRICT, reason="the strict array-API backend has no float16")


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
    assert type(c._data) is gradlite.device("cpu").backend.array_type


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
@no_float16
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


@no_float16
def test_float16_adam_fused_kernel_matches_formula(device):
    """The CuPy backend's fused float16 steps against the same formula run unfused (NumPy on cpu)."""
    b = gradlite.device(device).backend
    from gradlite.backends._kernels import formulas

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


# -- the torch.cuda API ------------------------------------------------------------------------------------
needs_cuda = pytest.mark.skipif(not gradlite.cuda.is_available(), reason="needs CUDA (or the stand-in)")


def test_get_device_and_pinning(device, torch_cpu):
    x = gradlite.ones(3, device=device, requires_grad=True)
    assert x.get_device() == (-1 if device == "cpu" else 0)
    assert torch_cpu.ones(3).get_device() == -1
    assert not x.is_pinned()
    if device == "cuda":
        with pytest.raises(RuntimeError, match=r"cannot pin 'gradlite.cuda.FloatTensor' only dense CPU"):
            x.pin_memory()
        return
    if not gradlite.cuda.is_available():
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available"):
            x.pin_memory()
        return
    p = x.pin_memory()
    if not STRICT:  # (the strict backend copies host arrays into its own: pinning is lost)
        assert p.is_pinned() and p[1:].is_pinned() and p.pin_memory() is p and not x.is_pinned()
    assert p.grad_fn.name() == "PinMemoryBackward0"
    y = p.cuda(non_blocking=True)
    z = y.to("cpu", non_blocking=True)
    gradlite.cuda.synchronize()
    assert y.device == gradlite.device("cuda:0") and z.device == gradlite.device("cpu")
    assert z.is_pinned() or STRICT
    (z * 2).sum().backward()
    assert_close(x.grad, np.full(3, 2.0, dtype=np.float32))


def test_to_positional_non_blocking_and_copy(device, torch_cpu):
    t = torch_cpu.ones(2)
    x = gradlite.ones(2, device=device)
    for args in [(torch_cpu.float64, True), (torch_cpu.float32, False, True)]:
        want = t.to(*args)
        names = {torch_cpu.float64: gradlite.float64, torch_cpu.float32: gradlite.float32}
        got = x.to(*(names.get(a, a) if not isinstance(a, bool) else a for a in args))
        assert_close(got, want)
        assert (got is x) == (want is t)
    assert x.to(device, non_blocking=True) is x
    y = x.to(device, gradlite.float32, False, True)
    assert y is not x and y.device == x.device
    assert x.cuda(0, True).device == gradlite.device("cuda:0") if gradlite.cuda.is_available() else True


@needs_cuda
def test_current_device_set_device_and_device_context():
    assert gradlite.cuda.current_device() == 0
    with gradlite.cuda.device(1):
        assert gradlite.cuda.current_device() == 1
        assert gradlite.zeros(2, device="cuda").device == gradlite.device("cuda:1")
        assert gradlite.ones(2).cuda().get_device() == 1
        with gradlite.cuda.device(None), gradlite.cuda.device(-1):
            assert gradlite.cuda.current_device() == 1
        with gradlite.cuda.device("cuda:0"):
            assert gradlite.cuda.current_device() == 0
        assert gradlite.cuda.current_device() == 1
    assert gradlite.cuda.current_device() == 0
    try:
        gradlite.cuda.set_device(1)
        assert gradlite.cuda.current_device() == 1
        assert gradlite.randn(2, device="cuda").get_device() == 1
        gradlite.cuda.set_device(-1)  # (nothing, as PyTorch)
        assert gradlite.cuda.current_device() == 1
        x = gradlite.zeros(1, device="cuda:0")
        with gradlite.cuda.device_of(x):
            assert gradlite.cuda.current_device() == 0
    finally:
        gradlite.cuda.set_device(0)
    with pytest.raises(ValueError, match="Expected a cuda device, but got: cpu"):
        gradlite.cuda.set_device("cpu")
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        gradlite.zeros(1, device=f"cuda:{gradlite.cuda.device_count()}")


@needs_cuda
def test_device_properties():
    p = gradlite.cuda.get_device_properties(0)
    assert isinstance(p.name, str)
    assert p.name == gradlite.cuda.get_device_name() == gradlite.cuda.get_device_name(0)
    assert p.total_memory > 0 and isinstance(p.total_memory, int)
    assert gradlite.cuda.get_device_capability("cuda:0") == (p.major, p.minor)
    assert "total_memory=" in repr(p)
    with pytest.raises(AssertionError, match="Invalid device id"):
        gradlite.cuda.get_device_properties(gradlite.cuda.device_count())


@needs_cuda
def test_streams_and_events():
    s = gradlite.cuda.Stream()
    assert s.device == gradlite.device("cuda:0") and s != gradlite.cuda.default_stream()
    assert gradlite.cuda.current_stream() == gradlite.cuda.default_stream()
    start, end = gradlite.cuda.Event(enable_timing=True), gradlite.cuda.Event(enable_timing=True)
    assert start.query()  # (never recorded)
    with gradlite.cuda.stream(s):
        assert gradlite.cuda.current_stream() == s
        start.record()
        y = (gradlite.ones(64, 64, device="cuda") @ gradlite.ones(64, 64, device="cuda")).sum()
        end.record()
    assert gradlite.cuda.current_stream() == gradlite.cuda.default_stream()
    with gradlite.cuda.stream(None):
        pass
    gradlite.cuda.current_stream().wait_stream(s)
    end.synchronize()
    assert end.query() and s.query()
    assert start.elapsed_time(end) >= 0.0
    assert y.item() == 64 * 64 * 64
    ev = s.record_event()
    ev.wait()
    s.wait_event(ev)
    s.synchronize()
    untimed = gradlite.cuda.Event()
    untimed.record()
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        untimed.elapsed_time(end)
    with pytest.raises(RuntimeError, match="must be recorded"):
        gradlite.cuda.Event(enable_timing=True).elapsed_time(end)
    s1 = gradlite.cuda.Stream(device=1)
    assert s1.device == gradlite.device("cuda:1")
    with gradlite.cuda.stream(s1):
        assert gradlite.cuda.current_device() == 1
    assert gradlite.cuda.current_device() == 0
    gradlite.cuda.synchronize()
    gradlite.cuda.synchronize(1)
    gradlite.cuda.synchronize("cuda:1")


@needs_cuda
def test_manual_seed_and_manual_seed_all():
    gradlite.cuda.manual_seed_all(5)
    a0, a1 = gradlite.randn(4, device="cuda:0"), gradlite.randn(4, device="cuda:1")
    gradlite.cuda.manual_seed_all(5)
    np.testing.assert_array_equal(to_numpy(gradlite.randn(4, device="cuda:0")), to_numpy(a0))
    np.testing.assert_array_equal(to_numpy(gradlite.randn(4, device="cuda:1")), to_numpy(a1))
    b1 = gradlite.randn(4, device="cuda:1")
    with gradlite.cuda.device(0):
        gradlite.cuda.manual_seed(5)  # the current device only
    np.testing.assert_array_equal(to_numpy(gradlite.randn(4, device="cuda:0")), to_numpy(a0))
    assert not np.array_equal(to_numpy(gradlite.randn(4, device="cuda:1")), to_numpy(b1))


@needs_cuda
def test_memory_statistics():
    i = 1
    gradlite.cuda.reset_peak_memory_stats(i)
    base = gradlite.cuda.memory_allocated(i)
    assert gradlite.cuda.max_memory_allocated(i) == base
    x = gradlite.zeros(1 << 16, device="cuda:1")
    during = gradlite.cuda.memory_allocated(i)
    assert during >= base + 4 * (1 << 16)
    assert gradlite.cuda.memory_allocated("cuda:1") == during
    assert gradlite.cuda.memory_allocated(gradlite.device("cuda:1")) == during
    del x
    assert gradlite.cuda.memory_allocated(i) == base
    assert gradlite.cuda.max_memory_allocated(i) >= during
    gradlite.cuda.reset_peak_memory_stats(i)
    assert gradlite.cuda.max_memory_allocated(i) == base


def test_cuda_api_without_cuda(monkeypatch):
    """Without CuPy: availability answers, seeding does nothing (as PyTorch), the rest raises naming the
    extra to install."""
    _without_cuda(monkeypatch, None)
    assert not gradlite.cuda.is_available() and gradlite.cuda.device_count() == 0
    gradlite.cuda.manual_seed(0)
    gradlite.cuda.manual_seed_all(0)
    gradlite.manual_seed(0)
    gradlite.cuda.empty_cache()
    assert not gradlite.ones(2).is_pinned()
    for call in (gradlite.cuda.current_device, gradlite.cuda.synchronize, gradlite.cuda.Stream,
                 gradlite.cuda.Event, gradlite.cuda.memory_allocated, gradlite.cuda.max_memory_allocated,
                 gradlite.cuda.reset_peak_memory_stats, gradlite.cuda.get_device_name,
                 lambda: gradlite.cuda.set_device(0), lambda: gradlite.zeros(1, device="cuda"),
                 lambda: gradlite.ones(1).cuda()):
        with pytest.raises(RuntimeError, match=r"gradlite\[cuda12\]"):
            call()
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        gradlite.ones(1).pin_memory()


def test_cupy_without_driver_raises_clear_error(monkeypatch):
    """CuPy imports without a driver and fails at first use: device='cuda' says so, naming the driver."""
    import types

    class CUDARuntimeError(RuntimeError):
        pass

    def count():
        raise CUDARuntimeError("cudaErrorInsufficientDriver: CUDA driver version is insufficient for CUDA "
                               "runtime version")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=count,
                                                                   CUDARuntimeError=CUDARuntimeError))
    _without_cuda(monkeypatch, fake)
    assert not gradlite.cuda.is_available() and gradlite.cuda.device_count() == 0
    gradlite.manual_seed(0)
    for call in (lambda: gradlite.zeros(2, device="cuda"), lambda: gradlite.ones(2).to("cuda:0"),
                 gradlite.cuda.current_device, lambda: gradlite.cuda.memory_allocated(0)):
        with pytest.raises(RuntimeError) as err:
            call()
        message = str(err.value)
        assert "cudaErrorInsufficientDriver" in message and "driver" in message
        assert "gradlite[cuda12]" in message


def _without_cuda(monkeypatch, cupy_module) -> None:
    """A process where ``import cupy`` gives ``cupy_module`` (None: not installed) and no CUDA backend or
    device object has been made yet (each restored after the test)."""
    import sys

    from gradlite import backends

    monkeypatch.setitem(sys.modules, "cupy", cupy_module)
    monkeypatch.setattr(backends, "_cuda", None)
    dm = sys.modules["gradlite.device"]
    monkeypatch.setattr(dm, "_interned", {k: d for k, d in dm._interned.items() if d.type == "cpu"})


def test_cholesky_reads_cusolver_info_on_cuda(device, monkeypatch):
    """cuSOLVER's potrf leaves a non-positive-definite input partly factored and finite, and CuPy ignores
    its info unless ``cupyx.errstate(linalg="raise")``: modelled here on CuPy's cholesky, gradlite must still
    raise (without the errstate it returned the finite, wrong factor)."""
    if device != "cuda":
        pytest.skip("CuPy's linalg error state")
    b = gradlite.device("cuda").backend
    real = b.cp.linalg.cholesky

    def cusolver_like(a):
        if b.cupyx.geterr()["linalg"] == "raise":
            return real(a)
        with b.cupyx.errstate(linalg="raise"):
            try:
                return real(a)
            except np.linalg.LinAlgError:
                return b.cp.tril(a)  # (finite and wrong, as cuSOLVER's partial factor)

    monkeypatch.setattr(b.cp.linalg, "cholesky", cusolver_like)
    m = np.array([[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(gradlite.linalg.LinAlgError, match="leading minor of order 2"):
        gradlite.linalg.cholesky(gradlite.tensor(m, device="cuda"))
    ok = np.array([[4.0, 2.0], [2.0, 3.0]])
    assert_close(gradlite.linalg.cholesky(gradlite.tensor(ok, device="cuda")), np.linalg.cholesky(ok))
