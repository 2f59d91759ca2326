"""Activation modules against PyTorch: values, gradients, repr, in-place behaviour."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import assert_close
from tests.nn.parity import check_module, copy_from_torch

ACTIVATIONS = [
    ("ReLU", {}),
    ("ReLU6", {}),
    ("LeakyReLU", {}),
    ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {}),
    ("ELU", {"alpha": 0.5}),
    ("SELU", {}),
    ("CELU", {"alpha": 2.0}),
    ("GELU", {}),
    ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}),
    ("Mish", {}),
    ("Hardtanh", {}),
    ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("Hardsigmoid", {}),
    ("Hardswish", {}),
    ("Sigmoid", {}),
    ("Tanh", {}),
    ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 1.0}),
    ("LogSigmoid", {}),
    ("Softmax", {"dim": 1}),
    ("Softmax", {"dim": -1}),
    ("LogSoftmax", {"dim": 0}),
    ("Softmin", {"dim": 1}),
    ("Softsign", {}),
    ("Tanhshrink", {}),
    ("Threshold", {"threshold": 0.5, "value": -2.0}),
    ("GLU", {"dim": 0}),
    ("GLU", {"dim": -3}),
    ("Hardshrink", {}),
    ("Softshrink", {"lambd": 1.5}),
    ("PReLU", {}),
]


def data(dtype=np.float32):
    # uniform over [-7, 7): covers every piece of the piecewise activations (|x| > 6, |x| < 1, ...)
    return np.random.default_rng(0).uniform(-7, 7, (4, 5, 3)).astype(dtype)


@pytest.mark.parametrize("name,kw", ACTIVATIONS, ids=[f"{n}{k}" for n, k in ACTIVATIONS])
def test_activation_modules(device, torch, name, kw):
    tm, gm = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw).to(device)
    assert repr(gm) == repr(tm)
    check_module(torch, gm, tm, [data()], device, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["ReLU", "ELU", "SiLU", "Hardtanh", "LeakyReLU"])
def test_activation_float64(device, torch, name):
    tm, gm = getattr(torch.nn, name)(), getattr(nn, name)().to(device)
    check_module(torch, gm, tm, [data(np.float64)], device, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "SiLU", "Hardtanh"])
def test_inplace_activations(device, torch, name):
    tm, gm = getattr(torch.nn, name)(inplace=True), getattr(nn, name)(inplace=True).to(device)
    assert repr(gm) == repr(tm)
    x = data()
    tx = torch.tensor(x, requires_grad=True)
    gx = gradlite.tensor(x, device=device, requires_grad=True)
    th, gh = tx * 1.5, gx * 1.5
    ty, gy = tm(th), gm(gh)
    assert gy is gh  # written into its input
    assert_close(gy, ty)
    ty.sum().backward()
    gy.sum().backward()
    assert_close(gx.grad, tx.grad)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        gm(gradlite.tensor(x, device=device, requires_grad=True))


def test_softmax_implicit_dim_warns(device, torch):
    x = data()
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        gy = nn.Softmax()(gradlite.tensor(x, device=device))
    with pytest.warns(UserWarning):
        ty = torch.nn.Softmax()(torch.tensor(x))
    assert_close(gy, ty)


def test_activation_argument_errors():
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="max_val"):
        nn.Hardtanh(1.0, -1.0)


def test_prelu_per_channel(device, torch):
    tm, gm = torch.nn.PReLU(5, init=0.1), nn.PReLU(5, init=0.1).to(device)
    with torch.no_grad():
        tm.weight.uniform_(-0.5, 0.5)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    check_module(torch, gm, tm, [data()], device)
    with pytest.raises(RuntimeError, match="parameter numbers = 5 and channel size = 4"):
        gm(gradlite.randn(2, 4, device=device))


def test_glu_odd_dim_error(device):
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 5"):
        nn.GLU(1)(gradlite.randn(2, 5, device=device))
