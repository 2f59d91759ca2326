"""In-place ops, the version counter, views sharing storage, and in-place ops through views (view rebase)."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.autograd._helpers import both, errors_alike
from tests.conftest import STRICT, to_numpy

# The view rebase reads memory layouts (strides, data pointers): NumPy and CuPy have them, the
# array_api_strict test backend does not (gradlite raises a clear RuntimeError there instead).
needs_strides = pytest.mark.skipif(STRICT, reason="in-place through views needs strided arrays")


def _x(lib, device, shape=(3, 4), seed=0, rg=True):
    a = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return lib.tensor(a, device=device, requires_grad=rg)


def _mask(lib, device):
    return lib.tensor(np.random.default_rng(5).standard_normal((3, 4)) > 0, device=device)


def _idx(lib, device, values):
    return lib.tensor(values, device=device)


# name -> (x_nonleaf, w) -> None, applied in place to the non-leaf
INPLACE = {
    "add_": lambda lib, d, y, w: y.add_(w, alpha=2),
    "sub_": lambda lib, d, y, w: y.sub_(w),
    "mul_": lambda lib, d, y, w: y.mul_(w),
    "div_": lambda lib, d, y, w: y.div_(w * w + 1),
    "pow_": lambda lib, d, y, w: y.abs().add_(1).pow_(w),
    "pow_scalar": lambda lib, d, y, w: y.pow_(3),
    "clamp_": lambda lib, d, y, w: y.clamp_(-0.5, 0.5),
    "zero_": lambda lib, d, y, w: y.zero_(),
    "fill_": lambda lib, d, y, w: y.fill_(2.5),
    "copy_": lambda lib, d, y, w: y.copy_(w * 3),
    "copy_broadcast": lambda lib, d, y, w: y.copy_(w[0] * 3),
    "relu_": lambda lib, d, y, w: y.relu_(),
    "sigmoid_": lambda lib, d, y, w: y.sigmoid_(),
    "tanh_": lambda lib, d, y, w: y.tanh_(),
    "exp_": lambda lib, d, y, w: y.exp_(),
    "masked_fill_": lambda lib, d, y, w: y.masked_fill_(_mask(lib, d), 0.5),
    "index_add_": lambda lib, d, y, w: y.index_add_(0, _idx(lib, d, [2, 0, 2]), w),
    "scatter_": lambda lib, d, y, w: y.scatter_(1, _idx(lib, d, [[0, 1], [2, 3], [1, 0]]), w[:, :2] * 2),
    "setitem": lambda lib, d, y, w: y.__setitem__((slice(None), 1), w[:, 0] * 2),
    "setitem_mask": lambda lib, d, y, w: y.__setitem__(_mask(lib, d), 0.0),
    "iadd": lambda lib, d, y, w: y.__iadd__(w),
    "isub": lambda lib, d, y, w: y.__isub__(w),
    "imul": lambda lib, d, y, w: y.__imul__(w),
    "itruediv": lambda lib, d, y, w: y.__itruediv__(w * w + 1),
}


@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_on_nonleaf_values_and_grads(torch, device, op):
    def program(lib, dev):
        x, w = _x(lib, dev), _x(lib, dev, seed=1)
        y = x * 1.5
        out = INPLACE[op](lib, dev, y, w)
        z = y if out is None or op in ("pow_",) else out
        (z * z).sum().backward()
        return z, x.grad, w.grad

    both(torch, program, device, rtol=1e-5, atol=1e-5)


@needs_strides
@pytest.mark.parametrize("op", ["add_", "mul_", "exp_", "tanh_", "zero_", "copy_", "setitem", "clamp_"])
def test_inplace_through_view_rebase(torch, device, op):
    # y = x * 1.5; an in-place op on the view y[1:3] changes y: PyTorch's CopySlices.
    def program(lib, dev):
        x, w = _x(lib, dev), _x(lib, dev, seed=1)
        y = x * 1.5
        rows, first = y[1:3], y[0]
        first.mul_(3)
        INPLACE[op](lib, dev, rows, w[1:3])
        (y * y).sum().backward()
        return y, rows, x.grad, w.grad, type(y.grad_fn).__name__, type(rows.grad_fn).__name__

    both(torch, program, device, rtol=1e-5, atol=1e-5)


@needs_strides
def test_overlapping_write_after_saving_view_output_raises(torch, device):
    # exp_ on y[1:3] saves its output (the view); writing the column y[:, 2] changes it.
    def program(lib, dev):
        y = _x(lib, dev) * 1.5
        rows, col = y[1:3], y[:, 2]
        rows.exp_()
        col.mul_(3)
        (y * y).sum().backward()

    errors_alike(torch, program, device, "is at version 2; expected version 1 instead")


VIEW_PROGRAMS = {
    # view of a view, transposed view, reshape view, the view's own use after the write, a stale sibling view
    "view_of_view": lambda y: (y[1:][:, 2:].sigmoid_(), (y * y).sum())[1],
    "transpose": lambda y: (y.t()[1].exp_(), (y * y).sum())[1],
    "reshape": lambda y: (y.reshape(12)[3:7].mul_(5), (y * y).sum())[1],
    "view_after_write": lambda y: (lambda v: (v.mul_(2), (v * v).sum())[1])(y[0]),
    "overlapping_sibling": lambda y: (lambda a, b: (a.mul_(3), (b * b).sum())[1])(y[0], y[:, 0]),
    "base_write_stale_view": lambda y: (lambda v: (y.mul_(2), (v * v).sum())[1])(y[1]),
    "detach_write_is_untracked": lambda y: (lambda d: (d.mul_(2), (y * 1).sum())[1])(y.detach()),
}


@needs_strides
@pytest.mark.parametrize("name", list(VIEW_PROGRAMS))
def test_views_and_inplace_match_torch(torch, device, name):
    def program(lib, dev):
        x = _x(lib, dev)
        out = VIEW_PROGRAMS[name](x * 1)
        out.backward()
        return out, x.grad

    both(torch, program, device, rtol=1e-5, atol=1e-5)


@needs_strides
def test_buffer_filled_from_graph_becomes_differentiable(torch, device):
    def program(lib, dev):
        x = _x(lib, dev)
        buf = lib.zeros(3, 4, device=dev)
        buf[1].copy_(x[0] * 2)
        buf[:, 3] = x[:, 1].exp()
        (buf * buf).sum().backward()
        return buf, x.grad, buf.requires_grad

    both(torch, program, device)


@needs_strides
def test_double_backward_through_copyslices(torch, device):
    def program(lib, dev):
        x = _x(lib, dev)
        y = x * 1
        y[0].mul_(y[1].detach() + 2)
        y[1:].tanh_()
        (g,) = lib.autograd.grad((y**3).sum(), x, create_graph=True)
        (g * g).sum().backward()
        return g, x.grad

    both(torch, program, device, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make", ["view", "reshape", "slice", "transpose", "detach", "select", "unsqueeze"])
def test_views_share_storage(torch, device, make):
    views = {
        "view": lambda t: t.view(12),
        "reshape": lambda t: t.reshape(2, 6),
        "slice": lambda t: t[1:, ::2],
        "transpose": lambda t: t.transpose(0, 1),
        "detach": lambda t: t.detach(),
        "select": lambda t: t[2],
        "unsqueeze": lambda t: t.unsqueeze(0),
    }

    def program(lib, dev):
        base = _x(lib, dev, rg=False)
        v = views[make](base)
        v.mul_(10)
        base.add_(1)
        return base, v, base._version == v._version

    both(torch, program, device)


def test_version_counter_shared_by_views(device):
    x = _x(gradlite, device, rg=False)
    v = x[0]
    assert x._version == v._version == [0]
    v.add_(1)
    assert x._version_count == 1 and v._version_count == 1
    x.t().mul_(2)
    assert v._version_count == 2


def test_saved_tensor_modified_raises_with_op_shape_versions(torch, device):
    def program(lib, dev):
        x = _x(lib, dev)
        y = x.exp()
        z = y * 2  # MulBackward0 saves nothing of y (scalar) ... but ExpBackward0 saves y
        y.add_(1)
        (z + y).sum().backward()

    err = errors_alike(
        torch,
        program,
        device,
        "one of the variables needed for gradient computation has been modified by an inplace operation",
    )
    msg = str(err)
    assert "[3, 4]" in msg and "is at version 1; expected version 0 instead" in msg and "ExpBackward0" in msg


@needs_strides
def test_saved_view_modified_raises(torch, device):
    def program(lib, dev):
        x = _x(lib, dev)
        y = x * 1
        z = y[0] * x[0]  # MulBackward0 saves the view y[0]
        y[0, 1] = 5.0  # writes the storage the view shares
        z.sum().backward()

    errors_alike(torch, program, device, "modified by an inplace operation")


def test_inplace_on_leaf_requiring_grad_raises(torch, device):
    errors_alike(
        torch,
        lambda lib, d: _x(lib, d).add_(1),
        device,
        "a leaf Variable that requires grad is being used in an in-place operation.",
    )


def test_inplace_on_view_of_leaf_raises(torch, device):
    errors_alike(
        torch,
        lambda lib, d: _x(lib, d)[0].mul_(2),
        device,
        "a view of a leaf Variable that requires grad is being used in an in-place operation.",
    )


def test_view_made_in_no_grad_modified_with_grad_raises(torch, device):
    def program(lib, dev):
        y = _x(lib, dev) * 1
        with lib.no_grad():
            v = y[0]
        v.mul_(2)

    errors_alike(torch, program, device, "A view was created in no_grad mode and is being modified inplace")


def test_inplace_on_leaf_allowed_in_no_grad(torch, device):
    def program(lib, dev):
        w = _x(lib, dev)
        (w * w).sum().backward()
        with lib.no_grad():
            w -= 0.1 * w.grad
            w[0].zero_()
        return w, w.requires_grad, w.is_leaf, w.grad_fn is None

    both(torch, program, device)


def test_iadd_operator_returns_same_object(device):
    x = _x(gradlite, device, rg=False)
    y = x
    y += 1
    y *= 2
    assert y is x


def test_inplace_dtype_rules(torch, device):
    errors_alike(
        torch,
        lambda lib, d: lib.ones(3, dtype=lib.int64, device=d).mul_(1.5),
        device,
        "result type Float can't be cast to the desired output type Long",
    )


def test_inplace_on_expanded_view_raises(torch, device):
    errors_alike(
        torch,
        lambda lib, d: lib.ones(3, device=d).expand(2, 3).add_(1),
        device,
        "more than one element of the written-to tensor refers to a single memory location",
    )


@pytest.mark.skipif(not STRICT, reason="only the array_api_strict backend lacks strides")
def test_view_rebase_without_strides_raises_instead_of_wrong_gradient():
    y = _x(gradlite, "cpu") * 1
    with pytest.raises(RuntimeError, match="in-place ops on views need strided arrays"):
        y[0].mul_(2)


def _random_views_program(lib, dev, seed):
    """A random chain of views (slices, steps, transposes, selects) and in-place ops on any of them."""
    rng = np.random.default_rng(seed)
    x = lib.tensor(rng.standard_normal((4, 6)), device=dev, requires_grad=True)
    w = lib.tensor(rng.standard_normal((4, 6)), device=dev, requires_grad=True)
    y = x * 1.0
    views = [y]
    for _ in range(int(rng.integers(2, 6))):
        src = views[int(rng.integers(len(views)))]
        kind = int(rng.integers(6))
        if src.dim() == 2:
            a, b = src.shape
            if kind == 0 and a > 1:
                v = src[1:]
            elif kind == 1 and b > 2:
                v = src[:, ::2]
            elif kind == 2:
                v = src.t()
            elif kind == 3:
                v = src[int(rng.integers(a))]
            else:
                v = src[:, 1:] if b > 1 else src
        else:
            v = src[1:] if kind < 3 and src.shape[0] > 1 else src[::2] if src.shape[0] > 1 else src
        views.append(v)
        tgt = views[int(rng.integers(len(views)))]
        wv = w.reshape(-1)[: tgt.numel()].reshape(tgt.shape)
        op = int(rng.integers(5))
        if op == 0:
            tgt.add_(wv)
        elif op == 1:
            tgt.mul_(wv.detach() * 0.5 + 1)
        elif op == 2:
            tgt.tanh_()
        elif op == 3:
            tgt.copy_(wv * 2)
        else:
            tgt.mul_(2)
    loss = (y * y).sum() + sum((v * v * 0.1 * (i + 1)).sum() for i, v in enumerate(views[1:]))
    loss.backward()
    return loss, x.grad, w.grad


@needs_strides
@pytest.mark.parametrize("seed", range(0, 120, 3))
def test_random_views_and_inplace_match_torch(torch, device, seed):
    # values, gradients, or the same error (a saved view modified later) as PyTorch
    try:
        ref = _random_views_program(torch, device, seed)
    except RuntimeError as err:
        assert "modified by an inplace operation" in str(err)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            _random_views_program(gradlite, device, seed)
        return
    ours = _random_views_program(gradlite, device, seed)
    for a, b in zip(ours, ref, strict=True):
        if b is None:  # w received no gradient (every write from it was overwritten later)
            assert a is None
        else:
            np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-10, atol=1e-12)


_LOW, _MID = [0.2, 0.45, 0.7], [1.2, 1.6, 2.5]  # (every op's domain: acos/atanh need |x| < 1, acosh x > 1)
_ELEMENTWISE_INPLACE = {
    **{op: (_LOW, ()) for op in (
        "abs_ absolute_ acos_ arccos_ arcsin_ arctan_ asin_ atan_ ceil_ cos_ "
        "cosh_ erf_ erfc_ exp2_ expm1_ fix_ floor_ frac_ log10_ log1p_ log2_ log_ negative_ reciprocal_ "
        "round_ rsqrt_ sign_ sin_ sinh_ sqrt_ square_ tan_ trunc_"
    ).split()},
    "atan2_": (_LOW, (lambda lib, dev: lib.tensor([0.5, -1.0, 2.0], device=dev),)),
    "arctan2_": (_LOW, (lambda lib, dev: lib.tensor([0.5, -1.0, 2.0], device=dev),)),
    "clamp_max_": (_LOW, (lambda lib, dev: 0.5,)), "clamp_min_": (_LOW, (lambda lib, dev: 0.5,)),
    "divide_": (_LOW, (lambda lib, dev: lib.tensor([0.5, -1.0, 2.0], device=dev),)),
    "true_divide_": (_LOW, (lambda lib, dev: 3.0,)),
    "subtract_": (_LOW, (lambda lib, dev: lib.tensor([0.5, -1.0, 2.0], device=dev),)),
    "fmod_": (_MID, (lambda lib, dev: 0.7,)), "remainder_": (_MID, (lambda lib, dev: 0.7,)),
    "lerp_": (_LOW, (lambda lib, dev: lib.tensor([1.0, 2.0, 3.0], device=dev), lambda lib, dev: 0.25)),
    "cumsum_": (_LOW, (lambda lib, dev: 0,)), "cumprod_": (_LOW, (lambda lib, dev: 0,)),
}


@pytest.mark.parametrize("op", sorted(_ELEMENTWISE_INPLACE))
def test_elementwise_inplace_forms_match_torch(torch, device, op):
    # on a non-leaf: the same values, x itself returned, its version bumped, PyTorch's node and gradients
    values, args = _ELEMENTWISE_INPLACE[op]

    def program(lib, dev):
        a = lib.tensor(values, device=dev, requires_grad=True)
        x = a * 1.0
        r = getattr(x, op)(*(f(lib, dev) for f in args))
        assert r is x and (x._version if lib is not gradlite else x._version_count) == 1
        (x * lib.tensor([1.0, 2.0, 3.0], device=dev)).sum().backward()
        return x.detach(), a.grad, x.grad_fn.name()

    both(torch, program, device, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op,values,args", [
    ("acosh_", _MID, ()), ("arccosh_", _MID, ()), ("asinh_", _LOW, ()), ("arcsinh_", _LOW, ()),
    ("atanh_", _LOW, ()), ("arctanh_", _LOW, ()), ("floor_divide_", _MID, (0.5,)),
])
def test_inplace_forms_without_a_derivative_match_torch(torch, device, op, values, args):
    # PyTorch computes them, records a node, and raises when a backward reaches it
    def forward(lib, dev):
        x = lib.tensor(values, device=dev, requires_grad=True) * 1.0
        getattr(x, op)(*args)
        return x

    both(torch, lambda lib, dev: (forward(lib, dev).detach(), forward(lib, dev).grad_fn.name()), device)
    name = op.replace("arc", "a")[:-1]
    message = ("derivative for aten::floor_divide_ is not implemented" if op == "floor_divide_"
               else f"the derivative for 'inplace version of {name}' is not implemented")
    errors_alike(torch, lambda lib, dev: forward(lib, dev).sum().backward(), device, message)
    with gradlite.no_grad():  # (no graph: plain values)
        y = gradlite.tensor(values, device=device)
        assert getattr(y, op)(*args) is y and y._version_count == 1


def test_triangles_inplace_and_elementwise_errors_match_torch(torch, device):
    def program(lib, dev):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]], device=dev, requires_grad=True)
        x, y = a * 1.0, a * 1.0
        x.tril_()
        y.triu_(1)
        (x * 2 + y * 3).sum().backward()
        return x.detach(), y.detach(), a.grad, x.grad_fn.name(), y.grad_fn.name()

    both(torch, program, device)
    errors_alike(torch, lambda lib, dev: lib.tensor([4], device=dev).sqrt_(), device,
                 "result type Float can't be cast to the desired output type Long")
    errors_alike(torch, lambda lib, dev: lib.ones(2, device=dev, requires_grad=True).abs_(), device,
                 "a leaf Variable that requires grad is being used in an in-place operation")


@pytest.mark.skipif(STRICT, reason="in-place ops on views need strided arrays")
def test_expanded_view_of_a_base_modified_in_place(torch, device):
    # found by the issue 17 fuzzer: the regenerated graph of an expanded view wrote its gradient into the
    # root once per root element instead of adding the copies (84 instead of 126)
    grads = []
    for m in (gradlite, torch):
        x = m.tensor(0.5, requires_grad=True, device=device)
        base = x * m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device)
        view = base.expand(2, 2, 3)
        base.mul_(2)
        loss = (base.sum() + (view * view).sum()) * x
        (g,) = m.autograd.grad(loss, x, create_graph=True)
        (gg,) = m.autograd.grad(g, x)
        grads.append((g.item(), gg.item()))
    assert grads[0] == pytest.approx(grads[1])
