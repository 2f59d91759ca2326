"""The CuPy backend's fused kernels: each formula of ``_kernels`` compiled into one kernel by ``cupy.fuse``.

Defined once, here at module level (imported with the CuPy backend), so CuPy compiles each kernel once per
combination of dtypes and ranks and reuses it. Called with NumPy arrays, a fused function runs its
formula unfused (CuPy's documented fallback).
"""

from __future__ import annotations

from types import SimpleNamespace

import cupy

from ._kernels import OPMATH_STEPS, STEP_ARRAYS, formulas, scalars_in_param_dtype

UNFUSED = formulas(cupy)  # the reference the fused kernels are tested against

# each formula as one kernel
KERNELS = SimpleNamespace(
    **{name: cupy.fuse(kernel_name=f"gradlite_{name}")(fn) for name, fn in vars(UNFUSED).items()}
)
# what the backend runs: the kernels, the optimizer steps with their factors in the parameter's dtype
FUSED = SimpleNamespace(
    **{name: scalars_in_param_dtype(k, STEP_ARRAYS[name], name in OPMATH_STEPS) if name in STEP_ARRAYS else k
       for name, k in vars(KERNELS).items()}
)
