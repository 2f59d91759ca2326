"""Memory: saved values freed node by node, no reference cycles (flat training loop with gc disabled),
deep graphs without recursion, and the CUDA memory statistics."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import gradlite
from tests.conftest import HAS_CUDA


@pytest.fixture
def no_gc():
    gc.collect()
    gc.disable()
    yield
    gc.enable()


def _chain(device):
    x = gradlite.tensor(np.linspace(0, 1, 1000), device=device, requires_grad=True)
    y1 = (x * 0.5).exp()  # ExpBackward0 saves its output's array
    y2 = (y1 * 0.5).exp()
    y3 = (y2 * 0.5).exp()
    return x, y1, y2, y3


@pytest.mark.parametrize("retain", [False, True])
def test_saved_values_released_node_by_node(device, no_gc, retain):
    x, y1, y2, y3 = _chain(device)
    refs = [weakref.ref(y._data) for y in (y1, y2, y3)]
    seen = {}

    def hook(g):  # runs after y2's and y3's nodes, before y1's
        seen["alive"] = [r() is not None for r in refs]

    y1.register_hook(hook)
    loss = y3.sum()
    del y1, y2, y3
    loss.backward(retain_graph=retain)
    if retain:
        assert seen["alive"] == [True, True, True]
        assert all(r() is not None for r in refs)
    else:
        # y3's and y2's saved outputs were dropped as soon as their nodes ran; y1's node has not run yet
        assert seen["alive"] == [True, False, False]
        assert all(r() is None for r in refs)


def test_graph_freed_when_output_dropped(device, no_gc):
    x, y1, y2, y3 = _chain(device)
    node, data = weakref.ref(y3.grad_fn), weakref.ref(y2._data)
    del y1, y2, y3
    assert node() is None and data() is None


def test_second_backward_raises_after_release(torch, device):
    from tests.autograd._helpers import errors_alike

    def program(lib, dev):
        x = lib.ones(3, device=dev, requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward()
        y.backward()

    errors_alike(torch, program, device, "Trying to backward through the graph a second time")


def test_long_chain_backward_without_recursion(device, no_gc):
    x = gradlite.tensor([1.0], device=device, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def _train(steps: int, device: str, checkpoints: dict, trace_from: int = 0) -> None:
    """The quickstart classifier's training loop; records memory in use at the ``checkpoints`` steps."""
    from examples.quickstart import Classifier

    gradlite.manual_seed(0)
    pts = gradlite.randn(64, 2, device=device)
    label = (pts[:, :1] * pts[:, 1:] > 0).float()
    model = Classifier().to(device)
    for step in range(1, steps + 1):
        if step == trace_from:
            tracemalloc.start()
        logits = model(pts)
        loss = ((1 + (-logits.abs()).exp()).log() + logits.relu() - label * logits).mean()
        model.zero_grad()
        loss.backward()
        with gradlite.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
        if step in checkpoints:
            checkpoints[step] = _used(device)


def _used(device) -> tuple:
    """``(bytes in use, cyclic garbage found)`` at a checkpoint.

    On the CPU, ``gc.collect()`` runs first (gc is otherwise off): the number of unreachable objects it
    finds is the reference-cycle garbage made since the last checkpoint, which must be none; it also
    empties CPython's free lists, which tracemalloc would otherwise count as growth though they are bounded.
    """
    if device == "cuda":
        return gradlite.cuda.memory_allocated(), 0
    found = gc.collect()
    return tracemalloc.get_traced_memory()[0], found


def _growth(device, steps, marks, trace_from=0):
    if device == "cpu" and trace_from == 0:
        tracemalloc.start()
    try:
        checkpoints = dict.fromkeys(marks)
        _train(steps, device, checkpoints, trace_from if device == "cpu" else 0)
    finally:
        tracemalloc.stop()
    base = checkpoints[marks[0]][0]
    return {k: v - base for k, (v, _) in checkpoints.items()}, {k: c for k, (_, c) in checkpoints.items()}


def test_training_loop_memory_is_flat(device, no_gc):
    # Traced from step 1000 (tracing is slow). One leaked 56-byte tuple per step would show as 50 kB,
    # and one reference cycle per step as 900 objects of cyclic garbage.
    growth, cycles = _growth(device, 2_000, (1_100, 2_000), trace_from=1_000)
    assert growth[2_000] < 8_000, growth
    assert cycles[2_000] == 0, cycles


@pytest.mark.slow
def test_training_loop_memory_is_flat_10k_steps(device, no_gc):
    growth, cycles = _growth(device, 10_000, (100, 1_000, 10_000))
    # A leak of 56 bytes per step would add 500 kB between the last two checkpoints.
    assert growth[10_000] - growth[1_000] < 8_000, growth
    assert cycles[1_000] == cycles[10_000] == 0, cycles


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")
def test_cuda_memory_statistics():
    gradlite.cuda.empty_cache()
    gradlite.cuda.reset_peak_memory_stats()
    before = gradlite.cuda.memory_allocated()
    x = gradlite.ones(1024, 1024, device="cuda")  # 4 MiB
    during = gradlite.cuda.memory_allocated()
    assert during - before >= 4 * 1024 * 1024
    del x
    assert gradlite.cuda.memory_allocated() == before
    assert gradlite.cuda.max_memory_allocated() >= during
    gradlite.cuda.empty_cache()
    assert gradlite.cuda.memory_reserved() >= gradlite.cuda.memory_allocated()
