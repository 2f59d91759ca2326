"""Creation functions, their dtype inference and keywords, and PyTorch's type promotion (issue 2)."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from tests.conftest import STRICT, assert_close, to_numpy


def _name(dt) -> str:
    return repr(dt).split(".")[-1]


def _strict_skip(*names) -> None:
    """The strict array-API test backend has no float16 and does not promote bool scalars with numbers."""
    if STRICT and ("float16" in names or "bool-scalar" in names):
        pytest.skip("not supported by the strict array-API backend")


# -- tensor(): dtype inference --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        [1.0, 2.0],
        [1, 2.5],
        [True, False],
        [[1, 2], [3, 4]],
        3,
        3.5,
        True,
        [],
        [[1.0], [2.0]],
    ],
    ids=repr,
)
def test_tensor_dtype_inference_matches_torch(device, torch, data):
    g, t = gradlite.tensor(data, device=device), torch.tensor(data)
    assert _name(g.dtype) == _name(t.dtype)
    assert tuple(g.shape) == tuple(t.shape)
    assert g.tolist() == t.tolist()


@pytest.mark.parametrize("np_dtype", ["float16", "float32", "float64", "int32", "int64", "uint8", "bool"])
def test_tensor_from_numpy_keeps_dtype_and_copies(device, torch, np_dtype):
    _strict_skip(np_dtype)
    a = np.arange(6).reshape(2, 3).astype(np_dtype)
    g, t = gradlite.tensor(a, device=device), torch.tensor(a)
    assert _name(g.dtype) == _name(t.dtype) == np_dtype
    a[0, 0] = 1
    assert to_numpy(g)[0, 0] == 0  # tensor() copies


def test_tensor_keywords(device):
    x = gradlite.tensor([1, 2], dtype=gradlite.float64, device=device, requires_grad=True)
    assert x.dtype is gradlite.float64 and x.requires_grad and x.is_leaf
    assert gradlite.tensor([1.7], dtype=gradlite.int32, device=device).tolist() == [1]
    assert gradlite.tensor([1, 2], dtype=float, device=device).dtype is gradlite.float32
    assert gradlite.tensor([1.0], dtype="float64", device=device).dtype is gradlite.float64


def test_tensor_of_tensor_warns_and_copies(device, torch):
    src = gradlite.tensor([1.0, 2.0], requires_grad=True, device=device)
    with pytest.warns(UserWarning, match=r"detach\(\).clone\(\)"):
        c = gradlite.tensor(src)
    assert not c.requires_grad and c.tolist() == [1.0, 2.0]
    with pytest.warns(UserWarning, match=r"detach\(\).clone\(\)"):
        torch.tensor(torch.tensor([1.0]))


def test_tensor_from_list_of_tensors(device, torch):
    g = gradlite.tensor(
        [gradlite.tensor(1.0, device=device), gradlite.tensor(2.0, device=device)], device=device
    )
    t = torch.tensor([torch.tensor(1.0), torch.tensor(2.0)])
    assert g.tolist() == t.tolist() and _name(g.dtype) == _name(t.dtype)


def test_tensor_rejects_non_numbers():
    with pytest.raises(TypeError, match="can't convert"):
        gradlite.tensor(["a", "b"])


# -- as_tensor / from_numpy: memory sharing -----------------------------------------------------------
def test_from_numpy_shares_memory():
    a = np.zeros(3, dtype=np.float64)
    x = gradlite.from_numpy(a)
    assert x.dtype is gradlite.float64
    a[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]
    x.add_(1)
    assert a.tolist() == [1.0, 6.0, 1.0]
    with pytest.raises(TypeError, match="expected np.ndarray"):
        gradlite.from_numpy([1, 2])
    with pytest.raises(TypeError, match="can't convert np.ndarray of type numpy.complex128"):
        gradlite.from_numpy(np.zeros(2, dtype=complex))


def test_as_tensor_shares_when_it_can(device):
    a = np.ones(2, dtype=np.float32)
    x = gradlite.as_tensor(a)
    a[0] = 3.0
    assert x.tolist() == [3.0, 1.0]
    y = gradlite.as_tensor(a, dtype=gradlite.float64)  # a cast: a copy
    a[0] = 4.0
    assert y.tolist() == [3.0, 1.0]
    t = gradlite.tensor([1.0, 2.0], device=device)
    assert gradlite.as_tensor(t) is t
    assert gradlite.as_tensor([1, 2], device=device).dtype is gradlite.int64


# -- filled, ranges, eye ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda m, d: m.zeros(2, 3, device=d),
        lambda m, d: m.zeros((2, 3), device=d),
        lambda m, d: m.zeros([4], dtype=m.int64, device=d),
        lambda m, d: m.ones(3, device=d),
        lambda m, d: m.ones(2, 2, dtype=m.float64, device=d),
        lambda m, d: m.ones((), device=d),
        lambda m, d: m.full((2, 2), 7, device=d),
        lambda m, d: m.full((2,), 1.5, device=d),
        lambda m, d: m.full((2,), True, device=d),
        lambda m, d: m.empty(2, 3, device=d).shape,
        lambda m, d: m.arange(5, device=d),
        lambda m, d: m.arange(1, 4, device=d),
        lambda m, d: m.arange(0, 1, 0.25, device=d),
        lambda m, d: m.arange(5.0, device=d),
        lambda m, d: m.arange(10, 0, -3, device=d),
        lambda m, d: m.arange(3, dtype=m.float64, device=d),
        lambda m, d: m.linspace(0, 1, 5, device=d),
        lambda m, d: m.linspace(-1, 1, 1, device=d),
        lambda m, d: m.linspace(2, 3, 4, dtype=m.float64, device=d),
        lambda m, d: m.eye(3, device=d),
        lambda m, d: m.eye(2, 4, device=d),
        lambda m, d: m.eye(2, dtype=m.int64, device=d),
    ],
)
def test_filled_and_ranges_match_torch(device, torch, make):
    g, t = make(gradlite, device), make(torch, "cpu")
    if isinstance(t, torch.Size):
        assert tuple(g) == tuple(t)
        return
    assert _name(g.dtype) == _name(t.dtype)
    assert_close(g, t, check_dtype=False)


def test_like_functions(device, torch):
    base_g = gradlite.tensor([[1, 2, 3]], dtype=gradlite.int32, device=device)
    base_t = torch.tensor([[1, 2, 3]], dtype=torch.int32)
    for name in ("zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"):
        kw = {"dtype": gradlite.float64} if name.startswith("rand") else {}
        tkw = {"dtype": torch.float64} if name.startswith("rand") else {}
        g, t = getattr(gradlite, name)(base_g, **kw), getattr(torch, name)(base_t, **tkw)
        assert tuple(g.shape) == tuple(t.shape) and _name(g.dtype) == _name(t.dtype), name
    assert gradlite.full_like(base_g, 4).tolist() == torch.full_like(base_t, 4).tolist()
    r = gradlite.randint_like(base_g, 3, 5)
    assert r.dtype is gradlite.int32 and set(to_numpy(r).ravel().tolist()) <= {3, 4}
    z = gradlite.zeros_like(gradlite.ones(2, device=device), requires_grad=True)
    assert z.requires_grad and z.is_leaf


def test_creation_requires_grad_keyword(device):
    for t in (
        gradlite.zeros(2, requires_grad=True, device=device),
        gradlite.ones(2, requires_grad=True, device=device),
        gradlite.full((2,), 1.0, requires_grad=True, device=device),
        gradlite.rand(2, requires_grad=True, device=device),
        gradlite.randn(2, requires_grad=True, device=device),
        gradlite.arange(3.0, requires_grad=True, device=device),
        gradlite.linspace(0, 1, 3, requires_grad=True, device=device),
        gradlite.eye(2, requires_grad=True, device=device),
    ):
        assert t.requires_grad and t.is_leaf and t.grad_fn is None
    with pytest.raises(RuntimeError, match="floating point"):
        gradlite.zeros(2, dtype=gradlite.int64, requires_grad=True, device=device)


def test_creation_errors_match_torch(torch_cpu):
    for lib in (gradlite, torch_cpu):
        with pytest.raises(RuntimeError, match="must be non-negative"):
            lib.zeros(2, -1)
        with pytest.raises(RuntimeError, match="step must be nonzero"):
            lib.arange(0, 5, 0)
        with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
            lib.arange(0, 5, -1)
        with pytest.raises(RuntimeError, match="expects 'from' to be less than 'to'"):
            lib.randint(5, 5, (2,))


# -- random ---------------------------------------------------------------------------------------------
def test_random_shapes_dtypes_ranges(device):
    r = gradlite.rand(1000, device=device)
    assert r.dtype is gradlite.float32 and r.shape == (1000,)
    a = to_numpy(r)
    assert a.min() >= 0 and a.max() < 1 and 0.4 < a.mean() < 0.6
    n = to_numpy(gradlite.randn(20000, dtype=gradlite.float64, device=device))
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    i = gradlite.randint(3, 7, (500,), device=device)
    assert i.dtype is gradlite.int64
    vals = set(to_numpy(i).tolist())
    assert vals == {3, 4, 5, 6}
    j = gradlite.randint(4, (2, 3), device=device)
    assert j.shape == (2, 3) and to_numpy(j).max() < 4


def test_manual_seed_reproduces(device):
    gradlite.manual_seed(123)
    a = to_numpy(gradlite.randn(5, device=device))
    gradlite.manual_seed(123)
    b = to_numpy(gradlite.randn(5, device=device))
    c = to_numpy(gradlite.randn(5, device=device))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(b, c)


# -- legacy constructors ----------------------------------------------------------------------------------
def test_legacy_Tensor_constructor(torch_cpu):
    for lib in (gradlite, torch_cpu):
        x = lib.Tensor([1, 2])
        assert _name(x.dtype) == "float32" and x.tolist() == [1.0, 2.0]
        e = lib.Tensor(2, 3)
        assert tuple(e.shape) == (2, 3) and _name(e.dtype) == "float32"
    assert isinstance(gradlite.Tensor([1.0]), gradlite.Tensor)


def test_autograd_Variable(torch_cpu):
    from gradlite.autograd import Variable

    for lib, var in ((gradlite, Variable), (torch_cpu, torch_cpu.autograd.Variable)):
        v = var(lib.ones(2), requires_grad=True)
        assert v.requires_grad and v.is_leaf
        (v * 3).sum().backward()
        assert v.grad.tolist() == [3.0, 3.0]
        assert not var(lib.ones(2)).requires_grad


# -- promotion --------------------------------------------------------------------------------------------
_PROMO = [
    ("float32", "float64"),
    ("float32", "int64"),
    ("int32", "int64"),
    ("int64", "bool"),
    ("float16", "float32"),
    ("uint8", "int8"),
    ("int32", "float16"),
    ("bool", "bool"),
]


@pytest.mark.parametrize(("a", "b"), _PROMO)
@pytest.mark.parametrize("zero_dim", [False, True], ids=["dim", "0d"])
def test_tensor_tensor_promotion_matches_torch(device, torch, a, b, zero_dim):
    _strict_skip(a, b)
    ga = gradlite.ones(3, dtype=getattr(gradlite, a) if a != "bool" else gradlite.bool, device=device)
    ta = torch.ones(3, dtype=getattr(torch, a))
    shape = () if zero_dim else (3,)
    gb = gradlite.ones(shape, dtype=getattr(gradlite, b) if b != "bool" else gradlite.bool, device=device)
    tb = torch.ones(shape, dtype=getattr(torch, b))
    for op in ("__add__", "__mul__"):
        if a == b == "bool" and op == "__add__":
            continue
        g, t = getattr(ga, op)(gb), getattr(ta, op)(tb)
        assert _name(g.dtype) == _name(t.dtype), (op, a, b)
        g, t = getattr(gb, op)(ga), getattr(tb, op)(ta)
        assert _name(g.dtype) == _name(t.dtype), (op, b, a)


@pytest.mark.parametrize("a", ["float16", "float32", "float64", "int32", "int64", "uint8", "bool"])
@pytest.mark.parametrize("scalar", [2, 2.5, True])
def test_python_scalars_do_not_upcast(device, torch, a, scalar):
    _strict_skip(a, "bool-scalar" if scalar is True else "")
    ga = gradlite.ones(2, dtype=getattr(gradlite, a) if a != "bool" else gradlite.bool, device=device)
    ta = torch.ones(2, dtype=getattr(torch, a))
    for op in ("__mul__", "__rmul__", "__truediv__", "__rtruediv__"):
        g, t = getattr(ga, op)(scalar), getattr(ta, op)(scalar)
        assert _name(g.dtype) == _name(t.dtype), (op, a, scalar)
        assert_close(g, t, check_dtype=False)


def test_int_true_division_is_float32(device, torch):
    g = gradlite.tensor([1, 2], device=device) / gradlite.tensor([2, 4], device=device)
    t = torch.tensor([1, 2]) / torch.tensor([2, 4])
    assert g.dtype is gradlite.float32 and _name(t.dtype) == "float32"
    assert g.tolist() == t.tolist() == [0.5, 0.5]


def test_zero_dim_does_not_upcast_dimensioned(device, torch):
    g = gradlite.ones(2, device=device) * gradlite.tensor(2.0, dtype=gradlite.float64, device=device)
    t = torch.ones(2) * torch.tensor(2.0, dtype=torch.float64)
    assert g.dtype is gradlite.float32 and _name(t.dtype) == "float32"
    g2 = gradlite.ones(2, dtype=gradlite.int32, device=device) + gradlite.tensor(2.5, device=device)
    t2 = torch.ones(2, dtype=torch.int32) + torch.tensor(2.5)
    assert _name(g2.dtype) == _name(t2.dtype) == "float32"


def test_default_dtype_switch():
    try:
        gradlite.set_default_dtype(gradlite.float64)
        assert gradlite.tensor([1.0]).dtype is gradlite.float64
        assert gradlite.zeros(1).dtype is gradlite.float64
    finally:
        gradlite.set_default_dtype(gradlite.float32)
    assert gradlite.tensor([1.0]).dtype is gradlite.float32
    with pytest.raises(TypeError, match="floating-point"):
        gradlite.set_default_dtype(gradlite.int64)


def test_new_factories_take_this_tensors_dtype_and_device(device, torch):
    """``x.new_tensor/new_zeros/new_ones/new_empty/new_full``: x's dtype and device unless given; sizes as
    varargs or one sequence (``new_full``: a sequence only, as PyTorch); ``requires_grad`` as asked."""
    out = {}
    for lib, dev in ((gradlite, device), (torch, "cpu")):
        x = lib.ones(2, dtype=lib.int64, device=dev)
        f = lib.ones(2, device=dev, requires_grad=True)
        made = [
            x.new_tensor([1.5, -2.5]), x.new_tensor(3), x.new_full((2,), 2.7), x.new_full([], 1),
            x.new_zeros(2, 3), x.new_zeros((2, 3)), x.new_ones([2]), x.new_empty(0), x.new_zeros(()),
            f.new_zeros(2), f.new_zeros(2, requires_grad=True), f.new_full((1,), 3, dtype=lib.float64),
            f.new_tensor([[1, 2]], dtype=lib.float64), f.new_ones(1, 2),
        ]
        with pytest.warns(UserWarning, match=r"rather than tensor\.new_tensor\(sourceTensor\)"):
            copied = f.new_tensor(f)
        made.append(copied)
        out[lib] = [(str(m.dtype).split(".")[-1], tuple(m.shape), m.requires_grad, m.grad_fn is None,
                     m.tolist()) for m in made]  # (new_empty(0) has no values to compare)
        assert all(m.device.type == x.device.type for m in made)
        with pytest.raises(TypeError, match=r"argument 'size' \(position 1\) must be tuple of ints"):
            x.new_full(2, 1.0)
    assert out[gradlite] == out[torch]
    copied = gradlite.ones(2, device=device).new_tensor([1.0, 2.0])
    copied.add_(1)  # a copy: writable, owned
    assert copied.tolist() == [2.0, 3.0]
