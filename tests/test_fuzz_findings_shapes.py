"""Regression tests for shape and argument-checking differences from PyTorch 2.13 that the differential
fuzzer (tests/test_fuzz_torch.py) found: each compares gradlite's value or error class with torch's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import gradlite as gl
from tests.conftest import STRICT, assert_close


def _outcome(fn):
    """(error class name, None) when ``fn`` raises, else (None, result)."""
    try:
        return None, fn()
    except Exception as e:  # noqa: BLE001 (the class is what is compared)
        return type(e).__name__.lstrip("_"), None


def _same(fg, ft, rtol=1e-6, atol=1e-7):
    """gradlite and torch both raise the same error class, or both give the same values."""
    eg, yg = _outcome(fg)
    et, yt = _outcome(ft)
    assert eg == et, f"gradlite: {eg}, torch: {et}"
    if et is None:
        assert_close(yg, yt, rtol=rtol, atol=atol)
    return eg


# N19: x.mT of a 0-d tensor is x itself, with PyTorch's deprecation warning
def test_mT_of_0d_is_x(device, torch):
    x = gl.tensor(1.5, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert x.mT is x
        assert torch.tensor(1.5).mT.item() == 1.5
    with pytest.raises(RuntimeError, match="Got 1-D tensor"):
        _ = gl.ones(3, device=device).mT


# N26: movedim of a 0-d tensor is x; roll of a 0-d tensor with dims raises PyTorch's IndexError
@pytest.mark.parametrize("src, dst", [(0, 0), (-1, 0), ([0], [-1]), (1, 0)])
def test_movedim_0d(device, torch, src, dst):
    _same(lambda: gl.movedim(gl.tensor(2.0, device=device), src, dst),
          lambda: torch.movedim(torch.tensor(2.0), src, dst))


@pytest.mark.parametrize("shifts, dims", [(1, 0), (1, -1), ((1, 2), (0, 0)), (1, None)])
def test_roll_0d(device, torch, shifts, dims):
    assert _same(lambda: gl.roll(gl.tensor(2.0, device=device), shifts, dims),
                 lambda: torch.roll(torch.tensor(2.0), shifts, dims)) in (None, "IndexError")


def test_roll_0d_message(device):
    with pytest.raises(IndexError, match="Dimension specified as -1 but tensor has no dimensions"):
        gl.roll(gl.tensor(2.0, device=device), 1, -1)


# N18: lstsq does not broadcast A's batch to a B of higher rank
@pytest.mark.parametrize(
    "a, b", [((3, 3), (2, 3, 1)), ((2, 2, 3, 3), (3, 1)), ((2, 3, 3), (3,)), ((3, 3), ()), ((3,), (3,)),
             ((3, 3), (3,)), ((1, 3, 3), (2, 3, 1)), ((2, 3, 3), (2, 3))],
)
def test_lstsq_ranks(device, torch, a, b):
    def make(m, shape):
        return m.eye(3).expand(*shape) if len(shape) > 1 else m.ones(shape)

    _same(lambda: gl.linalg.lstsq(make(gl, a).to(device), gl.ones(b, device=device)).solution,
          lambda: torch.linalg.lstsq(make(torch, a), torch.ones(b)).solution)


# N31: a repeated subscript takes a diagonal: its sizes within the operand must be equal
@pytest.mark.parametrize(
    "eq, shapes", [("ii", [(1, 2)]), ("ii->i", [(2, 3)]), ("iij", [(2, 2, 3)]), ("ij,jk", [(2, 3), (1, 3)])]
)
def test_einsum_repeated_subscript_sizes(device, torch, eq, shapes):
    arrays = [np.arange(np.prod(s), dtype=np.float64).reshape(s) for s in shapes]
    _same(lambda: gl.einsum(eq, *[gl.tensor(a, device=device) for a in arrays]),
          lambda: torch.einsum(eq, *[torch.tensor(a) for a in arrays]))


# N6: dropout of a bool or integer tensor: zeros of its dtype for p = 1, PyTorch's cast error otherwise
@pytest.mark.parametrize("dtype", ["bool", "int64", "uint8"])
@pytest.mark.parametrize("p, inplace", [(1.0, False), (1.0, True), (0.5, False), (0.0, False)])
def test_dropout_of_non_float(device, torch, dtype, p, inplace):
    x = np.array([1, 0, 1], dtype=dtype)
    yg = _same(lambda: gl.nn.functional.dropout(gl.tensor(x, device=device), p=p, inplace=inplace),
               lambda: torch.nn.functional.dropout(torch.tensor(x), p=p, inplace=inplace))
    if yg is None:
        y = gl.nn.functional.dropout(gl.tensor(x, device=device), p=p)
        assert y.dtype == getattr(gl, dtype)


# N8: the same invalid calls raise PyTorch's error class (its checks come in another order)
def test_mv_of_0d(device, torch):
    for v in [(3,), ()]:
        assert _same(lambda v=v: gl.mv(gl.tensor(1.0, device=device), gl.ones(v, device=device)),
                     lambda v=v: torch.mv(torch.tensor(1.0), torch.ones(v))) == "IndexError"


@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize("dims", [(0, 1), (0, 0), (0, -1)])
def test_diagonal_of_low_rank(device, torch, shape, dims):
    _same(lambda: gl.diagonal(gl.ones(shape, device=device), 0, *dims),
          lambda: torch.diagonal(torch.ones(shape), 0, *dims))


@pytest.mark.parametrize(
    "n, target", [(0, [1, 0, 3, 2]), (3, [1, 0, 2, 2]), (3, [1]), (3, 1), (0, []), (3, [[1]])]
)
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_nll_loss_of_1d_input(device, torch, n, target, reduction):
    x = np.linspace(-1, 1, n)
    t = np.array(target, dtype=np.int64)
    _same(lambda: gl.nn.functional.nll_loss(gl.tensor(x, device=device), gl.tensor(t, device=device),
                                            reduction=reduction),
          lambda: torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(t), reduction=reduction))
    if t.shape == x.shape:
        return  # (cross_entropy takes a target of the input's shape as class probabilities)
    _same(lambda: gl.nn.functional.cross_entropy(gl.tensor(x, device=device), gl.tensor(t, device=device)),
          lambda: torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(t)))


# N5: constant padding narrows by each negative pad first: a crop larger than the dim raises
@pytest.mark.parametrize("pad", [(-4, 0), (-3, 0), (-2, -1), (2, -4), (-4, 2), (-1, -1), (1, -3), (-5, 3)])
def test_pad_negative_beyond_dim(device, torch, pad):
    x = np.arange(6.0).reshape(2, 3)
    _same(lambda: gl.nn.functional.pad(gl.tensor(x, device=device), pad),
          lambda: torch.nn.functional.pad(torch.tensor(x), pad))


# N21: the inf / -inf vector norm of an empty tensor raises only when a reduced dim is empty
@pytest.mark.parametrize(
    "shape, dim, keepdim",
    [((4, 0), 0, False), ((4, 0), 0, True), ((4, 0), -1, False), ((4, 0), 1, False), ((4, 0), None, False),
     ((4, 0), (0, 1), False), ((2, 0, 3), (0, 2), False), ((0,), 0, False), ((4, 0), (-2,), False)],
)
@pytest.mark.parametrize("ord", [float("inf"), -float("inf")])
def test_vector_norm_inf_of_empty(device, torch, shape, dim, keepdim, ord):
    eg = _same(lambda: gl.linalg.vector_norm(gl.zeros(shape, device=device), ord, dim, keepdim),
               lambda: torch.linalg.vector_norm(torch.zeros(shape), ord, dim, keepdim))
    if eg is None:
        y = gl.linalg.vector_norm(gl.zeros(shape, device=device), ord, dim, keepdim)
        assert tuple(y.shape) == tuple(torch.linalg.vector_norm(torch.zeros(shape), ord, dim, keepdim).shape)


# N30: a matrix norm whose max reduces an empty dim is 0 (no gradient), its min raises amin's IndexError
@pytest.mark.parametrize("shape", [(3, 0), (0, 3), (2, 3, 0), (2, 0, 3), (0, 0), (2, 0, 0)])
@pytest.mark.parametrize("ord", [2, -2, 1, -1, float("inf"), -float("inf"), "nuc", "fro"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm_of_empty(device, torch, shape, ord, keepdim):
    xg = gl.zeros(shape, device=device, requires_grad=True)
    xt = torch.zeros(shape, requires_grad=True)
    eg = _same(lambda: gl.linalg.matrix_norm(xg, ord, keepdim=keepdim),
               lambda: torch.linalg.matrix_norm(xt, ord, keepdim=keepdim))
    if eg is None:
        yg = gl.linalg.matrix_norm(xg, ord, keepdim=keepdim)
        yt = torch.linalg.matrix_norm(xt, ord, keepdim=keepdim)
        assert tuple(yg.shape) == tuple(yt.shape)
        assert yg.requires_grad == yt.requires_grad
    else:
        with pytest.raises(IndexError) as eg:
            gl.linalg.matrix_norm(xg, ord, keepdim=keepdim)
        with pytest.raises(IndexError) as et:
            torch.linalg.matrix_norm(xt, ord, keepdim=keepdim)
        assert str(eg.value) == str(et.value)


def test_norm_2_of_empty_matrix(device, torch):
    _same(lambda: gl.linalg.norm(gl.zeros(3, 0, device=device), 2),
          lambda: torch.linalg.norm(torch.zeros(3, 0), 2))


# N29: tensordot broadcasts a contracted dim of size 1 (PyTorch sums the other operand over it)
@pytest.mark.parametrize(
    "a, b, dims",
    [((2, 1), (3, 4), 1), ((2, 3), (1, 4), 1), ((1,), (3,), 1), ((3,), (1,), 1), ((2, 1), (0, 3), 1),
     ((1, 3), (2, 3), 1), ((2, 1, 3), (3, 4, 2), ([1, 2], [1, 0])), ((), (3, 4), 1), ((), (3,), ([0], [0])),
     ((), (3,), 0), ((2, 3), (3, 4), ([-1], [-2]))],
)
def test_tensordot_size_one_dims(device, torch, a, b, dims):
    xa = np.arange(1.0, 1 + np.prod(a)).reshape(a)
    xb = np.arange(2.0, 2 + np.prod(b)).reshape(b)
    ga = gl.tensor(xa, device=device, requires_grad=True)
    gb = gl.tensor(xb, device=device, requires_grad=True)
    ta, tb = torch.tensor(xa, requires_grad=True), torch.tensor(xb, requires_grad=True)
    if _same(lambda: gl.tensordot(ga, gb, dims), lambda: torch.tensordot(ta, tb, dims)) is None:
        gl.tensordot(ga, gb, dims).sum().backward()
        torch.tensordot(ta, tb, dims).sum().backward()
        assert_close(ga.grad, ta.grad)
        assert_close(gb.grad, tb.grad)


def test_tensordot_keeps_integer_dtype(device):
    x = gl.ones(2, 1, dtype=gl.int32, device=device)
    y = gl.tensordot(x, gl.ones(3, 4, dtype=gl.int32, device=device), 1)
    assert y.dtype == gl.int32
    assert y.tolist() == [[3] * 4] * 2


# N34: a zero remainder (and fmod) has the dividend's sign, as PyTorch's kernels (C's fmod)
@pytest.mark.parametrize("op", ["remainder", "fmod"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64"])
def test_zero_remainder_sign(device, torch, op, dtype):
    if STRICT and dtype == "float16":
        pytest.skip("the strict array-API backend has no float16")
    x = np.array([-4, 4, -0.0, 0, -5, 5, -6, 6], dtype=dtype)
    y = np.array([2, -2, 2, -2, 3, -3, -3, 3], dtype=dtype)
    fg, ft = getattr(gl, op), getattr(torch, op)
    cases = [
        (lambda: fg(gl.tensor(x, device=device), gl.tensor(y, device=device)),
         lambda: ft(torch.tensor(x), torch.tensor(y))),
        (lambda: fg(gl.tensor(x, device=device), 2.0), lambda: ft(torch.tensor(x), 2.0)),
        (lambda: fg(gl.tensor(x, device=device), -2), lambda: ft(torch.tensor(x), -2)),
    ]
    if op == "remainder":
        cases += [
            (lambda: -4.0 % gl.tensor(y, device=device), lambda: -4.0 % torch.tensor(y)),
            (lambda: gl.remainder(-0.0, gl.tensor(y, device=device)),
             lambda: torch.remainder(-0.0, torch.tensor(y))),
        ]
    for g, t in cases:
        yg, yt = g(), t()
        assert str(yg.dtype).split(".")[-1] == str(yt.dtype).split(".")[-1]
        a, b = yg.cpu().numpy().astype(np.float64), yt.numpy().astype(np.float64)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))


# N10: embedding checks padding_idx against weight.size(0) before the weight's rank and the indices
@pytest.mark.parametrize(
    "idx, wshape, padding_idx",
    [([5], (3, 2), 3), ([0], (3,), 3), ([0], (3, 2, 2), 3), ([0.0], (3, 2), 3), ([0], (0, 2), -1),
     ([[0]], (3, 2), 10), ([0], (3, 2), -4), ([-1], (3, 2), 3), ([0], (3, 2), -3), ([2, 0], (3, 2), -1),
     ([0], (), 2), ([0], (), 0)],
)
def test_embedding_padding_idx_checked_first(device, torch, idx, wshape, padding_idx):
    w = np.arange(float(np.prod(wshape))).reshape(wshape)
    _same(lambda: gl.nn.functional.embedding(gl.tensor(idx, device=device), gl.tensor(w, device=device),
                                             padding_idx=padding_idx),
          lambda: torch.nn.functional.embedding(torch.tensor(idx), torch.tensor(w), padding_idx=padding_idx))


# N25: cholesky of a matrix with NaN in its lower triangle raises PyTorch's LinAlgError on the CPU (NumPy's
# LAPACK returns NaN factors); inf and a NaN above the diagonal (not read) do not raise, as PyTorch
_NAN, _INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "a",
    [[[_NAN, _NAN], [_NAN, _NAN]], [[1.0, 0.0], [0.0, _NAN]], [[_NAN, 0.0], [0.0, 1.0]],
     [[1.0, _NAN], [_NAN, 1.0]], [[1.0, 0.0], [0.0, _INF]], [[1.0, _NAN], [0.0, 1.0]],
     [[[4.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [_NAN, 1.0]]]],
)
def test_cholesky_of_nan(torch_cpu, a):
    x = np.array(a)
    eg, yg = _outcome(lambda: gl.linalg.cholesky(gl.tensor(x)))
    et, yt = _outcome(lambda: torch_cpu.linalg.cholesky(torch_cpu.tensor(x)))
    assert eg == et
    if et is None:
        np.testing.assert_array_equal(yg.numpy(), yt.numpy())
    else:
        with pytest.raises(gl.linalg.LinAlgError) as e:
            gl.linalg.cholesky(gl.tensor(x))
        with pytest.raises(torch_cpu.linalg.LinAlgError) as t:
            torch_cpu.linalg.cholesky(torch_cpu.tensor(x))
        assert str(e.value) == str(t.value)


# N8: a 0-d input of nll_loss / cross_entropy raises PyTorch's class (its rank checks come first)
@pytest.mark.parametrize("tshape", [(), (1,), (3,)])
@pytest.mark.parametrize("tdtype", ["int64", "float32"])
def test_class_losses_of_0d_input(device, torch, tshape, tdtype):
    t = np.zeros(tshape, dtype=tdtype)
    for name in ("nll_loss", "cross_entropy"):
        fg, ft = getattr(gl.nn.functional, name), getattr(torch.nn.functional, name)
        assert _same(lambda fg=fg: fg(gl.tensor(1.0, device=device), gl.tensor(t, device=device)),
                     lambda ft=ft: ft(torch.tensor(1.0), torch.tensor(t))) is not None


# embedding into an empty table: PyTorch's index_select RuntimeError (its renorm's IndexError with max_norm)
@pytest.mark.parametrize("idx", [[0], [[1]], 2, []])
@pytest.mark.parametrize("max_norm", [None, 1.0])
def test_embedding_of_empty_table(device, torch, idx, max_norm):
    if device == "cuda" and max_norm and idx != []:
        pytest.skip("on CUDA an out-of-range index raises at the next synchronisation (a device-side check)")
    i = np.array(idx, dtype=np.int64)
    _same(lambda: gl.nn.functional.embedding(gl.tensor(i, device=device), gl.ones(0, 2, device=device),
                                             max_norm=max_norm),
          lambda: torch.nn.functional.embedding(torch.tensor(i), torch.ones(0, 2), max_norm=max_norm))


# nll_loss checks the shapes before the dtypes, as PyTorch (a Long input with a wrong batch: ValueError)
@pytest.mark.parametrize(
    "xshape, xdtype, tshape, tdtype",
    [((2, 3), "int64", (4,), "int64"), ((2, 3), "float32", (4,), "float32"),
     ((2, 3), "int64", (2,), "float32"), ((3,), "int64", (4,), "int64"), ((2, 3), "int64", (2, 2), "int64"),
     ((2, 3), "float32", (2,), "int64")],
)
def test_nll_loss_shapes_before_dtypes(device, torch, xshape, xdtype, tshape, tdtype):
    x, t = np.zeros(xshape, dtype=xdtype), np.zeros(tshape, dtype=tdtype)
    _same(lambda: gl.nn.functional.nll_loss(gl.tensor(x, device=device), gl.tensor(t, device=device)),
          lambda: torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(t)))
