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
        if device == "cuda":
            import cupyx

            allow = getattr(cupyx, "allow_synchronize", None)  # (CuPy 13 checks it; 14 no longer does)
            with allow(False) if allow is not None else contextlib.nullcontext(), _device_kept_busy():
                yield
        else:
            yield


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


@pytest.mark.gpu
def test_the_busy_device_catches_a_cupy_read(device):
    """The CUDA guard's timing half: CuPy reading an array back inside it fails (the spin had to end)."""
    if device != "cuda":
        pytest.skip("the spinning kernel is CUDA's")
    import cupy

    a = cupy.arange(3)
    with pytest.raises(AssertionError, match="waited for the device"), _device_kept_busy(0.5):
        int(a.sum())
    with _device_kept_busy(0.5):  # queueing work only: no wait
        a = a * 2
