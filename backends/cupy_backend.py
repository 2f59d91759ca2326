"""The CuPy backend: ``device="cuda"`` / ``"cuda:N"``. CuPy is imported here, lazily, on first use."""

from __future__ import annotations

from ._common import check_bounds, draw, ioperate, scatter_extreme, scatter_prod, scatter_sum

_INSTALL = (
    "device='cuda' needs CuPy, which is not installed (or failed to import: {err}). "
    "Install gradlite with the extra matching your CUDA toolkit: "
    "pip install 'gradlite[cuda12]' or pip install 'gradlite[cuda13]'."
)


class CupyBackend:
    name = "cupy"

    def __init__(self):
        try:
            import array_api_compat.cupy as xp
            import cupy
            import cupyx

            from .cupy_kernels import FUSED
        except Exception as err:  # ImportError, or a CUDA library that fails to load
            raise RuntimeError(_INSTALL.format(err=err)) from None
        self.cp, self.cupyx, self.xp = cupy, cupyx, xp
        self.kernels = FUSED  # the hot elementwise formulas, each one fused kernel (cupy_kernels.py)
        self.array_type = cupy.ndarray
        self.mm = cupy.matmul  # the product of two matrices
        self._rngs: dict[int, object] = {}
        self._seed: int | None = None

    def device_count(self) -> int:
        try:
            return self.cp.cuda.runtime.getDeviceCount()
        except Exception:
            return 0

    def dtype(self, name: str):
        import numpy as np

        return np.dtype(name)

    def dtype_name(self, dt) -> str:
        return dt.name

    def from_host(self, a, index: int | None = None):
        with self.context(index):
            return self.cp.asarray(a)

    def to_host(self, a):
        return self.cp.asnumpy(a)

    def context(self, index: int | None):
        return self.cp.cuda.Device(index or 0)

    def synchronize(self, index: int | None = None) -> None:
        with self.context(index):
            self.cp.cuda.Device().synchronize()

    def scatter_add(self, target, index, values) -> None:
        scatter_sum(self.cp, self.cupyx.scatter_add, target, index, values)

    def scatter_reduce(self, target, index, values, reduce: str) -> None:
        """``target[index] = reduce(target[index], values)``, repeats reducing in turn: CuPy's atomic
        scatters for sum/amax/amin, on the dtypes they handle exactly (``scatter_sum``, ``scatter_extreme``);
        a product has none, so it goes in rounds (``scatter_prod``)."""
        if reduce == "prod":
            scatter_prod(self.cp, target, index, values)
        elif reduce == "sum":
            scatter_sum(self.cp, self.cupyx.scatter_add, target, index, values)
        else:
            is_max = reduce == "amax"
            scatter = self.cupyx.scatter_max if is_max else self.cupyx.scatter_min
            scatter_extreme(self.cp, scatter, target, index, values, is_max)

    ioperate = staticmethod(ioperate)  # ``dst op= src`` in place: one kernel

    def check_bounds(self, ix, dim: int, size: int) -> None:
        """One host sync per advanced index in the forward (its min and max in one read): CuPy would wrap
        out-of-range indices silently."""
        cp = self.cp
        check_bounds(ix, dim, size, lambda a: tuple(int(v) for v in cp.stack([a.min(), a.max()]).get()))

    def manual_seed(self, seed: int) -> None:
        self._seed = seed
        self._rngs.clear()

    def generator(self, index: int | None = None, seed: int | None = None):
        index = index or 0
        if seed is not None:
            with self.context(index):
                return self.cp.random.default_rng(seed)
        if index not in self._rngs:
            with self.context(index):
                seed_i = None if self._seed is None else self._seed + index
                self._rngs[index] = self.cp.random.default_rng(seed_i)
        return self._rngs[index]

    def random(self, kind: str, shape, dtype, index=None, generator=None, **kw):
        rng = generator if generator is not None else self.generator(index)
        with self.context(index):
            return draw(rng, kind, shape, dtype, **kw)

    # -- memory statistics (the default memory pool) -------------------------------------------
    def memory_allocated(self, index=None) -> int:
        return self.cp.get_default_memory_pool().used_bytes()

    def memory_reserved(self, index=None) -> int:
        return self.cp.get_default_memory_pool().total_bytes()

    def empty_cache(self) -> None:
        self.cp.get_default_memory_pool().free_all_blocks()
