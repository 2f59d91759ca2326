"""``gradlite.cuda``: availability, device count, synchronisation, seeding and memory statistics.

``is_available()`` and ``device_count()`` never raise: without CuPy or a driver they answer False / 0.
"""

from __future__ import annotations

from gradlite import backends

_peak: dict[int, int] = {}


def is_available() -> bool:
    return backends.cuda_available()


def device_count() -> int:
    return backends.cuda_device_count()


def current_device() -> int:
    return backends.cuda_backend().cp.cuda.Device().id


def synchronize(device=None) -> None:
    """Wait for all queued work on the device (a host sync: for timing, never inside ops)."""
    backends.cuda_backend().synchronize(_resolved(device))  # (None: the current device, as PyTorch)


def manual_seed(seed: int) -> None:
    backends.cuda_backend().manual_seed(int(seed))


manual_seed_all = manual_seed


def memory_allocated(device=None) -> int:
    """Bytes held by live arrays in CuPy's memory pool of ``device`` (default: the current device)."""
    b = backends.cuda_backend()
    i = _resolved(device)
    with b.context(i):  # CuPy's default pool answers for the current device
        used = b.memory_allocated(i)
    _peak[i] = max(_peak.get(i, 0), used)
    return used


def max_memory_allocated(device=None) -> int:
    """The largest ``memory_allocated()`` seen since start or ``reset_peak_memory_stats()``.

    CuPy's pool keeps no high-water mark, so this is sampled: each call to ``memory_allocated`` (and to
    this function) records the current value. Call ``memory_allocated()`` at the points that matter.
    """
    memory_allocated(device)
    return _peak.get(_resolved(device), 0)


def reset_peak_memory_stats(device=None) -> None:
    i = _resolved(device)
    _peak[i] = memory_allocated(device) if is_available() else 0


def memory_reserved(device=None) -> int:
    """Bytes CuPy's pool holds from the driver (live arrays plus cached free blocks)."""
    b = backends.cuda_backend()
    i = _resolved(device)
    with b.context(i):
        return b.memory_reserved(i)


def empty_cache() -> None:
    """Return the memory pool's free blocks to the driver (every device); a no-op without CUDA."""
    if is_available():
        b = backends.cuda_backend()
        for i in range(device_count()):
            with b.context(i):
                b.empty_cache()


def _resolved(device) -> int:
    """The device index ``device`` names, the current device for None."""
    i = _index(device)
    return current_device() if i is None else i


def _index(device) -> int | None:
    if device is None:
        return None
    if isinstance(device, int):
        return device
    from gradlite.device import device as _device

    return _device(device).index
