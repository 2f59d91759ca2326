"""Regression tests for dtype differences from PyTorch found by the differential fuzzer
(tests/test_fuzz_torch.py), each compared with PyTorch itself."""

import numpy as np
import pytest

import gradlite
from tests.conftest import STRICT, assert_close

# float16, strided views and mixed-precision promotion are what these tests exercise; the strict array-API
# backend (the CPU of its runs) has no float16 and no strided arrays
pytestmark = pytest.mark.skipif(STRICT, reason="float16, strided views: not on the strict array-API backend")


def _outcome(f, lib):
    """The result of ``f(lib)``, or the class of the exception it raises."""
    try:
        out = f(lib)
        if isinstance(out, gradlite.Tensor):
            out.tolist()  # (a device-side check raises at the next host read)
        return out
    except Exception as e:  # noqa: BLE001  (the class is what is compared)
        if lib is gradlite and gradlite.cuda.is_available():
            try:  # a device-side check of the same call, still pending: raised here, not at teardown
                gradlite.cuda.synchronize()
            except Exception:  # noqa: BLE001, S110
                pass
        return type(e)


def _same(f, torch, device, rtol=1e-5, atol=1e-6):
    """``f`` of gradlite and of torch agree: the same exception class, or the same dtype and values."""
    g, t = _outcome(f, gradlite), _outcome(f, torch)
    if isinstance(t, type):
        assert g is t, f"gradlite gave {g!r}, torch raised {t.__name__}"
        return
    assert not isinstance(g, type), f"gradlite raised {g.__name__}, torch gave {t.dtype}"
    assert_close(g, t, rtol=rtol, atol=atol)


def _t(lib, values, dtype, device):
    return lib.tensor(np.asarray(values).tolist(), dtype=getattr(lib, dtype), device=device)


@pytest.mark.parametrize("op", ["vecdot", "cross"])
@pytest.mark.parametrize("dtypes", [("float64", "float32"), ("float32", "float64"), ("float32", "int64"),
                                    ("int32", "int64"), ("float16", "float32"), ("float32", "float32")])
def test_n3_vecdot_cross_need_one_dtype(device, torch, op, dtypes):
    a, b = np.arange(6.0).reshape(2, 3) - 2, np.arange(6.0).reshape(2, 3)[::-1] + 1

    def f(lib):
        return getattr(lib.linalg, op)(_t(lib, a, dtypes[0], device), _t(lib, b, dtypes[1], device))

    _same(f, torch, device)


_LOSSES = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"]
_X, _Y = [0.25, -1.5, 3.0], [1.0, 0.5, -0.75]


@pytest.mark.parametrize("loss", _LOSSES)
@pytest.mark.parametrize("dtypes", [("int64", "float32"), ("bool", "float32"), ("float32", "int64"),
                                    ("int64", "float64"), ("int32", "int64"), ("bool", "bool")])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_n7_losses_of_an_integer_input_promote(device, torch, loss, dtypes, reduction):
    def f(lib):
        x = _t(lib, [1, 0, 3], dtypes[0], device)
        y = _t(lib, _Y if "float" in dtypes[1] else [1, 1, 0], dtypes[1], device)
        return getattr(lib.nn.functional, loss)(x, y, reduction=reduction)

    _same(f, torch, device)


@pytest.mark.parametrize("loss", _LOSSES)
@pytest.mark.parametrize("dtypes", [("float16", "float32"), ("float32", "float16"), ("float32", "float64"),
                                    ("float64", "float32"), ("float32", "float32")])
@pytest.mark.parametrize("shapes", [((3,), (3,)), ((), (3,)), ((3,), ()), ((), ())])
def test_n11_n12_losses_of_mixed_floats(device, torch, loss, dtypes, shapes):
    """The result's dtype is torch's (huber's is the input's; the others' the promoted dtype of the
    broadcast pair, so a 0-d input is no scalar) and so is the gradient's."""
    out = []
    for lib in (gradlite, torch):
        x = _t(lib, np.resize(_X, shapes[0]), dtypes[0], device).requires_grad_()
        y = _t(lib, np.resize(_Y, shapes[1]), dtypes[1], device).requires_grad_()
        with pytest.warns(UserWarning) if shapes[0] != shapes[1] else _nothing():
            z = getattr(lib.nn.functional, loss)(x, y)
        out.append([z])
        if loss != "huber_loss" or dtypes[0] == dtypes[1]:  # (torch's huber backward: "Found dtype")
            z.backward()
            out[-1] += [x.grad, y.grad]
    for g, t in zip(*out, strict=True):
        assert_close(g, t, rtol=2e-3, atol=1e-3)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


@pytest.mark.parametrize("dtypes", [("float64", "float32"), ("float32", "float64"), ("float16", "float32"),
                                    ("float32", "float16"), ("float32", "int64"), ("float32", "bool"),
                                    ("int64", "float32")])
@pytest.mark.parametrize("shape", [(), (3,)])
@pytest.mark.parametrize("extra", [None, "weight", "pos_weight"])
def test_n12_bce_with_logits_has_the_targets_dtype(device, torch, dtypes, shape, extra):
    def f(lib):
        x = _t(lib, np.resize(_X, shape), dtypes[0], device)
        y = _t(lib, np.resize([1.0, 0.0, 0.25], shape), dtypes[1], device)
        kw = {} if extra is None else {extra: _t(lib, np.resize([2.0, 0.5, 1.5], shape), "float64", device)}
        if not x.dtype.is_floating_point:
            return lib.nn.functional.binary_cross_entropy_with_logits(x, y, **kw)
        x.requires_grad_()
        z = lib.nn.functional.binary_cross_entropy_with_logits(x, y, **kw)
        z.backward()
        return z, x.grad

    g, t = _outcome(f, gradlite), _outcome(f, torch)
    if isinstance(t, type):
        assert g is t
        return
    assert not isinstance(g, type), f"gradlite raised {g.__name__}"
    for a, b in zip(g, t, strict=True):
        assert_close(a, b, rtol=2e-3, atol=1e-3)


@pytest.mark.parametrize("bounds", [("bool", "bool"), ("bool", None), (None, "bool"), ("int64", "bool"),
                                    ("int64", "int64")])
@pytest.mark.parametrize("x_dtype", ["bool", "int64"])
def test_n32_clamp_of_bools_with_tensor_bounds(device, torch, bounds, x_dtype):
    def f(lib):
        lo, hi = (None if d is None else _t(lib, v, d, device) for d, v in zip(bounds, ([0, 0, 1], [1, 0, 1]),
                                                                              strict=True))
        return lib.clamp(_t(lib, [1, 0, 0], x_dtype, device), lo, hi)

    _same(f, torch, device)


@pytest.mark.parametrize("w_dtype", ["int64", "bool", "float64", "float16", "float32"])
@pytest.mark.parametrize("w_shape", [(), (3,)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_n28_lerp_with_a_weight_of_another_dtype(device, torch, w_dtype, w_shape, dtype):
    """PyTorch takes a 0-d weight of any dtype; a weight with dimensions must have the input's dtype.
    (With a bool weight torch's backward raises, computing 1 - weight: gradlite's gives the gradient.)"""
    def f(lib):
        x = _t(lib, [1.0, -2.0, 0.5], dtype, device).requires_grad_()
        w = np.resize([1, 0, 1], w_shape) if w_dtype in ("int64", "bool") else np.resize(0.3, w_shape)
        w = _t(lib, w, w_dtype, device)
        if w.dtype.is_floating_point:
            w.requires_grad_()
        z = lib.lerp(x, _t(lib, [3.0, 5.0, -1.0], dtype, device), w)
        if w_dtype != "bool":
            z.sum().backward()
        return z, x.grad, w.grad

    g, t = _outcome(f, gradlite), _outcome(f, torch)
    if isinstance(t, type):
        assert g is t
        return
    assert not isinstance(g, type), f"gradlite raised {g.__name__}"
    assert type(g[0].grad_fn).__name__ == type(t[0].grad_fn).__name__
    for a, b in zip(g, t, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert_close(a, b, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
@pytest.mark.parametrize("dtypes", [("float64", "float32", "float32"), ("float64", "float16", "float32"),
                                    ("float32", "float16", "float16"), ("float64", "int64", "float32"),
                                    ("float32", "float32", "float32")])
def test_n15_addcmul_addcdiv_compute_in_the_promoted_dtype(device, torch, op, dtypes):
    """tensor1 * tensor2 is not rounded to their own (lower) dtype before the sum: exact as torch."""
    vals = ([1.0, 2.0, -3.0], [0.1, 1 / 3, 2.7182817], [3.1415927, 0.3, 1 / 7])
    if dtypes[1] == "int64":
        vals = (vals[0], [1, 3, -2], vals[2])

    def f(lib):
        a, b, c = (_t(lib, v, d, device) for v, d in zip(vals, dtypes, strict=True))
        return getattr(lib, op)(a, b, c, value=0.7)

    _same(f, torch, device, rtol=1e-15 if dtypes[0] == "float64" else 1e-6, atol=0)


@pytest.mark.parametrize("eq", ["i,i->", "i,i->i", "i,j->ij", "i,j", "i,j->", ",i->i", "ij,j->ij", "ij,j->i",
                                "i,i,i->i", "i,i,i->", "i,j,i->"])
@pytest.mark.parametrize("dtypes", [("float32", "float64"), ("float64", "float16"), ("float32", "int64"),
                                    ("float32", "float32")])
def test_n24_einsum_of_two_dtypes(device, torch, eq, dtypes):
    """A pair with nothing to sum is multiplied (promoting); a contraction needs one dtype, as torch."""
    terms = eq.split("->")[0].split(",")

    def f(lib):
        ops = [_t(lib, np.resize([0.5, -1.0, 2.0, 3.0], (3,) * len(s)), dtypes[k % 2], device)
               for k, s in enumerate(terms)]
        return lib.einsum(eq, *ops)

    _same(f, torch, device, rtol=1e-3)


@pytest.mark.parametrize("op", ["nll_loss", "cross_entropy"])
@pytest.mark.parametrize("shapes", [((0, 3), ()), ((2, 3), ()), ((0, 3, 2), ()), ((0,), (0,)), ((0,), ()),
                                    ((0, 3), (0,)), ((3,), (3,)), ((2, 3), (2, 3))])
@pytest.mark.parametrize("t_dtype", ["int64", "float32"])
def test_n33_class_losses_of_an_empty_batch(device, torch, op, shapes, t_dtype):
    if t_dtype == "float32" and shapes[0] != shapes[1]:
        pytest.skip("a float target of another shape: both raise, in another order of checks (N8)")
    """An empty batch with a 0-d target raises torch's IndexError (it reads the target's size as 0);
    cross_entropy takes a target of the input's shape as probabilities (an integer one raises)."""
    def f(lib):
        x = lib.zeros(shapes[0], device=device)
        t = lib.zeros(shapes[1], dtype=getattr(lib, t_dtype), device=device)
        return getattr(lib.nn.functional, op)(x, t)

    _same(f, torch, device)


@pytest.mark.parametrize("dtype", ["int64", "uint8", "int32", "bool", "float16", "float32"])
@pytest.mark.parametrize("n", [-1, 0, 1, 2, 3])
@pytest.mark.parametrize("shape", [(2, 2), (3, 2, 2), (0, 0), (2, 3)])
def test_n16_matrix_power_of_any_dtype(device, torch, dtype, n, shape):
    """Integer, bool (n <= 1) and float16 matrices are multiplied; a negative power needs inv's dtypes."""
    def f(lib):
        a = np.resize([1, 2, 0, 1, 3, 1], shape) if dtype != "bool" else np.resize([1, 0, 1, 1], shape)
        return lib.linalg.matrix_power(_t(lib, a, dtype, device), n)

    _same(f, torch, device, rtol=1e-3)


_LINALG_HALF = {
    "cholesky": lambda L, A: L.linalg.cholesky(A),
    "eigh": lambda L, A: L.linalg.eigh(A).eigenvalues,
    "eigvalsh": lambda L, A: L.linalg.eigvalsh(A),
    "svd": lambda L, A: L.linalg.svd(A).S,
    "svdvals": lambda L, A: L.linalg.svdvals(A),
    "qr": lambda L, A: L.linalg.qr(A).R,
    "pinv": lambda L, A: L.linalg.pinv(A),
    "inv": lambda L, A: L.linalg.inv(A),
    "det": lambda L, A: L.linalg.det(A),
    "slogdet": lambda L, A: L.linalg.slogdet(A).logabsdet,
    "logdet": lambda L, A: L.logdet(A),
    "solve": lambda L, A: L.linalg.solve(A, A),
    "lstsq": lambda L, A: L.linalg.lstsq(A, A).solution,
    "matrix_rank": lambda L, A: L.linalg.matrix_rank(A),
    "matrix_norm_2": lambda L, A: L.linalg.matrix_norm(A, 2),
    "matrix_norm_nuc": lambda L, A: L.linalg.matrix_norm(A, "nuc"),
    "matrix_norm_fro": lambda L, A: L.linalg.matrix_norm(A),
    "matrix_power": lambda L, A: L.linalg.matrix_power(A, 2),
}


@pytest.mark.parametrize("op", sorted(_LINALG_HALF))
@pytest.mark.parametrize("shape", [(2, 2), (0, 0), (0, 2, 2), (2, 3), (2,)])
def test_n1_float16_linalg_as_torch(device, torch, op, shape):
    """float16 linalg: torch's kernels raise NotImplementedError (empty inputs skip them and work), its
    checks RuntimeError; matrix_power multiplies."""
    if device == "cuda" and not getattr(torch, "on_cpu", False):
        pytest.skip("torch's CUDA linalg supports other dtypes than its CPU one")

    def f(lib):
        a = np.resize([4.0, 1.0, 1.0, 3.0, 0.5, 2.0], shape)
        return _LINALG_HALF[op](lib, _t(lib, a, "float16", device))

    _same(f, torch, device, rtol=1e-2, atol=1e-2)


@pytest.mark.parametrize("x_dtype", ["int64", "bool", "float64"])
@pytest.mark.parametrize("w", [("float32", ()), ("int64", ()), ("bool", ()), ("float32", (2,)),
                               ("same", (2,)), (None, None)])
@pytest.mark.parametrize("inplace", [False, True])
def test_n28_lerp_of_integer_tensors(device, torch, x_dtype, w, inplace):
    """torch's order of checks (end's dtype, a weight's with dims, then the kernel's) and a 0-d weight
    promoting as a 0-d operand: an integer lerp with a 0-d float weight is a float one."""
    if inplace and x_dtype == "bool" and w == ("int64", ()):
        pytest.skip("torch checks the in-place cast (Long to Bool) before its kernel error")

    def f(lib):
        x = _t(lib, [1, 0], x_dtype, device)
        if w[0] is None:
            weight = 0.5
        else:
            weight = _t(lib, np.resize([0.25, 1], w[1]), x_dtype if w[0] == "same" else w[0], device)
        return x.clone().lerp_(x, weight) if inplace else lib.lerp(x, x, weight)

    _same(f, torch, device)
