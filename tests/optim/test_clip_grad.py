"""``nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` against PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlite
from gradlite import nn

from ._helpers import host, make_params, start_values


def _with_grads(lib, device="cpu", scale=1.0):
    values = start_values(8)
    ps = make_params(values, lib, device)
    rng = np.random.default_rng(0)
    for p in ps:
        g = (rng.standard_normal(p.shape) * scale).astype(np.float32)
        p.grad = gradlite.tensor(g, device=device) if lib is gradlite else lib.tensor(g)
    return ps


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 100.0])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 3])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, device, torch_cpu):
    ours = _with_grads(gradlite, device)
    theirs = _with_grads(torch_cpu)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    total_t = torch_cpu.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert (
        isinstance(total, gradlite.Tensor) and total.shape == () and total.device == gradlite.empty(0, device=device).device
    )
    np.testing.assert_allclose(host(total), total_t.numpy(), rtol=1e-5)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(host(a.grad), host(b.grad), rtol=1e-5, atol=1e-7)
    norm_after = np.linalg.norm(np.concatenate([host(p.grad).ravel() for p in ours]), ord=norm_type)
    assert norm_after <= max_norm * (1 + 1e-5) or max_norm > float(host(total))


def test_clip_grad_norm_single_tensor_and_no_grads(device):
    p = gradlite.tensor([3.0, 4.0], device=device, requires_grad=True)
    p.grad = gradlite.tensor([3.0, 4.0], device=device)
    total = nn.utils.clip_grad_norm_(p, 1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(host(p.grad), [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_([gradlite.ones(2, requires_grad=True)], 1.0).item() == 0.0


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # NumPy on inf * 0
def test_clip_grad_norm_nonfinite(device):
    p = gradlite.ones(2, device=device, requires_grad=True)
    p.grad = gradlite.tensor([float("inf"), 1.0], device=device)
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    assert host(p.grad)[1] == 1.0  # raised before scaling
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert math.isinf(total.item())


@pytest.mark.parametrize("clip", [0.1, 1.0])
def test_clip_grad_value_matches_torch(clip, device, torch_cpu):
    ours = _with_grads(gradlite, device)
    theirs = _with_grads(torch_cpu)
    assert nn.utils.clip_grad_value_(ours, clip) is None
    torch_cpu.nn.utils.clip_grad_value_(theirs, clip)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(host(a.grad), host(b.grad))
    assert max(np.abs(host(p.grad)).max() for p in ours) == pytest.approx(clip)
