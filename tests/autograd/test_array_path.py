"""The engine's two ways of running a backward: gradient arrays (no create_graph; built-in ops' backward
functions run on raw arrays) and gradient tensors (create_graph). Both must give PyTorch's gradients,
store gradients that alias nothing, and hand hooks tensors."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.autograd._helpers import both
from tests.conftest import STRICT


def _mixed(lib, dev, create_graph):
    """Ops with array backward functions (mul, tanh, mean, matmul, reshape, softmax) around ops whose
    backward is written with tensor ops (clamp, cumsum, getitem), so gradients cross between the two."""
    x = lib.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], device=dev, requires_grad=True)
    w = lib.tensor([[0.2, -0.4], [1.0, 0.3], [-0.6, 0.9]], device=dev, requires_grad=True)
    h = (x * 1.5).tanh().clamp(min=-0.5) @ w
    y = h.reshape(4).cumsum(0)[1:].softmax(0) * h.reshape(4)[:3]
    loss = y.mean() + (h**2).sum()
    gx, gw = lib.autograd.grad(loss, (x, w), create_graph=create_graph)
    if not create_graph:
        return gx, gw
    gx.sum().backward()  # a second derivative through the same graph
    return gx, gw, w.grad


@pytest.mark.parametrize("create_graph", [False, True])
def test_mixed_graph_matches_torch_in_both_modes(torch, device, create_graph):
    both(torch, lambda lib, dev: _mixed(lib, dev, create_graph), device)


def test_zero_dim_leaf_gets_a_writable_array(device):
    # d(x*3)/dx of a 0-d x: NumPy's arithmetic on 0-d arrays gives scalars, which must not become .grad
    x = gradlite.tensor(2.0, device=device, requires_grad=True)
    (x * 3).backward()
    assert isinstance(x.grad._data, x._device.backend.array_type)
    x.grad.zero_()
    (x * x).backward()
    assert x.grad.item() == 4.0


@pytest.mark.parametrize("n", [100, 70_000])
def test_mean_gradient_small_and_large(torch, device, n):
    # a small full reduction fills its gradient, a large one broadcasts a view: both store writable grads
    def program(lib, dev):
        x = lib.linspace(-1, 1, n, device=dev, requires_grad=True)
        (x * 2).mean().backward()
        g = x.grad.clone()
        x.grad.add_(1.0)  # in place: the stored gradient is writable and owned by x
        return g, x.grad

    both(torch, program, device)


@pytest.mark.skipif(STRICT, reason="the strict array API has no float16")
@pytest.mark.parametrize("n", [3_001, 65_520, 70_000])
@pytest.mark.parametrize("create_graph", [False, True])
def test_float16_mean_gradient_divides_in_float32(torch, device, n, create_graph):
    # PyTorch divides a half gradient by the count in float32 and rounds once; rounding the count to
    # float16 first (NumPy's and CuPy's rule for a python number) made counts above 65504 inf: zero gradients
    def program(lib, dev):
        x = lib.ones(n, dtype=lib.float16, device=dev, requires_grad=True)
        m = lib.ones(10, n // 10 * 3, dtype=lib.float16, device=dev, requires_grad=True)
        loss = x.mean() * 3 + x.mean(0) + m.mean(dim=(0, 1)) + m.mean(1).sum()
        gx, gm = lib.autograd.grad(loss, (x, m), create_graph=create_graph)
        assert gx.dtype == lib.float16 and gm.dtype == lib.float16
        return gx[:3], gm[:2, :2], x.mean().float()

    both(torch, program, device, rtol=0, atol=0)


def test_gradients_of_two_leaves_never_share_memory(device):
    a = gradlite.ones(3, device=device, requires_grad=True)
    b = gradlite.ones(3, device=device, requires_grad=True)
    (a + b).sum().backward()  # AddBackward0 hands the same gradient to both
    a.grad.add_(1.0)
    assert b.grad.tolist() == [1.0, 1.0, 1.0]
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_user_gradient_is_never_stored_uncopied(device):
    x = gradlite.ones(3, device=device, requires_grad=True)
    v = gradlite.tensor([1.0, 2.0, 3.0], device=device)
    (x + 0).backward(v)  # identity backward: the gradient reaching x is the user's v
    x.grad.mul_(0)
    assert v.tolist() == [1.0, 2.0, 3.0]


def test_hooks_on_array_nodes_see_and_replace_tensors(device):
    x = gradlite.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 3
    seen = []

    def hook(g):
        seen.append(g)
        return g * 10

    y.register_hook(hook)
    y.retain_grad()
    (y * y).sum().backward()
    assert isinstance(seen[0], gradlite.Tensor) and seen[0].tolist() == [6.0, 12.0]
    assert y.grad.tolist() == [60.0, 120.0]  # retain_grad sees the hooked gradient, as in PyTorch
    assert x.grad.tolist() == [180.0, 360.0]


def test_backward_errors_on_the_fast_path(device):
    x = gradlite.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        gradlite.ones(1, device=device).sum().backward()
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 2.0])
