"""The autograd engine of issue 2: accumulation, backward(gradient), retain_graph, create_graph, grad modes,
every error path, deep graphs without recursion, and memory release without the garbage collector."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import gradlite
from tests.conftest import assert_close, to_numpy


# -- accumulation, gradient=v, retain_graph --------------------------------------------------------------
def test_grad_accumulates_over_backward_calls(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor([1.0, 2.0], requires_grad=True, device=dev)
        for _ in range(3):
            (x * x).sum().backward()
        assert x.grad.tolist() == [6.0, 12.0]


def test_accumulation_keeps_the_grad_object(device):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * 3).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g and g.tolist() == [6.0, 6.0]


@pytest.mark.parametrize("shape", [(), (1,), (1, 1), (3,)])
def test_accumulation_is_in_place_for_every_size(device, torch, shape):
    """One-element gradients accumulate by a copy back (NumPy's in-place op is slow there), larger ones in
    place: either way the stored tensor, its storage and its version counter are updated, as PyTorch."""
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.full(shape, 2.0, requires_grad=True, device=dev)
        (x * x).sum().backward()
        g = x.grad
        view = g.reshape(-1)  # shares the gradient's storage
        v0 = _version(g)
        (x * 3).sum().backward()
        assert x.grad is g and _version(g) == v0 + 1
        assert view.tolist() == [7.0] * view.numel()


def _version(t) -> int:
    return t._version if isinstance(t._version, int) else t._version_count


def test_grad_does_not_alias_upstream(device):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    v = gradlite.tensor([1.0, 1.0], device=device)
    x.backward(v)  # the gradient of a leaf w.r.t. itself is v: it must be copied, not stored
    v.add_(5)
    assert x.grad.tolist() == [1.0, 1.0]
    y = x * 1
    y.backward(v)
    x.grad.zero_()
    assert v.tolist() == [6.0, 6.0]


def test_backward_with_gradient_vector(device, torch):
    a = np.array([0.3, -0.2, 0.1], dtype=np.float32)
    v = np.array([0.1, 1.0, 0.0001], dtype=np.float32)
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor(a, requires_grad=True, device=dev)
        y = x * 2
        while y.data.norm() < 1000:
            y = y * 2
        y.backward(lib.tensor(v, device=dev))
        res.append(x.grad)
    assert_close(res[0], res[1])


def test_backward_gradient_keyword_and_function_form(device):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * x).backward(gradient=gradlite.tensor([1.0, 0.5], device=device))
    assert x.grad.tolist() == [2.0, 2.0]
    gradlite.autograd.backward([(x * 3).sum()])
    assert x.grad.tolist() == [5.0, 5.0]


def test_retain_graph_allows_second_backward(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor([1.0, 2.0], requires_grad=True, device=dev)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        assert x.grad.tolist() == [4.0, 8.0]


def test_shared_subgraph_and_diamond(device, torch):
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor([0.5, -1.5], requires_grad=True, device=dev)
        a = x.exp()
        b = a * x
        c = a + b * b
        (c * a).sum().backward()
        res.append(x.grad)
    assert_close(res[0], res[1])


def _graphs(lib, x):
    """Graphs for the engine's once-used shortcut (a node used by one recorded edge runs as soon as that
    consumer has sent its gradient; the others wait for a count of the graph): name -> loss."""
    y = x * 2
    dead = y + 1  # a recorded consumer of y that the loss does not reach: y is used twice, reached once
    chain_then_fork = ((x.tanh() * 3).exp() + 1).sin()
    fork = chain_then_fork * chain_then_fork.cos() + chain_then_fork  # used three times
    twice = x * x  # two edges from one node into the same leaf, and below into the same node
    both = twice * twice
    h = x.sigmoid()
    late = ((h * 2 + 1) * 3 + h).sum()  # h's second use is reached only after a long chain
    no_grad_branch = _Halve.apply(x.exp()) + x.exp().detach()  # a custom Function as the one consumer
    return {
        "dead branch": (y * 3).sum() + 0 * dead.detach().sum(),
        "fork after chain": fork.sum(),
        "same node twice": both.sum(),
        "late second use": late,
        "custom function": (no_grad_branch * x).sum(),
    }


class _Halve:
    """x / 2 as a custom Function (gradlite or torch), to put a Function node into the chain."""

    @staticmethod
    def apply(t):
        lib = gradlite if isinstance(t, gradlite.Tensor) else __import__("torch")

        class Halve(lib.autograd.Function):
            @staticmethod
            def forward(ctx, a):
                return a / 2

            @staticmethod
            def backward(ctx, g):
                return g / 2

        return Halve.apply(t)


@pytest.mark.parametrize(
    "graph", ["dead branch", "fork after chain", "same node twice", "late second use", "custom function"]
)
def test_once_used_nodes_run_early_and_shared_ones_wait(device, torch, graph):
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor([0.5, -1.5, 2.0], requires_grad=True, device=dev)
        _graphs(lib, x)[graph].backward()
        res.append(x.grad)
    assert_close(res[0], res[1])


def test_a_node_consumed_by_two_losses_waits_for_both(device, torch):
    """A trunk used by two losses: backward from one runs the trunk with that loss's gradient only (the
    other consumer is unreachable), and a second backward adds the other's."""
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor([0.5, -1.5], requires_grad=True, device=dev)
        trunk = (x * 3).exp()
        first, second = (trunk * 2).sum(), trunk.sin().sum()
        first.backward(retain_graph=True)
        once = x.grad.clone()
        second.backward()
        res.append((once, x.grad))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_leaf_used_twice_and_gradient_to_broadcast_leaf(device, torch):
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        w = lib.tensor([[1.0], [2.0]], requires_grad=True, device=dev)
        b = lib.tensor(0.5, requires_grad=True, device=dev)
        x = lib.ones(2, 3, device=dev)
        (x * w + w * w + b).sum().backward()
        res.append((w.grad, b.grad))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])


def test_create_graph_second_derivative(device, torch):
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.tensor([1.0, -2.0, 0.5], requires_grad=True, device=dev)
        y = (x**3).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        assert g.requires_grad
        g.sum().backward()
        res.append((g, x.grad))
    assert_close(res[0][0], 3 * np.array([1.0, 4.0, 0.25], dtype=np.float32))
    assert_close(res[0][1], 6 * np.array([1.0, -2.0, 0.5], dtype=np.float32))


def test_create_graph_through_backward_populates_differentiable_grad(device):
    x = gradlite.tensor([2.0], requires_grad=True, device=device)
    (x**4).sum().backward(create_graph=True)
    g = x.grad
    assert g.requires_grad and g.tolist() == [32.0]  # 4 x^3
    x.grad = None
    g.sum().backward()
    assert x.grad.tolist() == [48.0]  # 12 x^2


def test_grad_zero_and_data_zero(device):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * 5).sum().backward()
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]
    (x * 2).sum().backward()
    x.grad.data.zero_()
    assert x.grad.tolist() == [0.0, 0.0]
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_grad_of_non_leaf_with_retain_grad(device):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0] and x.grad.tolist() == [18.0, 36.0]


# -- grad modes --------------------------------------------------------------------------------------------
def test_no_grad_context_and_nesting(device):
    x = gradlite.ones(2, requires_grad=True, device=device)
    with gradlite.no_grad():
        y = x * 2
        assert not gradlite.is_grad_enabled()
        with gradlite.enable_grad():
            z = x * 2
            assert gradlite.is_grad_enabled()
        assert not gradlite.is_grad_enabled()
    assert gradlite.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn is not None


def test_grad_modes_as_decorators(device):
    x = gradlite.ones(2, requires_grad=True, device=device)

    @gradlite.no_grad()
    def f(t):
        return t * 2

    @gradlite.no_grad
    def f2(t):
        return t * 2

    @gradlite.enable_grad()
    def g(t):
        return t * 2

    @gradlite.set_grad_enabled(False)
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not f2(x).requires_grad and not h(x).requires_grad
    assert gradlite.is_grad_enabled()  # the decorators did not switch the mode at definition
    with gradlite.no_grad():
        assert g(x).requires_grad
    assert f.__name__ == "f"


def test_set_grad_enabled_forms(device):
    x = gradlite.ones(2, requires_grad=True, device=device)
    with gradlite.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert gradlite.is_grad_enabled()
    gradlite.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        gradlite.set_grad_enabled(True)
    assert (x * 2).requires_grad


def test_no_grad_restores_mode_after_exception(device):
    with pytest.raises(ValueError), gradlite.no_grad():
        raise ValueError
    assert gradlite.is_grad_enabled()


def test_inplace_update_of_leaf_under_no_grad(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        w = lib.tensor([1.0, 2.0], requires_grad=True, device=dev)
        (w * w).sum().backward()
        with lib.no_grad():
            w -= 0.1 * w.grad
        assert w.is_leaf and w.requires_grad
        np.testing.assert_allclose(w.tolist(), [0.8, 1.6], rtol=1e-6)
        with pytest.raises(
            RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"
        ):
            w -= 1


# -- error paths ---------------------------------------------------------------------------------------------
def test_nonscalar_backward_without_gradient(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        y = lib.ones(2, requires_grad=True, device=dev) * 2
        with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
            y.backward()


def test_backward_of_tensor_without_grad(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
            lib.ones(1, device=dev).sum().backward()


@pytest.mark.parametrize(
    "make",
    [lambda x: (x * x).sum(), lambda x: (x * 2).mean(), lambda x: x.exp().sum()],
    ids=["saves-tensors", "saves-scalar-only", "saves-output"],
)  # (a graph that saved nothing may be traversed again: tests/test_reliability_indexing.py)
def test_second_backward_through_freed_graph(device, make):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = make(x)
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_freed_graph_error_matches_torch(torch_cpu):
    x = torch_cpu.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()


def test_gradient_of_wrong_shape_names_both(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        y = lib.ones(2, 3, requires_grad=True, device=dev) * 2
        with pytest.raises(
            RuntimeError,
            match=r"Mismatch in shape: grad_output\[0\] has a shape of .*\[3, 2\].*"
            r"output\[0\] has a shape of .*\[2, 3\]",
        ):
            y.backward(lib.ones(3, 2, device=dev))


def test_gradient_not_a_tensor(device):
    y = gradlite.ones(2, requires_grad=True, device=device) * 2
    with pytest.raises(TypeError, match="gradient must be a Tensor"):
        y.backward([1.0, 1.0])


def test_non_leaf_grad_warning_mentions_retain_grad(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        y = lib.ones(2, requires_grad=True, device=dev) * 2
        y.sum().backward()
        with pytest.warns(UserWarning, match=r"retain_grad\(\)"):
            assert y.grad is None


def test_mixing_devices_message_names_both():
    """Without CUDA, a tensor is moved onto a stand-in ``cuda:1`` device: the checks only read its name."""
    from gradlite.ops._base import operands

    cpu = gradlite.ones(2)
    other = gradlite.ones(2)
    other._device = _fake_device()
    with pytest.raises(
        RuntimeError, match=r"Expected all tensors to be on the same device, .*cpu and cuda:1"
    ):
        operands(cpu, other, "add")
    with pytest.raises(RuntimeError, match=r"cpu and cuda:1"):
        cpu + other
    with pytest.raises(RuntimeError, match=r"cuda:1 and cpu"):
        other * cpu
    with pytest.raises(RuntimeError, match=r"cpu and cuda:1"):
        cpu @ other


def _fake_device():
    """A device object for ``cuda:1`` built without touching CuPy (only its name is used by the checks)."""
    from gradlite.device import device

    d = object.__new__(device)
    d.type, d.index, d._backend, d._str = "cuda", 1, None, "cuda:1"
    return d


@pytest.mark.gpu
@pytest.mark.skipif(not gradlite.cuda.is_available(), reason="needs a CUDA device and CuPy")
def test_mixing_real_devices_raises():
    with pytest.raises(
        RuntimeError, match=r"Expected all tensors to be on the same device.*cpu.*cuda:0|cuda:0.*cpu"
    ):
        gradlite.ones(2) + gradlite.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match="cuda:0"):
        gradlite.ones(2, 2) @ gradlite.ones(2, 2, device="cuda")


# -- deep graphs and memory -------------------------------------------------------------------------------
def test_100k_op_chain_backward_without_recursion(device):
    x = gradlite.tensor([1.0], requires_grad=True, device=device)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def _intermediates(device):
    w = gradlite.randn(4, 3, requires_grad=True, device=device)
    b = gradlite.zeros(3, requires_grad=True, device=device)
    x = gradlite.randn(5, 4, device=device)
    h = x @ w
    a = (h + b).relu()
    s = a.sigmoid()
    loss = (s * s).mean()
    return w, b, [h, a, s], loss


def test_dropping_loss_frees_every_intermediate_without_gc(device):
    gc.collect()
    gc.disable()
    try:
        w, b, inter, loss = _intermediates(device)
        refs = [weakref.ref(t) for t in inter]
        node_refs = [weakref.ref(t.grad_fn) for t in inter] + [weakref.ref(loss.grad_fn)]
        arrays = [t._data for t in inter]
        array_refs = [weakref.ref(a) for a in arrays if hasattr(type(a), "__weakref__")]
        del arrays
        loss.backward()
        assert w.grad is not None and b.grad is not None
        del inter, loss
        assert all(r() is None for r in refs), "an intermediate tensor is still alive"
        assert all(r() is None for r in node_refs), "a graph node is still alive"
        assert all(r() is None for r in array_refs), "an intermediate array is still alive"
    finally:
        gc.enable()


def test_dropping_unused_graph_frees_it_without_gc(device):
    gc.collect()
    gc.disable()
    try:
        w, b, inter, loss = _intermediates(device)
        refs = [weakref.ref(t) for t in inter] + [weakref.ref(loss)]
        del inter, loss  # no backward at all: the graph must still go away by reference counting
        assert all(r() is None for r in refs)
    finally:
        gc.enable()


def test_training_loop_memory_stays_flat_without_gc(device):
    gc.collect()
    gc.disable()
    try:
        w = gradlite.randn(8, 4, requires_grad=True, device=device)
        x = gradlite.randn(16, 8, device=device)
        counts = []
        for step in range(30):
            loss = ((x @ w).tanh() ** 2).mean()
            loss.backward()
            with gradlite.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
            del loss
            if step in (9, 29):
                counts.append(len(gc.get_objects()))
        assert counts[1] - counts[0] < 50, counts
    finally:
        gc.enable()


def test_backward_releases_saved_values(device):
    x = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    h = x * 3
    ref = weakref.ref(h)
    y = (h * h).sum()  # MulBackward0 saves h
    del h
    assert ref() is not None
    y.backward()
    assert ref() is None
    assert to_numpy(x.grad).tolist() == [18.0, 36.0]


# -- gradient storage: layout and ownership -----------------------------------------------------------------
def test_leaf_gradients_never_share_storage(device):
    a = gradlite.ones(3, requires_grad=True, device=device)
    b = gradlite.ones(3, requires_grad=True, device=device)
    ((a + b) * 3).sum().backward()  # AddBackward0 hands the same gradient to both inputs
    a.grad.add_(1)
    assert b.grad.tolist() == [3.0, 3.0, 3.0] and a.grad.tolist() == [4.0, 4.0, 4.0]


def test_gradient_takes_the_leaf_layout(device, torch):
    rng = np.random.default_rng(0)
    wa, xa = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        w = lib.tensor(wa, requires_grad=True, device=dev)
        x = lib.tensor(xa, requires_grad=True, device=dev)
        for _ in range(2):  # the second call accumulates into the stored gradient
            ((x @ w.t()).tanh() ** 2).sum().backward()
        res.append((w.grad, x.grad))
    assert_close(res[0][0], res[1][0], rtol=1e-5, atol=1e-5)
    assert_close(res[0][1], res[1][1], rtol=1e-5, atol=1e-5)
    w = res[0][0]
    if hasattr(w._data, "flags"):  # NumPy / CuPy (not array_api_strict)
        assert w._data.flags["C_CONTIGUOUS"]  # as the weight: updates of it run contiguously


def test_weight_gradient_is_independent_of_other_gradients(device):
    w = gradlite.randn(3, 4, requires_grad=True, device=device)
    x = gradlite.randn(5, 4, requires_grad=True, device=device)
    y = x @ w.t()
    y.retain_grad()
    y.sum().backward()
    before_x, before_y = to_numpy(x.grad).copy(), to_numpy(y.grad).copy()
    w.grad.mul_(0)
    np.testing.assert_array_equal(to_numpy(x.grad), before_x)
    np.testing.assert_array_equal(to_numpy(y.grad), before_y)


def test_inplace_arithmetic_without_graph_matches_torch(device, torch):
    """``p -= lr * g`` and friends outside autograd: values, views, versions and errors as PyTorch."""
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    res = []
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        p = lib.tensor(a, requires_grad=True, device=dev)
        v = p.detach()[0]  # a view: sees every in-place change of p's storage
        with lib.no_grad():
            p -= 0.5 * lib.ones(2, 3, device=dev)
            p += lib.tensor([1.0, 2.0, 3.0], device=dev)  # broadcast into p's shape
            p *= 2
            p /= 4
            p.add_(1.0)
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
        res.append((p.detach().clone(), v.clone(), p._version_count if lib is gradlite else p._version))
        i = lib.tensor([1, 2], device=dev)
        with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
            i += 0.5
        e = lib.ones(3, device=dev).expand(2, 3)
        with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
            e += 1
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            lib.ones(3, device=dev).add_(lib.ones(2, 3, device=dev))
    assert_close(res[0][0], res[1][0])
    assert_close(res[0][1], res[1][1])
    assert res[0][2] == res[1][2] == 5
