"""Anomaly detection: ``detect_anomaly()`` / ``set_detect_anomaly(True)``.

When on, each node records the forward source lines that created it; a backward function that returns
NaN raises "Function 'XBackward0' returned nan values in its 0th output." with those lines, and any other
error raised while running a node warns with them first (as PyTorch does). The NaN check reads the
gradient on the host, a synchronisation: that is why it only runs in this mode. When off, ``apply`` reads
one flag per op and the engine one flag per backward call: no traceback capture, no host sync.
"""

from __future__ import annotations

import functools
import os
import traceback
import warnings

_enabled = False
_check_nan = True


def anomaly_enabled() -> bool:
    return _enabled


is_anomaly_enabled = anomaly_enabled


def is_anomaly_check_nan_enabled() -> bool:
    return _check_nan


def _set(mode: bool, check_nan: bool) -> None:
    global _enabled, _check_nan
    _enabled, _check_nan = bool(mode), bool(check_nan)


class set_detect_anomaly:
    """Turn anomaly detection on or off; also a context manager restoring the previous state."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self._prev = (_enabled, _check_nan)
        _set(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self._prev)
        return False


class detect_anomaly:
    """Context manager (and decorator) enabling anomaly detection inside its block."""

    def __init__(self, check_nan: bool = True):
        self._check_nan = check_nan
        self._prev = None

    def __enter__(self):
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should only be "
            "enabled "
            "for debugging.",
            UserWarning,
            stacklevel=2,
        )
        self._prev = (_enabled, _check_nan)
        _set(True, self._check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self._check_nan):
                return fn(*args, **kwargs)

        return wrapper


# gradlite's own files, by their real location (a user's folder may be called "gradlite" too): the package,
# and the backends folder beside it (an editable install maps gradlite.backends to ../backends)
_PKG = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OWN = tuple(
    os.path.normcase(os.path.join(d, "")) for d in (_PKG, os.path.join(os.path.dirname(_PKG), "backends"))
)


def record_trace(node) -> None:
    """Remember where in the user's program ``node`` was created (only while anomaly mode is on)."""
    stack = traceback.extract_stack()[:-2]
    user = [f for f in stack if not os.path.normcase(os.path.abspath(f.filename)).startswith(_OWN)]
    node.metadata["traceback_"] = traceback.format_list(user[-5:] or stack[-5:])


def forward_trace(node) -> str:
    meta = node._hx and node._hx.metadata
    if meta and "traceback_" in meta:
        return "".join(meta["traceback_"])
    return "(no forward trace: the node was created while anomaly detection was off)\n"


def check_anomaly(node, grads) -> None:
    """Raise if a backward function returned NaN (called only in anomaly mode: it syncs the host)."""
    if not _check_nan:
        return
    for i, g in enumerate(grads):
        if g is None:
            continue
        xp = g._device.backend.xp
        if bool(xp.any(xp.isnan(g._data))):
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                f"The forward call that created {node.name()}:\n{forward_trace(node)}"
            )


def warn_error_in(node) -> None:
    """PyTorch's warning for an error raised while a node ran, with the forward call that created it."""
    warnings.warn(
        f"Error detected in {node.name()}. Traceback of forward call that caused the "
        f"error:\n{forward_trace(node)}",
        UserWarning,
        stacklevel=3,
    )
