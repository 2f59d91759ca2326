"""Layers against PyTorch: outputs, input and parameter gradients, state-dict keys, repr, error paths."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import assert_close, to_numpy
from tests.nn.parity import check_module, copy_from_torch, pair


def randn(*shape, dtype=np.float32, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def build(torch, name, *args, device="cpu", **kwargs):
    """The same layer in both libraries, gradlite's loaded from torch's state dict."""
    tm = getattr(torch.nn, name)(*args, **kwargs)
    gm = getattr(nn, name)(*args, **kwargs).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    return gm, tm


@pytest.mark.parametrize("bias", [True, False])
def test_linear(device, torch, bias):
    gm, tm = build(torch, "Linear", 5, 3, bias=bias, device=device)
    check_module(torch, gm, tm, [randn(4, 2, 5)], device)


def test_linear_wrong_shape_names_shapes(device):
    m = nn.Linear(5, 3).to(device)
    with pytest.raises(RuntimeError, match=r"4x6 and 5x3"):
        m(gradlite.randn(4, 6, device=device))


def test_bilinear(device, torch):
    gm, tm = build(torch, "Bilinear", 3, 4, 2, device=device)
    check_module(torch, gm, tm, [randn(5, 3), randn(5, 4, seed=2)], device)
    with pytest.raises(RuntimeError, match=r"\[5, 4\] and \[5, 4\]"):
        gm(gradlite.randn(5, 4, device=device), gradlite.randn(5, 4, device=device))


def test_identity_flatten_unflatten(device, torch):
    for name, args in [("Identity", ()), ("Flatten", ()), ("Flatten", (0, 1)), ("Unflatten", (1, (2, 3)))]:
        gm, tm = build(torch, name, *args, device=device)
        check_module(torch, gm, tm, [randn(4, 6, 5)], device)
    with pytest.raises(RuntimeError, match="don't multiply up"):
        nn.Unflatten(1, (4, 2))(gradlite.randn(2, 6, device=device))


def test_dropout_train_and_eval(device, torch):
    gm, tm = build(torch, "Dropout", 0.3, device=device)
    x = gradlite.ones(2000, device=device, requires_grad=True)
    y = gm(x)
    kept = (y != 0).float()
    # each element survives with probability 0.7 and is scaled by 1/0.7
    assert abs(kept.mean().item() - 0.7) < 0.05
    assert_close(y * kept, kept / 0.7, rtol=1e-6)
    y.sum().backward()
    assert_close(x.grad, kept / 0.7, rtol=1e-6)
    gm.eval()
    z = gradlite.randn(10, device=device)
    assert gm(z) is z or bool((gm(z) == z).all())
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(1.5)


def test_embedding_padding_idx(device, torch):
    gm, tm = build(torch, "Embedding", 10, 4, padding_idx=2, device=device)
    assert float(gm.weight[2].abs().sum()) == 0.0
    idx = np.array([[1, 2, 3], [2, 2, 9]], dtype=np.int64)
    check_module(torch, gm, tm, [idx], device)
    # the padding row gets no gradient, repeated indices accumulate
    assert float(gm.weight.grad[2].abs().sum()) == 0.0


EMBEDDING = [
    dict(max_norm=1.0),
    dict(max_norm=0.5, norm_type=1.0),
    dict(scale_grad_by_freq=True),
    dict(scale_grad_by_freq=True, padding_idx=2, max_norm=1.2),
]


@pytest.mark.parametrize("kw", EMBEDDING, ids=[str(k) for k in EMBEDDING])
def test_embedding_max_norm_and_scale_grad_by_freq(device, torch, kw):
    gm, tm = build(torch, "Embedding", 6, 3, device=device, **kw)
    idx = np.array([[0, 2], [2, 5], [5, 5]], dtype=np.int64)
    check_module(torch, gm, tm, [idx], device)
    # max_norm renormalises the referenced rows of the weight in place, as PyTorch
    assert_close(gm.weight, tm.weight, rtol=1e-6, atol=1e-7)
    with pytest.raises(IndexError, match="index out of range"):
        gm(gradlite.tensor([6], device=device)).cpu()  # (CUDA: raised at the next host read)


def test_embedding_default_init_is_standard_normal(device):
    w = to_numpy(nn.Embedding(400, 50).to(device).weight)
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02


@pytest.mark.parametrize("shape,norm", [((4, 3, 5), 5), ((2, 3, 4, 5), (4, 5))])
def test_layer_norm(device, torch, shape, norm):
    gm, tm = build(torch, "LayerNorm", norm, device=device)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    copy_from_torch(gm, tm, device)
    check_module(torch, gm, tm, [randn(*shape)], device)
    with pytest.raises(RuntimeError, match=r"normalized_shape=\[6\].*\[\*, 6\].*\[4, 3, 5\]"):
        nn.LayerNorm(6).to(device)(gradlite.randn(4, 3, 5, device=device))


@pytest.mark.parametrize(
    "name,shape", [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (4, 3, 5)), ("BatchNorm2d", (4, 3, 5, 6))]
)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_train_then_eval(device, torch, name, shape, momentum):
    gm, tm = build(torch, name, 3, momentum=momentum, device=device)
    for step in range(3):
        check_module(torch, gm, tm, [randn(*shape, seed=step)], device, rtol=1e-4, atol=1e-5)
        gm.zero_grad()
        tm.zero_grad()
    for k, v in tm.state_dict().items():
        assert_close(gm.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    assert int(gm.num_batches_tracked) == 3
    gm.eval()
    tm.eval()
    check_module(torch, gm, tm, [randn(*shape, seed=7)], device, rtol=1e-4, atol=1e-5)
    assert int(gm.num_batches_tracked) == 3


def test_batch_norm_without_running_stats_and_affine(device, torch):
    gm, tm = build(torch, "BatchNorm2d", 3, affine=False, track_running_stats=False, device=device)
    assert list(gm.state_dict()) == []
    gm.eval()
    tm.eval()
    check_module(torch, gm, tm, [randn(4, 3, 2, 2)], device, rtol=1e-4)


def test_batch_norm_errors(device):
    with pytest.raises(ValueError, match=r"expected 4D input \(got 3D input\)"):
        nn.BatchNorm2d(3).to(device)(gradlite.randn(2, 3, 4, device=device))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3).to(device)(gradlite.randn(1, 3, device=device))
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        nn.BatchNorm1d(3).to(device)(gradlite.randn(5, 4, device=device))


def test_group_norm(device, torch):
    gm, tm = build(torch, "GroupNorm", 2, 6, device=device)
    with torch.no_grad():
        tm.weight.uniform_(0.5, 1.5)
        tm.bias.uniform_(-1, 1)
    copy_from_torch(gm, tm, device)
    check_module(torch, gm, tm, [randn(3, 6, 4, 5)], device, rtol=1e-4)
    with pytest.raises(RuntimeError, match="divisible by num_groups"):
        gradlite.nn.functional.group_norm(gradlite.randn(2, 5, 3, device=device), 2)


CONV2D = [
    dict(),
    dict(stride=2, padding=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1)),
    dict(groups=2, bias=False),
    dict(padding="same", dilation=2),
    dict(padding="valid"),
    dict(padding=1, padding_mode="reflect"),
    dict(padding=(1, 2), padding_mode="circular"),
]


@pytest.mark.parametrize("kw", CONV2D, ids=[str(k) for k in CONV2D])
def test_conv2d(device, torch, kw):
    gm, tm = build(torch, "Conv2d", 4, 6, 3, device=device, **kw)
    check_module(torch, gm, tm, [randn(2, 4, 9, 8)], device, rtol=1e-4, atol=1e-5)


def test_conv2d_unbatched_rect_kernel_float64(device, torch):
    gm, tm = build(torch, "Conv2d", 3, 2, (2, 3), stride=(1, 2), device=device)
    gm.double()
    tm.double()
    check_module(torch, gm, tm, [randn(3, 7, 8, dtype=np.float64)], device, rtol=1e-10, atol=1e-12)


def test_conv2d_errors(device):
    m = nn.Conv2d(4, 6, 3).to(device)
    with pytest.raises(RuntimeError, match=r"expected input\[2, 3, 9, 9\] to have 4 channels, but got 3"):
        m(gradlite.randn(2, 3, 9, 9, device=device))
    with pytest.raises(RuntimeError, match=r"3D \(unbatched\) or 4D.*\[9, 9\]"):
        m(gradlite.randn(9, 9, device=device))
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        m(gradlite.randn(1, 4, 2, 2, device=device))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 6, 3, groups=2)
    with pytest.raises(ValueError, match="not supported for strided"):
        nn.Conv2d(3, 6, 3, stride=2, padding="same")


CONV1D = [dict(), dict(stride=2, padding=2, dilation=2), dict(groups=3), dict(padding="same")]


@pytest.mark.parametrize("kw", CONV1D, ids=[str(k) for k in CONV1D])
def test_conv1d(device, torch, kw):
    gm, tm = build(torch, "Conv1d", 3, 6, 3, device=device, **kw)
    check_module(torch, gm, tm, [randn(2, 3, 11)], device, rtol=1e-4, atol=1e-5)
    check_module(torch, gm, tm, [randn(3, 11)], device, rtol=1e-4, atol=1e-5)


CONVT2D = [
    dict(),
    dict(stride=2, padding=1, output_padding=1),
    dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), dilation=(2, 1)),
    dict(groups=2, bias=False),
]


@pytest.mark.parametrize("kw", CONVT2D, ids=[str(k) for k in CONVT2D])
def test_conv_transpose2d(device, torch, kw):
    gm, tm = build(torch, "ConvTranspose2d", 4, 6, 3, device=device, **kw)
    check_module(torch, gm, tm, [randn(2, 4, 5, 6)], device, rtol=1e-4, atol=1e-5)
    check_module(torch, gm, tm, [randn(4, 5, 6)], device, rtol=1e-4, atol=1e-5)


def test_conv_transpose_output_size_and_1d(device, torch):
    gm, tm = build(torch, "ConvTranspose2d", 3, 2, 3, device=device, stride=2, padding=1)
    (tx,), (gx,) = pair(torch, [randn(1, 3, 4, 4)], device)
    assert_close(gm(gx, output_size=[8, 8]), tm(tx, output_size=[8, 8]), rtol=1e-5, atol=1e-5)
    assert gm(gx, output_size=(1, 2, 7, 8)).shape == (1, 2, 7, 8)
    with pytest.raises(ValueError, match="valid sizes range from"):
        gm(gx, output_size=[10, 10])
    gm, tm = build(torch, "ConvTranspose1d", 3, 4, 3, device=device, stride=2, padding=1, output_padding=1)
    check_module(torch, gm, tm, [randn(2, 3, 7)], device, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match='Only "zeros" padding mode'):
        nn.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match=r"expected input\[1, 2, 4, 4\] to have 3 channels"):
        nn.ConvTranspose2d(3, 2, 3).to(device)(gradlite.randn(1, 2, 4, 4, device=device))


def test_conv_default_init_bounds(device):
    w = to_numpy(nn.Conv2d(8, 16, 3).to(device).weight)
    bound = 1 / np.sqrt(8 * 9)
    assert np.abs(w).max() <= bound
    # U(-b, b) has std b / sqrt(3)
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound


POOLS = [
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", (3,), dict(stride=2, padding=1)),
    ("MaxPool2d", ((2, 3),), dict(stride=(2, 1), dilation=(1, 2), ceil_mode=True)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False, ceil_mode=True)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, divisor_override=4)),
    ("AdaptiveAvgPool2d", ((3, 4),), {}),
    ("AdaptiveAvgPool2d", (1,), {}),
    ("AdaptiveAvgPool2d", ((3, 1),), {}),  # (equal bins: a mean per block)
    ("AdaptiveAvgPool2d", ((None, 2),), {}),
    ("MaxPool1d", (3,), dict(stride=2, padding=1)),
    ("AvgPool1d", (3,), dict(stride=2)),
    ("AdaptiveAvgPool1d", (4,), {}),
    ("AdaptiveMaxPool2d", ((4, 5),), {}),
    ("AdaptiveMaxPool2d", ((None, 3),), {"return_indices": True}),
    ("AdaptiveMaxPool1d", (4,), {"return_indices": True}),
]


@pytest.mark.parametrize("name,args,kw", POOLS, ids=[f"{n}{a}{k}" for n, a, k in POOLS])
def test_pooling(device, torch, name, args, kw):
    gm, tm = build(torch, name, *args, device=device, **kw)
    shape = (2, 3, 11) if name.endswith("1d") else (2, 3, 9, 11)
    check_module(torch, gm, tm, [randn(*shape)], device)
    check_module(torch, gm, tm, [randn(*shape[1:])], device)


def test_max_pool_ties_and_indices(device, torch):
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)  # every window is a tie: the first element wins
    x[0, 0, 3, 3] = 1
    (tx,), (gx,) = pair(torch, [x], device)
    ty, ti = torch.nn.functional.max_pool2d(tx, 3, 1, 1, return_indices=True)
    gy, gi = gradlite.nn.functional.max_pool2d(gx, 3, 1, 1, return_indices=True)
    assert_close(gy, ty)
    assert_close(gi, ti)
    ty.sum().backward()
    gy.sum().backward()
    assert_close(gx.grad, tx.grad)


def test_pooling_errors(device):
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        nn.MaxPool2d(2, padding=2)(gradlite.randn(1, 1, 6, 6, device=device))
    with pytest.raises(RuntimeError, match=r"Expected 3D or 4D.*\[6, 6\]"):
        nn.MaxPool2d(2)(gradlite.randn(6, 6, device=device))
    with pytest.raises(RuntimeError, match="Output size is too small"):
        nn.AvgPool2d(3)(gradlite.randn(1, 1, 2, 2, device=device))


@pytest.mark.parametrize(
    "name,args,kw,shape",
    [
        ("LPPool2d", (2, 3), {}, (2, 3, 7, 8)),
        ("LPPool2d", (1.5, (2, 3)), {"stride": (1, 2), "ceil_mode": True}, (2, 3, 7, 8)),
        ("LPPool1d", (3, 2), {}, (2, 3, 9)),
    ],
)
def test_lp_pool(device, torch, name, args, kw, shape):
    gm, tm = build(torch, name, *args, device=device, **kw)
    check_module(torch, gm, tm, [np.abs(randn(*shape)) + 0.1], device, rtol=1e-4, atol=1e-5)


def test_max_unpool_inverts_max_pool(device, torch):
    x = randn(2, 3, 6, 7)
    (tx,), (gx,) = pair(torch, [x], device)
    ty, ti = torch.nn.functional.max_pool2d(tx, 2, return_indices=True)
    gy, gi = gradlite.nn.functional.max_pool2d(gx, 2, return_indices=True)
    tm, gm = torch.nn.MaxUnpool2d(2), nn.MaxUnpool2d(2).to(device)
    assert repr(gm) == repr(tm)
    tu, gu = tm(ty, ti, output_size=tx.shape), gm(gy, gi, output_size=gx.shape)
    assert_close(gu, tu)
    r = randn(*tu.shape, seed=3)
    (tu * torch.tensor(r)).sum().backward()
    (gu * gradlite.tensor(r, device=device)).sum().backward()
    assert_close(gx.grad, tx.grad)
    with pytest.raises(ValueError, match="invalid output_size"):
        gm(gy, gi, output_size=(2, 3, 9, 9))
    (tx1,), (gx1,) = pair(torch, [randn(2, 3, 8)], device)
    t1, i1 = torch.nn.functional.max_pool1d(tx1, 2, return_indices=True)
    g1, j1 = gradlite.nn.functional.max_pool1d(gx1, 2, return_indices=True)
    assert_close(nn.MaxUnpool1d(2)(g1, j1), torch.nn.MaxUnpool1d(2)(t1, i1))


def test_batch_norm3d_and_instance_norm3d(device, torch):
    gm, tm = build(torch, "BatchNorm3d", 3, device=device)
    check_module(torch, gm, tm, [randn(4, 3, 2, 3, 2)], device, rtol=1e-4, atol=1e-5)
    assert_close(gm.running_var, tm.running_var)
    gm, tm = build(torch, "InstanceNorm3d", 3, affine=True, device=device)
    check_module(torch, gm, tm, [randn(2, 3, 2, 3, 4)], device, rtol=1e-4, atol=1e-5)


def test_rrelu_train_and_eval(device, torch):
    gm, tm = build(torch, "RReLU", 0.1, 0.3, device=device)
    x = gradlite.tensor(-np.ones(20000, dtype=np.float32), device=device, requires_grad=True)
    y = to_numpy(gm(x))
    assert y.min() >= -0.3 and y.max() <= -0.1 and abs(y.mean() + 0.2) < 0.005  # slopes ~ U(0.1, 0.3)
    gm.eval()
    tm.eval()
    check_module(torch, gm, tm, [randn(4, 5)], device)
