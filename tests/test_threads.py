"""Threads: which state is per thread, as in PyTorch (grad mode, inference mode), which is process-wide as in
PyTorch (anomaly mode, the default dtype), and autograd run from several threads at once."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import gradlite

from .conftest import to_numpy


def _in_thread(fn):
    """``fn()`` run in a new thread; its result (or its exception, raised here)."""
    out = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as e:  # handed to the caller
            out["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _concurrently(fns, switch=1e-6):
    """Run each of ``fns`` in its own thread, all started together, with a short GIL switch interval so
    that the threads interleave often; their results in order."""
    results = [None] * len(fns)
    errors = []
    barrier = threading.Barrier(len(fns))

    def target(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except BaseException as e:
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(switch)
    try:
        threads = [threading.Thread(target=target, args=(i, fn)) for i, fn in enumerate(fns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_grad_mode_is_per_thread(lib, torch_cpu):
    T = torch_cpu if lib == "torch" else gradlite

    def records():
        return (T.ones(2, requires_grad=True) * 2).requires_grad, T.is_grad_enabled()

    with T.no_grad():
        assert _in_thread(records) == (True, True)  # a new thread starts with grad enabled
        assert not (T.ones(2, requires_grad=True) * 2).requires_grad
    prev = T.is_grad_enabled()
    T.set_grad_enabled(False)
    try:
        assert _in_thread(records) == (True, True)
    finally:
        T.set_grad_enabled(prev)

    def off_here():
        with T.no_grad():
            return T.is_grad_enabled()

    assert _in_thread(off_here) is False
    assert T.is_grad_enabled()  # what another thread did leaks nowhere


def test_no_grad_does_not_leak_into_a_concurrent_thread():
    inside, entered = threading.Event(), threading.Event()
    seen = {}

    def a():
        with gradlite.no_grad():
            entered.set()
            inside.wait(5)

    def b():
        entered.wait(5)
        seen["rg"] = (gradlite.ones(2, requires_grad=True) * 2).requires_grad
        seen["mode"] = gradlite.is_grad_enabled()
        inside.set()

    _concurrently([a, b])
    assert seen == {"rg": True, "mode": True}


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_inference_mode_is_per_thread(lib, torch_cpu):
    T = torch_cpu if lib == "torch" else gradlite

    def state():
        y = T.ones(2, requires_grad=True) * 2
        return T.is_inference_mode_enabled(), y.is_inference(), y.requires_grad

    with T.inference_mode():
        assert _in_thread(state) == (False, False, True)

    def inside():
        with T.inference_mode():
            return T.is_inference_mode_enabled()

    assert _in_thread(inside) is True
    assert not T.is_inference_mode_enabled()


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_enable_grad_inside_inference_mode_records_nothing(lib, torch_cpu):
    T = torch_cpu if lib == "torch" else gradlite
    x = T.ones(2, requires_grad=True)
    with T.inference_mode(), T.enable_grad():
        assert T.is_grad_enabled()
        y = x * 2
        assert y.grad_fn is None and not y.requires_grad and y.is_inference()
    assert T.is_grad_enabled() and not T.is_inference_mode_enabled()


def test_inference_tensor_from_another_thread_is_refused(torch_cpu):
    for T in (torch_cpu, gradlite):
        def make(T=T):
            with T.inference_mode():
                return T.ones(2)

        t = _in_thread(make)  # this thread never entered inference mode
        w = T.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
            t * w


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_anomaly_mode_is_process_wide(lib, torch_cpu):
    # PyTorch keeps anomaly mode in one process-wide flag (AnomalyMode::_enabled), not per thread
    T = torch_cpu if lib == "torch" else gradlite
    with T.autograd.set_detect_anomaly(True, check_nan=False):
        assert _in_thread(lambda: (T.is_anomaly_enabled(), T.is_anomaly_check_nan_enabled())) == (True, False)
    assert _in_thread(T.is_anomaly_enabled) is False


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_default_dtype_is_process_wide(lib, torch_cpu):
    # PyTorch's default dtype is one process-wide setting: a thread that sets it changes it for all
    T = torch_cpu if lib == "torch" else gradlite
    prev = T.get_default_dtype()
    try:
        T.set_default_dtype(T.float64)
        assert _in_thread(T.get_default_dtype) is T.float64
        assert _in_thread(lambda: T.ones(1).dtype) is T.float64
        T.set_default_dtype(T.float32)
        _in_thread(lambda: T.set_default_dtype(T.float64))
        assert T.get_default_dtype() is T.float64
    finally:
        T.set_default_dtype(prev)


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_backward_from_another_thread(lib, torch_cpu):
    T = torch_cpu if lib == "torch" else gradlite
    x = T.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    _in_thread(y.backward)
    assert x.grad.tolist() == [2.0, 4.0]
    # and a graph built in one thread, differentiated in another with create_graph
    z = (x * x * x).sum()
    (g,) = _in_thread(lambda: T.autograd.grad(z, x, create_graph=True))
    assert g.requires_grad
    assert g.tolist() == [3.0, 12.0]
    (gg,) = T.autograd.grad(g.sum(), x)
    assert gg.tolist() == [6.0, 12.0]


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_backward_from_threads_on_a_shared_leaf(lib, torch_cpu):
    # each of 6 threads adds 1 to w.grad 100 times: every accumulation counts (PyTorch locks AccumulateGrad);
    # the race is likeliest while .grad is None, so the rounds start from None again
    T = torch_cpu if lib == "torch" else gradlite
    for shape in ((), (3,)):
        w = T.zeros(shape, requires_grad=True)

        def work(w=w):
            for _ in range(100):
                (w * 1.0).sum().backward()

        for _ in range(8):
            w.grad = None
            _concurrently([work] * 6)
            np.testing.assert_array_equal(to_numpy(w.grad), np.full(shape, 600.0))


def test_backward_from_threads_on_a_shared_leaf_with_hooks():
    w = gradlite.zeros(3, requires_grad=True)
    calls = []
    w.register_hook(lambda g: g * 2)
    w.register_post_accumulate_grad_hook(lambda p: calls.append(1))

    def work():
        for _ in range(50):
            (w * 1.0).sum().backward()

    _concurrently([work] * 4)
    assert w.grad.tolist() == [400.0] * 3
    assert len(calls) == 200


def _train(T, seed_w, steps=30):
    """A small model trained by SGD; its final parameters and losses (no randomness inside)."""
    rng = np.random.default_rng(seed_w)
    model = T.nn.Sequential(T.nn.Linear(4, 8), T.nn.Tanh(), T.nn.Linear(8, 1))
    with T.no_grad():
        for p in model.parameters():
            p.copy_(T.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    x = T.tensor(rng.standard_normal((16, 4)).astype(np.float32))
    y = T.tensor(rng.standard_normal((16, 1)).astype(np.float32))
    opt = T.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = T.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        with T.no_grad():  # an evaluation pass in no_grad, as a training loop has, racing the other thread
            model(x)
        losses.append(loss.item())
    return [to_numpy(p).copy() for p in model.parameters()], losses


@pytest.mark.parametrize("lib", ["torch", "gradlite"])
def test_two_threads_training_two_models_match_serial(lib, torch_cpu):
    T = torch_cpu if lib == "torch" else gradlite
    serial = [_train(T, 1), _train(T, 2)]
    threaded = _concurrently([lambda: _train(T, 1), lambda: _train(T, 2)])
    for (ps, ls), (pt, lt) in zip(serial, threaded, strict=True):
        assert ls == lt
        for a, b in zip(ps, pt, strict=True):
            np.testing.assert_array_equal(a, b)


def test_gradlite_training_in_threads_matches_torch(torch_cpu):
    gl = _concurrently([lambda: _train(gradlite, 1), lambda: _train(gradlite, 2)])
    th = [_train(torch_cpu, 1), _train(torch_cpu, 2)]
    for (pg, lg), (pt, lt) in zip(gl, th, strict=True):
        np.testing.assert_allclose(lg, lt, rtol=1e-4, atol=1e-6)
        for a, b in zip(pg, pt, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
