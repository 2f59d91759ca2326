"""Regression tests for autograd differences from PyTorch found by the differential fuzzer
(tests/test_fuzz_torch.py), each compared with PyTorch itself."""

import numpy as np
import pytest

import gradlite
from tests.conftest import STRICT, assert_close, to_numpy

# float16, strided views and mixed-precision promotion are what these tests exercise; the strict array-API
# backend (the CPU of its runs) has no float16 and no strided arrays
pytestmark = pytest.mark.skipif(STRICT, reason="float16, strided views: not on the strict array-API backend")


@pytest.mark.parametrize("shape", [(3, 0), (0,)])
def test_n2_inplace_on_empty_expanded_gradient(device, torch, shape):
    """The gradient of x.sum() for an empty x is an expanded (zero-stride) array; writing into it
    writes nothing and works, as in PyTorch."""
    out = []
    for lib in (gradlite, torch):
        x = lib.zeros(*shape, requires_grad=True, device=device)
        (g,) = lib.autograd.grad(x.sum(), x, create_graph=True)
        g.mul_(-2)
        out.append(g)
    assert tuple(out[0].shape) == tuple(out[1].shape)
    assert_close(out[0], out[1])


def test_n2_inplace_on_nonempty_expanded_gradient_still_raises(device, torch):
    for lib in (gradlite, torch):
        x = lib.zeros(3, requires_grad=True, device=device)
        (g,) = lib.autograd.grad(x.sum(), x, create_graph=True)
        with pytest.raises(RuntimeError, match="refers to a single memory location"):
            g.mul_(-2)


@pytest.mark.parametrize(
    "make",
    [
        lambda x: x.square(),
        lambda x: x**2,
        lambda x: x**3,
        lambda x: x**0.5,
        lambda x: x**-2,
    ],
    ids=["square", "pow2", "pow3", "pow0.5", "pow-2"],
)
@pytest.mark.parametrize("gy", [65504.0, 6e-8, 1.0])
def test_n22_float16_pow_gradient_order(device, torch, make, gy):
    """PyTorch computes gy * (p * x**(p-1)): in float16, gy * p first overflows to inf, and inf * 0 is NaN
    where torch has 0 (or inf where torch has inf)."""
    vals = [0.0, -0.0, 1e-4, 0.5, 1.0, 300.0, 65504.0]
    grads = []
    for lib in (gradlite, torch):
        x = lib.tensor(vals, dtype=lib.float16, device=device, requires_grad=True)
        make(x).backward(lib.full((len(vals),), gy, dtype=lib.float16, device=device))
        grads.append(x.grad)
    assert_close(grads[0], grads[1], rtol=1e-3, atol=0)


@pytest.mark.parametrize(
    "views, name",
    [
        (lambda x: x.split(2)[1], "Output 1 of Split"),
        (lambda x: x.chunk(2)[0], "Output 0 of Split"),
        (lambda x: x.split([1, 3])[1], "Output 1 of SplitWithSizes"),
        (lambda x: x.unbind(1)[2], "Output 2 of Unbind"),
        (lambda x: x.split(2)[1][0], "Output 0 of Select"),
        (lambda x: x.unbind()[0].view(3), "Output 0 of View"),
    ],
)
@pytest.mark.parametrize("leaf", [False, True])
def test_n13_inplace_on_multi_output_view_raises(device, torch, views, name, leaf):
    for lib in (gradlite, torch):
        b = lib.ones(4, 3, device=device, requires_grad=True)
        x = b if leaf else b * 1
        with pytest.raises(RuntimeError, match=f"{name} is a view.*function that returns multiple views"):
            views(x).mul_(2)


def test_n13_inplace_on_multi_output_view_allowed(device, torch):
    """No grad at the split, or the in-place op in no_grad, or a detached output: allowed, as PyTorch."""
    out = []
    for lib in (gradlite, torch):
        lib.ones(4, 3, device=device).split(2)[0].mul_(2)
        x = lib.ones(4, 3, device=device, requires_grad=True) * 1
        y = x.split(2)[1]
        with lib.no_grad():
            y.mul_(3)
        x.unbind()[0].detach().add_(1)
        x.sum().backward()
        out.append(x)
    assert_close(out[0], out[1])


_OVERLAP_CASES = {
    "sub_row": lambda x: x.sub_(x[-1]),
    "isub_row": lambda x: x.__isub__(x[-1]),
    "add_first_rows": lambda x: x[:2].add_(x[1:]),
    "add_element": lambda x: x.add_(x[0, 0]),
    "div_row": lambda x: x.div_(x[-1]),
    "copy_row": lambda x: x.copy_(x[-1]),
    "lerp_row": lambda x: x.lerp_(x[-1], 0.5),
    "mul_transposed": lambda x: x[:2, :2].mul_(x[:2, :2].t()),
    "add_self": lambda x: x.add_(x),
    "add_same_elements": lambda x: x.add_(x.view(6).view(3, 2)),
    "add_other_row": lambda x: x[0].add_(x[1]),
    "copy_other_row": lambda x: x[0].copy_(x[1]),
    "add_strided": lambda x: x.view(6)[::2].add_(x.view(6)[1::2]),
}


@pytest.mark.parametrize("case", list(_OVERLAP_CASES))
@pytest.mark.parametrize("grad", [False, True])
def test_n14_partial_overlap_of_operand_raises(device, torch, case, grad):
    """PyTorch raises when an operand partly overlaps the written-to tensor; an operand with exactly its
    elements, a disjoint one or a non-dense one is computed."""
    out = []
    for lib in (gradlite, torch):
        x = lib.arange(6.0, device=device).reshape(3, 2)
        if grad:
            x = x.requires_grad_() * 1
        try:
            _OVERLAP_CASES[case](x)
            out.append(x)
        except RuntimeError as err:
            out.append(str(err))
    if isinstance(out[1], str):
        assert "refer to a single memory location" in out[1]
        assert out[0] == out[1]
    else:
        assert_close(out[0], out[1])


def _mul_function(lib, grad_a, grad_b):
    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return grad_a(g), grad_b(g)

    return Mul


@pytest.mark.parametrize(
    "grad_a, grad_b",
    [
        (lambda g: g * 2, lambda g: g * 3),  # b does not require grad: its gradient is dropped
        (lambda g: g * 2, lambda g: g.sum()),  # even of a wrong shape
        (lambda g: g.double() * 2, lambda g: None),  # another floating dtype: cast
        (lambda g: g.half(), lambda g: g),
    ],
    ids=["unused", "unused_wrong_shape", "float64", "float16"],
)
@pytest.mark.parametrize("create_graph", [False, True])
def test_n17_custom_function_gradient_dropped_or_cast(device, torch, grad_a, grad_b, create_graph):
    out = []
    for lib in (gradlite, torch):
        a = lib.ones(3, device=device, requires_grad=True)
        b = lib.ones(3, device=device)
        y = _mul_function(lib, grad_a, grad_b).apply(a, b).sum()
        (ga,) = lib.autograd.grad(y, a, create_graph=create_graph)
        out.append(ga)
    assert_close(out[0], out[1])
    assert out[0].dtype == gradlite.float32


def test_n17_custom_function_wrong_shape_still_raises(device):
    """gradlite stays stricter than PyTorch for an input that requires grad: a wrong shape raises."""
    a = gradlite.ones(3, device=device, requires_grad=True)
    b = gradlite.ones(3, device=device, requires_grad=True)
    y = _mul_function(gradlite, lambda g: g, lambda g: g.sum()).apply(a, b).sum()
    with pytest.raises(RuntimeError, match="invalid gradient at index 1"):
        y.backward()


@pytest.mark.parametrize("matrix", ["zero_column", "zero", "batched"])
@pytest.mark.parametrize("which", ["Q", "R", "both"])
def test_n27_qr_gradient_of_rank_deficient_matrix(device, torch, matrix, which):
    """A zero on R's diagonal: PyTorch's triangular solve gives inf / nan, it does not raise. (Which of inf
    and nan depends on whether a rounding residue divided by the zero is 0: only finiteness is compared.)"""
    rng = np.random.default_rng(0)
    a = {
        "zero_column": np.c_[rng.standard_normal((4, 2)), np.zeros(4), rng.standard_normal((4, 1))],
        "zero": np.zeros((3, 3)),
        "batched": np.stack([rng.standard_normal((3, 3)), np.c_[np.zeros(3), rng.standard_normal((3, 2))]]),
    }[matrix]
    grads = []
    for lib in (gradlite, torch):
        x = lib.tensor(a, device=device, requires_grad=True)
        q, r = lib.linalg.qr(x)
        loss = {"Q": q.sum(), "R": r.sum(), "both": (q * 2).sum() + r.sum()}[which]
        loss.backward()
        grads.append(to_numpy(x.grad))
    finite = np.isfinite(grads[1])
    np.testing.assert_array_equal(np.isfinite(grads[0]), finite)
    np.testing.assert_allclose(grads[0][finite], grads[1][finite], rtol=1e-6, atol=1e-9)
