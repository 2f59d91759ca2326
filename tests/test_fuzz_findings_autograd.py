"""Regression tests for autograd differences from PyTorch found by the differential fuzzer
(tests/test_fuzz_torch.py), each compared with PyTorch itself."""

import pytest

import gradlite
from tests.conftest import assert_close


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
