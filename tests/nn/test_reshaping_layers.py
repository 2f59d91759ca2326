"""Padding, pixel shuffle, fold/unfold, upsampling, distances, channel dropout, instance and RMS norms
against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn
from gradlite.nn import functional as F
from tests.conftest import STRICT, assert_close, to_numpy
from tests.nn.parity import check_module, copy_from_torch, pair


def randn(*shape, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def build(torch, name, *args, device="cpu", **kw):
    tm = getattr(torch.nn, name)(*args, **kw)
    gm = getattr(nn, name)(*args, **kw).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    return gm, tm


PADS = [
    ("ZeroPad2d", (1,), (2, 3, 4, 5)),
    ("ZeroPad2d", ((1, 2, 0, 3),), (3, 4, 5)),
    ("ConstantPad1d", ((2, 1), 3.5), (2, 3, 5)),
    ("ConstantPad2d", (1, -1.0), (2, 3, 4, 5)),
    ("ReflectionPad1d", ((2, 3),), (2, 3, 5)),
    ("ReflectionPad2d", ((1, 2, 3, 1),), (2, 3, 4, 5)),
    ("ReplicationPad1d", (3,), (3, 5)),
    ("ReplicationPad2d", ((2, 0, 1, 3),), (2, 3, 4, 5)),
    ("CircularPad1d", ((2, 1),), (2, 3, 5)),
    ("CircularPad2d", (1,), (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name,args,shape", PADS, ids=[f"{n}{a}" for n, a, _ in PADS])
def test_padding_layers(device, torch, name, args, shape):
    gm, tm = build(torch, name, *args, device=device)
    check_module(torch, gm, tm, [randn(*shape)], device)


def test_padding_errors(device):
    with pytest.raises(RuntimeError, match="Padding size should be less than"):
        nn.ReflectionPad1d(5)(gradlite.randn(1, 2, 5, device=device))
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        nn.ZeroPad2d(1)(gradlite.randn(5, device=device))


def test_pixel_shuffle_roundtrip(device, torch):
    gm, tm = build(torch, "PixelShuffle", 2, device=device)
    check_module(torch, gm, tm, [randn(2, 8, 3, 4)], device)
    gm, tm = build(torch, "PixelUnshuffle", 2, device=device)
    check_module(torch, gm, tm, [randn(2, 3, 4, 6)], device)
    x = gradlite.randn(1, 12, 2, 3, device=device)
    np.testing.assert_array_equal(to_numpy(F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2)), to_numpy(x))
    with pytest.raises(RuntimeError, match="divisible by the square of upscale_factor"):
        F.pixel_shuffle(gradlite.randn(1, 6, 2, 2, device=device), 2)


def test_unfold_fold(device, torch):
    gm, tm = build(torch, "Unfold", (2, 3), dilation=(1, 2), padding=1, stride=(2, 1), device=device)
    check_module(torch, gm, tm, [randn(2, 3, 6, 7)], device)
    cols = tm(torch.tensor(randn(2, 3, 6, 7)))
    gm, tm = build(torch, "Fold", (6, 7), (2, 3), dilation=(1, 2), padding=1, stride=(2, 1), device=device)
    check_module(torch, gm, tm, [cols.detach().numpy()], device)
    with pytest.raises(RuntimeError, match="calculated number of sliding blocks"):
        gm(gradlite.randn(2, 18, 5, device=device))


UPSAMPLE = [
    dict(scale_factor=2),
    dict(scale_factor=(1.5, 0.6)),
    dict(size=(7, 5)),
    dict(scale_factor=2, mode="bilinear"),
    dict(size=(7, 9), mode="bilinear"),
    dict(size=(7, 9), mode="bilinear", align_corners=True),
    dict(scale_factor=0.5, mode="bilinear", align_corners=False),
    dict(scale_factor=1.7, mode="nearest-exact"),
]


@pytest.mark.parametrize("kw", UPSAMPLE, ids=[str(k) for k in UPSAMPLE])
def test_upsample(device, torch, kw):
    gm, tm = build(torch, "Upsample", device=device, **kw)
    check_module(torch, gm, tm, [randn(2, 3, 4, 5)], device)


def test_interpolate_1d_and_named_upsamplers(device, torch):
    (tx,), (gx,) = pair(torch, [randn(2, 3, 6)], device)
    for kw in (
        dict(size=10, mode="linear"),
        dict(scale_factor=0.5, mode="linear", align_corners=True),
        dict(scale_factor=3),
    ):
        assert_close(F.interpolate(gx, **kw), torch.nn.functional.interpolate(tx, **kw), rtol=1e-5, atol=1e-6)
    for name in ("UpsamplingNearest2d", "UpsamplingBilinear2d"):
        gm, tm = build(torch, name, scale_factor=2, device=device)
        check_module(torch, gm, tm, [randn(1, 2, 3, 4)], device)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(gx, size=3, scale_factor=2)
    with pytest.raises(NotImplementedError, match="bilinear mode needs 4D input"):
        F.interpolate(gx, scale_factor=2, mode="bilinear")


def test_distances(device, torch):
    gm, tm = build(torch, "CosineSimilarity", dim=1, device=device)
    check_module(torch, gm, tm, [randn(4, 5), randn(4, 5, seed=2)], device)
    gm, tm = build(torch, "CosineSimilarity", dim=-1, eps=1e-3, device=device)
    check_module(torch, gm, tm, [randn(3, 4, 5), randn(1, 4, 5, seed=2)], device)
    for kw in (dict(), dict(p=1.0, keepdim=True), dict(p=3.0)):
        gm, tm = build(torch, "PairwiseDistance", device=device, **kw)
        check_module(torch, gm, tm, [randn(4, 5), randn(4, 5, seed=2)], device)


@pytest.mark.parametrize(
    "a,b,kw",
    [
        ([[1e-10, 0.0], [3.0, 4.0]], [[2.0, 1.0]], {}),  # a norm below eps: clamped, outside autograd
        ([[0.0, 0.0]], [[1.0, 1.0]], {}),  # a zero vector: PyTorch's zero subgradient of the norm
        ([[1.0, 2.0]], [[0.5, -1.0], [2.0, 1.0], [3.0, 3.0]], dict(dim=0)),  # broadcast along dim first
        ([[[1.0, 2.0, 0.5]]], [[[0.5, -1.0, 2.0]], [[2.0, 1.0, 1.0]]], dict(dim=-1, eps=1e-3)),
    ],
)
def test_cosine_similarity_is_pytorch_2s_formula(device, torch, a, b, kw):
    # each input over its clamped norm, then the products summed: values, gradients and grad_fn
    out = {}
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x1 = lib.tensor(a, device=dev, requires_grad=True)
        x2 = lib.tensor(b, device=dev, requires_grad=True)
        y = lib.nn.functional.cosine_similarity(x1, x2, **kw)
        (y * (1 + lib.arange(y.numel(), device=dev).reshape(y.shape))).sum().backward()
        out[lib] = (y, x1.grad, x2.grad, y.grad_fn.name())
    for g, t in zip(out[gradlite][:3], out[torch][:3], strict=True):
        assert_close(g, t, rtol=1e-5, atol=1e-6)
    assert out[gradlite][3] == out[torch][3] == "SumBackward1"


def test_cosine_similarity_dtypes(device, torch):
    ints = gradlite.tensor([[1, 2]], device=device), torch.tensor([[1, 2]])
    for lib, (p, q) in ((gradlite, (ints[0], ints[0])), (torch, (ints[1], ints[1]))):
        with pytest.raises(RuntimeError, match="floating point, yet common dtype is Long"):
            lib.nn.functional.cosine_similarity(p, q)
    mixed = gradlite.nn.functional.cosine_similarity(ints[0], gradlite.tensor([[3.0, 4.0]], device=device))
    assert_close(mixed, torch.nn.functional.cosine_similarity(ints[1], torch.tensor([[3.0, 4.0]])))
    if STRICT:
        return  # (the strict array API has no float16)
    # float16 vectors of 70,000 values: the norms accumulate in float32 (their squares' sum overflows float16)
    v = np.random.default_rng(0).standard_normal((1, 70_000)).astype(np.float16)
    g = gradlite.nn.functional.cosine_similarity(gradlite.tensor(v, device=device), gradlite.ones(1, 70_000,
                                                 dtype=gradlite.float16, device=device))
    t = torch.nn.functional.cosine_similarity(torch.tensor(v), torch.ones(1, 70_000, dtype=torch.float16))
    assert g.dtype == gradlite.float16
    np.testing.assert_allclose(float(g.item()), float(t.item()), rtol=2e-2)


@pytest.mark.parametrize(
    "name,shape",
    [("Dropout1d", (20, 30, 4)), ("Dropout2d", (20, 30, 2, 2)), ("Dropout3d", (20, 30, 2, 1, 2))],
)
def test_channel_dropout(device, torch, name, shape):
    gm, tm = build(torch, name, 0.4, device=device)
    y = to_numpy(gm(gradlite.ones(*shape, device=device)))
    per_channel = y.reshape(shape[0], shape[1], -1)
    # every channel is either all zero or all 1/(1-p)
    assert np.all((per_channel == 0).all(-1) | np.isclose(per_channel, 1 / 0.6).all(-1))
    assert abs((per_channel[..., 0] != 0).mean() - 0.6) < 0.08
    gm.eval()
    x = gradlite.randn(*shape, device=device)
    assert_close(gm(x), x)
    with pytest.raises(RuntimeError, match="Expected"):
        gm.train()(gradlite.randn(3, device=device))


def test_alpha_dropout_keeps_mean_and_variance(device, torch):
    gm, tm = build(torch, "AlphaDropout", 0.2, device=device)
    x = gradlite.randn(200000, device=device)
    y = to_numpy(gm(x))
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    gm.eval()
    assert_close(gm(x), x)


@pytest.mark.parametrize(
    "name,shape",
    [("InstanceNorm1d", (3, 4, 6)), ("InstanceNorm2d", (3, 4, 5, 6)), ("InstanceNorm2d", (4, 5, 6))],
)
@pytest.mark.parametrize(
    "kw", [dict(), dict(affine=True, track_running_stats=True)], ids=["plain", "affine_stats"]
)
def test_instance_norm(device, torch, name, shape, kw):
    gm, tm = build(torch, name, 4, device=device, **kw)
    if kw:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
            tm.bias.uniform_(-1, 1)
        copy_from_torch(gm, tm, device)
    for step in range(2):
        check_module(torch, gm, tm, [randn(*shape, seed=step)], device, rtol=1e-4, atol=1e-5)
    for k, v in tm.state_dict().items():
        assert_close(gm.state_dict()[k], v, rtol=1e-5, atol=1e-6)
    gm.eval()
    tm.eval()
    check_module(torch, gm, tm, [randn(*shape, seed=5)], device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    "kw",
    [
        dict(normalized_shape=5),
        dict(normalized_shape=(4, 5), eps=1e-3),
        dict(normalized_shape=5, elementwise_affine=False),
    ],
    ids=["last", "two", "plain"],
)
def test_rms_norm(device, torch, kw):
    gm, tm = build(torch, "RMSNorm", device=device, **kw)
    if tm.weight is not None:
        with torch.no_grad():
            tm.weight.uniform_(0.5, 1.5)
        copy_from_torch(gm, tm, device)
    check_module(torch, gm, tm, [randn(3, 4, 5)], device, rtol=1e-5, atol=1e-5)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        gm(gradlite.randn(3, 6, device=device))


@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (2, 5, 7), (1, 6, 2, 2, 2)])
@pytest.mark.parametrize(
    "kw", [dict(size=3), dict(size=2, alpha=0.5, beta=0.6, k=2.0)], ids=["default", "custom"]
)
def test_local_response_norm(device, torch, shape, kw):
    gm, tm = build(torch, "LocalResponseNorm", device=device, **kw)
    check_module(torch, gm, tm, [np.abs(randn(*shape))], device)


def test_softmax2d_and_channel_shuffle(device, torch):
    gm, tm = build(torch, "Softmax2d", device=device)
    check_module(torch, gm, tm, [randn(2, 3, 4, 5)], device)
    check_module(torch, gm, tm, [randn(3, 4, 5)], device)
    gm, tm = build(torch, "ChannelShuffle", 3, device=device)
    check_module(torch, gm, tm, [randn(2, 6, 2, 3)], device)
    with pytest.raises(RuntimeError, match="divisible by groups"):
        gm(gradlite.randn(1, 4, 2, 2, device=device))
