"""The minimal nn of issue 2: Module registration, Parameter, Linear (shape, init, values vs PyTorch),
Sigmoid, ReLU, zero_grad, to(device)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import assert_close, to_numpy


def TwoLayer(lib_nn, d_in=3, hidden=4, d_out=2):
    """The tutorials' Linear-Sigmoid-Linear network, written against ``lib_nn`` (gradlite.nn or torch.nn)."""

    class TwoLayer(lib_nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = lib_nn.Linear(d_in, hidden)
            self.act = lib_nn.Sigmoid()
            self.fc2 = lib_nn.Linear(hidden, d_out)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    return TwoLayer()


def test_parameter_is_a_leaf_that_requires_grad(device):
    p = nn.Parameter(gradlite.ones(2, device=device))
    assert isinstance(p, gradlite.Tensor) and p.requires_grad and p.is_leaf
    assert repr(p).startswith("Parameter containing:\ntensor([1., 1.]")
    assert not nn.Parameter(gradlite.ones(2), requires_grad=False).requires_grad
    assert p.device == gradlite.ones(1, device=device).device


def test_module_registers_parameters_in_order(device):
    m = TwoLayer(nn).to(device)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert len(list(m.parameters())) == 4
    assert all(p.device == gradlite.ones(1, device=device).device for p in m.parameters())


def test_forgetting_super_init_fails_loudly():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Bad()


def test_linear_shapes_and_init_bounds(device, torch_cpu):
    lin = nn.Linear(20, 5, device=device)
    t = torch_cpu.nn.Linear(20, 5)
    assert lin.weight.shape == tuple(t.weight.shape) == (5, 20)
    assert lin.bias.shape == tuple(t.bias.shape) == (5,)
    bound = 1 / math.sqrt(20)
    w, b = to_numpy(lin.weight), to_numpy(lin.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert w.std() > bound / 3  # spread over the interval, not zeros
    assert nn.Linear(3, 2, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 2, bias=False).named_parameters()] == ["weight"]
    assert repr(lin) == "Linear(in_features=20, out_features=5, bias=True)"


def test_linear_values_and_gradients_match_torch(device, torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3)).astype(np.float32)
    g, t = TwoLayer(nn).to(device), TwoLayer(torch.nn)
    with gradlite.no_grad():
        for (_, pg), (_, pt) in zip(g.named_parameters(), t.named_parameters(), strict=False):
            pg.copy_(gradlite.tensor(pt.detach().numpy(), device=device))
    go, to = g(gradlite.tensor(x, device=device)), t(torch.tensor(x))
    assert_close(go, to)
    (go**2).mean().backward()
    (to**2).mean().backward()
    for (_n, pg), (_, pt) in zip(g.named_parameters(), t.named_parameters(), strict=False):
        assert_close(pg.grad, pt.grad, rtol=1e-5, atol=1e-6)


def test_relu_and_sigmoid_modules(device, torch):
    a = np.array([-2.0, 0.5, 3.0], dtype=np.float32)
    for name in ("ReLU", "Sigmoid"):
        assert_close(
            getattr(nn, name)()(gradlite.tensor(a, device=device)), getattr(torch.nn, name)()(torch.tensor(a))
        )
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.Sigmoid()) == "Sigmoid()"


def test_zero_grad(device):
    m = TwoLayer(nn).to(device)
    m(gradlite.randn(4, 3, device=device)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(to_numpy(p.grad).sum() == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_module_repr_matches_torch(torch_cpu):
    g, t = TwoLayer(nn), TwoLayer(torch_cpu.nn)
    assert repr(g) == repr(t)


def test_module_to_keeps_parameter_identity(device):
    m = TwoLayer(nn)
    before = list(m.parameters())
    assert m.to(device) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in before]
    m.double()
    assert all(p.dtype is gradlite.float64 for p in m.parameters())


def test_training_loop_reduces_loss(device):
    gradlite.manual_seed(0)
    m = TwoLayer(nn, 2, 8, 1).to(device)
    x = gradlite.randn(64, 2, device=device)
    y = (x[:, 0:1] + x[:, 1:2] > 0).float()
    losses = []
    for _ in range(200):
        loss = ((m(x).sigmoid() - y) ** 2).mean()
        m.zero_grad()
        loss.backward()
        with gradlite.no_grad():
            for p in m.parameters():
                p -= 1.0 * p.grad
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
