"""Tensors on a second GPU (``cuda:1``) are computed and allocated there, not on CuPy's current device.

Runs on the CuPy stand-in (two devices, and CuPy's error for a kernel given an array of another device) and
on a real machine with two GPUs or more.
"""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import nn

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(gradlite.cuda.device_count() < 2, reason="needs two CUDA devices (or the stand-in)"),
]


def _arrays(model, opt):
    """Every parameter, gradient and optimizer state array (``step`` stays on the CPU, as PyTorch's)."""
    out = []
    for p in model.parameters():
        out += [p._data, p.grad._data]
        out += [v._data for k, v in opt.state[p].items() if isinstance(v, gradlite.Tensor) and k != "step"]
    return out


@pytest.mark.parametrize("make_opt", [
    lambda p: gradlite.optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: gradlite.optim.Adam(p, lr=0.01),
], ids=["sgd", "adam"])
def test_a_model_on_cuda1_trains_there(make_opt):
    """Modules' forwards, the backward and the optimizer step of a model on cuda:1 run there while the
    current device is 0, and give the CPU's values."""
    assert gradlite.cuda.current_device() == 0

    def train(device):
        gradlite.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LayerNorm(8), nn.Linear(8, 3)).to(device)
        opt = make_opt(model.parameters())
        rng = np.random.default_rng(0)
        x = gradlite.tensor(rng.standard_normal((6, 4)).astype(np.float32), device=device)
        t = gradlite.tensor(rng.integers(0, 3, 6), device=device)
        for _ in range(3):
            loss = nn.CrossEntropyLoss()(model(x), t)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        return model, opt, loss

    model, opt, loss = train("cuda:1")
    assert {a.device.id for a in _arrays(model, opt)} == {1}
    assert loss.device == gradlite.device("cuda:1") and loss._data.device.id == 1
    assert gradlite.cuda.current_device() == 0
    ref_model, _, ref_loss = train("cpu")
    np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)
    for p, q in zip(model.parameters(), ref_model.parameters(), strict=True):
        np.testing.assert_allclose(p.detach().cpu().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-6)


def test_ops_inside_the_device_context_allocate_on_it():
    """Inside ``gradlite.cuda.device(1)`` every op, its backward and the gradients live on device 1."""
    with gradlite.cuda.device(1):
        x = gradlite.randn(3, 4, device="cuda", requires_grad=True)
        w = gradlite.randn(4, 2, device="cuda", requires_grad=True)
        assert x.device == gradlite.device("cuda:1")
        outs = [x @ w, x.relu(), x.sum(0), x[1:, :2], x[gradlite.tensor([0, 2], device="cuda")],
                gradlite.cat([x, x]), x.exp().mean(), x.softmax(-1), x.max(1).values, x.t().contiguous()]
        assert {o._data.device.id for o in outs} == {1}
        sum(o.sum() for o in outs).backward()
    assert {x.grad._data.device.id, w.grad._data.device.id} == {1}
    assert gradlite.cuda.current_device() == 0


def test_ops_on_cuda1_tensors_run_there_whatever_the_current_device():
    """Without any context: each op, its backward and the gradients of ``cuda:1`` tensors live on device 1
    while device 0 stays current (PyTorch's device guard), functions and methods alike."""
    F = nn.functional
    x = gradlite.randn(3, 4, device="cuda:1", requires_grad=True)
    w = gradlite.randn(4, 2, device="cuda:1", requires_grad=True)
    t = gradlite.tensor([0, 1, 1], device="cuda:1")
    outs = [x @ w, F.relu(x), gradlite.sum(x, 0), x[1:, :2], x[t], gradlite.cat([x, x]), x.exp().mean(),
            F.softmax(x, -1), x.max(1).values, F.cross_entropy(x @ w, t), gradlite.linalg.vector_norm(x),
            gradlite.where(x > 0, x, w.sum()), x.t().contiguous(), F.layer_norm(x, (4,))]
    assert {o._data.device.id for o in outs} == {1}
    assert gradlite.cuda.current_device() == 0
    sum(o.float().sum() for o in outs).backward()
    assert {x.grad._data.device.id, w.grad._data.device.id} == {1}
    assert gradlite.cuda.current_device() == 0
    xc, wc = x.detach().cpu().requires_grad_(), w.detach().cpu().requires_grad_()
    ref = [xc @ wc, F.relu(xc)]
    np.testing.assert_allclose(outs[0].detach().cpu().numpy(), ref[0].detach().numpy(), rtol=1e-5)
