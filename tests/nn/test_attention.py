"""scaled_dot_product_attention and MultiheadAttention against PyTorch: masks, causal, heads, weights."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import assert_close, to_numpy
from tests.nn.parity import check_module, copy_from_torch, pair


def randn(*shape, seed=1):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def sdpa_both(torch, device, arrays, **kw):
    ts, gs = pair(torch, arrays, device)
    tkw, gkw = dict(kw), dict(kw)
    for k, v in kw.items():
        if isinstance(v, np.ndarray):
            tkw[k], gkw[k] = torch.tensor(v), gradlite.tensor(v, device=device)
    ty = torch.nn.functional.scaled_dot_product_attention(*ts, **tkw)
    gy = gradlite.nn.functional.scaled_dot_product_attention(*gs, **gkw)
    assert_close(gy, ty, rtol=1e-5, atol=1e-5)
    r = randn(*ty.shape, seed=9)
    (ty * torch.tensor(r)).sum().backward()
    (gy * gradlite.tensor(r, device=device)).sum().backward()
    for t, g in zip(ts, gs, strict=True):
        assert_close(g.grad, t.grad, rtol=1e-4, atol=1e-5)


BOOL_MASK = np.random.default_rng(3).uniform(size=(5, 7)) > 0.3
BOOL_MASK[:, 0] = True  # every query keeps at least one key
SDPA = [
    dict(),
    dict(is_causal=True),
    dict(attn_mask=BOOL_MASK),
    dict(attn_mask=randn(2, 1, 5, 7, seed=4)),
    dict(scale=0.3),
]


@pytest.mark.parametrize("kw", SDPA, ids=["plain", "causal", "bool_mask", "float_mask", "scale"])
def test_sdpa(device, torch, kw):
    sdpa_both(torch, device, [randn(2, 3, 5, 4), randn(2, 3, 7, 4, seed=2), randn(2, 3, 7, 6, seed=3)], **kw)


def test_sdpa_query_with_no_allowed_key_gets_zeros(device, torch):
    mask = BOOL_MASK.copy()
    mask[2] = False  # PyTorch's safe softmax: zero output and zero gradient for that query, not NaN
    sdpa_both(
        torch,
        device,
        [randn(2, 3, 5, 4), randn(2, 3, 7, 4, seed=2), randn(2, 3, 7, 6, seed=3)],
        attn_mask=mask,
    )


def test_sdpa_causal_square_and_gqa(device, torch):
    sdpa_both(
        torch,
        device,
        [randn(2, 4, 6, 8), randn(2, 4, 6, 8, seed=2), randn(2, 4, 6, 8, seed=3)],
        is_causal=True,
    )
    sdpa_both(
        torch,
        device,
        [randn(1, 4, 6, 8), randn(1, 2, 6, 8, seed=2), randn(1, 2, 6, 8, seed=3)],
        enable_gqa=True,
    )


def test_sdpa_dropout_and_errors(device):
    q = gradlite.ones(1, 1, 50, 4, device=device)
    v = gradlite.randn(1, 1, 50, 4, device=device)
    a = gradlite.nn.functional.scaled_dot_product_attention(q, q, v, dropout_p=0.0)
    b = gradlite.nn.functional.scaled_dot_product_attention(q, q, v, dropout_p=0.5)
    assert not np.allclose(to_numpy(a), to_numpy(b))
    with pytest.raises(RuntimeError, match="attn_mask should not be set when is_causal"):
        gradlite.nn.functional.scaled_dot_product_attention(q, q, v, attn_mask=q[0, 0] > 0, is_causal=True)
    with pytest.raises(RuntimeError, match=r"\[1, 1, 50, 4\].*\[1, 1, 50, 3\]"):
        gradlite.nn.functional.scaled_dot_product_attention(q, gradlite.ones(1, 1, 50, 3, device=device), v)


def build(torch, device, *args, **kw):
    tm = torch.nn.MultiheadAttention(*args, **kw)
    gm = nn.MultiheadAttention(*args, **kw).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    return gm, tm


MHA = [
    (dict(), dict()),
    (dict(batch_first=True), dict(need_weights=False)),
    (dict(), dict(average_attn_weights=False)),
    (dict(bias=False, add_bias_kv=True, add_zero_attn=True), dict()),
    (dict(kdim=3, vdim=5), dict()),
]


@pytest.mark.parametrize("ctor,call", MHA, ids=[f"{c}{k}" for c, k in MHA])
def test_multihead_attention(device, torch, ctor, call):
    gm, tm = build(torch, device, 8, 2, **ctor)
    kdim, vdim = ctor.get("kdim", 8), ctor.get("vdim", 8)
    if ctor.get("batch_first"):
        arrays = [randn(3, 5, 8), randn(3, 6, kdim, seed=2), randn(3, 6, vdim, seed=3)]
    else:
        arrays = [randn(5, 3, 8), randn(6, 3, kdim, seed=2), randn(6, 3, vdim, seed=3)]
    check_module(torch, gm, tm, arrays, device, rtol=1e-4, atol=1e-5, kwargs=call)


def test_multihead_attention_masks(device, torch):
    gm, tm = build(torch, device, 8, 2)
    kpm = np.zeros((3, 6), dtype=bool)
    kpm[0, 4:] = True
    kpm[2, 1] = True
    causal = np.triu(np.ones((5, 6), dtype=bool), k=1)
    x = [randn(5, 3, 8), randn(6, 3, 8, seed=2), randn(6, 3, 8, seed=3)]
    for need_weights in (True, False):
        ts, gs = pair(torch, x, device)
        yt = tm(
            *ts, key_padding_mask=torch.tensor(kpm), attn_mask=torch.tensor(causal), need_weights=need_weights
        )
        yg = gm(
            *gs,
            key_padding_mask=gradlite.tensor(kpm, device=device),
            attn_mask=gradlite.tensor(causal, device=device),
            need_weights=need_weights,
        )
        assert_close(yg[0], yt[0], rtol=1e-4, atol=1e-5)
        if need_weights:
            assert_close(yg[1], yt[1], rtol=1e-4, atol=1e-5)
        yt[0].sum().backward()
        yg[0].sum().backward()
        for t, g in zip(ts, gs, strict=True):
            assert_close(g.grad, t.grad, rtol=1e-4, atol=1e-5)
    # float masks are added to the scores
    fm = randn(5, 6, seed=8)
    check_module(torch, gm, tm, x, device, rtol=1e-4, atol=1e-5, kwargs=dict(attn_mask=None))
    ts, gs = pair(torch, x, device)
    assert_close(
        gm(*gs, attn_mask=gradlite.tensor(fm, device=device))[0],
        tm(*ts, attn_mask=torch.tensor(fm))[0],
        rtol=1e-4,
        atol=1e-5,
    )


def test_multihead_attention_unbatched_and_errors(device, torch):
    gm, tm = build(torch, device, 8, 4)
    check_module(
        torch, gm, tm, [randn(5, 8), randn(6, 8, seed=2), randn(6, 8, seed=3)], device, rtol=1e-4, atol=1e-5
    )
    with pytest.raises(AssertionError, match="divisible by num_heads"):
        nn.MultiheadAttention(8, 3)
    x = gradlite.randn(5, 3, 8, device=device)
    with pytest.raises(RuntimeError, match=r"2D attn_mask.*should be \(5, 5\)"):
        gm(x, x, x, attn_mask=gradlite.zeros(4, 5, device=device))
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        gm(x, x, x, is_causal=True)


ENCODER = [dict(), dict(norm_first=True, activation="gelu"), dict(batch_first=True, bias=False)]


@pytest.mark.parametrize("kw", ENCODER, ids=[str(k) for k in ENCODER])
def test_transformer_encoder_layer(device, torch, kw):
    tm = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw)
    gm = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, **kw).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    mask = np.triu(np.full((5, 5), -np.inf, dtype=np.float32), 1)
    check_module(
        torch,
        gm,
        tm,
        [randn(3, 5, 8) if kw.get("batch_first") else randn(5, 3, 8)],
        device,
        rtol=1e-4,
        atol=1e-5,
    )
    ts, gs = pair(torch, [randn(5, 3, 8)], device)
    if not kw.get("batch_first"):
        assert_close(
            gm(gs[0], src_mask=gradlite.tensor(mask, device=device)),
            tm(ts[0], src_mask=torch.tensor(mask)),
            rtol=1e-4,
            atol=1e-5,
        )


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")  # torch's own note about its fast path
def test_transformer_stacks_and_full_model(device, torch):
    tm = torch.nn.Transformer(
        8, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0
    )
    gm = nn.Transformer(8, 2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=16, dropout=0.0).to(
        device
    )
    copy_from_torch(gm, tm, device)  # the keys include encoder.layers.1.self_attn.in_proj_weight etc.
    assert repr(gm) == repr(tm)
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(4, device=device)
    assert_close(tgt_mask, torch.nn.Transformer.generate_square_subsequent_mask(4))
    ts, gs = pair(torch, [randn(6, 2, 8), randn(4, 2, 8, seed=2)], device)
    ty = tm(*ts, tgt_mask=torch.nn.Transformer.generate_square_subsequent_mask(4))
    gy = gm(*gs, tgt_mask=tgt_mask)
    assert_close(gy, ty, rtol=1e-4, atol=1e-5)
    ty.sum().backward()
    gy.sum().backward()
    for t, g in zip(ts, gs, strict=True):
        assert_close(g.grad, t.grad, rtol=1e-4, atol=1e-4)
    tp = dict(tm.named_parameters())
    for name, p in gm.named_parameters():
        assert_close(p.grad, tp[name].grad, rtol=1e-4, atol=1e-4)
    # the copies of the layer are independent
    assert gm.encoder.layers[0].linear1.weight is not gm.encoder.layers[1].linear1.weight
