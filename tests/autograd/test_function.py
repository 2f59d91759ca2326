"""Custom autograd Functions against torch.autograd.Function."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import gradlite
from tests.autograd._helpers import both, errors_alike


def _data(lib, device, shape=(3, 4), seed=0, rg=True):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lib.tensor(a, device=device, requires_grad=rg)


def _exp_fn(lib):
    class MyExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            y = x.exp() * scale
            ctx.save_for_backward(y)  # saving an output
            ctx.scale = scale
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return gy * y, None

    return MyExp


def test_forward_backward_saved_output_and_nontensor_arg(torch, device):
    def program(lib, dev):
        x = _data(lib, dev)
        y = _exp_fn(lib).apply(x, 2.0)
        (y * y).sum().backward()
        return y, x.grad, type(y.grad_fn).__name__, y.requires_grad, y.is_leaf

    ours = both(torch, program, device)
    assert ours[2] == "MyExpBackward"


def test_double_backward_through_custom_function(torch, device):
    def program(lib, dev):
        x = _data(lib, dev)
        y = _exp_fn(lib).apply(x, 1.5)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        (g * g).sum().backward()
        return g, x.grad

    both(torch, program, device)


def _split_fn(lib):
    class Split(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            idx = (x > 0).sum()
            ctx.mark_non_differentiable(idx)
            return x * w, x - w, idx

        @staticmethod
        def backward(ctx, ga, gb, gidx):
            x, w = ctx.saved_tensors
            return ga * w + gb, ga * x - gb

    return Split


def test_several_outputs_and_non_differentiable(torch, device):
    def program(lib, dev):
        x, w = _data(lib, dev, seed=1), _data(lib, dev, seed=2)
        a, b, idx = _split_fn(lib).apply(x, w)
        (a.sum() * 2 + (b * b).sum()).backward()
        return a, b, idx, idx.requires_grad, x.grad, w.grad, a.grad_fn is b.grad_fn

    both(torch, program, device)


def test_only_one_output_used_materializes_zeros(torch, device):
    def program(lib, dev):
        x, w = _data(lib, dev, seed=1), _data(lib, dev, seed=2)
        a, b, _ = _split_fn(lib).apply(x, w)
        b.sum().backward()
        return x.grad, w.grad

    both(torch, program, device)


def test_set_materialize_grads_false_passes_none(torch, device):
    def program(lib, dev):
        seen = []

        class Two(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.set_materialize_grads(False)
                return x * 2, x * 3

            @staticmethod
            def backward(ctx, ga, gb):
                seen.append((ga is None, gb is None))
                return ga * 2 if ga is not None else None

        x = _data(lib, dev)
        a, b = Two.apply(x)
        a.sum().backward()
        return x.grad, seen

    both(torch, program, device)


def test_no_record_without_grad(torch, device):
    def program(lib, dev):
        x = _data(lib, dev, rg=False)
        y = _exp_fn(lib).apply(x, 1.0)
        with lib.no_grad():
            z = _exp_fn(lib).apply(_data(lib, dev), 1.0)
        return y.requires_grad, y.grad_fn is None, z.requires_grad

    both(torch, program, device)


def test_saved_tensors_freed_after_backward(torch, device):
    def program(lib, dev):
        y = _exp_fn(lib).apply(_data(lib, dev), 1.0)
        y.sum().backward()
        return y.grad_fn.saved_tensors

    errors_alike(torch, program, device, "Trying to backward through the graph a second time")


def test_saved_tensors_kept_with_retain_graph(torch, device):
    def program(lib, dev):
        x = _data(lib, dev)
        y = _exp_fn(lib).apply(x, 1.0)
        y.sum().backward(retain_graph=True)
        y.sum().backward(retain_graph=True)
        return x.grad, y.grad_fn.saved_tensors[0]

    both(torch, program, device)


def test_saved_input_modified_in_place_raises(torch, device):
    def program(lib, dev):
        x = _data(lib, dev) * 1
        y = _split_fn(lib).apply(x, _data(lib, dev, seed=3))[0]
        x.add_(1)
        y.sum().backward()

    err = errors_alike(torch, program, device, "modified by an inplace operation")
    assert "is at version 1; expected version 0" in str(err) and "[3, 4]" in str(err)


def test_wrong_number_of_gradients(torch, device):
    def program(lib, dev):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, w):
                return x * w

            @staticmethod
            def backward(ctx, g):
                return (g,)

        Bad.apply(_data(lib, dev), _data(lib, dev, seed=2)).sum().backward()

    errors_alike(
        torch,
        program,
        device,
        "function BadBackward returned an incorrect number of gradients (expected 2, got 1)",
    )


def test_gradient_for_non_tensor_input(torch, device):
    def program(lib, dev):
        class Bad(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                return x * k

            @staticmethod
            def backward(ctx, g):
                return g, g

        Bad.apply(_data(lib, dev), 2.0).sum().backward()

    errors_alike(torch, program, device, "returned a gradient different than None at position 2")


def _bad_grad(shape=None, dtype=None, to_cpu=False):
    class BadGrad(gradlite.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            if shape is not None:
                g = g.sum(0)
            if dtype is not None:
                g = g.to(dtype)
            if to_cpu:
                g = g.cpu()
            return g

    return BadGrad


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"shape": True}, ["BadGradBackward", "index 0", "gradlite.Size([4])", "gradlite.Size([3, 4])"]),
        ({"dtype": gradlite.int64}, ["BadGradBackward", "index 0", "float32", "int64"]),
    ],
    ids=["shape", "dtype"],
)
def test_stricter_than_torch_wrong_shape_or_dtype(device, kw, words):
    # PyTorch silently sums a broadcastable gradient and casts an integer gradient; gradlite names the
    # mistake (a gradient of another floating dtype is cast, as PyTorch: tests/test_fuzz_findings_autograd.py)
    x = _data(gradlite, device)
    with pytest.raises(RuntimeError) as err:
        _bad_grad(**kw).apply(x).sum().backward()
    for w in words:
        assert w in str(err.value), str(err.value)


@pytest.mark.gpu
def test_stricter_than_torch_wrong_device(device):
    if device != "cuda":
        pytest.skip("needs a second device type")
    x = _data(gradlite, device)
    with pytest.raises(RuntimeError, match="expected device cuda:0 but got cpu"):
        _bad_grad(to_cpu=True).apply(x).sum().backward()


def test_mark_dirty_in_place_function(torch, device):
    def program(lib, dev):
        class AddOne(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g * 1

        x = _data(lib, dev)
        y = x * 2
        z = AddOne.apply(y)
        (z * z).sum().backward()
        return z, z is y, x.grad

    both(torch, program, device)


def test_mark_dirty_on_leaf_raises(torch, device):
    def program(lib, dev):
        class AddOne(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                x.add_(1)
                ctx.mark_dirty(x)
                return x

            @staticmethod
            def backward(ctx, g):
                return g

        AddOne.apply(_data(lib, dev))

    errors_alike(torch, program, device, "a leaf Variable that requires grad")


def test_function_node_holds_no_cycle(device):
    gc.disable()
    try:
        x = _data(gradlite, device)
        y = _exp_fn(gradlite).apply(x, 1.0)
        node = weakref.ref(y.grad_fn)
        data = weakref.ref(y._data) if hasattr(y._data, "__weakref__") else None
        del y
        assert node() is None
        if data is not None:
            assert data() is None
    finally:
        gc.enable()


def test_setup_context_style(torch, device):
    def program(lib, dev):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(x, k):
                return x**3 * k

            @staticmethod
            def setup_context(ctx, inputs, output):
                x, k = inputs
                ctx.save_for_backward(x)
                ctx.k = k

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * 3 * x**2 * ctx.k, None

        x = _data(lib, dev)
        y = Cube.apply(x, 2.0)
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        g.sum().backward()
        return y, g, x.grad

    both(torch, program, device)


def test_input_used_twice_and_output_used_twice(torch, device):
    def program(lib, dev):
        x = _data(lib, dev)
        a, b, _ = _split_fn(lib).apply(x, x)
        (a * a + a * b).sum().backward()
        return x.grad

    both(torch, program, device)


def test_function_cannot_be_instantiated():
    with pytest.raises(RuntimeError, match="apply"):
        _exp_fn(gradlite)()


def test_backward_returning_a_saved_tensor_never_aliases_grad(device):
    """A custom backward may return an array it can reach (here a saved input itself): the leaf's .grad
    must own its storage, or the next in-place accumulation would overwrite the user's tensor."""

    class PassSaved(gradlite.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(w)
            return x * 1

        @staticmethod
        def backward(ctx, gy):
            (w,) = ctx.saved_tensors
            return w, None

    x = gradlite.zeros(3, device=device, requires_grad=True)
    w = gradlite.ones(3, device=device)
    PassSaved.apply(x, w).sum().backward()
    PassSaved.apply(x, w).sum().backward()
    assert w.tolist() == [1.0, 1.0, 1.0]
    assert x.grad.tolist() == [2.0, 2.0, 2.0]
