"""RNN, LSTM, GRU and their cells against PyTorch: state-dict keys, outputs, final states, gradients."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import to_numpy
from tests.nn.parity import check_module, copy_from_torch


def randn(*shape, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


CONFIGS = [
    dict(),
    dict(num_layers=2, batch_first=True),
    dict(num_layers=2, bidirectional=True),
    dict(bias=False, batch_first=True, bidirectional=True),
]


def build(torch, name, device, *args, **kw):
    tm = getattr(torch.nn, name)(*args, **kw)
    gm = getattr(nn, name)(*args, **kw).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    return gm, tm


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("kw", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_recurrent_layers(device, torch, name, kw):
    gm, tm = build(torch, name, device, 3, 4, **kw)
    x = randn(2, 5, 3) if kw.get("batch_first") else randn(5, 2, 3)
    check_module(torch, gm, tm, [x], device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_initial_states_and_unbatched(device, torch, name):
    gm, tm = build(torch, name, device, 3, 4, num_layers=2)
    h0 = randn(2, 2, 4, seed=5)
    if name == "LSTM":
        # (output, (h_n, c_n)), with gradients flowing into h_0 and c_0 as well
        ts = [torch.tensor(a, requires_grad=True) for a in (randn(5, 2, 3), h0, randn(2, 2, 4, seed=6))]
        gs = [gradlite.tensor(a.detach().numpy(), device=device, requires_grad=True) for a in ts]
        to, (th, tc) = tm(ts[0], (ts[1], ts[2]))
        go, (gh, gc) = gm(gs[0], (gs[1], gs[2]))
        (to.sum() + (th * 2).sum() + (tc * 3).sum()).backward()
        (go.sum() + (gh * 2).sum() + (gc * 3).sum()).backward()
        for a, b in zip((to, th, tc), (go, gh, gc), strict=True):
            np.testing.assert_allclose(to_numpy(b), a.detach().numpy(), rtol=1e-4, atol=1e-5)
        for a, b in zip(ts, gs, strict=True):
            np.testing.assert_allclose(to_numpy(b.grad), a.grad.numpy(), rtol=1e-4, atol=1e-5)
    else:
        check_module(torch, gm, tm, [randn(5, 2, 3), h0], device, rtol=1e-4, atol=1e-5)
    # unbatched: (L, H_in) with (layers, H) states
    check_module(torch, gm, tm, [randn(5, 3, seed=3)], device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells(device, torch, name):
    gm, tm = build(torch, name, device, 3, 4)
    check_module(torch, gm, tm, [randn(2, 3)], device, rtol=1e-4, atol=1e-5)
    if name == "LSTMCell":
        ts = [
            torch.tensor(a, requires_grad=True)
            for a in (randn(2, 3), randn(2, 4, seed=7), randn(2, 4, seed=8))
        ]
        gs = [gradlite.tensor(t.detach().numpy(), device=device, requires_grad=True) for t in ts]
        th, tc = tm(ts[0], (ts[1], ts[2]))
        gh, gc = gm(gs[0], (gs[1], gs[2]))
        (th.sum() + (tc * tc).sum()).backward()
        (gh.sum() + (gc * gc).sum()).backward()
        np.testing.assert_allclose(to_numpy(gh), th.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(to_numpy(gc), tc.detach().numpy(), rtol=1e-4, atol=1e-5)
        for a, b in zip(ts, gs, strict=True):
            np.testing.assert_allclose(to_numpy(b.grad), a.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(
            to_numpy(gm.weight_hh.grad), tm.weight_hh.grad.numpy(), rtol=1e-4, atol=1e-5
        )
    else:
        check_module(torch, gm, tm, [randn(2, 3), randn(2, 4, seed=9)], device, rtol=1e-4, atol=1e-5)


def test_relu_rnn_and_float64(device, torch):
    gm, tm = build(torch, "RNN", device, 3, 4, nonlinearity="relu")
    gm.double()
    tm.double()
    check_module(torch, gm, tm, [randn(6, 2, 3, dtype=np.float64)], device, rtol=1e-10, atol=1e-12)


def test_default_init_bounds(device):
    m = nn.LSTM(5, 16, num_layers=2).to(device)
    bound = 1 / np.sqrt(16)
    for name, p in m.named_parameters():
        w = to_numpy(p)
        assert np.abs(w).max() <= bound, name
    w = to_numpy(m.weight_hh_l1)
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_recurrent_errors(device):
    m = nn.GRU(3, 4, num_layers=2).to(device)
    with pytest.raises(
        RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 3, got 5"
    ):
        m(gradlite.randn(6, 2, 5, device=device))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 2, 4\), got \[1, 2, 4\]"):
        m(gradlite.randn(6, 2, 3, device=device), gradlite.zeros(1, 2, 4, device=device))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        m(gradlite.randn(1, 6, 2, 3, device=device))
    with pytest.raises(RuntimeError, match="tuple"):
        nn.LSTM(3, 4).to(device)(
            gradlite.randn(6, 2, 3, device=device), gradlite.zeros(1, 2, 4, device=device)
        )


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")  # torch's own note
@pytest.mark.parametrize(
    "kw", [dict(), dict(num_layers=2, bidirectional=True, batch_first=True)], ids=["one", "two"]
)
def test_lstm_projection(device, torch, kw):
    gm, tm = build(torch, "LSTM", device, 3, 5, proj_size=2, **kw)
    x = randn(2, 4, 3) if kw.get("batch_first") else randn(4, 2, 3)
    check_module(torch, gm, tm, [x], device, rtol=1e-4, atol=1e-5)
    layers = 2 * kw.get("num_layers", 1) if kw.get("bidirectional") else 1
    h0, c0 = randn(layers, 2, 2, seed=4), randn(layers, 2, 5, seed=5)
    ts = [torch.tensor(a) for a in (x, h0, c0)]
    gs = [gradlite.tensor(a, device=device) for a in (x, h0, c0)]
    (to, (th, tc)), (go, (gh, gc)) = tm(ts[0], (ts[1], ts[2])), gm(gs[0], (gs[1], gs[2]))
    for a, b in ((to, go), (th, gh), (tc, gc)):
        np.testing.assert_allclose(to_numpy(b), a.detach().numpy(), rtol=1e-4, atol=1e-5)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size"):
        gm(gs[0], (gs[2], gs[2]))


def test_rnn_argument_errors():
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)


@pytest.mark.parametrize("proj", [0, 2])
def test_lstm_gradcheck_and_gradgradcheck(device, proj):
    """LSTM's gate nodes (closed-form gradients on arrays, gradlite ops under create_graph): first and
    second derivatives w.r.t. the input and both initial states, in float64."""
    from gradlite.autograd import gradcheck, gradgradcheck

    lstm = nn.LSTM(3, 4, proj_size=proj, device=device, dtype=gradlite.float64)
    rng = np.random.default_rng(0)
    h = proj or 4

    def t(*shape):
        return gradlite.tensor(rng.standard_normal(shape), device=device, requires_grad=True)

    def fn(x, h0, c0):
        out, (hn, cn) = lstm(x, (h0, c0))
        return out, hn, cn

    inputs = (t(4, 2, 3), t(1, 2, h), t(1, 2, 4))
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)
    cell = nn.LSTMCell(3, 4, device=device, dtype=gradlite.float64)
    assert gradgradcheck(lambda x, h0, c0: cell(x, (h0, c0)), (t(2, 3), t(2, 4), t(2, 4)))


@pytest.mark.parametrize("name", ["GRU", "RNN"])
def test_gru_and_rnn_gradcheck_and_gradgradcheck(device, name):
    """GRU's one-node cell (closed-form gradients; gradlite ops under create_graph) and the RNN step: first
    and second derivatives w.r.t. the input and the initial state, in float64, two layers."""
    from gradlite.autograd import gradcheck, gradgradcheck

    layer = getattr(nn, name)(3, 4, num_layers=2, device=device, dtype=gradlite.float64)
    rng = np.random.default_rng(0)

    def t(*shape):
        return gradlite.tensor(rng.standard_normal(shape), device=device, requires_grad=True)

    def fn(x, h0):
        out, hn = layer(x, h0)
        return out, hn

    inputs = (t(4, 2, 3), t(2, 2, 4))
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)
    if name == "GRU":
        cell = nn.GRUCell(3, 4, device=device, dtype=gradlite.float64)
        assert gradgradcheck(lambda x, h: cell(x, h), (t(2, 3), t(2, 4)))
