"""Run one program with gradlite and with PyTorch and compare what it returns."""

from __future__ import annotations

import numpy as np

import gradlite
from tests.conftest import assert_close


def both(torch, program, device, **kw):
    """``program(lib, device)`` with ``lib`` = gradlite and torch; the values it returns must match."""
    ours = program(gradlite, device)
    ref = program(torch, device if device == "cpu" or torch.cuda.is_available() else "cpu")  # (stand-in)
    _compare(ours, ref, **kw)
    return ours


def _compare(a, b, **kw):
    if isinstance(a, (tuple, list)):
        assert isinstance(b, (tuple, list)) and len(a) == len(b), f"{a!r} vs {b!r}"
        for x, y in zip(a, b, strict=True):
            _compare(x, y, **kw)
    elif a is None or isinstance(a, (bool, str)):
        assert a == b, f"{a!r} != {b!r}"
    elif isinstance(a, (int, float)):
        np.testing.assert_allclose(a, b, rtol=kw.get("rtol", 1e-5), atol=kw.get("atol", 1e-6))
    else:
        assert b is not None, f"expected None, got {a!r}"
        assert_close(a, b, **kw)


def errors_alike(torch, program, device, match: str):
    """``program`` raises the same exception type on both libraries, with ``match`` in both messages."""
    import pytest

    with pytest.raises(Exception) as ref:
        program(torch, device)
    with pytest.raises(type(ref.value)) as ours:
        program(gradlite, device)
    assert match in str(ref.value), str(ref.value)
    assert match in str(ours.value), str(ours.value)
    return ours.value
