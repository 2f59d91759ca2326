"""Devices and backends: parsing, equality, the CUDA availability queries, the missing-CuPy error, and
device placement of results and gradients."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import gradlite
from gradlite import backends
from tests.conftest import HAS_CUDA, STRICT, to_numpy


def test_device_parsing_and_equality(torch_cpu):
    for spec in ("cpu", "cuda", "cuda:0", "cuda:3"):
        d, t = gradlite.device(spec), torch_cpu.device(spec)
        assert str(d) == str(t) and d.type == t.type and d.index == t.index
        assert repr(d) == repr(t)
    assert gradlite.device("cuda", 1) == "cuda:1"
    assert gradlite.device("cpu") == gradlite.device("cpu") and gradlite.device("cpu") != "cuda"
    assert gradlite.device(gradlite.device("cpu")) is gradlite.device("cpu")
    assert len({gradlite.device("cuda:0"), gradlite.device("cuda", 0)}) == 1


def test_device_parsing_errors(torch_cpu):
    for lib in (gradlite, torch_cpu):
        with pytest.raises(RuntimeError, match="Expected one of cpu, cuda"):
            lib.device("tpu")
        with pytest.raises(RuntimeError, match="Invalid device string"):
            lib.device("cuda:x")


def test_cuda_queries_never_raise():
    assert isinstance(gradlite.cuda.is_available(), bool)
    n = gradlite.cuda.device_count()
    assert isinstance(n, int) and n >= 0
    assert gradlite.cuda.is_available() == (n > 0)


@pytest.fixture
def no_cupy(monkeypatch):
    """Make ``import cupy`` fail and forget any loaded CUDA backend, as on a machine without the extra."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setitem(sys.modules, "array_api_compat.cupy", None)
    monkeypatch.setattr(backends, "_cuda", None)
    from gradlite.device import _interned

    cuda_devices = [d for d in _interned.values() if d.type == "cuda"]
    saved = [(d, d._backend) for d in cuda_devices]
    for d in cuda_devices:
        d._backend = None
    yield
    for d, b in saved:
        d._backend = b


def test_missing_cupy_names_the_extra(no_cupy):
    with pytest.raises(RuntimeError, match=r"pip install 'gradlite\[cuda12\]'.*gradlite\[cuda13\]"):
        backends.cuda_backend()
    with pytest.raises(RuntimeError, match="needs CuPy"):
        gradlite.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        gradlite.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        gradlite.tensor([1.0]).cuda()
    assert gradlite.cuda.is_available() is False
    assert gradlite.cuda.device_count() == 0
    gradlite.manual_seed(0)  # seeding still works on a CPU-only machine


@pytest.mark.skipif(STRICT, reason="the CPU backend is array_api_strict here")
def test_cpu_backend_is_numpy():
    x = gradlite.ones(2)
    assert isinstance(x._data, np.ndarray)
    assert x.device.backend is backends.cpu_backend()


def test_results_and_gradients_stay_on_the_device(device):
    x = gradlite.randn(3, 4, requires_grad=True, device=device)
    w = gradlite.randn(4, 2, requires_grad=True, device=device)
    y = ((x @ w).relu() + 1).log().mean()
    assert y.device == x.device
    y.backward()
    assert x.grad.device == x.device and w.grad.device == w.device
    assert type(x.grad._data) is type(x._data)


def test_python_scalars_mix_freely(device):
    x = gradlite.ones(2, device=device)
    for y in (x + 1, 2.5 * x, x / 3, 1 - x, x**2, 2**x) + (() if STRICT else (True * x,)):
        assert y.device == x.device


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")
def test_to_cuda_and_back_round_trips_values_and_grads(torch_cpu):
    a = np.random.default_rng(0).standard_normal((3, 3)).astype(np.float32)
    x = gradlite.tensor(a, requires_grad=True)
    y = x.to("cuda")
    assert y.is_cuda and y.device == "cuda:0"
    z = (y @ y).tanh().sum()
    z.backward()
    t = torch_cpu.tensor(a, requires_grad=True)
    (t @ t).tanh().sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), t.grad.numpy(), rtol=1e-4, atol=1e-5)
    assert x.grad.device == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")
def test_cuda_tensor_numpy_error_and_cpu_copy():
    x = gradlite.ones(2, device="cuda")
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy"):
        x.numpy()
    assert x.cpu().numpy().tolist() == [1.0, 1.0]


def test_devices_copy_and_pickle_to_the_interned_object(torch_cpu):
    import copy
    import pickle

    for spec in ("cpu", "cuda", "cuda:1"):  # a CUDA device object needs no CUDA until it is used
        d = gradlite.device(spec)
        assert copy.copy(d) is d
        assert copy.deepcopy(d) is d
        assert pickle.loads(pickle.dumps(d)) is d
        assert str(d) == str(torch_cpu.device(spec))
