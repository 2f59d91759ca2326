"""The CuPy backend: ``device="cuda"`` / ``"cuda:N"``. CuPy is imported here, lazily, on first use."""

from __future__ import annotations

import weakref

from ._common import bounds_message, draw, ioperate, scatter_extreme, scatter_prod, scatter_sum

_INSTALL = (
    "device='cuda' needs CuPy, which is not installed (or failed to import: {err}). "
    "Install gradlite with the extra matching your CUDA toolkit: "
    "pip install 'gradlite[cuda12]' or pip install 'gradlite[cuda13]'."
)


_DRIVER = (
    "device='cuda': CuPy is installed but cannot use CUDA ({err}). Check that an NVIDIA GPU and its driver "
    "are present (nvidia-smi) and that the driver supports the CUDA version of the installed extra: "
    "gradlite[cuda12] (cupy-cuda12x) needs driver >= 525, gradlite[cuda13] (cupy-cuda13x) driver >= 580."
)


class CupyBackend:
    name = "cupy"

    def __init__(self):
        try:
            import cupy
        except Exception as err:  # ImportError, or a CUDA library that fails to load
            raise RuntimeError(_INSTALL.format(err=err)) from None
        # CuPy imports without a driver and fails at first use (cudaErrorInsufficientDriver,
        # cudaErrorNoDevice): asked now, so that device='cuda' says what is wrong
        try:
            n = cupy.cuda.runtime.getDeviceCount()
        except Exception as err:
            raise RuntimeError(_DRIVER.format(err=f"{type(err).__name__}: {err}")) from None
        if n < 1:
            raise RuntimeError(_DRIVER.format(err="no CUDA device found"))
        # with several GPUs, a module's forward, a backward and an optimizer step enter their tensors'
        # device (CuPy computes and allocates on the current one); with one, nothing needs entering
        self.multi_device = n > 1
        if self.multi_device:
            from gradlite.ops import device_guard

            device_guard.install()
        try:
            import array_api_compat.cupy as xp
            import cupyx

            from .cupy_kernels import FUSED
        except Exception as err:
            raise RuntimeError(_INSTALL.format(err=err)) from None
        self.cp, self.cupyx, self.xp = cupy, cupyx, xp
        self.kernels = FUSED  # the hot elementwise formulas, each one fused kernel (cupy_kernels.py)
        self.array_type = cupy.ndarray
        self.mm = cupy.matmul  # the product of two matrices
        self._rngs: dict[int, object] = {}
        self._seed: int | None = None
        self._checks: dict[tuple, int] = {}  # (exception class, message) of check_range -> its code
        self._records: dict[int, object] = {}  # device -> [code, value] of its first failed check, or -1s
        self._pending: set[int] = set()  # devices checked since the last host read
        self._pinned = weakref.WeakValueDictionary()  # id -> the host arrays ``pin`` made
        self._peak: dict[int, int] = {}  # device -> the most bytes the memory pool had in use
        self._track_peak()

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

    def from_host(self, a, index: int | None = None, non_blocking: bool = False):
        """``a`` copied to device ``index``. CuPy copies a pinned source asynchronously unless told to block:
        that is kept for ``non_blocking`` (PyTorch's rule); a pageable source is read before CuPy returns."""
        with self.context(index):
            if self.is_pinned(a):
                return self.cp.asarray(a, blocking=not non_blocking)
            return self.cp.asarray(a)

    def to_host(self, a, non_blocking: bool = False):
        """``a`` as a NumPy array; with ``non_blocking``, one in pinned memory that the copy fills
        asynchronously (as PyTorch's): read it after synchronising."""
        if non_blocking:
            out = self.pin_empty(a.shape, a.dtype)
            return self.cp.asnumpy(a, out=out, blocking=False)
        host = self.cp.asnumpy(a)
        if self._pending:
            self._raise_failed_checks()
        return host

    # -- pinned (page-locked) host memory ----------------------------------------------------------
    def pin_empty(self, shape, dtype):
        """An uninitialised NumPy array in pinned memory."""
        out = self.cupyx.empty_pinned(shape, dtype)
        self._pinned[id(out)] = out
        return out

    def pin(self, a):
        """A copy of NumPy array ``a`` in pinned memory."""
        out = self.pin_empty(a.shape, a.dtype)
        out[...] = a
        return out

    def is_pinned(self, a) -> bool:
        """Whether NumPy array ``a`` views pinned memory: one that ``pin`` made, or any on CuPy's pinned
        allocations (``cupyx.empty_pinned``)."""
        kind = getattr(self.cp.cuda, "PinnedMemoryPointer", ())
        while a is not None:
            if self._pinned.get(id(a)) is a or isinstance(a, kind):
                return True
            a = getattr(a, "base", None)
        return False

    def current_device(self) -> int:
        """CuPy's current device of this thread."""
        return self.cp.cuda.runtime.getDevice()

    def context(self, index: int | None):
        return self.cp.cuda.Device(index)  # (None: the current device)

    def synchronize(self, index: int | None = None) -> None:
        with self.context(index):
            self.cp.cuda.Device().synchronize()
        if self._pending:
            self._raise_failed_checks()

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
        """IndexError for an index outside ``[-size, size)`` (CuPy would wrap it): ``check_range``."""
        self.check_range(ix, -size, size, IndexError, bounds_message(dim, size))

    def check_range(self, ix, lo, hi, exc: type, msg: str) -> None:
        """``exc(msg.format(bad=v))`` for a value ``v`` of ``ix`` outside ``[lo, hi)``, checked on the device
        without a host sync, as PyTorch does: the first failure since the last host read is kept in a
        two-element device record (which check, which value) and raised at the next ``to_host`` or
        ``synchronize``, the way CUDA reports a device-side assert at the next synchronisation."""
        if not ix.size:
            return
        cp = self.cp
        code = self._checks.setdefault((exc, msg), len(self._checks))
        dev = ix.device.id
        with self.context(dev):
            rec = self._records.get(dev)
            if rec is None:
                rec = self._records[dev] = cp.full(2, -1, dtype=cp.int64)
            mn, mx = ix.min().astype(cp.int64), ix.max().astype(cp.int64)
            high = mx >= hi
            found = cp.stack([cp.where(high | (mn < lo), code, -1), cp.where(high, mx, mn)])
            rec[...] = cp.where(rec[0] >= 0, rec, found)  # (the first failure stays)
        self._pending.add(dev)

    def _raise_failed_checks(self) -> None:
        """Raise what a device-side ``check_range`` found (called where the host reads the device anyway)."""
        while self._pending:
            dev = self._pending.pop()
            rec = self._records[dev]
            code, bad = (int(v) for v in self.cp.asnumpy(rec))
            if code >= 0:
                rec[...] = -1
                exc, msg = next(k for k, c in self._checks.items() if c == code)
                raise exc(msg.format(bad=bad))

    def manual_seed(self, seed: int, index: int | None = None) -> None:
        """Seed every device's generator (device i from ``seed + i``), or only device ``index``'s."""
        if index is not None:
            with self.context(index):
                self._rngs[index] = self.cp.random.default_rng(seed + index)
            return
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
    def _track_peak(self) -> None:
        """Keep each device's high-water mark of the pool's bytes in use, PyTorch's max_memory_allocated
        (CuPy's pool keeps none): the allocator in use is wrapped once, and reads the pool after each
        allocation (in use only grows there). Where CuPy has no allocator hook (the tests' stand-in), the
        mark is sampled by each ``memory_allocated`` call."""
        cuda = self.cp.cuda
        if not (hasattr(cuda, "get_allocator") and hasattr(cuda, "set_allocator")):
            return
        alloc, pool, peak = cuda.get_allocator(), self.cp.get_default_memory_pool(), self._peak

        def tracked(size):
            mem = alloc(size)
            used = pool.used_bytes()  # (of the current device, where ``mem`` was allocated)
            if used > peak.get(mem.device_id, 0):
                peak[mem.device_id] = used
            return mem

        cuda.set_allocator(tracked)

    def max_memory_allocated(self, index: int) -> int:
        with self.context(index):
            self.memory_allocated(index)
        return self._peak[index]

    def reset_peak_memory_stats(self, index: int) -> None:
        with self.context(index):
            self._peak[index] = self.cp.get_default_memory_pool().used_bytes()

    def memory_allocated(self, index=None) -> int:
        """Bytes in use in the pool of the current device (``index``: that device, whose peak it updates:
        without the allocator hook, these samples are the peak's only record)."""
        used = self.cp.get_default_memory_pool().used_bytes()
        if index is not None and used > self._peak.get(index, 0):
            self._peak[index] = used
        return used

    def memory_reserved(self, index=None) -> int:
        return self.cp.get_default_memory_pool().total_bytes()

    def empty_cache(self) -> None:
        self.cp.get_default_memory_pool().free_all_blocks()
