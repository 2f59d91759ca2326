"""Anomaly detection: ``detect_anomaly()`` / ``set_detect_anomaly(True)``.

When on, each node records the forward source line that created it, and a backward function that
returns NaN raises, naming the node and showing that line. When off, the engine reads one flag per
backward call and nothing else: no host synchronisation, no traceback capture.
"""

from __future__ import annotations

import traceback

_enabled = False


def anomaly_enabled() -> bool:
    return _enabled


class set_detect_anomaly:
    """Turn anomaly detection on or off; also a context manager restoring the previous state."""

    def __init__(self, mode: bool, check_nan: bool = True):
        global _enabled
        self._prev = _enabled
        _enabled = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._prev
        return False


class detect_anomaly(set_detect_anomaly):
    """Context manager (and decorator) enabling anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True):
        self._prev = None

    def __enter__(self):
        global _enabled
        self._prev = _enabled
        _enabled = True
        return self

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


def record_trace(node) -> None:
    """Remember where in the user's program ``node`` was created (only while anomaly mode is on)."""
    stack = traceback.extract_stack()[:-3]
    user = [f for f in stack if "/gradlite/" not in f.filename.replace("\\", "/")]
    node.metadata = {"traceback_": traceback.format_list(user[-5:] or stack[-5:])}


def check_anomaly(node, grads) -> None:
    """Raise if a backward function returned NaN (called only in anomaly mode: it syncs the host)."""
    for i, g in enumerate(grads):
        if g is None:
            continue
        xp = g._device.backend.xp
        if bool(xp.any(xp.isnan(g._data))):
            trace = ""
            if node.metadata and "traceback_" in node.metadata:
                trace = "\nThe forward call that created it:\n" + "".join(node.metadata["traceback_"])
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its {i}th output.{trace}")
