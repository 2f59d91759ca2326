"""Indexing beyond the registry: accumulation of repeated indices, ``x[idx] = v`` and autograd's safety
rules, error types per op (as PyTorch), and gradients PyTorch itself cannot compute."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite as gl
from gradlite.autograd import gradcheck, gradgradcheck
from tests.conftest import STRICT, assert_close, to_numpy

RNG = np.random.default_rng(0)


def test_repeated_indices_accumulate(device):
    x = gl.zeros(4, 2, device=device, requires_grad=True)
    x[gl.tensor([0, 0, 3, 0], device=device)].sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad)[:, 0], [3, 0, 0, 1])


def test_getitem_gradients_match_torch(torch, device):
    a = RNG.standard_normal((4, 3, 2))
    keys = [(slice(None), 1), (Ellipsis, None, 0), ([0, 0, 2], slice(None), [1, 1, 0]), (1, slice(0, 3, 2))]
    for k in keys:
        xg = gl.tensor(a, device=device, requires_grad=True)
        xt = torch.tensor(a, device=device, requires_grad=True)
        yg, yt = xg[k], xt[k]
        assert_close(yg, yt)
        w = RNG.standard_normal(tuple(yt.shape))
        (yg * gl.tensor(w, device=device)).sum().backward()
        (yt * torch.tensor(w, device=device)).sum().backward()
        assert_close(xg.grad, xt.grad)


def test_basic_index_is_a_view_sharing_the_version(device):
    x = gl.randn(3, 4, device=device)
    row = x[1]
    x.mul_(2)
    assert row._version_count == x._version_count == 1
    np.testing.assert_array_equal(to_numpy(row), to_numpy(x)[1])


def test_negative_step_raises_value_error_as_torch(device):
    with pytest.raises(ValueError, match="step must be greater than zero"):
        gl.randn(4, device=device)[::-1]


def test_setitem_on_leaf_that_requires_grad_raises(device):
    x = gl.randn(3, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        x[0] = 1.0
    with gl.no_grad():
        x[0] = 1.0
    assert x[0].item() == 1.0 and x._version_count == 1


def test_setitem_is_differentiable_for_both_sides(torch, device):
    a, v = RNG.standard_normal((4, 3)), RNG.standard_normal(3)
    xg, vg = (gl.tensor(u, device=device, requires_grad=True) for u in (a, v))
    xt, vt = (torch.tensor(u, device=device, requires_grad=True) for u in (a, v))
    for x, val, m in ((xg, vg, gl), (xt, vt, torch)):
        y = x * 2
        y[torch.tensor([1, 3]).tolist()] = val * 3
        (y * m.arange(12, device=device).reshape(4, 3).to(y.dtype)).sum().backward()
    assert_close(xg.grad, xt.grad)
    assert_close(vg.grad, vt.grad)


def test_setitem_after_save_raises_at_backward(device):
    x = gl.randn(3, device=device, requires_grad=True)
    y = x * 1
    z = y * y  # saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_setitem_gradcheck_and_gradgradcheck():
    x = gl.randn(4, 3, dtype=gl.float64, requires_grad=True)
    v = gl.randn(2, 1, dtype=gl.float64, requires_grad=True)

    def f(x, v):
        y = x.clone()
        y[1:3] = v * v
        return y * y

    assert gradcheck(f, (x, v))
    assert gradgradcheck(f, (x, v))


def test_scatter_with_larger_src_has_correct_gradient():
    """src larger than index: only its first index.shape block is used (PyTorch's backward fails here)."""
    x = gl.randn(3, 4, dtype=gl.float64, requires_grad=True)
    src = gl.randn(3, 5, dtype=gl.float64, requires_grad=True)
    idx = gl.tensor([[2, 0, 1, 1], [0, 0, 2, 1]])
    assert gradcheck(lambda a, s: a.scatter_add(0, idx, s), (x, src))
    assert gradcheck(lambda a, s: a.scatter(1, gl.tensor([[0, 3], [1, 2]]), s), (x, src))


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda x, i: x[i], IndexError, "index 7 is out of bounds for dimension 0 with size 4"),
        (lambda x, i: x.index_select(0, i), IndexError, "index out of range in self"),
        (
            lambda x, i: x.take(i + 5),
            IndexError,
            "out of range: tried to access index 12 on a tensor of 12 elements",
        ),
        (lambda x, i: x.gather(0, i.reshape(1, 1).expand(1, 3)), RuntimeError, "index 7 is out of bounds"),
        (
            lambda x, i: x.scatter(0, i.reshape(1, 1).expand(1, 3), 1.0),
            RuntimeError,
            "index 7 is out of bounds",
        ),
        (
            lambda x, i: x.index_add(0, i, gl.ones(1, 3, device=x.device)),
            RuntimeError,
            "index 7 is out of bounds",
        ),
        (lambda x, i: gl.nn.functional.embedding(i, x), IndexError, "index out of range in self"),
    ],
)
def test_out_of_range_raises_on_every_device(device, call, exc, match):
    """The check is explicit (CuPy would wrap silently), so both devices raise the same error: the CPU at
    once, CUDA at the next synchronisation (checked on the device, as PyTorch's device-side asserts)."""
    x = gl.randn(4, 3, device=device)
    i = gl.tensor([7], device=device)
    with pytest.raises(exc, match=match):
        call(x, i)
        if device == "cuda":
            gl.cuda.synchronize()


def test_device_side_check_reports_at_the_next_host_read(device):
    """On CUDA the failed check surfaces at the next host read of any tensor, once; work queued in between
    is not lost."""
    x = gl.randn(4, 3, device=device)
    if device == "cpu":
        with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 0 with size 4"):
            x[gl.tensor([1, 9], device=device)]
        return
    y = x[gl.tensor([1, 9], device=device)]  # queued: no host read yet
    z = x * 2
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 0 with size 4"):
        z.sum().item()
    assert y.shape == (2, 3)
    np.testing.assert_allclose(z.cpu().numpy(), 2 * x.cpu().numpy())  # reported once: reads work again


def test_index_must_be_integer(device):
    x = gl.randn(4, device=device)
    with pytest.raises(IndexError, match="tensors used as indices must be long, int, byte or bool tensors"):
        x[gl.tensor([0.0], device=device)]
    with pytest.raises(RuntimeError, match="gather\\(\\): Expected dtype int32/int64 for index"):
        x.gather(0, gl.tensor([0], dtype=gl.int16, device=device))
    with pytest.raises(RuntimeError, match="take\\(\\): Expected a long tensor for index, but got Int"):
        x.take(gl.tensor([0], dtype=gl.int32, device=device))


def test_int32_indices_where_torch_takes_them(torch, device):
    """PyTorch 2.13 takes int32 indices in gather, scatter and scatter_add (not in take)."""
    a = RNG.standard_normal((3, 4))
    idx = np.array([[2, 0, 1, 1], [0, 2, 2, 0]])
    out = []
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.tensor(a, device=dev, requires_grad=True)
        i = lib.tensor(idx, device=dev).to(lib.int32)
        y = x.gather(0, i) * 2
        z = x.scatter(0, i, y) + x.scatter_add(0, i, y)
        z.sum().backward()
        out.append((y, z, x.grad))
    for ours, ref in zip(*out, strict=True):
        assert_close(ours, ref)


def test_masked_fill_gradient_reaches_a_tensor_value(torch, device):
    a = RNG.standard_normal((3, 4))
    mask = RNG.standard_normal(4) > 0
    xg, vg = (
        gl.tensor(a, device=device, requires_grad=True),
        gl.tensor(0.5, device=device, requires_grad=True),
    )
    xt, vt = (
        torch.tensor(a, device=device, requires_grad=True),
        torch.tensor(0.5, device=device, requires_grad=True),
    )
    (xg.masked_fill(gl.tensor(mask, device=device), vg) ** 2).sum().backward()
    (xt.masked_fill(torch.tensor(mask, device=device), vt) ** 2).sum().backward()
    assert_close(xg.grad, xt.grad)
    assert_close(vg.grad, vt.grad)


def test_gather_double_backward():
    x = gl.randn(3, 4, dtype=gl.float64, requires_grad=True)
    idx = gl.tensor([[0, 0], [3, 1], [2, 2]])
    assert gradgradcheck(lambda a: a.gather(1, idx) ** 2, (x,))
    assert gradgradcheck(lambda a: a[gl.tensor([0, 0, 2])] ** 2, (x,))


@pytest.mark.skipif(STRICT, reason="a view rebase needs strided arrays (on the strict backend it raises)")
def test_setitem_through_views_rebases_the_base(torch, device):
    """Writes through views (y[0][1] = .., y.t()[0] = ..) change y's graph as in PyTorch (CopySlices)."""
    a = RNG.standard_normal((3, 4))
    grads = []
    for m in (gl, torch):
        x = m.tensor(a, device=device, requires_grad=True)
        y = x * 2
        y[0][1] = 5.0
        v = y[1]
        v[2:] = x[2, :2] * 3
        y.t()[0] = 7.0
        (y * m.arange(12.0, device=device).reshape(3, 4).to(y.dtype)).sum().backward()
        grads.append(x.grad)
    assert_close(grads[0], grads[1])


class _NoFancySetitem:
    """The NumPy backend under another name: forces the array-API emulation of integer-array setitem."""

    def __init__(self, b):
        self._b = b
        self.name = "emulated"

    def __getattr__(self, attr):
        return getattr(self._b, attr)


@pytest.mark.parametrize(
    "key",
    [
        (np.array([0, 2, 0, 3]),),
        (np.array([1, 1]), np.array([2, 0])),
        (slice(None), np.array([2, 2, 1])),
        (np.array([[True, False, True], [False, False, True], [True, True, True], [False, False, False]]),),
    ],
)
def test_setitem_emulation_matches_numpy_including_repeats(key):
    """The scatter-add emulation (for namespaces without integer-array setitem) writes as NumPy: last wins."""
    from gradlite.backends.numpy_backend import NumpyBackend

    from gradlite.ops.indexing import _put

    b = NumpyBackend()
    shape = np.zeros((4, 3))[key].shape
    for values in (RNG.standard_normal(shape), RNG.standard_normal(shape[-1:]), 7.0):
        expected = np.arange(12.0).reshape(4, 3)
        expected[key] = values
        target = np.arange(12.0).reshape(4, 3)
        _put(_NoFancySetitem(b), target, key, values, False)
        np.testing.assert_array_equal(target, expected)


# -- scatter_reduce (values and gradients of every reduction: the op registry) ----------------------------
def test_scatter_prod_in_rounds_matches_multiply_at():
    """CuPy's product scatter (no ``multiply.at`` there) groups repeats and multiplies in rounds; the
    algorithm is the backends' shared code, run here on NumPy against ``np.multiply.at``."""
    from backends._common import scatter_prod

    rng = np.random.default_rng(1)
    for shape, n in (((5, 4), 30), ((3,), 7), ((2, 3), 0)):
        target = rng.standard_normal(shape)
        key = tuple(rng.integers(0, s, n) for s in shape)
        values = rng.standard_normal(n)
        want = target.copy()
        np.multiply.at(want, key, values)
        scatter_prod(np, target, key, values)
        np.testing.assert_allclose(target, want, rtol=1e-12)
    # a transposed (Fortran-ordered) target, whose flat reshape is a copy, and a 0-d one
    target = rng.standard_normal((4, 3)).T
    key = (rng.integers(0, 3, 20), rng.integers(0, 4, 20))
    values = rng.standard_normal(20)
    want = target.copy()
    np.multiply.at(want, key, values)
    scatter_prod(np, target, key, values)
    np.testing.assert_allclose(target, want, rtol=1e-12)
    target = np.array(3.0)
    scatter_prod(np, target, (), np.array(2.0))
    assert target == 6.0


@pytest.mark.parametrize(
    "dtype",
    ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "bool"],
)
def test_cuda_scatters_through_64_bit_words_match_ufunc_at(dtype):
    """CuPy's atomic scatters lack dtypes (13.x: int64) and round double max/min through float32, dropping
    NaN; its backend sums and compares 64-bit words instead (``scatter_sum``, ``scatter_extreme``): the
    shared code, run here on NumPy with ``np.<ufunc>.at`` as the atomic scatter, against NumPy's own."""
    from backends._common import scatter_extreme, scatter_sum

    rng = np.random.default_rng(2)
    floating = dtype.startswith("float")
    for reduce in ("sum", "amax", "amin"):
        target = (rng.standard_normal((4, 3)) * 100).astype(dtype)
        values = (rng.standard_normal(25) * 100).astype(dtype)
        if floating:
            target[1, 1] = np.nan
            values[[3, 5, 6, 7, 8]] = [np.nan, -np.inf, np.inf, -0.0, 1 + 2**-40 if dtype == "float64" else 1]
        key = (rng.integers(0, 4, 25), rng.integers(0, 3, 25))
        ufunc = {"sum": np.add, "amax": np.maximum, "amin": np.minimum}[reduce]
        want, got = target.copy(), target.copy()
        ufunc.at(want, key, values)
        if reduce == "sum":
            scatter_sum(np, ufunc.at, got, key, values)
        else:
            scatter_extreme(np, ufunc.at, got, key, values, reduce == "amax")
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)  # (exactly: nan where NumPy has nan, 1 + 2^-40 kept)


def test_scatter_reduce_after_an_in_place_change_raises_at_backward(device):
    x = gl.tensor([[1.0, 5.0], [3.0, 2.0]], device=device, requires_grad=True)
    h = x * 1
    y = h.scatter_reduce(0, gl.tensor([[1, 0]], device=device), gl.ones(1, 2, device=device), "amax")
    h.add_(1)  # amax's gradient compares h with the result: h is saved
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_scatter_reduce_ties_share_the_gradient(torch, device):
    """Elements equal to the max at one position share its gradient evenly (as PyTorch)."""
    out = []
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.tensor([2.0, 0.0], device=dev, requires_grad=True)
        s = lib.tensor([2.0, 2.0, 1.0], device=dev, requires_grad=True)
        y = x.scatter_reduce(0, lib.tensor([0, 0, 1], device=dev), s, "amax")
        (y * lib.tensor([3.0, 1.0], device=dev)).sum().backward()
        out.append((y, x.grad, s.grad))
    for ours, ref in zip(*out, strict=True):
        assert_close(ours, ref)
    # 3 shared by x[0] and the two src elements equal to it; 1 to the src element that replaced x[1]
    np.testing.assert_array_equal(to_numpy(out[0][1]), [1.0, 0.0])
    np.testing.assert_array_equal(to_numpy(out[0][2]), [1.0, 1.0, 1.0])


def test_scatter_with_reduce_warns_and_has_no_derivative(device):
    x = gl.zeros(3, device=device, requires_grad=True)
    with pytest.warns(UserWarning, match="Use torch.scatter_reduce instead"):
        y = x.scatter(0, gl.tensor([0, 0], device=device), gl.ones(2, device=device), reduce="add")
    np.testing.assert_array_equal(to_numpy(y.detach()), [2.0, 0.0, 0.0])
    assert y.grad_fn.name() == "torch::autograd::NotImplemented"
    with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
        y.sum().backward()


def test_setitem_of_a_grad_requiring_float_into_an_integer_tensor_records_nothing(torch, device):
    # found by the fuzzer (issue 17): the int64 tensor became requires_grad=True with an IndexPutBackward0
    for m in (gl, torch):
        x = m.tensor([[1, 2], [3, 4]], device=device)
        y = m.tensor([[0.5, 1.5], [2.5, 3.5]], requires_grad=True, device=device)
        x[..., 0] = y[..., 0]
        assert not x.requires_grad and x.grad_fn is None and x.tolist() == [[0, 2], [2, 4]]
