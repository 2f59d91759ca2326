"""The ops of issue 2, each checked three ways: forward against NumPy, gradient against float64 finite
differences, and values + gradients against PyTorch. Also comparisons, ``__bool__``, shapes, indexing."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.conftest import assert_close, to_numpy

# name, op(m, *xs) for m = gradlite or torch, NumPy reference, input shapes, input domain
# domain: "any" (standard normal), "pos" (in [0.5, 2]), "away0" (|x| in [0.3, 2], random sign)
OPS = [
    ("add", lambda m, x, y: x + y, lambda x, y: x + y, [(3, 4), (3, 4)], "any"),
    ("add_broadcast", lambda m, x, y: x + y, lambda x, y: x + y, [(3, 4), (4,)], "any"),
    ("add_alpha", lambda m, x, y: m.add(x, y, alpha=2), lambda x, y: x + 2 * y, [(3,), (3,)], "any"),
    ("add_scalar", lambda m, x: x + 2, lambda x: x + 2, [(5,)], "any"),
    ("radd_scalar", lambda m, x: 2.5 + x, lambda x: 2.5 + x, [(5,)], "any"),
    ("sub", lambda m, x, y: x - y, lambda x, y: x - y, [(2, 3), (2, 1)], "any"),
    ("rsub_scalar", lambda m, x: 1 - x, lambda x: 1 - x, [(4,)], "any"),
    ("mul", lambda m, x, y: x * y, lambda x, y: x * y, [(2, 3), (2, 3)], "any"),
    ("mul_broadcast", lambda m, x, y: x * y, lambda x, y: x * y, [(4, 1), (1, 3)], "any"),
    ("mul_0d", lambda m, x, y: x * y, lambda x, y: x * y, [(3,), ()], "any"),
    ("rmul_scalar", lambda m, x: 3 * x, lambda x: 3 * x, [(2, 2)], "any"),
    ("div", lambda m, x, y: x / y, lambda x, y: x / y, [(3, 2), (3, 2)], "away0"),
    ("div_broadcast", lambda m, x, y: x / y, lambda x, y: x / y, [(3, 2), (2,)], "away0"),
    ("rdiv_scalar", lambda m, x: 1 / x, lambda x: 1 / x, [(4,)], "away0"),
    ("pow_scalar", lambda m, x: x**3, lambda x: x**3, [(4,)], "any"),
    ("pow_half", lambda m, x: x**0.5, lambda x: x**0.5, [(4,)], "pos"),
    ("pow_zero", lambda m, x: x**0, lambda x: x**0, [(4,)], "any"),
    ("pow_fn", lambda m, x: m.pow(x, 2), lambda x: x**2, [(4,)], "any"),
    ("pow_tensor", lambda m, x, y: x**y, lambda x, y: x**y, [(3,), (3,)], "pos"),
    ("rpow_scalar", lambda m, x: 2**x, lambda x: 2.0**x, [(4,)], "any"),
    ("neg", lambda m, x: -x, lambda x: -x, [(3, 2)], "any"),
    ("exp", lambda m, x: m.exp(x), np.exp, [(3, 2)], "any"),
    ("log", lambda m, x: m.log(x), np.log, [(5,)], "pos"),
    ("sqrt", lambda m, x: x.sqrt(), np.sqrt, [(5,)], "pos"),
    ("abs", lambda m, x: m.abs(x), np.abs, [(6,)], "away0"),
    ("sigmoid", lambda m, x: m.sigmoid(x), lambda x: 1 / (1 + np.exp(-x)), [(6,)], "any"),
    ("tanh", lambda m, x: x.tanh(), np.tanh, [(6,)], "any"),
    ("relu", lambda m, x: m.relu(x), lambda x: np.maximum(x, 0), [(2, 5)], "away0"),
    ("sum", lambda m, x: x.sum(), lambda x: x.sum(), [(3, 4)], "any"),
    ("sum_dim", lambda m, x: x.sum(1), lambda x: x.sum(1), [(3, 4)], "any"),
    (
        "sum_dim_neg_keep",
        lambda m, x: x.sum(-2, keepdim=True),
        lambda x: x.sum(-2, keepdims=True),
        [(2, 3, 4)],
        "any",
    ),
    ("sum_dims", lambda m, x: m.sum(x, (0, 2)), lambda x: x.sum((0, 2)), [(2, 3, 4)], "any"),
    ("mean", lambda m, x: x.mean(), lambda x: x.mean(), [(3, 4)], "any"),
    ("mean_dim", lambda m, x: m.mean(x, 0), lambda x: x.mean(0), [(3, 4)], "any"),
    (
        "mean_keep",
        lambda m, x: x.mean(dim=1, keepdim=True),
        lambda x: x.mean(1, keepdims=True),
        [(3, 4)],
        "any",
    ),
    ("norm", lambda m, x: x.norm(), lambda x: np.sqrt((x * x).sum()), [(3, 4)], "any"),
    ("norm_dim", lambda m, x: x.norm(dim=1), lambda x: np.sqrt((x * x).sum(1)), [(3, 4)], "any"),
    ("norm_p1", lambda m, x: x.norm(p=1), lambda x: np.abs(x).sum(), [(5,)], "away0"),
    ("dot", lambda m, x, y: m.dot(x, y), np.dot, [(5,), (5,)], "any"),
    ("mm", lambda m, x, y: m.mm(x, y), np.matmul, [(3, 4), (4, 2)], "any"),
    ("matmul_2d", lambda m, x, y: x @ y, np.matmul, [(3, 4), (4, 5)], "any"),
    ("matmul_mv", lambda m, x, y: x @ y, np.matmul, [(3, 4), (4,)], "any"),
    ("matmul_vm", lambda m, x, y: m.matmul(x, y), np.matmul, [(4,), (4, 2)], "any"),
    ("matmul_batched", lambda m, x, y: x @ y, np.matmul, [(2, 3, 4), (4, 5)], "any"),
    ("matmul_batch_bcast", lambda m, x, y: x @ y, np.matmul, [(2, 1, 3, 4), (3, 4, 2)], "any"),
    ("reshape", lambda m, x: x.reshape(4, 3), lambda x: x.reshape(4, 3), [(3, 4)], "any"),
    ("reshape_infer", lambda m, x: m.reshape(x, (-1,)), lambda x: x.reshape(-1), [(3, 4)], "any"),
    ("view", lambda m, x: x.view(2, 6), lambda x: x.reshape(2, 6), [(3, 4)], "any"),
    ("transpose", lambda m, x: x.transpose(0, 2), lambda x: x.transpose(2, 1, 0), [(2, 3, 4)], "any"),
    ("t", lambda m, x: x.t(), lambda x: x.T, [(3, 4)], "any"),
    ("T", lambda m, x: x.T, lambda x: x.T, [(3, 4)], "any"),
    ("transpose_then_reshape", lambda m, x: x.t().reshape(-1), lambda x: x.T.reshape(-1), [(3, 4)], "any"),
    ("index_int", lambda m, x: x[1], lambda x: x[1], [(3, 4)], "any"),
    ("index_slice", lambda m, x: x[:, 1:3], lambda x: x[:, 1:3], [(3, 4)], "any"),
    ("index_step_neg", lambda m, x: x[-1, ::2], lambda x: x[-1, ::2], [(3, 4)], "any"),
    ("index_none_ellipsis", lambda m, x: x[None, ..., 0], lambda x: x[None, ..., 0], [(3, 4)], "any"),
    (
        "chain",
        lambda m, x, y: ((x * y + 1) / (y * y + 1)).sigmoid().mean(),
        lambda x, y: (1 / (1 + np.exp(-(x * y + 1) / (y * y + 1)))).mean(),
        [(3,), (3,)],
        "any",
    ),
]
IDS = [o[0] for o in OPS]


def _inputs(shapes, domain, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for s in shapes:
        if domain == "pos":
            a = rng.uniform(0.5, 2.0, s)
        elif domain == "away0":
            a = rng.uniform(0.3, 2.0, s) * rng.choice([-1.0, 1.0], s)
        else:
            a = rng.standard_normal(s)
        out.append(np.asarray(a, dtype=np.float64))
    return out


@pytest.mark.parametrize(("name", "op", "ref", "shapes", "domain"), OPS, ids=IDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_matches_numpy(device, name, op, ref, shapes, domain, dtype):
    arrays = [a.astype(dtype) for a in _inputs(shapes, domain)]
    xs = [gradlite.tensor(a, device=device) for a in arrays]
    out = op(gradlite, *xs)
    expected = np.asarray(ref(*arrays))
    assert out.dtype.name == dtype
    rtol = 1e-5 if dtype == "float32" else 1e-12
    assert_close(out, expected.astype(dtype), rtol=rtol, atol=rtol)


def _numeric_grads(op, arrays, w, eps=1e-6):
    """Central differences of sum(op(xs) * w) in float64 (w: a fixed random upstream gradient)."""
    grads = []
    with gradlite.no_grad():
        for i, a in enumerate(arrays):
            g = np.zeros_like(a)
            for j in np.ndindex(a.shape):
                vals = []
                for d in (eps, -eps):
                    b = [x.copy() for x in arrays]
                    b[i][j] += d
                    out = op(gradlite, *[gradlite.tensor(x, dtype=gradlite.float64) for x in b])
                    vals.append(float((to_numpy(out) * w).sum()))
                g[j] = (vals[0] - vals[1]) / (2 * eps)
            grads.append(g)
    return grads


@pytest.mark.parametrize(("name", "op", "ref", "shapes", "domain"), OPS, ids=IDS)
def test_gradient_matches_finite_differences(device, name, op, ref, shapes, domain):
    arrays = _inputs(shapes, domain)
    xs = [gradlite.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = op(gradlite, *xs)
    w = np.random.default_rng(1).standard_normal(out.shape)
    (out * gradlite.tensor(w, device=device)).sum().backward()
    for x, expected in zip(xs, _numeric_grads(op, arrays, w), strict=False):
        assert x.grad is not None and x.grad.dtype is gradlite.float64 and x.grad.shape == x.shape
        np.testing.assert_allclose(to_numpy(x.grad), expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(("name", "op", "ref", "shapes", "domain"), OPS, ids=IDS)
def test_values_and_gradients_match_torch(device, torch, name, op, ref, shapes, domain):
    arrays = [a.astype(np.float32) for a in _inputs(shapes, domain)]
    gx = [gradlite.tensor(a, requires_grad=True, device=device) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True, device=device) for a in arrays]
    go, to = op(gradlite, *gx), op(torch, *tx)
    assert_close(go, to)
    w = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(np.float32)
    (go * gradlite.tensor(w, device=device)).sum().backward()
    (to * torch.tensor(w, device=device)).sum().backward()
    for g, t in zip(gx, tx, strict=False):
        assert_close(g.grad, t.grad, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("name", "op", "ref", "shapes", "domain"), OPS, ids=IDS)
def test_backward_does_not_mutate_inputs_or_upstream(device, name, op, ref, shapes, domain):
    arrays = _inputs(shapes, domain)
    xs = [gradlite.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = op(gradlite, *xs)
    gy = gradlite.ones(out.shape, dtype=gradlite.float64, device=device)
    out.backward(gy)
    for x, a in zip(xs, arrays, strict=False):
        np.testing.assert_array_equal(to_numpy(x), a)
    np.testing.assert_array_equal(to_numpy(gy), np.ones(out.shape))


# -- second derivatives of the elementwise formulas ----------------------------------------------------------
@pytest.mark.parametrize(
    "fn",
    [
        lambda m, x: x**3,
        lambda m, x: m.exp(x),
        lambda m, x: m.tanh(x),
        lambda m, x: m.sigmoid(x),
        lambda m, x: m.log(x * x + 1),
        lambda m, x: 1 / (x * x + 1),
        lambda m, x: m.sqrt(x * x + 1),
    ],
)
def test_second_derivative_matches_torch(device, torch, fn):
    a = np.array([-1.5, 0.3, 2.0], dtype=np.float32)
    res = []
    for m in (gradlite, torch):
        x = m.tensor(a, requires_grad=True)
        (g,) = m.autograd.grad(fn(m, x).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
        res.append((to_numpy(g), to_numpy(gg)))
    np.testing.assert_allclose(res[0][0], res[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res[0][1], res[1][1], rtol=1e-5, atol=1e-6)


# -- edge values -------------------------------------------------------------------------------------
def test_relu_abs_norm_gradients_at_zero_match_torch(device, torch):
    a = np.array([0.0, -1.0, 2.0], dtype=np.float32)
    for f in (lambda x: x.relu(), lambda x: x.abs(), lambda x: (x * 0).norm()):
        gx, tx = gradlite.tensor(a, requires_grad=True, device=device), torch.tensor(a, requires_grad=True)
        f(gx).sum().backward()
        f(tx).sum().backward()
        assert_close(gx.grad, tx.grad)


def test_sigmoid_is_stable_for_large_inputs(device):
    x = gradlite.tensor([-1000.0, 1000.0], requires_grad=True, device=device)
    y = x.sigmoid()
    np.testing.assert_array_equal(to_numpy(y), [0.0, 1.0])
    y.sum().backward()
    assert np.isfinite(to_numpy(x.grad)).all()


def test_integer_ops_keep_pytorch_dtypes(device, torch):
    for f in (
        lambda m, x: x + x,
        lambda m, x: x * 2,
        lambda m, x: x.sum(),
        lambda m, x: x @ x,
        lambda m, x: -x,
        lambda m, x: x / 2,
        lambda m, x: x**2,
        lambda m, x: x.abs(),
    ):
        g, t = f(gradlite, gradlite.tensor([1, -2, 3], device=device)), f(torch, torch.tensor([1, -2, 3]))
        assert repr(g.dtype).split(".")[1] == repr(t.dtype).split(".")[1]
        assert g.tolist() == t.tolist()


# -- comparisons and __bool__ ------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__"])
def test_comparisons_return_bool(device, torch, op):
    a = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    b = np.array([2.0, 2.0, 2.0], dtype=np.float32)
    g = getattr(gradlite.tensor(a, device=device), op)(gradlite.tensor(b, device=device))
    t = getattr(torch.tensor(a), op)(torch.tensor(b))
    assert g.dtype is gradlite.bool and g.tolist() == t.tolist()
    gs, ts = getattr(gradlite.tensor(a, device=device), op)(2), getattr(torch.tensor(a), op)(2)
    assert gs.dtype is gradlite.bool and gs.tolist() == ts.tolist()
    assert not g.requires_grad
    gr = getattr(gradlite.tensor(a, requires_grad=True, device=device), op)(2.0)
    assert not gr.requires_grad and gr.grad_fn is None


def test_comparison_functions_and_reflected(device):
    x = gradlite.tensor([1.0, 3.0], device=device)
    assert gradlite.lt(x, 2).tolist() == [True, False]
    assert (2 < x).tolist() == [False, True]
    assert (2 >= x).tolist() == [True, False]
    assert gradlite.eq(x, x).tolist() == [True, True]


def test_bool_of_norm_drives_while_loop(device):
    b = gradlite.tensor([0.5, 0.5], device=device)
    steps = 0
    while b.norm() < 1000:
        b = b * 2
        steps += 1
    assert steps == 11
    assert bool(gradlite.tensor([1.0], device=device) > 0)


# -- shape ops, views and indexing ----------------------------------------------------------------------
def test_views_share_storage_and_version(device):
    x = gradlite.arange(12.0, device=device)
    v = x.view(3, 4)
    tr = v.t()
    r = x.reshape(4, 3)
    s = v[1]
    with gradlite.no_grad():
        x.add_(1)
    assert v.tolist()[0][0] == 1.0 and tr.tolist()[0][1] == 5.0 and r.tolist()[0][0] == 1.0
    assert s.tolist() == [5.0, 6.0, 7.0, 8.0]
    assert v._version_count == x._version_count == 1


def test_view_errors_match_torch(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.zeros(3, 4, device=dev)
        with pytest.raises(RuntimeError, match=r"shape '\[5, -1\]' is invalid for input of size 12"):
            x.view(5, -1)
        with pytest.raises(RuntimeError, match="only one dimension can be inferred"):
            x.reshape(-1, -1)
        with pytest.raises(
            RuntimeError, match="view size is not compatible with input tensor's size and stride"
        ):
            x.t().view(12)
        with pytest.raises(RuntimeError, match=r"t\(\) expects a tensor with <= 2 dimensions"):
            lib.zeros(2, 2, 2, device=dev).t()
        with pytest.raises(IndexError, match="Dimension out of range"):
            x.transpose(0, 2)
        with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 3"):
            x[3]
        with pytest.raises(IndexError, match="too many indices for tensor of dimension 2"):
            x[0, 0, 0]


def test_op_shape_errors_match_torch(device, torch):
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)"):
            lib.ones(2, 3, device=dev) @ lib.ones(2, 3, device=dev)
        with pytest.raises(RuntimeError, match="1D tensors expected"):
            lib.dot(lib.ones(2, 2, device=dev), lib.ones(2, device=dev))
        with pytest.raises(RuntimeError, match="inconsistent tensor size"):
            lib.dot(lib.ones(2, device=dev), lib.ones(3, device=dev))
        with pytest.raises(RuntimeError, match="must match the size of tensor b|expanded size|broadcast"):
            lib.ones(2, 3, device=dev) + lib.ones(4, device=dev)
        with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
            lib.tensor([1, 2], device=dev).mean()


def test_bad_operand_types(device):
    x = gradlite.ones(2, device=device)
    with pytest.raises(TypeError):
        x + "a"
    with pytest.raises(TypeError):
        x * [1, 2]
    with pytest.raises(RuntimeError, match="Negation, the `-` operator, on a bool tensor is not supported"):
        -gradlite.tensor([True], device=device)


def test_advanced_indexing_accumulates_repeated(device, torch):
    a = np.arange(5, dtype=np.float32)
    g, t = gradlite.tensor(a, requires_grad=True, device=device), torch.tensor(a, requires_grad=True)
    idx = [0, 2, 2, 4]
    g[gradlite.tensor(idx, device=device)].sum().backward()
    t[torch.tensor(idx)].sum().backward()
    assert_close(g.grad, t.grad)
    g2, t2 = gradlite.tensor(a, requires_grad=True, device=device), torch.tensor(a, requires_grad=True)
    (g2[g2 > 1.5] * 2).sum().backward()
    (t2[t2 > 1.5] * 2).sum().backward()
    assert_close(g2.grad, t2.grad)
