"""``inplace=True`` activations and ``F.pad``'s modes against PyTorch (values, gradients, errors)."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
import gradlite.nn.functional as F
from tests.conftest import assert_close

ACTIVATIONS = [
    ("relu", (), {}),
    ("relu6", (), {}),
    ("hardtanh", (-0.5, 0.7), {}),
    ("leaky_relu", (0.2,), {}),
    ("elu", (), {}),
    ("selu", (), {}),
    ("celu", (0.5,), {}),
    ("silu", (), {}),
    ("mish", (), {}),
    ("hardsigmoid", (), {}),
    ("hardswish", (), {}),
    ("rrelu", (), {"training": False}),
    ("threshold", (0.1, -2.0), {}),
]


@pytest.mark.parametrize("name, args, kwargs", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_inplace_activation_matches_torch(device, torch, name, args, kwargs):
    data = np.random.default_rng(1).standard_normal((4, 5)).astype(np.float32) * 3
    x = gradlite.tensor(data, device=device, requires_grad=True)
    y = x * 1
    out = getattr(F, name)(y, *args, inplace=True, **kwargs)
    assert out is y  # written into its input
    (out * out).sum().backward()  # the backward reads the activation's output and its own saved values

    tx = torch.tensor(data, device=device, requires_grad=True)
    ty = tx * 1
    tout = getattr(torch.nn.functional, name)(ty, *args, inplace=True, **kwargs)
    (tout * tout).sum().backward()
    assert_close(y, ty)
    assert_close(x.grad, tx.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["relu", "elu", "hardtanh", "silu"])
def test_inplace_activation_on_leaf_raises(device, name):
    leaf = gradlite.randn(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(F, name)(leaf, inplace=True)


PADS = [(2, 1, 1, 3), (1, -1, -2, 1), (-1, 2, 0, 0, 1, -1)]


@pytest.mark.parametrize("pad", PADS, ids=["pad", "crop", "3d"])
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_modes_match_torch(device, torch, mode, pad):
    """Negative amounts crop, in every mode (the reflected/wrapped positions are the input's), as PyTorch."""
    data = np.arange(2 * 3 * 4 * 5, dtype=np.float64).reshape(2, 3, 4, 5) / 7
    x = gradlite.tensor(data, device=device, requires_grad=True)
    tx = torch.tensor(data, device=device, requires_grad=True)
    out, tout = F.pad(x, pad, mode=mode), torch.nn.functional.pad(tx, pad, mode=mode)
    assert_close(out, tout)
    w = np.random.default_rng(0).standard_normal(tout.shape)
    (out * gradlite.tensor(w, device=device)).sum().backward()
    (tout * torch.tensor(w, device=device)).sum().backward()
    assert_close(x.grad, tx.grad)


def test_pad_reflect_too_large_raises(device):
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        F.pad(gradlite.zeros(1, 1, 3, device=device), (3, 0), mode="reflect")


@pytest.mark.parametrize("ndim, n", [(1, 2), (4, 2), (2, 4), (5, 4), (3, 6)])
def test_pad_non_constant_rejects_pytorchs_unsupported_combinations(device, torch, ndim, n):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        with pytest.raises(NotImplementedError, match=f"Padding size {n} is not supported for {ndim}D input"):
            lib.nn.functional.pad(lib.zeros(*([3] * ndim), device=dev), (1,) * n, mode="replicate")
