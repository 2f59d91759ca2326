"""Shape and join ops beyond the registry: views share storage and version, pieces of a split feed back
into one gradient, dtype promotion in cat/stack, padding that crops, and PyTorch's grad_fn names."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite as gl
from gradlite.autograd import gradgradcheck
from tests.conftest import STRICT, assert_close, to_numpy

RNG = np.random.default_rng(0)


def test_split_pieces_are_views_sharing_the_version(device):
    x = gl.randn(5, 2, device=device)
    a, b = x.split([2, 3])
    x.add_(1)
    assert a._version_count == b._version_count == x._version_count
    np.testing.assert_array_equal(to_numpy(b), to_numpy(x)[2:])


def test_gradient_through_some_split_pieces_matches_torch(torch, device):
    a = RNG.standard_normal((7, 3))
    xg = gl.tensor(a, device=device, requires_grad=True)
    xt = torch.tensor(a, device=device, requires_grad=True)
    for x, m in ((xg, gl), (xt, torch)):
        p = x.chunk(3)
        u = x.unbind(1)
        (m.cat([p[2] * 2, p[0]]).sum() + (u[1] ** 2).sum()).backward()
    assert_close(xg.grad, xt.grad)


def test_cat_and_stack_promote_dtypes_as_torch(torch, device):
    f32 = RNG.standard_normal(3).astype(np.float32)
    i64 = np.array([1, 2, 3])
    for fn in ("cat", "stack"):
        g = getattr(gl, fn)([gl.tensor(f32, device=device), gl.tensor(i64, device=device)])
        t = getattr(torch, fn)([torch.tensor(f32, device=device), torch.tensor(i64, device=device)])
        assert_close(g, t)


def test_cat_gradient_to_mixed_dtype_inputs_keeps_each_dtype(device):
    a = gl.randn(2, device=device, requires_grad=True)
    b = gl.randn(2, dtype=gl.float64, device=device, requires_grad=True)
    gl.cat([a, b]).sum().backward()
    assert a.grad.dtype == gl.float32 and b.grad.dtype == gl.float64


def test_grad_fn_names_follow_torch(torch, device):
    xg = gl.randn(2, 3, device=device, requires_grad=True)
    xt = torch.randn(2, 3, device=device, requires_grad=True)
    calls = [
        lambda m, x: m.cat([x, x]),
        lambda m, x: m.stack([x, x]),
        lambda m, x: x.flip(0),
        lambda m, x: x.roll(1, 0),
        lambda m, x: x.repeat(2, 1),
        lambda m, x: x.narrow(1, 0, 2),
        lambda m, x: x.select(0, 1),
        lambda m, x: m.nn.functional.pad(x, (1, 1)),
        lambda m, x: x.permute(1, 0),
        lambda m, x: x.tril(),
        lambda m, x: m.nn.functional.softmax(x, 1),
        lambda m, x: m.nn.functional.log_softmax(x, 1),
    ]
    for c in calls:
        assert type(c(gl, xg).grad_fn).__name__ == type(c(torch, xt).grad_fn).__name__


def test_pad_crop_and_value_match_torch(torch, device):
    a = RNG.standard_normal((2, 3, 4))
    for pad, value in (((1, -2), 0.0), ((-1, 0, 2, 1), 3.0), ((0, 0, 0, 0, 1, 0), -1.0)):
        xg = gl.tensor(a, device=device, requires_grad=True)
        xt = torch.tensor(a, device=device, requires_grad=True)
        yg = gl.nn.functional.pad(xg, pad, value=value)
        yt = torch.nn.functional.pad(xt, pad, value=value)
        assert_close(yg, yt)
        w = RNG.standard_normal(tuple(yt.shape))
        (yg * gl.tensor(w, device=device)).sum().backward()
        (yt * torch.tensor(w, device=device)).sum().backward()
        assert_close(xg.grad, xt.grad)


def test_pad_rejects_unknown_modes(device):
    with pytest.raises(NotImplementedError, match="Unrecognised padding mode bogus"):
        gl.nn.functional.pad(gl.randn(1, 2, 3, device=device), (1, 1), mode="bogus")


def test_view_of_transposed_raises_but_reshape_copies(device):
    x = gl.randn(3, 4, device=device).t()
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        x.view(12)
    y = x.reshape(12)
    np.testing.assert_array_equal(to_numpy(y), to_numpy(x).reshape(12))


def test_double_backward_of_layout_ops():
    x = gl.randn(3, 4, dtype=gl.float64, requires_grad=True)
    ops = [
        lambda a: a.flip(1) * a,
        lambda a: a.roll((1, 2), (0, 1)) * a,
        lambda a: a.repeat(2, 1) ** 2,
        lambda a: gl.cat(a.chunk(2, 1)[::-1], 1) * a,
        lambda a: gl.nn.functional.pad(a, (1, -1)) ** 2,
    ]
    for f in ops:
        assert gradgradcheck(f, (x,))


def test_movedim_matches_torch(torch, device):
    a = RNG.standard_normal((2, 3, 4, 5))
    for s, d in ((0, 3), ((0, 1), (3, 2)), (-1, 0)):
        assert_close(gl.tensor(a, device=device).movedim(s, d), torch.tensor(a, device=device).movedim(s, d))


@pytest.fixture(scope="module")
def torch_T_warnings():  # noqa: N802
    """PyTorch's two ``x.T`` deprecation texts (0-D, other than 2-D), from a fresh process: it warns once
    per process, and other tests may have used its ``x.T`` already."""
    import json
    import subprocess
    import sys

    pytest.importorskip("torch")  # (a module-scoped fixture: set up before the function-scoped ``torch``)
    script = (
        "import json, warnings, torch\n"
        "out = []\n"
        "for shape in [(), (3,)]:\n"
        "    with warnings.catch_warnings(record=True) as w:\n"
        "        warnings.simplefilter('always')\n"
        "        torch.ones(shape).T\n"
        "    out.append([str(m.message).split(' (Triggered internally')[0] for m in w])\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("shape", [(), (3,), (2, 3, 4)])
def test_T_other_than_2d_warns_once_as_pytorch(device, torch, torch_T_warnings, shape, monkeypatch):  # noqa: N802
    """``x.T`` off 2-D: PyTorch's deprecation UserWarning (its own text for 0-D), once per process and
    case; the values and gradient are all dims reversed, as PyTorch's. 2-D ``x.T`` never warns."""
    import warnings

    from gradlite.ops import shape as shape_ops

    monkeypatch.setattr(shape_ops, "_T_WARNED", [False, False])  # (as in a fresh process)
    out = {}
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.arange(float(np.prod(shape)), device=dev).reshape(shape).requires_grad_()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            y = x.T
            _again = x.T  # a second use: no second warning
            _matrix = lib.ones(2, 3, device=dev).T
        (y * lib.arange(float(y.numel()), device=dev).reshape(y.shape)).sum().backward()
        out[lib] = (caught, to_numpy(y.detach()), to_numpy(x.grad), y.grad_fn.name())
    caught = out[gl][0]
    assert [w.category for w in caught] == [UserWarning]
    assert [str(w.message) for w in caught] == torch_T_warnings[0 if shape == () else 1]
    np.testing.assert_array_equal(out[gl][1], out[torch][1])
    np.testing.assert_array_equal(out[gl][2], out[torch][2])
    assert out[gl][3] == out[torch][3]


def test_broadcast_shapes_and_tensors_match_torch(device, torch):
    assert tuple(gl.broadcast_shapes((2, 1), (3,))) == tuple(torch.broadcast_shapes((2, 1), (3,))) == (2, 3)
    assert tuple(gl.broadcast_shapes()) == () and tuple(gl.broadcast_shapes(5, (1,))) == (5,)
    assert tuple(gl.broadcast_shapes((1, 4), (3, 1), (2, 1, 1))) == (2, 3, 4)
    for lib in (gl, torch):
        with pytest.raises(RuntimeError, match=r"Attempting to broadcast a dimension of length 4 at -1! "
                           r"Mismatching argument at index 1 had \(4,\)"):
            lib.broadcast_shapes((2, 3), (4,))
        with pytest.raises(ValueError, match="Attempting to broadcast a dimension with negative length!"):
            lib.broadcast_shapes((2, -1))
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b "
                           r"\(4\) at non-singleton dimension 1"):
            lib.broadcast_tensors(lib.ones(2, 3), lib.ones(4))
    grads = {}
    for lib, dev in ((gl, device), (torch, "cpu")):
        a = lib.tensor([[1.0], [2.0]], device=dev, requires_grad=True)
        b = lib.arange(3.0, device=dev, requires_grad=True)
        c = lib.tensor(5.0, device=dev)
        x, y, z = lib.broadcast_tensors(a, b, c)
        assert tuple(x.shape) == tuple(y.shape) == tuple(z.shape) == (2, 3)
        (x * y * z).sum().backward()
        grads[lib] = (x.detach(), y.detach(), a.grad, b.grad, x.grad_fn.name())
        (only,) = lib.broadcast_tensors(a)
        assert tuple(only.shape) == (2, 1)
    for g, t in zip(grads[gl][:4], grads[torch][:4], strict=True):
        assert_close(g, t)
    assert grads[gl][4] == grads[torch][4] == "ExpandBackward0"


@pytest.mark.skipif(STRICT, reason="memory layout: the strict array-API backend has no strided arrays")
def test_contiguous_of_a_strided_view_is_a_copy(torch, device):
    # found by the issue 17 fuzzer: contiguous() returned the view itself, so writing into the "contiguous"
    # result changed the base (and an in-place op on it raised "a view of a leaf")
    for m in (gl, torch):
        x = m.arange(4.0, device=device)
        y = x[::2].contiguous()
        y.mul_(2)
        assert x.tolist() == [0.0, 1.0, 2.0, 3.0] and y.tolist() == [0.0, 4.0]
        w = m.ones(3, requires_grad=True, device=device)
        z = w[::2].contiguous()
        z.reciprocal_()  # a copy, not a view of the leaf: allowed
        assert z.grad_fn.name().endswith("ReciprocalBackward0")
        t = m.arange(6.0, device=device).reshape(2, 3)
        assert t.contiguous() is t
        assert t.t().contiguous().view(-1).tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]


def test_flip_is_a_copy(torch, device):
    # found by the issue 17 fuzzer: flip returned NumPy's view, so x.add_(y) changed y = x.flip(0) too
    for m in (gl, torch):
        x = m.arange(4.0, device=device)
        y = x.flip(0)
        x.add_(y)
        assert x.tolist() == [3.0, 3.0, 3.0, 3.0] and y.tolist() == [3.0, 2.0, 1.0, 0.0]


@pytest.mark.skipif(STRICT, reason="memory layout: the strict array-API backend has no strided arrays")
def test_cat_of_column_major_inputs_is_contiguous(torch, device):
    # found by the issue 17 fuzzer: NumPy concatenated transposed inputs into a column-major array, so
    # view(-1) of the result raised where PyTorch's (always contiguous) cat result can be viewed
    for m in (gl, torch):
        a = m.arange(6.0, device=device).reshape(3, 2).t()
        out = m.cat([a, m.ones(1, 3, device=device)])
        assert out.view(-1).tolist() == [0.0, 2.0, 4.0, 1.0, 3.0, 5.0, 1.0, 1.0, 1.0]
