"""Tensor hooks, retain_grad, post-accumulate hooks and Node hooks: values and order against PyTorch."""

from __future__ import annotations

import pytest

import gradlite
from tests.autograd._helpers import both, errors_alike
from tests.conftest import STRICT


def _t(lib, dev, values=(1.0, 2.0, 3.0), rg=True):
    return lib.tensor(list(values), device=dev, requires_grad=rg)


def _lst(g):
    return None if g is None else g.tolist()


def test_hook_order_and_replacement(torch, device):
    def program(lib, dev):
        log = []
        x = _t(lib, dev)
        y = x * 2
        z = y * y
        h1 = y.register_hook(lambda g: log.append(("y1", g.tolist())) or g * 10)
        y.retain_grad()  # registered between two hooks: still runs after every tensor hook
        y.register_hook(lambda g: log.append(("y2", g.tolist())))
        x.register_hook(lambda g: log.append(("x", g.tolist())))
        x.register_post_accumulate_grad_hook(lambda t: log.append(("xpost", t.grad.tolist())))
        y.grad_fn.register_prehook(lambda go: log.append(("pre", [_lst(g) for g in go])))
        y.grad_fn.register_hook(
            lambda gi, go: log.append(("post", [_lst(g) for g in gi], [_lst(g) for g in go]))
        )
        z.grad_fn.register_hook(lambda gi, go: log.append(("zpost", [_lst(g) for g in gi])))
        z.sum().backward(retain_graph=True)
        first = (list(log), y.grad, x.grad)
        log.clear()
        h1.remove()
        z.sum().backward()
        return first, log, y.grad, x.grad

    both(torch, program, device)


def test_leaf_hook_replaces_gradient(torch, device):
    def program(lib, dev):
        a = _t(lib, dev, (1.0, 2.0))
        a.register_hook(lambda g: g * 0 + 7)
        (a * 3).sum().backward()
        b = _t(lib, dev, (1.0, 2.0))
        b.register_hook(lambda g: g * 2)
        return a.grad, lib.autograd.grad((b * b).sum(), b)[0]

    both(torch, program, device)


def test_handle_remove_and_context(torch, device):
    def program(lib, dev):
        calls = []
        a = _t(lib, dev)
        h = a.register_hook(lambda g: calls.append(1))
        (a * 2).sum().backward()
        h.remove()
        h.remove()  # removing twice is harmless
        (a * 2).sum().backward()
        return calls, a.grad

    both(torch, program, device)


def test_node_prehook_and_hook_replace(torch, device):
    def program(lib, dev):
        c = _t(lib, dev, (1.0, 2.0))
        d = c * 3
        d.grad_fn.register_prehook(lambda go: (go[0] * 5,))
        d.sum().backward()
        e = _t(lib, dev, (1.0, 2.0))
        f = e.exp()
        f.grad_fn.register_hook(lambda gi, go: (gi[0] * 0 + 1,))
        f.sum().backward()
        return c.grad, e.grad

    both(torch, program, device)


def test_node_metadata_is_a_kept_dict(torch, device):
    # PyTorch's ``grad_fn.metadata``: an empty dict at first, the same dict on every read, filled by the user;
    # a node with metadata (and a hook removed again) still backpropagates as any other
    def program(lib, dev):
        a = _t(lib, dev, (1.0, 2.0))
        b = a * a
        first = b.grad_fn.metadata
        first["tag"] = 3
        h = b.grad_fn.register_hook(lambda gi, go: (gi[0] * 0,))
        h.remove()
        c = b.exp()
        (c * 2).sum().backward()
        return (list(first.items()), b.grad_fn.metadata is first, list(c.grad_fn.metadata), a.grad,
                c.grad_fn.next_functions[0][0].name())

    both(torch, program, device)


def test_node_hook_sees_unbroadcast_gradients(torch, device):
    def program(lib, dev):
        seen = []
        a = lib.ones(2, 3, device=dev, requires_grad=True)
        b = lib.ones(3, device=dev, requires_grad=True)
        c = a * b
        c.grad_fn.register_hook(lambda gi, go: seen.append([tuple(g.shape) for g in gi]))
        c.sum().backward()
        return seen

    both(torch, program, device)


def test_retain_grad_accumulates(torch, device):
    def program(lib, dev):
        u = _t(lib, dev, (1.0, 2.0))
        v = u * 2
        v.retain_grad()
        v.retain_grad()
        v.sum().backward(retain_graph=True)
        v.sum().backward()
        return v.grad, v.retains_grad, u.retains_grad

    both(torch, program, device)


def test_hooks_of_unrelated_leaves_do_not_run_in_grad(torch, device):
    def program(lib, dev):
        log = []
        p, q = _t(lib, dev, (1.0,)), _t(lib, dev, (2.0,))
        q.register_hook(lambda g: log.append("q"))
        (p * q).exp().grad_fn.register_hook(lambda gi, go: log.append("exp"))
        lib.autograd.grad((p * q).sum(), p)
        return log

    both(torch, program, device)


def test_hook_errors(torch, device):
    errors_alike(
        torch,
        lambda lib, d: _t(lib, d, rg=False).register_hook(lambda g: g),
        device,
        "cannot register a hook on a tensor that doesn't require gradient",
    )
    errors_alike(
        torch,
        lambda lib, d: (_t(lib, d) * 2).register_post_accumulate_grad_hook(lambda t: None),
        device,
        "post accumulate grad hooks cannot be registered on non-leaf tensors",
    )
    errors_alike(
        torch,
        lambda lib, d: _t(lib, d, rg=False).retain_grad(),
        device,
        "can't retain_grad on Tensor that has requires_grad=False",
    )


def test_post_accumulate_hook_can_step_the_parameter(torch, device):
    # the use case PyTorch documents: an optimizer step fused into backward
    def program(lib, dev):
        w = _t(lib, dev)

        def step(p):
            with lib.no_grad():
                p -= 0.1 * p.grad
            p.grad = None

        w.register_post_accumulate_grad_hook(step)
        (w * w).sum().backward()
        return w, w.grad

    both(torch, program, device)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("create_graph", [False, True])
def test_retain_grad_with_create_graph(torch, device, create_graph):
    def program(lib, dev):
        x = _t(lib, dev)
        y = x * x
        y.retain_grad()
        (y * y).sum().backward(create_graph=create_graph)
        return y.grad, y.grad.requires_grad, x.grad.requires_grad

    both(torch, program, device)


def test_hook_on_tensor_not_used_in_graph_never_runs(device):
    calls = []
    x = _t(gradlite, device)
    y = x * 2
    (x * 3).sum().backward()
    y.register_hook(lambda g: calls.append(g))
    assert calls == []


def _retain_then_inplace(x):
    y = x * 2
    y.retain_grad()
    y.mul_(3)
    return y


def _retain_base_then_view_write(x):
    y = x * 2
    y.retain_grad()
    y[0].mul_(3)
    return y


def _retain_view_then_write(x):
    v = (x * 2)[1:]
    v.retain_grad()
    v.mul_(2)  # v's new graph position (AsStridedBackward0) is not on the loss's path: v.grad stays None
    return v


# retain_grad follows the tensor to its new graph position; a tensor hook stays with the old one
IN_PLACE_AFTER_HOOKS = {
    "retain_then_inplace": _retain_then_inplace,
    "retain_base_then_view_write": _retain_base_then_view_write,
    "retain_view_then_write": _retain_view_then_write,
}


@pytest.mark.skipif(STRICT, reason="in-place through views needs strided arrays")
@pytest.mark.parametrize("case", list(IN_PLACE_AFTER_HOOKS))
def test_retain_grad_after_inplace(torch, device, case):
    def program(lib, dev):
        x = _t(lib, dev)
        t = IN_PLACE_AFTER_HOOKS[case](x)
        base = t._base if t._base is not None else t
        (base * base).sum().backward()
        return t.grad, x.grad

    both(torch, program, device)


def test_hook_registered_before_inplace_sees_old_gradient(torch, device):
    def program(lib, dev):
        log = []
        x = _t(lib, dev)
        y = x * 2
        y.register_hook(lambda g: log.append(g.tolist()))
        y.mul_(3)
        (y * y).sum().backward()
        return log, x.grad

    both(torch, program, device)
