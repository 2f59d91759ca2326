"""nn.init: distributions checked statistically (bounds, mean, std), gains and fans against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlite
from gradlite.nn import init
from tests.conftest import to_numpy


def draw(device, fn, *shape, **kw) -> np.ndarray:
    t = gradlite.empty(*shape, device=device)
    out = fn(t, **kw)
    assert out is t
    return to_numpy(t).astype(np.float64)


def test_uniform_normal_constant(device):
    a = draw(device, init.uniform_, 200, 100, a=-2.0, b=3.0)
    assert a.min() >= -2 and a.max() < 3
    assert abs(a.mean() - 0.5) < 0.05 and abs(a.std() - 5 / math.sqrt(12)) < 0.03
    a = draw(device, init.normal_, 200, 100, mean=1.5, std=0.5)
    assert abs(a.mean() - 1.5) < 0.02 and abs(a.std() - 0.5) < 0.01
    assert (draw(device, init.constant_, 3, 4, val=2.5) == 2.5).all()
    assert (draw(device, init.zeros_, 3, 4) == 0).all()
    assert (draw(device, init.ones_, 3, 4) == 1).all()


def test_calculate_gain_matches_torch(torch):
    for name, param in [
        ("linear", None),
        ("conv2d", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("selu", None),
    ]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.calculate_gain("softmax")


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3)])
def test_xavier(device, shape):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    a = draw(device, init.xavier_uniform_, *shape, gain=2.0)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.95 * bound
    assert abs(a.std() - bound / math.sqrt(3)) < 0.03 * bound
    a = draw(device, init.xavier_normal_, *shape)
    assert abs(a.std() - math.sqrt(2 / (fan_in + fan_out))) < 0.03 * math.sqrt(2 / (fan_in + fan_out))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming(device, mode):
    shape = (128, 64, 3, 3)
    fan = (64 if mode == "fan_in" else 128) * 9
    std = math.sqrt(2.0) / math.sqrt(fan)
    a = draw(device, init.kaiming_normal_, *shape, mode=mode, nonlinearity="relu")
    assert abs(a.mean()) < 0.05 * std and abs(a.std() - std) < 0.02 * std
    a = draw(device, init.kaiming_uniform_, *shape, mode=mode, nonlinearity="relu")
    bound = math.sqrt(3.0) * std
    assert np.abs(a).max() <= bound and abs(a.std() - std) < 0.02 * std
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(gradlite.empty(3, 3, device=device), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.kaiming_uniform_(gradlite.empty(3, device=device))


@pytest.mark.parametrize("shape", [(6, 10), (10, 6), (4, 3, 2, 2)])
def test_orthogonal(device, shape):
    a = draw(device, init.orthogonal_, *shape, gain=1.5).reshape(shape[0], -1)
    small = min(a.shape)
    gram = a @ a.T if a.shape[0] == small else a.T @ a
    np.testing.assert_allclose(gram, 2.25 * np.eye(small), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dimensions"):
        init.orthogonal_(gradlite.empty(4, device=device))


def test_trunc_normal(device):
    a = draw(device, init.trunc_normal_, 20000, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert a.min() >= -1.0 and a.max() <= 2.0
    # mean of N(1, 4) truncated to [-1, 2]: mu + sigma (phi(alpha) - phi(beta)) / (Phi(beta) - Phi(alpha))
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    expected = 1.0 + 2.0 * (phi(-1.0) - phi(0.5)) / (cdf(0.5) - cdf(-1.0))
    assert abs(a.mean() - expected) < 0.03
    a = draw(device, init.trunc_normal_, 20000, std=0.02)  # the ViT default: [-2, 2] is ~100 std wide
    assert abs(a.std() - 0.02) < 0.001


def test_init_runs_without_recording_and_on_parameters(device):
    p = gradlite.nn.Parameter(gradlite.empty(4, 5, device=device))
    for fn in (
        init.uniform_,
        init.normal_,
        init.xavier_uniform_,
        init.kaiming_normal_,
        init.orthogonal_,
        init.trunc_normal_,
        init.zeros_,
        init.eye_,
    ):
        fn(p)
        assert p.grad_fn is None and p.requires_grad
    np.testing.assert_array_equal(to_numpy(p), np.eye(4, 5, dtype=np.float32))
