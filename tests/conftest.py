"""Shared fixtures: one ``device`` fixture over cpu and cuda (the latter marked ``gpu``), and ``torch``,
the PyTorch reference (skips the test when torch is not installed, or for CUDA without a CUDA device)."""

from __future__ import annotations

import os

# The suite runs as two pytest-xdist workers on two cores: one BLAS thread each, set before NumPy (and
# torch) load their BLAS, avoids oversubscription that makes small matmuls ~80x slower.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def _real_cupy_runs() -> bool:
    """Whether the real CuPy imports and sees a CUDA device (a failed import is removed from sys.modules)."""
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        for name in [m for m in sys.modules if m.split(".")[0] in ("cupy", "cupyx", "cupy_backends")]:
            del sys.modules[name]
        return False


# Without a GPU (or CuPy), the cuda half of the suite runs on the CPU stand-in for CuPy in
# tests/cupy_standin (``GRADLITE_CUDA_STANDIN=0`` turns it off: the cuda tests then skip). The real CuPy
# always wins where it runs.
REAL_CUDA = _real_cupy_runs()
STANDIN = not REAL_CUDA and os.environ.get("GRADLITE_CUDA_STANDIN", "1") != "0"
if STANDIN:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "cupy_standin"))

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


def pytest_report_header(config):
    """Say what runs and what skips: where the cuda tests run, and whether PyTorch checks parity."""
    if REAL_CUDA:
        import cupy

        cuda = f"cuda tests: on CuPy {cupy.__version__}, {cupy.cuda.runtime.getDeviceCount()} CUDA device(s)"
    elif STANDIN:
        cuda = ("cuda tests: no CUDA device, so they run on the CPU stand-in for CuPy (tests/cupy_standin), "
                "compared with PyTorch's CPU build; GPU runs are what real CuPy on a GPU machine shows")
    else:
        cuda = "cuda tests: skipped (no CUDA device, stand-in off: GRADLITE_CUDA_STANDIN=0)"
    try:
        import torch

        ref = f"PyTorch {torch.__version__}: parity tests run"
    except ImportError:
        ref = ("PyTorch not installed: every parity test skips (pip install torch==2.13.0, pinned: an "
               "unpinned torch pulls several GB of CUDA wheels)")
    return [f"gradlite: {cuda}", f"gradlite: {ref}"]


@pytest.fixture(params=DEVICES)
def device(request) -> str:
    """Run the test once per device: 'cpu', and 'cuda' (marked gpu; skipped without a CUDA device)."""
    return request.param


@pytest.fixture
def torch(device):
    """PyTorch as the reference implementation, on the same device type as the test."""
    torch = pytest.importorskip("torch")
    if device == "cuda" and STANDIN:
        return _TorchOnCpu(torch)  # the stand-in's cuda is compared with PyTorch's CPU build
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA device here")
    return torch


class _TorchOnCpu:
    """PyTorch, with ``device="cuda..."`` given to its top-level functions taken as the CPU: the reference
    for tests of the stand-in's cuda device (whose values are computed on the CPU)."""

    on_cpu = True  # (tests that print or move torch objects to a device read this)

    def __init__(self, torch):
        self._torch = torch

    def __getattr__(self, name):
        attr = getattr(self._torch, name)
        if not callable(attr) or isinstance(attr, type):
            return attr

        def on_cpu(*args, **kwargs):
            if str(kwargs.get("device", "")).startswith("cuda"):
                kwargs["device"] = "cpu"
            return attr(*args, **kwargs)

        return on_cpu


@pytest.fixture
def torch_cpu():
    """PyTorch's CPU build (for tests that are not parametrised over devices)."""
    return pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _seed():
    gradlite.manual_seed(0)
    np.random.seed(0)
    yield
    # a device-side check that failed and was never read back belongs to this test, not to the next one
    cuda = gradlite.backends._cuda
    if cuda is not None and cuda._pending:
        cuda._raise_failed_checks()


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
