"""``cupy.cuda`` on the stand-in: devices (per-thread current device), streams, events, the runtime."""

from __future__ import annotations

import time

import cupy as _cp

from . import runtime  # noqa: F401
from .device import Device  # noqa: F401

CUDARuntimeError = runtime.CUDARuntimeError


def is_available() -> bool:
    return runtime.getDeviceCount() > 0


def get_device_id() -> int:
    return _cp._current.device


class Stream:
    """A stream: work on the stand-in runs at once, so a stream only counts its synchronisations."""

    null: Stream

    def __init__(self, null=False, non_blocking=False, ptds=False):
        self.ptr = 0 if null else id(self)
        self.device_id = _cp._current.device
        self._prev: list = []

    def synchronize(self) -> None:
        _cp._standin.sync("Stream.synchronize")

    @property
    def done(self) -> bool:
        return True

    def use(self):
        _stream[0] = self
        return self

    def __enter__(self):
        self._prev.append(_stream[0])
        _stream[0] = self
        return self

    def __exit__(self, *exc):
        _stream[0] = self._prev.pop()

    def record(self, event=None):
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event) -> None:
        pass

    def __eq__(self, other):
        return isinstance(other, Stream) and self.ptr == other.ptr

    def __hash__(self):
        return hash(self.ptr)


Stream.null = Stream(null=True)
_stream = [Stream.null]


def get_current_stream(device_id=None) -> Stream:
    return _stream[0]


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self._t = None
        self.disable_timing = disable_timing

    def record(self, stream=None) -> None:
        self._t = time.perf_counter()

    def synchronize(self) -> None:
        _cp._standin.sync("Event.synchronize")

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start: Event, end: Event) -> float:
    """Milliseconds between two recorded events."""
    if start._t is None or end._t is None:
        raise RuntimeError("cudaErrorInvalidResourceHandle: both events must be recorded")
    return (end._t - start._t) * 1e3


class _PinnedMemoryPointer:
    def __init__(self, mem, size):
        self.mem, self.size, self.ptr = mem, size, id(mem)


def alloc_pinned_memory(size: int):
    import numpy as np

    return _PinnedMemoryPointer(np.empty(size, dtype=np.uint8), size)
