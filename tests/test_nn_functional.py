"""nn.functional beyond the registry: loss option grids vs PyTorch, stability at huge logits, dropout's
randomness, softmax's implicit dim, embedding's padding row, and the warnings PyTorch gives."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import gradlite as gl
import gradlite.nn.functional as F
from tests.conftest import STRICT, assert_close, to_numpy


def _pair(torch, device, a, requires_grad=True):
    """The same float64 values as a gradlite tensor and a torch tensor (both leaves)."""
    g = gl.tensor(a, device=device, requires_grad=requires_grad and a.dtype.kind == "f")
    t = torch.tensor(a, device=device, requires_grad=requires_grad and a.dtype.kind == "f")
    return g, t


def _check(torch, device, fg, ft, *arrays, rtol=1e-7, atol=1e-9):
    """Values and gradients of fg(gradlite tensors) against ft(torch tensors), with a random upstream grad."""
    pairs = [_pair(torch, device, a) for a in arrays]
    yg, yt = fg(*[p[0] for p in pairs]), ft(*[p[1] for p in pairs])
    assert_close(yg, yt, rtol=rtol, atol=atol)
    w = np.random.default_rng(1).standard_normal(tuple(yt.shape))
    (yg * gl.tensor(w, device=device)).sum().backward()
    (yt * torch.tensor(w, device=device)).sum().backward()
    for g, t in pairs:
        if t.requires_grad:
            assert_close(g.grad, t.grad, rtol=rtol, atol=atol)


RNG = np.random.default_rng(0)


@pytest.mark.parametrize(
    "reduction, weighted, ignore, smoothing",
    list(itertools.product(("mean", "sum", "none"), (False, True), (-100, 2), (0.0, 0.25))),
)
def test_cross_entropy_index_grid(torch, device, reduction, weighted, ignore, smoothing):
    x = RNG.standard_normal((6, 4))
    t = np.array([0, 2, 3, 2, 1, -100])
    w = RNG.uniform(0.5, 2.0, 4) if weighted else None
    kw = {"reduction": reduction, "ignore_index": ignore, "label_smoothing": smoothing}
    if ignore == 2:
        t[-1] = 1
    wg = None if w is None else gl.tensor(w, device=device)
    wt = None if w is None else torch.tensor(w, device=device)
    _check(
        torch,
        device,
        lambda a: F.cross_entropy(a, gl.tensor(t, device=device), wg, **kw),
        lambda a: torch.nn.functional.cross_entropy(a, torch.tensor(t, device=device), wt, **kw),
        x,
    )


@pytest.mark.parametrize(
    "reduction, weighted, smoothing",
    list(itertools.product(("mean", "sum", "none"), (False, True), (0.0, 0.3))),
)
def test_cross_entropy_probability_targets_kdim(torch, device, reduction, weighted, smoothing):
    """Class probabilities for (N, C, d1, d2) inputs; gradients flow to the target too, as in PyTorch."""
    x = RNG.standard_normal((2, 3, 2, 2))
    p = RNG.uniform(0, 1, (2, 3, 2, 2))
    p /= p.sum(1, keepdims=True)
    w = RNG.uniform(0.5, 2.0, 3) if weighted else None
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    wg = None if w is None else gl.tensor(w, device=device)
    wt = None if w is None else torch.tensor(w, device=device)
    _check(
        torch,
        device,
        lambda a, b: F.cross_entropy(a, b, wg, **kw),
        lambda a, b: torch.nn.functional.cross_entropy(a, b, wt, **kw),
        x,
        p,
    )


def test_cross_entropy_is_stable_at_huge_logits(torch, device):
    """Logits of 1e4 (float32): finite loss and gradients equal to PyTorch's."""
    x = (RNG.standard_normal((5, 7)) * 1e4).astype(np.float32)
    t = np.array([0, 6, 3, 3, 1])
    xg = gl.tensor(x, device=device, requires_grad=True)
    xt = torch.tensor(x, device=device, requires_grad=True)
    for kw in ({}, {"label_smoothing": 0.1}):
        lg = F.cross_entropy(xg, gl.tensor(t, device=device), **kw)
        lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t, device=device), **kw)
        assert np.isfinite(lg.item())
        assert_close(lg, lt, rtol=1e-5, atol=1e-2)
        (gg,) = gl.autograd.grad(lg, xg)
        (gt,) = torch.autograd.grad(lt, xt)
        assert np.all(np.isfinite(to_numpy(gg)))
        assert_close(gg, gt, rtol=1e-5, atol=1e-6)


def test_cross_entropy_matches_log_softmax_plus_nll(device):
    x = gl.randn(4, 5, dtype=gl.float64, device=device)
    t = gl.tensor([1, 0, 4, 4], device=device)
    assert_close(F.cross_entropy(x, t), F.nll_loss(F.log_softmax(x, 1), t), rtol=1e-12, atol=1e-12)


def test_nll_loss_all_ignored_mean_is_nan(torch, device):
    x = RNG.standard_normal((2, 3))
    t = np.array([-100, -100])
    g = F.nll_loss(gl.tensor(x, device=device), gl.tensor(t, device=device))
    e = torch.nn.functional.nll_loss(torch.tensor(x, device=device), torch.tensor(t, device=device))
    assert np.isnan(g.item()) and np.isnan(e.item())


def test_nll_loss_rejects_float_targets(device):
    with pytest.raises(RuntimeError, match="expected scalar type Long but found"):
        F.nll_loss(gl.randn(2, 3, device=device), gl.tensor([0.0, 1.0], device=device))


def test_bce_with_logits_stable_and_pos_weight_broadcasts(torch, device):
    x = RNG.standard_normal((4, 3)) * 1e4
    t = RNG.uniform(0, 1, (4, 3))
    pw = RNG.uniform(0.5, 3, 3)
    _check(
        torch,
        device,
        lambda a, b: F.binary_cross_entropy_with_logits(a, b, pos_weight=gl.tensor(pw, device=device)),
        lambda a, b: torch.nn.functional.binary_cross_entropy_with_logits(
            a, b, pos_weight=torch.tensor(pw, device=device)
        ),
        x,
        t,
    )


def test_bce_clamps_log_at_saturated_probabilities(torch, device):
    """Inputs of exactly 0 and 1: PyTorch clamps the logs at -100 and the gradient's denominator at 1e-12."""
    x = np.array([0.0, 1.0, 0.5, 1e-30])
    t = np.array([1.0, 0.0, 0.5, 0.3])
    _check(
        torch,
        device,
        lambda a: F.binary_cross_entropy(a, gl.tensor(t, device=device), reduction="none"),
        lambda a: torch.nn.functional.binary_cross_entropy(
            a, torch.tensor(t, device=device), reduction="none"
        ),
        x,
        rtol=1e-6,
    )


def test_losses_warn_on_broadcasting_target(device):
    with pytest.warns(UserWarning, match="Using a target size"):
        F.mse_loss(gl.randn(3, 4, device=device), gl.randn(4, device=device))


def test_kl_div_mean_warns_and_batchmean_divides_by_batch(torch, device):
    x = np.log(RNG.uniform(0.1, 1, (3, 4)))
    q = RNG.uniform(0.1, 1, (3, 4))
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(gl.tensor(x, device=device), gl.tensor(q, device=device))
    _check(
        torch,
        device,
        lambda a, b: F.kl_div(a, b, reduction="batchmean"),
        lambda a, b: torch.nn.functional.kl_div(a, b, reduction="batchmean"),
        x,
        q,
    )


def test_softmax_implicit_dim_warns_and_picks_pytorchs_dim(torch, device):
    x = RNG.standard_normal((2, 3, 4))
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = F.softmax(gl.tensor(x, device=device))
    with pytest.warns(UserWarning):
        e = torch.nn.functional.softmax(torch.tensor(x, device=device))
    assert_close(y, e, rtol=1e-12, atol=1e-12)


def test_softmax_double_backward_matches_torch(torch, device):
    x = RNG.standard_normal((3, 4))
    xg, xt = _pair(torch, device, x)
    for f, tf in ((F.softmax, torch.nn.functional.softmax), (F.log_softmax, torch.nn.functional.log_softmax)):
        (gg,) = gl.autograd.grad((f(xg, 1) ** 2).sum(), xg, create_graph=True)
        (gt,) = torch.autograd.grad((tf(xt, 1) ** 2).sum(), xt, create_graph=True)
        (hg,) = gl.autograd.grad(gg.sum(), xg)
        (ht,) = torch.autograd.grad(gt.sum(), xt)
        assert_close(hg, ht, rtol=1e-10, atol=1e-12)


def test_dropout_zeroes_about_p_and_scales_the_rest(device):
    gl.manual_seed(0)
    x = gl.ones(20000, device=device, requires_grad=True)
    y = F.dropout(x, 0.3)
    v = to_numpy(y)
    kept = v != 0
    assert abs(1 - kept.mean() - 0.3) < 0.02
    np.testing.assert_allclose(v[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    # the gradient is the same mask and scale: d(x * m / (1 - p))/dx = m / (1 - p)
    np.testing.assert_allclose(to_numpy(x.grad), v, rtol=1e-6)


def test_dropout_eval_is_identity_and_inplace_writes(device):
    x = gl.randn(5, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    y = x.clone()
    r = F.dropout(y, 0.5, inplace=True)
    assert r is y and np.all((to_numpy(y) == 0) | np.isclose(to_numpy(y), 2 * to_numpy(x)))


def test_embedding_padding_row_gets_no_gradient(torch, device):
    w = RNG.standard_normal((5, 3))
    idx = np.array([[0, 2, 0], [4, 2, 1]])
    _check(
        torch,
        device,
        lambda a: F.embedding(gl.tensor(idx, device=device), a, padding_idx=2),
        lambda a: torch.nn.functional.embedding(torch.tensor(idx, device=device), a, padding_idx=2),
        w,
    )


def test_one_hot_infers_classes(torch, device):
    t = np.array([[0, 3], [1, 1]])
    g = F.one_hot(gl.tensor(t, device=device))
    e = torch.nn.functional.one_hot(torch.tensor(t, device=device))
    assert_close(g, e)
    assert not g.requires_grad


def test_linear_matches_torch_with_batches(torch, device):
    _check(
        torch,
        device,
        F.linear,
        torch.nn.functional.linear,
        RNG.standard_normal((2, 4, 3)),
        RNG.standard_normal((5, 3)),
        RNG.standard_normal(5),
    )


@pytest.mark.parametrize("kw", [dict(max_norm=1.0), dict(max_norm=0.7, norm_type=1.0, scale_grad_by_freq=True,
                                                       padding_idx=4)])
def test_functional_embedding_max_norm_renormalises_the_weight_in_place(torch, device, kw):
    """As PyTorch's F.embedding: the referenced rows over max_norm are scaled down in place first (the
    weight's version moves), then the lookup runs; scale_grad_by_freq divides each row's gradient."""
    w = np.random.default_rng(3).standard_normal((5, 3))
    idx = np.array([[0, 2, 0], [4, 2, 2]])
    out = []
    for lib, dev in ((gl, device), (torch, "cpu")):
        wt = lib.tensor(w, device=dev, requires_grad=True)
        y = lib.nn.functional.embedding(lib.tensor(idx, device=dev), wt, **kw)
        version = wt._version_count if lib is gl else wt._version  # (gradlite's _version is the counter)
        assert version == 1 and y.grad_fn.name() == "EmbeddingBackward0"
        (y * lib.arange(18.0, device=dev).reshape(2, 3, 3)).sum().backward()
        out.append((y, wt.detach(), wt.grad))
    for ours, ref in zip(*out, strict=True):
        assert_close(ours, ref)


def test_functional_embedding_refuses_sparse(device):
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(gl.tensor([0], device=device), gl.ones(2, 2, device=device), sparse=True)


def test_out_of_range_class_targets_raise_on_every_device(device):
    """An out-of-range class raises PyTorch's IndexError on every device (it gave nan on CUDA): the CPU at
    once, CUDA at the next host read, the target being checked on the device (no sync per step)."""
    x = gl.randn(3, 4, requires_grad=True, device=device)
    ok = F.cross_entropy(x, gl.tensor([0, 3, -100], device=device), reduction="none")
    assert np.isfinite(to_numpy(ok.detach())[:2]).all() and to_numpy(ok.detach())[2] == 0
    for target, bad in (([0, 7, 1], 7), ([0, -1, 1], -1)):
        with pytest.raises(IndexError, match=f"Target {bad} is out of bounds."):
            loss = F.cross_entropy(x, gl.tensor(target, device=device))
            loss.backward()
            loss.item()


@pytest.mark.parametrize("kw", [{}, dict(p=1.0, dim=0), dict(p=3, dim=-1, eps=1e-3), dict(dim=1, eps=10.0)])
def test_normalize_matches_torch(device, torch, kw):
    # a zero row (the eps clamp), values, gradients and the node PyTorch records
    a = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    a[1] = 0
    out = {}
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.tensor(a, device=dev, requires_grad=True)
        y = lib.nn.functional.normalize(x, **kw)
        (y * lib.arange(12.0, device=dev).reshape(3, 4)).sum().backward()
        out[lib] = (y, x.grad, y.grad_fn.name())
    assert_close(out[gl][0], out[torch][0], rtol=1e-5, atol=1e-6)
    assert_close(out[gl][1], out[torch][1], rtol=1e-5, atol=1e-5)
    assert out[gl][2] == out[torch][2] == "DivBackward0"


@pytest.mark.skipif(STRICT, reason="array_api_strict has no float16")
@pytest.mark.parametrize("p", [0.5, 1.0])
def test_dropout_keeps_float16(p, torch, device):
    # found by the issue 17 fuzzer: the float32 mask promoted a float16 input to float32
    for m in (gl, torch):
        x = m.ones(64, dtype=m.float16, device=device, requires_grad=True)
        y = m.nn.functional.dropout(x, p=p)
        y.sum().backward()
        assert y.dtype == m.float16 and x.grad.dtype == m.float16


def test_embedding_backward_with_an_embedding_dim_of_0(torch, device):
    # found by the issue 17 fuzzer: the backward reshaped its gradient to (-1, 0), which is undetermined
    for m in (gl, torch):
        w = m.zeros(3, 0, requires_grad=True, device=device)
        m.nn.functional.embedding(m.tensor([[1, 2]], device=device), w).sum().backward()
        assert tuple(w.grad.shape) == (3, 0)
