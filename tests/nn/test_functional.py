"""The nn functions gradlite implements itself (conv, pooling, normalisation, attention): gradients against
float64 finite differences, and second derivatives (their backward formulas are differentiable ops)."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite.autograd import gradcheck, gradgradcheck
from gradlite.nn import functional as F
from tests.conftest import assert_close


def t64(*shape, device, seed=0, requires_grad=True):
    a = np.random.default_rng(seed).standard_normal(shape)
    return gradlite.tensor(a, dtype=gradlite.float64, device=device, requires_grad=requires_grad)


CASES = {
    "conv2d": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)),
        [(2, 2, 5, 6), (3, 2, 3, 2), (3,)],
    ),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, groups=2, padding="same"), [(1, 4, 4, 4), (4, 2, 3, 3)]),
    "conv_transpose2d": (
        lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1, groups=2),
        [(1, 4, 3, 3), (4, 1, 3, 2), (2,)],
    ),
    "conv1d": (lambda x, w: F.conv1d(x, w, stride=2, padding=1), [(2, 3, 7), (2, 3, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), [(2, 2, 6, 5)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [(2, 2, 6, 5)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (4, 3)), [(2, 2, 6, 5)]),
    "adaptive_avg_pool2d_blocks": (lambda x: F.adaptive_avg_pool2d(x, (3, 2)), [(2, 2, 6, 4)]),
    "layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [(3, 2, 4), (4,), (4,)]),
    "batch_norm": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [(4, 3, 2), (3,), (3,)]),
    "group_norm": (lambda x, w, b: F.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
    "grid_sample": (
        lambda x, g: F.grid_sample(x, g, padding_mode="reflection"),
        [(1, 2, 3, 4), (1, 2, 3, 2)],
    ),
    "sdpa_causal": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
        [(2, 3, 4), (2, 3, 4), (2, 3, 2)],
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck(device, name):
    fn, shapes = CASES[name]
    inputs = [t64(*s, device=device, seed=i) for i, s in enumerate(shapes)]
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize(
    "name",
    ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "layer_norm", "batch_norm", "sdpa_causal"],
)
def test_gradgradcheck(device, name):
    fn, shapes = CASES[name]
    inputs = [t64(*s, device=device, seed=i) for i, s in enumerate(shapes)]
    assert gradgradcheck(fn, inputs)


def test_batch_norm_running_stats_update_in_place(device, torch):
    x = np.random.default_rng(0).standard_normal((6, 3, 4)).astype(np.float32)
    rm, rv = gradlite.zeros(3, device=device), gradlite.ones(3, device=device)
    trm, trv = torch.zeros(3), torch.ones(3)
    for m in (0.1, 0.5):
        F.batch_norm(gradlite.tensor(x, device=device), rm, rv, training=True, momentum=m)
        torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=m)
    np.testing.assert_allclose(rm.numpy(force=True), trm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv.numpy(force=True), trv.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_and_grid_sample_match_torch(device, torch, mode, padding_mode, align_corners):
    rng = np.random.default_rng(0)
    theta = (np.array([[[1, 0, 0], [0, 1, 0]]]) + rng.normal(0, 0.3, (2, 2, 3))).astype(np.float32)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    tt, tx = torch.tensor(theta, requires_grad=True), torch.tensor(x, requires_grad=True)
    gt = gradlite.tensor(theta, device=device, requires_grad=True)
    gx = gradlite.tensor(x, device=device, requires_grad=True)
    # a grid that reaches outside [-1, 1], so the padding mode matters
    tgrid = torch.nn.functional.affine_grid(tt * 1.4, (2, 3, 4, 7), align_corners=align_corners)
    ggrid = F.affine_grid(gt * 1.4, (2, 3, 4, 7), align_corners=align_corners)
    assert_close(ggrid, tgrid, rtol=1e-5, atol=1e-6)
    kw = dict(mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ty = torch.nn.functional.grid_sample(tx, tgrid, **kw)
    gy = F.grid_sample(gx, ggrid, **kw)
    assert_close(gy, ty, rtol=1e-5, atol=1e-5)
    r = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    (ty * torch.tensor(r)).sum().backward()
    (gy * gradlite.tensor(r, device=device)).sum().backward()
    assert_close(gx.grad, tx.grad, rtol=1e-5, atol=1e-5)
    if mode == "nearest":  # flat in the grid: zeros reach theta (not None), through PyTorch's node
        assert gt.grad is not None and gy.grad_fn.name() == ty.grad_fn.name()
    assert_close(gt.grad, tt.grad, rtol=1e-4, atol=1e-4)


def test_grid_sample_errors(device):
    x = gradlite.randn(1, 1, 3, 3, device=device)
    with pytest.raises(NotImplementedError, match="bicubic"):
        F.grid_sample(x, gradlite.zeros(1, 2, 2, 2, device=device), mode="bicubic")
    with pytest.raises(RuntimeError, match=r"grid of size \[1, 2, 2, 3\]"):
        F.grid_sample(x, gradlite.zeros(1, 2, 2, 3, device=device))
    with pytest.raises(ValueError, match="Nx2x3"):
        F.affine_grid(gradlite.zeros(1, 3, 3, device=device), (1, 1, 2, 2))
