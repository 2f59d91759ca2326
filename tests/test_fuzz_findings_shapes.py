"""Regression tests for shape and argument-checking differences from PyTorch 2.13 that the differential
fuzzer (tests/test_fuzz_torch.py) found: each compares gradlite's value or error class with torch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradlite as gl
from tests.conftest import assert_close


def _outcome(fn):
    """(error class name, None) when ``fn`` raises, else (None, result)."""
    try:
        return None, fn()
    except Exception as e:  # noqa: BLE001 (the class is what is compared)
        return type(e).__name__.lstrip("_"), None


def _same(fg, ft, rtol=1e-6, atol=1e-7):
    """gradlite and torch both raise the same error class, or both give the same values."""
    eg, yg = _outcome(fg)
    et, yt = _outcome(ft)
    assert eg == et, f"gradlite: {eg}, torch: {et}"
    if et is None:
        assert_close(yg, yt, rtol=rtol, atol=atol)
    return eg


# N19: x.mT of a 0-d tensor is x itself, with PyTorch's deprecation warning
def test_mT_of_0d_is_x(device, torch):
    x = gl.tensor(1.5, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert x.mT is x
        assert torch.tensor(1.5).mT.item() == 1.5
    with pytest.raises(RuntimeError, match="Got 1-D tensor"):
        _ = gl.ones(3, device=device).mT


# N26: movedim of a 0-d tensor is x; roll of a 0-d tensor with dims raises PyTorch's IndexError
@pytest.mark.parametrize("src, dst", [(0, 0), (-1, 0), ([0], [-1]), (1, 0)])
def test_movedim_0d(device, torch, src, dst):
    _same(lambda: gl.movedim(gl.tensor(2.0, device=device), src, dst),
          lambda: torch.movedim(torch.tensor(2.0), src, dst))


@pytest.mark.parametrize("shifts, dims", [(1, 0), (1, -1), ((1, 2), (0, 0)), (1, None)])
def test_roll_0d(device, torch, shifts, dims):
    assert _same(lambda: gl.roll(gl.tensor(2.0, device=device), shifts, dims),
                 lambda: torch.roll(torch.tensor(2.0), shifts, dims)) in (None, "IndexError")


def test_roll_0d_message(device):
    with pytest.raises(IndexError, match="Dimension specified as -1 but tensor has no dimensions"):
        gl.roll(gl.tensor(2.0, device=device), 1, -1)


# N18: lstsq does not broadcast A's batch to a B of higher rank
@pytest.mark.parametrize(
    "a, b", [((3, 3), (2, 3, 1)), ((2, 2, 3, 3), (3, 1)), ((2, 3, 3), (3,)), ((3, 3), ()), ((3,), (3,)),
             ((3, 3), (3,)), ((1, 3, 3), (2, 3, 1)), ((2, 3, 3), (2, 3))],
)
def test_lstsq_ranks(device, torch, a, b):
    def make(m, shape):
        return m.eye(3).expand(*shape) if len(shape) > 1 else m.ones(shape)

    _same(lambda: gl.linalg.lstsq(make(gl, a).to(device), gl.ones(b, device=device)).solution,
          lambda: torch.linalg.lstsq(make(torch, a), torch.ones(b)).solution)


# N31: a repeated subscript takes a diagonal: its sizes within the operand must be equal
@pytest.mark.parametrize(
    "eq, shapes", [("ii", [(1, 2)]), ("ii->i", [(2, 3)]), ("iij", [(2, 2, 3)]), ("ij,jk", [(2, 3), (1, 3)])]
)
def test_einsum_repeated_subscript_sizes(device, torch, eq, shapes):
    arrays = [np.arange(np.prod(s), dtype=np.float64).reshape(s) for s in shapes]
    _same(lambda: gl.einsum(eq, *[gl.tensor(a, device=device) for a in arrays]),
          lambda: torch.einsum(eq, *[torch.tensor(a) for a in arrays]))
