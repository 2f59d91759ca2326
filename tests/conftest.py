"""Shared fixtures: one ``device`` fixture over cpu and cuda (the latter marked ``gpu``), and ``torch``,
the PyTorch reference (skips the test when torch is not installed, or for CUDA without a CUDA device)."""

from __future__ import annotations

import os

# The suite runs as two pytest-xdist workers on two cores: one BLAS thread each, set before NumPy (and
# torch) load their BLAS, avoids oversubscription that makes small matmuls ~80x slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import gradlite  # noqa: E402

HAS_CUDA = gradlite.cuda.is_available()
STRICT = os.environ.get("GRADLITE_CPU_BACKEND") == "array_api_strict"

DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param(
        "cuda",
        id="cuda",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")],
    ),
]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Run the test once per device: 'cpu', and 'cuda' (marked gpu; skipped without a CUDA device)."""
    return request.param


@pytest.fixture
def torch(device):
    """PyTorch as the reference implementation, on the same device type as the test."""
    torch = pytest.importorskip("torch")
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA device here")
    return torch


@pytest.fixture
def torch_cpu():
    """PyTorch's CPU build (for tests that are not parametrised over devices)."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    gradlite.manual_seed(0)
    np.random.seed(0)


def to_numpy(t) -> np.ndarray:
    """Values of a gradlite or torch tensor (any device) as a NumPy array."""
    if hasattr(t, "_host"):
        return np.asarray(t.detach()._host())
    return t.detach().cpu().numpy()


def assert_close(actual, expected, rtol=1e-5, atol=1e-6, check_dtype=True):
    """Compare values (and dtype names) of gradlite / torch tensors or arrays."""
    a, e = to_numpy(actual) if not isinstance(actual, np.ndarray) else actual, expected
    e = to_numpy(e) if not isinstance(e, (np.ndarray, float, int)) else np.asarray(e)
    assert a.shape == e.shape, f"shape {a.shape} != {e.shape}"
    if check_dtype:
        assert str(a.dtype) == str(e.dtype), f"dtype {a.dtype} != {e.dtype}"
    a, e = a.astype(np.float64), e.astype(np.float64)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, equal_nan=True)
