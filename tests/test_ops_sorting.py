"""sort, argsort and topk against PyTorch: values, indices, gradients (first and second order), NaN and
tie order, dtypes, 0-d tensors and the errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite as gl
from tests.conftest import assert_close

NAN = float("nan")
# ties (1.0, along both dims) and a NaN: PyTorch's stable order puts NaN last ascending, first descending
DATA = [[3.0, NAN, 1.0, 1.0, -2.0], [0.0, -1.0, 2.0, 5.0, 2.0], [1.0, 1.0, 1.0, 0.5, 4.0]]


def _run(lib, dev, fn):
    x = lib.tensor(DATA, device=dev, requires_grad=True)
    out = fn(lib, x)
    values, indices = out if isinstance(out, tuple) else (None, out)
    grads = None
    if values is not None:
        w = lib.arange(values.numel(), dtype=values.dtype, device=dev).reshape(values.shape) + 1
        finite = lib.where(values.isnan(), 0.0, values)  # (NaN's own gradient is still sent back)
        (g,) = lib.autograd.grad((finite * w).sum(), x, create_graph=True)
        scale = lib.where(x.isnan(), 1.0, x).detach().abs()
        (g2,) = lib.autograd.grad((g * g * scale).sum() + (g * x).sum(), x)
        grads = (g, g2, values.grad_fn.name())
    return values, indices, grads


CASES = {
    "sort": lambda lib, x: lib.sort(x, stable=True),
    "sort_desc_dim0": lambda lib, x: lib.sort(x, dim=0, descending=True, stable=True),
    "sort_method": lambda lib, x: x.sort(dim=-1, descending=True, stable=True),
    "sort_positional": lambda lib, x: x[:, :2].sort(0, True),  # (no ties: any sort gives one order)
    "sort_unstable_name": lambda lib, x: lib.sort(x[2:, 3:]),
    "argsort": lambda lib, x: lib.argsort(x, dim=1, stable=True),
    "argsort_desc": lambda lib, x: x.argsort(dim=0, descending=True, stable=True),
    "topk": lambda lib, x: lib.topk(x[:, 2:], 2),
    "topk_smallest_dim0": lambda lib, x: x.topk(2, dim=0, largest=False),
    "topk_all": lambda lib, x: lib.topk(x[1], 5),
    "topk_zero": lambda lib, x: lib.topk(x, 0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sorting_matches_torch(device, torch, name):
    ours = _run(gl, device, CASES[name])
    ref = _run(torch, "cpu", CASES[name])
    if ours[0] is not None:
        assert_close(ours[0], ref[0])  # (NaN equal to NaN)
    assert ours[1].dtype == gl.int64
    assert ours[1].tolist() == ref[1].tolist()
    if ours[2] is not None:
        g, g2, node = ours[2]
        assert_close(g, ref[2][0])
        assert_close(g2, ref[2][1])
        assert node == ref[2][2]


def test_sorting_dtypes_and_zero_dim(device, torch):
    for lib, dev in ((gl, device), (torch, "cpu")):
        b = lib.sort(lib.tensor([True, False, True], device=dev))
        i = lib.sort(lib.tensor([3, 1, 2], device=dev), descending=True)
        s = lib.tensor(3.0, device=dev, requires_grad=True)
        zs, zt = lib.sort(s), lib.topk(s, 1)
        (zs.values * 2 + zt.values).backward()
        assert b.values.tolist() == [False, True, True] and b.indices.tolist() == [1, 0, 2]
        assert i.values.tolist() == [3, 2, 1] and i.indices.tolist() == [0, 2, 1]
        assert zs.values.item() == 3.0 and zs.indices.item() == 0 and zt.indices.item() == 0
        assert s.grad.item() == 3.0 and tuple(lib.argsort(s).shape) == ()
        assert tuple(lib.topk(s, 0).values.shape) == ()  # (PyTorch gives the one element for k = 0)
        assert type(lib.sort(s)).__name__ == "sort" and type(lib.topk(s, 1)).__name__ == "topk"


def test_sorting_errors_match_torch(device, torch):
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.tensor(DATA, device=dev)
        for t, k in ((x, 6), (x, -1), (lib.tensor(3.0, device=dev), 2)):
            with pytest.raises(RuntimeError, match="selected index k out of range"):
                lib.topk(t, k)
        with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of "
                           r"\[-2, 1\], but got 2\)"):
            lib.sort(x, dim=2)


def test_sort_gradient_on_large_random_input(device, torch):
    a = np.random.default_rng(0).standard_normal((64, 50)).astype(np.float32)
    out = {}
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.tensor(a, device=dev, requires_grad=True)
        v = lib.topk(x, 7, dim=0).values
        s = lib.sort(x, dim=1, descending=True).values
        ((v * v).sum() + (s[:, :3] * lib.arange(3.0, device=dev)).sum()).backward()
        out[lib] = (v, s, x.grad)
    for g, t in zip(out[gl], out[torch], strict=True):
        assert_close(g, t, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("which", ["sort", "topk"])
def test_values_of_a_0d_tensor_are_a_copy(which, torch, device):
    # found by the issue 17 fuzzer: the values aliased the 0-d input, so an in-place op on them changed it
    for m in (gl, torch):
        x = m.tensor(1.5, device=device)
        values = x.sort()[0] if which == "sort" else x.topk(1)[0]
        values.mul_(2)
        assert x.item() == 1.5 and values.item() == 3.0
