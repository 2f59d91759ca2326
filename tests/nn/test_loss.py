"""Loss modules against PyTorch: values and gradients for every reduction and option, buffers, errors."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import assert_close
from tests.nn.parity import pair

rng = np.random.default_rng(0)
X = rng.standard_normal((6, 4)).astype(np.float32)
Y = rng.standard_normal((6, 4)).astype(np.float32)
P = (1 / (1 + np.exp(-X))).astype(np.float32)  # probabilities in (0, 1)
T01 = rng.uniform(0, 1, (6, 4)).astype(np.float32)
CLS = np.array([0, 3, 1, 1, 2, 3], dtype=np.int64)
CLS_IGNORE = np.array([0, -100, 1, 1, 2, -100], dtype=np.int64)
X4 = rng.standard_normal((2, 4, 3, 3)).astype(np.float32)  # (N, C, H, W) for spatial class losses
CLS4 = rng.integers(0, 4, (2, 3, 3)).astype(np.int64)
LOGP = np.log(np.exp(X) / np.exp(X).sum(1, keepdims=True)).astype(np.float32)
PROBS = np.exp(LOGP).astype(np.float32)
W4 = np.array([0.5, 1.0, 2.0, 0.25], dtype=np.float32)

CASES = [
    ("MSELoss", {}, X, Y),
    ("MSELoss", {"reduction": "sum"}, X, Y),
    ("L1Loss", {"reduction": "none"}, X, Y),
    ("SmoothL1Loss", {"beta": 0.5}, X, Y),
    ("SmoothL1Loss", {"reduction": "none"}, X, Y),
    ("HuberLoss", {"delta": 0.7}, X, Y),
    ("HuberLoss", {"reduction": "sum"}, X, Y),
    ("CrossEntropyLoss", {}, X, CLS),
    ("CrossEntropyLoss", {"reduction": "sum", "label_smoothing": 0.1}, X, CLS),
    ("CrossEntropyLoss", {"ignore_index": -100, "reduction": "mean"}, X, CLS_IGNORE),
    ("CrossEntropyLoss", {}, X4, CLS4),
    ("CrossEntropyLoss", {}, X, PROBS),
    ("NLLLoss", {}, LOGP, CLS),
    ("NLLLoss", {"reduction": "none"}, LOGP, CLS_IGNORE),
    ("BCELoss", {}, P, T01),
    ("BCELoss", {"reduction": "sum"}, P, T01),
    ("BCEWithLogitsLoss", {}, X, T01),
    ("BCEWithLogitsLoss", {"reduction": "none"}, X, T01),
    ("KLDivLoss", {"reduction": "batchmean"}, LOGP, PROBS),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, LOGP, LOGP[::-1].copy()),
]


@pytest.mark.parametrize("name,kw,x,t", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_loss_matches_torch(device, torch, name, kw, x, t):
    tl, gl = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw).to(device)
    assert repr(gl) == repr(tl)
    (tx, tt), (gx, gt) = pair(torch, [x, t], device)
    check(torch, tl, gl, tx, tt, gx, gt)


def check(torch, tl, gl, tx, tt, gx, gt):
    tv, gv = tl(tx, tt), gl(gx, gt)
    assert_close(gv, tv, rtol=1e-5, atol=1e-6)
    r = np.random.default_rng(1).standard_normal(tuple(tv.shape)).astype(np.float32)
    (tv * torch.tensor(r)).sum().backward()
    (gv * gradlite.tensor(r, device=gx.device)).sum().backward()
    assert_close(gx.grad, tx.grad, rtol=1e-5, atol=1e-6)
    if tt.requires_grad:
        assert_close(gt.grad, tt.grad, rtol=1e-5, atol=1e-6)


WEIGHTED = [
    ("CrossEntropyLoss", {}, X, CLS),
    ("CrossEntropyLoss", {"label_smoothing": 0.2}, X, CLS_IGNORE),
    ("NLLLoss", {}, LOGP, CLS_IGNORE),
    ("BCELoss", {}, P, T01),
    ("BCEWithLogitsLoss", {}, X, T01),
]


@pytest.mark.parametrize("name,kw,x,t", WEIGHTED, ids=[f"{c[0]}-{i}" for i, c in enumerate(WEIGHTED)])
def test_weighted_losses_keep_weight_as_buffer(device, torch, name, kw, x, t):
    tl = getattr(torch.nn, name)(weight=torch.tensor(W4), **kw)
    gl = getattr(nn, name)(weight=gradlite.tensor(W4), **kw).to(device)
    assert list(gl.state_dict()) == list(tl.state_dict()) == ["weight"]
    assert gl.weight.device.type == device  # moved with the module
    (tx, tt), (gx, gt) = pair(torch, [x, t], device)
    check(torch, tl, gl, tx, tt, gx, gt)


def test_bce_with_logits_pos_weight(device, torch):
    pw = np.array([1.0, 2.0, 0.5, 3.0], dtype=np.float32)
    tl = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(pw))
    gl = nn.BCEWithLogitsLoss(pos_weight=gradlite.tensor(pw)).to(device)
    assert list(gl.state_dict()) == list(tl.state_dict()) == ["pos_weight"]
    (tx, tt), (gx, gt) = pair(torch, [X, T01], device)
    check(torch, tl, gl, tx, tt, gx, gt)


def test_legacy_size_average_and_reduce(device, torch):
    with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
        gl = nn.MSELoss(size_average=False)
    assert gl.reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


def test_loss_argument_errors(device):
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="is not a valid value for reduction"):
        nn.KLDivLoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing must be between 0.0 and 1.0"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(ValueError, match="negative values for beta"):
        nn.SmoothL1Loss(beta=-1.0)
    with pytest.raises(ValueError, match="non-positive values for delta"):
        nn.HuberLoss(delta=0.0)


def test_loss_shape_errors_name_shapes(device):
    with pytest.raises((RuntimeError, ValueError), match=r"\[6\]|6"):
        nn.CrossEntropyLoss()(
            gradlite.randn(5, 4, device=device), gradlite.zeros(6, dtype=gradlite.int64, device=device)
        )
    with pytest.raises((RuntimeError, ValueError)):
        nn.BCELoss()(gradlite.rand(3, 2, device=device), gradlite.rand(3, 4, device=device))


V1 = rng.standard_normal(6).astype(np.float32)
V2 = rng.standard_normal(6).astype(np.float32)
SIGN6 = np.array([1, -1, 1, 1, -1, -1], dtype=np.float32)
SIGN64 = np.sign(rng.standard_normal((6, 4))).astype(np.float32)
VAR = (np.abs(rng.standard_normal((6, 4))) + 0.1).astype(np.float32)

# (module, kwargs, inputs, which inputs require grad)
MARGIN_CASES = [
    ("MarginRankingLoss", {"margin": 0.3}, [V1, V2, SIGN6], [True, True, False]),
    ("HingeEmbeddingLoss", {"margin": 0.5, "reduction": "sum"}, [X, SIGN64], [True, False]),
    ("SoftMarginLoss", {}, [X, SIGN64], [True, False]),
    ("CosineEmbeddingLoss", {"margin": 0.2}, [X, Y, SIGN6], [True, True, False]),
    ("MultiLabelSoftMarginLoss", {}, [X, (SIGN64 > 0).astype(np.float32)], [True, False]),
    ("MultiLabelSoftMarginLoss", {"reduction": "none"}, [X, (SIGN64 > 0).astype(np.float32)], [True, False]),
    ("MultiMarginLoss", {}, [X, CLS], [True, False]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5, "reduction": "sum"}, [X, CLS], [True, False]),
    ("TripletMarginLoss", {}, [X, Y, T01], [True, True, True]),
    ("TripletMarginLoss", {"p": 1.0, "swap": True, "reduction": "none"}, [X, Y, T01], [True, True, True]),
    ("PoissonNLLLoss", {}, [X, np.abs(Y) * 3], [True, False]),
    ("PoissonNLLLoss", {"log_input": False, "full": True}, [VAR, np.abs(Y) * 3], [True, False]),
    ("GaussianNLLLoss", {}, [X, Y, VAR], [True, True, True]),
    ("GaussianNLLLoss", {"full": True, "reduction": "sum"}, [X, Y, VAR[:, :1].copy()], [True, False, True]),
    ("GaussianNLLLoss", {"eps": 0.5}, [X, Y, VAR[:, 0].copy()], [True, False, True]),
]


@pytest.mark.parametrize(
    "name,kw,arrays,req", MARGIN_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(MARGIN_CASES)]
)
def test_margin_and_likelihood_losses(device, torch, name, kw, arrays, req):
    tl, gl = getattr(torch.nn, name)(**kw), getattr(nn, name)(**kw).to(device)
    assert repr(gl) == repr(tl)
    ts = [torch.tensor(a, requires_grad=r) for a, r in zip(arrays, req, strict=True)]
    gs = [gradlite.tensor(a, device=device, requires_grad=r) for a, r in zip(arrays, req, strict=True)]
    tv, gv = tl(*ts), gl(*gs)
    assert_close(gv, tv, rtol=1e-5, atol=1e-5)
    r = np.random.default_rng(1).standard_normal(tuple(tv.shape)).astype(np.float32)
    (tv * torch.tensor(r)).sum().backward()
    (gv * gradlite.tensor(r, device=device)).sum().backward()
    for t, g in zip(ts, gs, strict=True):
        if t.requires_grad:
            assert_close(g.grad, t.grad, rtol=1e-5, atol=1e-5)


def test_weighted_multi_margin_and_errors(device, torch):
    tl = torch.nn.MultiMarginLoss(weight=torch.tensor(W4))
    gl = nn.MultiMarginLoss(weight=gradlite.tensor(W4)).to(device)
    assert list(gl.state_dict()) == ["weight"]
    (tx, tt), (gx, gt) = pair(torch, [X, CLS], device)
    check(torch, tl, gl, tx, tt, gx, gt)
    with pytest.raises(ValueError, match="var has negative"):
        nn.GaussianNLLLoss()(
            gradlite.zeros(2, device=device),
            gradlite.zeros(2, device=device),
            gradlite.tensor([1.0, -1.0], device=device),
        )
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="margin to be greater than 0"):
        nn.TripletMarginLoss(margin=0.0)
