"""``cupy.cuda.Device`` on the stand-in: a context that sets the current device of this thread."""

from __future__ import annotations

import cupy as _cp


class Device:
    def __init__(self, device=None):
        if device is None:
            device = _cp._current.device
        elif isinstance(device, Device):
            device = device.id
        self.id = int(device)
        self._prev: list[int] = []

    def __enter__(self):
        self._prev.append(_cp._current.device)
        _cp._current.device = _cp._check_id(self.id)
        return self

    def __exit__(self, *exc):
        _cp._current.device = self._prev.pop()

    def use(self) -> None:
        _cp._current.device = _cp._check_id(self.id)

    def synchronize(self) -> None:
        _cp._check_id(self.id)
        _cp._standin.sync("Device.synchronize")

    @property
    def compute_capability(self) -> str:
        return "90"

    @property
    def attributes(self) -> dict:
        return {"ClockRate": 1_000_000, "MultiProcessorCount": 2}

    @property
    def mem_info(self) -> tuple[int, int]:
        with self:
            return _cp.cuda.runtime.memGetInfo()

    def __eq__(self, other):
        return isinstance(other, Device) and self.id == other.id

    def __hash__(self):
        return hash(self.id)

    def __int__(self):
        return self.id

    def __repr__(self):
        return f"<CUDA Device {self.id}>"
