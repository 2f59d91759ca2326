"""Array backends: one small object per array library (installed as ``gradlite.backends``).

A backend exposes the array namespace (array-api-compat's ``numpy`` / ``cupy``) as ``xp`` and the few
things autograd needs that the array API standard lacks: host <-> device copies, device contexts,
scatter-add, random generators, synchronisation and memory statistics. Ops never import numpy or cupy;
they use ``tensor._backend.xp``.

The CPU backend is NumPy unless the environment variable ``GRADLITE_CPU_BACKEND=array_api_strict``
selects the strict array-API implementation: a test-only backend that makes any NumPy-only call in an
op fail (the portability proxy for the CuPy path).
"""

from __future__ import annotations

import os

_cpu = None
_cuda = None


def cpu_backend():
    """The backend that holds ``device="cpu"`` tensors."""
    global _cpu
    if _cpu is None:
        if os.environ.get("GRADLITE_CPU_BACKEND", "numpy") == "array_api_strict":
            from .strict_backend import StrictBackend

            _cpu = StrictBackend()
        else:
            from .numpy_backend import NumpyBackend

            _cpu = NumpyBackend()
    return _cpu


def cuda_backend():
    """The CuPy backend; raises RuntimeError naming the extra to install when CuPy is missing."""
    global _cuda
    if _cuda is None:
        from .cupy_backend import CupyBackend

        _cuda = CupyBackend()
    return _cuda


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device; never raises."""
    return cuda_device_count() > 0


def cuda_device_count() -> int:
    """Number of CUDA devices CuPy sees; 0 without CuPy or a driver; never raises."""
    try:
        return cuda_backend().device_count()
    except Exception:
        return 0
