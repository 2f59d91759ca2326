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
    backends.cuda_backend().synchronize(_index(device))


def manual_seed(seed: int) -> None:
    backends.cuda_backend().manual_seed(int(seed))


manual_seed_all = manual_seed


def memory_allocated(device=None) -> int:
    """Bytes held by live arrays in CuPy's memory pool."""
    used = backends.cuda_backend().memory_allocated(_index(device))
    i = _index(device) or 0
    _peak[i] = max(_peak.get(i, 0), used)
    return used


def max_memory_allocated(device=None) -> int:
    """The largest ``memory_allocated()`` seen since start or ``reset_peak_memory_stats()`` (sampled)."""
    memory_allocated(device)
    return _peak.get(_index(device) or 0, 0)


def reset_peak_memory_stats(device=None) -> None:
    _peak[_index(device) or 0] = 0


def memory_reserved(device=None) -> int:
    return backends.cuda_backend().memory_reserved(_index(device))


def empty_cache() -> None:
    """Return the memory pool's free blocks to the driver."""
    if is_available():
        backends.cuda_backend().empty_cache()


def _index(device) -> int | None:
    if device is None:
        return None
    if isinstance(device, int):
        return device
    from gradlite.device import device as _device

    return _device(device).index
