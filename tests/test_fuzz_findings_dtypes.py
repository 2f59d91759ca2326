"""Regression tests for dtype differences from PyTorch found by the differential fuzzer
(tests/test_fuzz_torch.py), each compared with PyTorch itself."""

import numpy as np
import pytest

import gradlite
from tests.conftest import assert_close


def _outcome(f, lib):
    """The result of ``f(lib)``, or the class of the exception it raises."""
    try:
        return f(lib)
    except Exception as e:  # noqa: BLE001  (the class is what is compared)
        return type(e)


def _same(f, torch, device, rtol=1e-5, atol=1e-6):
    """``f`` of gradlite and of torch agree: the same exception class, or the same dtype and values."""
    g, t = _outcome(f, gradlite), _outcome(f, torch)
    if isinstance(t, type):
        assert g is t, f"gradlite gave {g!r}, torch raised {t.__name__}"
        return
    assert not isinstance(g, type), f"gradlite raised {g.__name__}, torch gave {t.dtype}"
    assert_close(g, t, rtol=rtol, atol=atol)


def _t(lib, values, dtype, device):
    return lib.tensor(np.asarray(values).tolist(), dtype=getattr(lib, dtype), device=device)


@pytest.mark.parametrize("op", ["vecdot", "cross"])
@pytest.mark.parametrize("dtypes", [("float64", "float32"), ("float32", "float64"), ("float32", "int64"),
                                    ("int32", "int64"), ("float16", "float32"), ("float32", "float32")])
def test_n3_vecdot_cross_need_one_dtype(device, torch, op, dtypes):
    a, b = np.arange(6.0).reshape(2, 3) - 2, np.arange(6.0).reshape(2, 3)[::-1] + 1

    def f(lib):
        return getattr(lib.linalg, op)(_t(lib, a, dtypes[0], device), _t(lib, b, dtypes[1], device))

    _same(f, torch, device)
