"""``cupy.cuda.runtime`` on the stand-in: device count and properties."""

from __future__ import annotations

import cupy as _cp

CUDARuntimeError = _cp.CUDARuntimeError
is_hip = False


def getDeviceCount() -> int:  # noqa: N802 (CuPy's name)
    return _cp._N_DEVICES


def getDevice() -> int:  # noqa: N802
    return _cp._current.device


def setDevice(i: int) -> None:  # noqa: N802
    _cp._current.device = _cp._check_id(int(i))


def getDeviceProperties(i: int) -> dict:  # noqa: N802
    _cp._check_id(int(i))
    return {"name": b"CuPy stand-in (CPU)", "totalGlobalMem": 16 << 30, "major": 9, "minor": 0,
            "multiProcessorCount": 2, "clockRate": 1_000_000, "uuid": bytes(16)}


def memGetInfo() -> tuple[int, int]:  # noqa: N802
    total = 16 << 30
    return total - _cp._used[_cp._current.device], total


def runtimeGetVersion() -> int:  # noqa: N802
    return 12080


def driverGetVersion() -> int:  # noqa: N802
    return 12080


def deviceSynchronize() -> None:  # noqa: N802
    _cp._standin.sync("deviceSynchronize")
