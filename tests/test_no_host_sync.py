"""A training step never reads device memory back to the host (on a GPU, each read is a synchronisation).

The step (forward through Linear/ReLU/LayerNorm/Dropout, a loss, backward, gradient clipping and an optimizer
step) runs with every gradlite path to the host refused: the Tensor conversions and the backend's
``to_host``. On CUDA an implicit read inside op code (``bool(array)``, ``float(array)``, a mask index) fails
too: the device is kept busy by a spinning kernel queued before the step, which must end while it spins
(and CuPy's own detector, ``cupyx.allow_synchronize``, is on where this CuPy still checks it).
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import STANDIN

_HOST_READS = (
    "item",
    "tolist",
    "_host",
    "__bool__",
    "__float__",
    "__int__",
    "__index__",
    "numpy",
    "__array__",
)


def _refuse(*args, **kwargs):
    raise AssertionError("a tensor was read back to the host during a training step")


@contextlib.contextmanager
def _no_host_reads(monkeypatch, device: str):
    with monkeypatch.context() as m:
        for attr in _HOST_READS:
            m.setattr(gradlite.Tensor, attr, _refuse)
        m.setattr(type(gradlite.device(device).backend), "to_host", _refuse)
        if device == "cuda" and STANDIN:
            with _no_standin_syncs():
                yield
        elif device == "cuda":
            import cupyx

            allow = getattr(cupyx, "allow_synchronize", None)  # (CuPy 13 checks it; 14 no longer does)
            with allow(False) if allow is not None else contextlib.nullcontext(), _device_kept_busy():
                yield
        else:
            yield


@contextlib.contextmanager
def _no_standin_syncs():
    """On the CuPy stand-in, every host read CuPy would make (``get``, ``item``, ``bool``, a mask index,
    ``nonzero``, ...) is counted: the block must count none."""
    import cupy

    with cupy._standin.count() as c:
        yield
    assert c.syncs == 0, f"the host waited for the device during the step ({c.syncs} syncs: {c.log[:5]})"


_SPIN = r"""
extern "C" __global__ void gradlite_spin(long long cycles) {
    long long start = clock64();
    while (clock64() - start < cycles) { }
}
"""


@contextlib.contextmanager
def _device_kept_busy(seconds: float = 2.0):
    """Catch any synchronisation, CuPy's own included: a kernel spinning ``seconds`` is queued first, so a
    host read in the block would wait for it; the block must end while the spin still runs."""
    import cupy

    spin = cupy.RawKernel(_SPIN, "gradlite_spin")
    cycles = int(seconds * cupy.cuda.Device().attributes["ClockRate"] * 1e3)  # (ClockRate: kHz)
    spin((1,), (1,), (np.int64(cycles),))
    after_spin = cupy.cuda.Event()
    after_spin.record()
    yield
    waited = after_spin.done
    after_spin.synchronize()
    assert not waited, "the host waited for the device during the step (a synchronisation)"


def _model(device):
    return nn.Sequential(
        nn.Linear(8, 16),
        nn.ReLU(),
        nn.LayerNorm(16),
        nn.Dropout(0.1),
        nn.Linear(16, 16),
        nn.Tanh(),
        nn.Linear(16, 3),
    ).to(device)


@pytest.mark.parametrize(
    "make_opt",
    [
        lambda p: gradlite.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
        lambda p: gradlite.optim.Adam(p, lr=1e-2, weight_decay=1e-4),
        lambda p: gradlite.optim.AdamW(p, lr=1e-2, amsgrad=True),
    ],
    ids=["sgd", "adam", "adamw"],
)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
def test_training_step_never_reads_back(device, monkeypatch, make_opt, loss):
    model = _model(device)
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(0)
    x = gradlite.tensor(rng.standard_normal((32, 8)).astype(np.float32), device=device)
    labels = gradlite.tensor(rng.integers(0, 3, 32), device=device)
    targets = gradlite.tensor(rng.standard_normal((32, 3)).astype(np.float32), device=device)
    def step():
        out = model(x)
        if loss == "cross_entropy":
            value = nn.functional.cross_entropy(out, labels, label_smoothing=0.1)
        else:
            value = ((out - targets) ** 2).mean()
        opt.zero_grad()
        value.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return value

    step()  # (first calls compile CuPy's kernels: outside the guard, which times the host on CUDA)
    before = [p.detach().clone() for p in model.parameters()]
    with _no_host_reads(monkeypatch, device):
        losses = [step() for _ in range(3)]
    # outside the guard: the step really ran (parameters moved, the loss is a finite scalar)
    assert all(lo.shape == () for lo in losses)
    assert np.isfinite(float(losses[-1]))
    moved = [
        not np.allclose(b.cpu().numpy(), p.detach().cpu().numpy())
        for b, p in zip(before, model.parameters(), strict=True)
    ]
    assert all(moved)


def test_the_guard_catches_a_read_back(device, monkeypatch):
    """The guard itself: an ``.item()`` or a ``bool()`` in the step fails."""
    w = gradlite.ones(3, device=device, requires_grad=True)
    with _no_host_reads(monkeypatch, device), pytest.raises(AssertionError, match="read back"):
        loss = (w * 2).sum()
        loss.item()
    with _no_host_reads(monkeypatch, device), pytest.raises(AssertionError, match="read back"):
        if (w > 0).all():
            pass


class _CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        return self.fc(self.pool(nn.functional.relu(self.bn(self.conv(x)))).flatten(1))


class _LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 8)
        self.rnn = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 3)

    def forward(self, x):
        out, _ = self.rnn(self.emb(x))
        return self.fc(out[:, -1])


@pytest.mark.parametrize("make_opt", [
    lambda p: gradlite.optim.SGD(p, lr=0.05, momentum=0.9),
    lambda p: gradlite.optim.Adam(p, lr=1e-2),
], ids=["sgd", "adam"])
@pytest.mark.parametrize("arch", ["cnn", "lstm"])
def test_cnn_and_lstm_steps_never_read_back(device, monkeypatch, arch, make_opt):
    """A CNN (conv, batch norm, max-pool) and an LSTM (embedding lookup, index of the last step) step with
    cross-entropy, clip_grad_norm_ and the optimizer: no host read (zero syncs on the CuPy stand-in)."""
    model = (_CNN() if arch == "cnn" else _LSTM()).to(device)
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(1)
    if arch == "cnn":
        x = gradlite.tensor(rng.standard_normal((6, 1, 8, 8)).astype(np.float32), device=device)
    else:
        x = gradlite.tensor(rng.integers(0, 10, (6, 5)), device=device)
    labels = gradlite.tensor(rng.integers(0, 3, 6), device=device)

    def step():
        loss = nn.functional.cross_entropy(model(x), labels)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    first = step()
    with _no_host_reads(monkeypatch, device):
        losses = [step() for _ in range(3)]
    assert float(losses[-1]) < float(first)  # it trains


@pytest.mark.skipif(not STANDIN, reason="counts the CuPy stand-in's host reads")
def test_the_standin_guard_catches_a_read():
    """The stand-in half of the guard: a CuPy-level read (a mask index, ``bool``) inside it fails."""
    import cupy

    a = cupy.arange(3)
    with pytest.raises(AssertionError, match="1 syncs"), _no_standin_syncs():
        a[a > 0]
    with pytest.raises(AssertionError, match="1 syncs"), _no_standin_syncs():
        bool(a[0])
    with _no_standin_syncs():  # queueing work only
        a = a * 2


@pytest.mark.gpu
def test_the_busy_device_catches_a_cupy_read(device):
    """The CUDA guard's timing half: CuPy reading an array back inside it fails (the spin had to end)."""
    if device != "cuda" or STANDIN:
        pytest.skip("the spinning kernel is CUDA's (a real GPU)")
    import cupy

    a = cupy.arange(3)
    with pytest.raises(AssertionError, match="waited for the device"), _device_kept_busy(0.5):
        int(a.sum())
    with _device_kept_busy(0.5):  # queueing work only: no wait
        a = a * 2


# Ops whose host read is their contract, as in PyTorch on CUDA: the output's size or a Python value depends
# on the data, or (linalg) the solver's status is checked to raise PyTorch's error.
_SYNCING_OPS = {
    "allclose": "returns a Python bool",
    "equal": "returns a Python bool",
    "where_condition_only": "output size depends on the data (nonzero)",
    "masked_select": "output size depends on the data",
    "scatter_with_reduce": "multiply: repeated positions go in rounds, their count read once",
    "one_hot": "num_classes=-1 is inferred from the data",
    "linalg.inv": "singular-matrix error, as PyTorch's linalg status check",
    "linalg.det": "singular-matrix check in the backward, as PyTorch",
    "linalg.slogdet": "as linalg.det",
    "logdet": "as linalg.det",
    "linalg.solve": "singular-matrix error, as PyTorch's linalg status check",
    "linalg.cholesky": "not-positive-definite error, as PyTorch's linalg status check",
    "linalg.qr": "rank check of the backward, as PyTorch",
    "linalg.lstsq": "rank check, as PyTorch",
}


def _registry():
    from tests import test_op_registry as reg

    return reg


@pytest.mark.skipif(not STANDIN, reason="counts the CuPy stand-in's host reads")
@pytest.mark.parametrize("name", sorted({op.name for op in _registry().OPS}))
def test_every_registry_op_runs_without_a_host_read(name):
    """Forward and backward of each op of the registry (its first samples, float32) on the stand-in's cuda
    device read nothing back to the host, but for the ops listed in ``_SYNCING_OPS`` (which must read)."""
    import cupy

    reg = _registry()
    op = next(o for o in reg.OPS if o.name == name)
    syncs, ran = [], False
    for s in reg.samples_of(op)[:3]:
        dtype = "float32" if "float32" in op.dtypes else op.dtypes[0]
        np_args, np_kwargs = reg.prepare(s, dtype)
        args, kwargs, _ = reg.build(gradlite, np_args, np_kwargs, "cuda", s, requires_grad=op.differentiable)
        with cupy._standin.count() as c:
            outs = [o for o in reg.outputs(reg.call(op, gradlite, args, kwargs)) if reg.is_tensor(o)]
            outs = [o for o in outs if o.dtype.is_floating_point and o.requires_grad]
            if outs:
                gradlite.autograd.backward(outs, [gradlite.ones_like(o) for o in outs])
        ran = True
        syncs += c.log
    assert ran
    if name in _SYNCING_OPS:
        assert syncs, f"{name} is listed as reading back ({_SYNCING_OPS[name]}) but did not"
    else:
        assert not syncs, f"{name} read back to the host: {syncs[:3]}"
