"""Regression tests for issue 17's indexing, shape and graph-lifetime rows (F01, F02, F11, F12, F14, F15,
F16, F18, F28, BN), each compared with PyTorch: values, gradients and error classes."""

from __future__ import annotations

import pytest

import gradlite
from tests.conftest import assert_close


def _both(torch, device):
    """(library, device) pairs: gradlite on the test's device, PyTorch as the reference."""
    return ((gradlite, device), (torch, device))


# -- F01: diag of a matrix is a copy -----------------------------------------------------------------------
def test_diag_of_matrix_is_a_copy(device, torch):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.ones(2, 3, device=dev)
        d = lib.diag(x, 1)
        d.fill_(0)
        w = lib.arange(6.0, device=dev).reshape(2, 3).requires_grad_()
        e = lib.diag(w)  # in-place on it is legal: it is not a view of the leaf
        e.mul_(2)
        e.sum().backward()
        out.append((x, d, w.grad))
    for a, b in zip(*out, strict=True):
        assert_close(a, b)


# -- F02: a 0-d bool tensor (or python bool) index is a mask over a new dim of size 1 ----------------------
MASK_KEYS = {
    "true": lambda lib, dev: (lib.tensor(True, device=dev),),
    "false": lambda lib, dev: (lib.tensor(False, device=dev),),
    "after_int": lambda lib, dev: (0, lib.tensor(True, device=dev)),
    "after_ellipsis": lambda lib, dev: (..., lib.tensor(True, device=dev)),
    "before_ellipsis_int": lambda lib, dev: (lib.tensor(True, device=dev), ..., 1),
    "with_index": lambda lib, dev: (
        slice(None), lib.tensor(True, device=dev), lib.tensor([0, 2], device=dev)
    ),
    "broadcast_index": lambda lib, dev: (lib.tensor(True, device=dev), lib.tensor([0, 1, 1], device=dev)),
    "two_masks": lambda lib, dev: (lib.tensor(True, device=dev), lib.tensor(True, device=dev)),
    "none_false": lambda lib, dev: (None, lib.tensor(False, device=dev), 1),
    "python_bool": lambda lib, dev: (True, 0),
    "with_mask": lambda lib, dev: (lib.tensor([True, False], device=dev), lib.tensor(True, device=dev)),
    "all_dims": lambda lib, dev: (1, 2, 3, lib.tensor(True, device=dev)),
}


@pytest.mark.parametrize("key", list(MASK_KEYS))
def test_zero_dim_bool_index_is_a_mask(device, torch, key):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.arange(24.0, device=dev).reshape(2, 3, 4).requires_grad_()
        y = x[MASK_KEYS[key](lib, dev)]
        w = lib.arange(float(y.numel()), device=dev).reshape(y.shape)
        (y * w).sum().backward()
        out.append((y, x.grad))
    for a, b in zip(*out, strict=True):
        assert_close(a, b)


def test_zero_dim_bool_index_errors_and_writes(device, torch):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.arange(6.0, device=dev).reshape(3, 2)
        with pytest.raises(IndexError):
            x[0, 0, 0, lib.tensor(True, device=dev)]
        x[lib.tensor(False, device=dev)] = 9.0
        x[2, lib.tensor(True, device=dev)] = 8.0
        a = lib.arange(6.0, device=dev).reshape(3, 2).requires_grad_()
        b = a * 1
        b[lib.tensor(True, device=dev), 1] = lib.tensor([5.0, 6.0], device=dev, requires_grad=True).sum()
        b.pow(2).sum().backward()
        with pytest.raises(RuntimeError):
            a[lib.tensor(True, device=dev)] = 1.0  # a leaf that requires grad
        out.append((x, b, a.grad))
    for p, q in zip(*out, strict=True):
        assert_close(p, q)


# -- F11: a second backward is legal through a graph that saved nothing ------------------------------------
SECOND_BACKWARD = {
    "add_scalar": lambda lib, x: (x + 1).sum(),
    "sub_neg_mean": lambda lib, x: (2 - (-x)).mean(),
    "views": lambda lib, x: x.t()[0].reshape(1, 2).expand(3, 2).sum(),
    "cat_stack_split": lambda lib, x: lib.stack([lib.cat([x, x]).split(1)[0], x[1:]]).sum(),
    "tril_flip_roll": lambda lib, x: x.tril().flip(0).roll(1).cumsum(0).sum(),
    "clone_to_pad": lambda lib, x: lib.nn.functional.pad(x.clone().double(), (1, 1)).sum(),
    "mul_tensors": lambda lib, x: (x * x).sum(),  # saves x: raises
    "mul_scalar": lambda lib, x: (x * 2).sum(),  # PyTorch saves the scalar as a tensor: raises
    "index_tensor": lambda lib, x: x[lib.tensor([0, 1, 1], device=x.device)].sum(),  # saves the index
    "exp": lambda lib, x: x.exp().sum(),  # saves its output
    "masked_fill": lambda lib, x: x.masked_fill(lib.tensor([True, False, True], device=x.device), 0.0).sum(),
}


@pytest.mark.parametrize("case", list(SECOND_BACKWARD))
def test_second_backward_when_nothing_was_saved(device, torch, case):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.arange(6.0, device=dev).reshape(2, 3).requires_grad_()
        y = SECOND_BACKWARD[case](lib, x)
        y.backward()
        try:
            y.backward()
            err = None
        except RuntimeError as e:
            err = "second time" in str(e)
        out.append((err, x.grad))
    assert out[0][0] == out[1][0]
    assert_close(out[0][1], out[1][1])
