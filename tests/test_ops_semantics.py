"""Where PyTorch and NumPy disagree, gradlite follows PyTorch: targeted checks of those points, and of the
accuracy of ``erf``/``erfc`` (the array API has no erf; gradlite computes it with namespace ops)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import gradlite as gl
from tests.conftest import STRICT, to_numpy


def test_erf_erfc_match_math_to_float64_precision(device):
    xs = np.concatenate(
        [np.linspace(-6, 6, 4001), np.linspace(-0.6, 0.6, 1201), [0.0, -0.0, 0.5, 4.0, -4.0, 26.5]]
    )
    t = gl.tensor(xs, dtype=gl.float64, device=device)
    erf, erfc = to_numpy(gl.erf(t)), to_numpy(gl.erfc(t))
    want_erf = np.array([math.erf(v) for v in xs])
    want_erfc = np.array([math.erfc(v) for v in xs])
    np.testing.assert_allclose(erf, want_erf, rtol=2e-15, atol=1e-300)
    # erfc keeps its relative accuracy far into the tail (no 1 - erf cancellation)
    np.testing.assert_allclose(erfc, want_erfc, rtol=2e-15, atol=1e-300)


def test_erf_float32_and_gradient(device):
    x = gl.tensor([-2.0, -0.3, 0.0, 0.7, 3.0], device=device, requires_grad=True)
    y = gl.erf(x)
    assert y.dtype == gl.float32
    y.sum().backward()
    np.testing.assert_allclose(
        to_numpy(x.grad), 2 / math.sqrt(math.pi) * np.exp(-(to_numpy(x) ** 2)), rtol=1e-6
    )


def test_round_half_to_even_and_decimals(device):
    x = gl.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 3.5], device=device)
    assert to_numpy(gl.round(x)).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 4.0]
    assert to_numpy(
        gl.tensor([1.2345, 25.0], dtype=gl.float64, device=device).round(decimals=2)
    ).tolist() == [1.23, 25.0]
    assert to_numpy(gl.tensor([15.0, 25.0, 1234.0], device=device).round(decimals=-1)).tolist() == [
        20.0,
        20.0,
        1230.0,
    ]


def test_integer_division_rounds_like_python(device):
    a = gl.tensor([7, -7, 7, -7], device=device)
    b = gl.tensor([2, 2, -2, -2], device=device)
    assert (a // b).tolist() == [7 // 2, -7 // 2, 7 // -2, -7 // -2]
    assert (a // b).dtype == gl.int64
    assert gl.div(a, b, rounding_mode="trunc").tolist() == [3, -3, -3, 3]
    assert (a % b).tolist() == [7 % 2, -7 % 2, 7 % -2, -7 % -2]
    assert gl.fmod(a, b).tolist() == [math.fmod(7, 2), math.fmod(-7, 2), math.fmod(7, -2), math.fmod(-7, -2)]
    assert (a / b).dtype == gl.float32  # true division of integers gives the default float dtype


def test_python_scalars_do_not_upcast(device):
    f32 = gl.ones(2, device=device)
    i64 = gl.tensor([1, 2], device=device)
    assert (f32 * 2.5).dtype == gl.float32
    assert (f32 + 2**40).dtype == gl.float32
    assert (i64 * 2.5).dtype == gl.float32
    assert (i64 + 2).dtype == gl.int64
    assert (gl.tensor([1, 2], dtype=gl.int32, device=device) * 3).dtype == gl.int32
    assert (gl.tensor(True, device=device) + 1).dtype == gl.int64
    # a 0-d tensor does not upcast a dimensioned one of the same category either
    assert (f32 + gl.tensor(1.0, dtype=gl.float64, device=device)).dtype == gl.float32


def test_max_min_return_values_and_indices(device):
    x = gl.tensor([[1.0, 5.0, 5.0], [7.0, 0.0, -1.0]], device=device, requires_grad=True)
    r = x.max(1)
    assert isinstance(r, tuple) and r._fields == ("values", "indices")
    values, indices = r
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0] and indices.dtype == gl.int64
    values.sum().backward()
    # per-dim max sends the gradient to the returned index only; whole max shares it among ties
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    x.grad = None
    gl.tensor([[5.0, 5.0]], device=device).max()  # noqa: B018 -- runs
    y = gl.tensor([5.0, 1.0, 5.0], device=device, requires_grad=True)
    y.max().backward()
    assert y.grad.tolist() == [0.5, 0.0, 0.5]
    assert gl.min(x, dim=0).indices.tolist() == [0, 1, 1]


def test_mean_of_integers_raises(device):
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        gl.tensor([1, 2, 3], device=device).mean()
    assert gl.tensor([1, 2, 3], device=device).sum().dtype == gl.int64


def test_prod_gradient_with_zeros(device, torch):
    a = np.array([[2.0, 0.0, 3.0, 4.0], [0.0, 1.5, 0.0, 2.0], [1.0, 2.0, 3.0, 4.0]])
    x = gl.tensor(a, dtype=gl.float64, device=device, requires_grad=True)
    t = torch.tensor(a, dtype=torch.float64, device=device, requires_grad=True)
    x.prod(1).sum().backward()
    t.prod(1).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), to_numpy(t.grad))
    assert gl.autograd.gradgradcheck(lambda z: z.prod(1), (x,))


def test_logsumexp_is_stable(device, torch):
    """No overflow at +-1000; one LogsumexpBackward0 node whose gradient is PyTorch's exp(x - result) (in
    float32 that is 0.4999855 for the pair at 1000, as the result rounds)."""
    got = {}
    for lib, dev in ((gl, device), (torch, "cpu")):
        x = lib.tensor([[1000.0, 1000.0], [-1000.0, -1e4]], device=dev, requires_grad=True)
        y = lib.logsumexp(x, 1)
        y.sum().backward()
        got[lib] = (to_numpy(y.detach()), to_numpy(x.grad), y.grad_fn.name())
    np.testing.assert_allclose(got[gl][0], [1000.0 + math.log(2.0), -1000.0], rtol=1e-6)
    np.testing.assert_allclose(got[gl][1], [[0.5, 0.5], [1.0, 0.0]], atol=2e-5)
    np.testing.assert_allclose(got[gl][1], got[torch][1], rtol=1e-6)
    assert got[gl][2] == got[torch][2] == "LogsumexpBackward0"


def test_softplus_sigmoid_logsigmoid_do_not_overflow(device):
    x = gl.tensor([-1000.0, -50.0, 0.0, 50.0, 1000.0], device=device, requires_grad=True)
    F = gl.nn.functional
    out = F.softplus(x) + F.logsigmoid(x) + gl.sigmoid(x)
    out.sum().backward()
    assert np.isfinite(to_numpy(out)).all() and np.isfinite(to_numpy(x.grad)).all()


def test_comparisons_follow_promotion(device):
    x = gl.tensor([1, 2, 3], device=device)
    assert (x < 2.5).tolist() == [True, True, False]
    assert (x == gl.tensor([1.0, 0.0, 3.0], device=device)).tolist() == [True, False, True]
    assert gl.equal(x, gl.tensor([1, 2, 3], device=device)) is True
    assert gl.equal(x, x[:2]) is False
    assert gl.allclose(gl.ones(3, device=device), gl.ones(3, device=device) + 1e-9)


@pytest.mark.skipif(STRICT, reason="array_api_strict calls NumPy from its own modules, which keep warning")
def test_floating_point_exceptions_are_silent_as_in_pytorch(device, torch):
    """log(0), 0/0, exp(1000), sqrt(-1), an empty mean: PyTorch gives inf/nan without a warning; so does
    gradlite, forward and backward, while the user's own NumPy calls still warn."""
    import warnings

    def run(lib, dev):
        x = lib.tensor([0.0, -1.0, 1000.0], requires_grad=True, device=dev)
        ys = [x.log(), x.sqrt(), x.exp(), 1 / x, x / x, x.log1p(), x.acos(), x.pow(-1), x.log2()]
        sum((y * 1).sum() for y in ys).backward()
        empty_mean = lib.zeros(0, 3, device=dev).mean(0)
        return [to_numpy(y.detach()) for y in ys] + [to_numpy(x.grad), to_numpy(empty_mean)]

    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", category=RuntimeWarning, append=True)  # (after gradlite's own)
        got = run(gl, device)
        np.log(np.zeros(1))  # the control: NumPy called from here warns
    assert [str(w.message) for w in caught] == ["divide by zero encountered in log"]
    want = run(torch, "cpu")
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6)


@pytest.mark.skipif(STRICT, reason="array_api_strict calls NumPy from its own modules, which keep warning")
def test_a_plain_program_gets_no_floating_point_warnings():
    """Outside pytest (which resets warning filters), the filter gradlite installs at import does it."""
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np, gradlite as g\n"
        "x = g.tensor([0.0, -1.0], requires_grad=True)\n"
        "(x.log().sum() + (1 / x).sum() + x.sqrt().sum()).backward()\n"
        "print(x.grad.tolist())\n"
        "np.log(np.zeros(1))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[nan, nan]"
    warned = [line for line in proc.stderr.splitlines() if "Warning" in line]
    assert len(warned) == 1 and "divide by zero encountered in log" in warned[0] and "<string>" in warned[0]


_HALF_REDUCTIONS = {
    "var": lambda x: x.var(),
    "std": lambda x: x.std(),
    "var_dim": lambda x: x.reshape(7, -1).var(1, correction=0).sum(),
    "std_mean": lambda x: x.reshape(7, -1).std(dim=1)[0],
    "norm": lambda x: x.norm(),
    "vector_norm_dim": lambda x: x.reshape(7, -1).norm(dim=1).sum(),
    "cumsum": lambda x: (x.cumsum(0) * x.cumsum(0).detach().sign())[::997].sum(),
    "cumprod": lambda x: (1 + x[:3000] / 1000).cumprod(0)[::97].sum(),
}


@pytest.mark.skipif(STRICT, reason="the strict array API has no float16")
@pytest.mark.parametrize("name", sorted(_HALF_REDUCTIONS))
def test_float16_moments_norms_and_running_sums_accumulate_in_float32(torch, device, name):
    """PyTorch accumulates half variances, norms and running sums in float32 and rounds the result once.
    In float16 a variance or norm over 70,000 values overflowed (nan, inf, zero gradients) and a running
    sum lost its small terms; the values must now be PyTorch's (to an ulp) and the gradients too."""
    f = _HALF_REDUCTIONS[name]
    a = np.random.default_rng(0).standard_normal(70_000).astype(np.float16)
    x = gl.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    y, ty = f(x), f(t)
    y.backward()
    ty.backward()
    assert y.dtype == gl.float16 and x.grad.dtype == gl.float16
    np.testing.assert_allclose(y.item(), ty.item(), rtol=1e-3)
    # (PyTorch's backward rounds its intermediate products to float16; ours, in float32, once)
    np.testing.assert_allclose(to_numpy(x.grad).astype(np.float32), t.grad.float().numpy(), rtol=4e-3,
                               atol=2e-7)


@pytest.mark.skipif(STRICT, reason="array_api_strict has no float16")
def test_float16_erfc_is_finite_in_its_tail(torch, device):
    # found by the issue 17 fuzzer: float16 erfc was NaN for 2.9 <= |x| <= 4 (overflow inside the rational
    # functions); as torch, to float16's precision, over [-6, 6] and through erfc_
    x = np.linspace(-6, 6, 2001).astype(np.float16)
    expected = to_numpy(torch.erfc(torch.tensor(x)))
    np.testing.assert_array_equal(to_numpy(gl.erfc(gl.tensor(x, device=device))), expected)
    y = gl.tensor(x, device=device)
    y.erfc_()
    np.testing.assert_array_equal(to_numpy(y), expected)


def test_lerp_uses_pytorchs_two_sided_formula(torch, device):
    # found by the issue 17 fuzzer: lerp(0.5, inf, 0.7) was inf (x + w (end - x)); PyTorch computes
    # end - (end - x)(1 - w) for |w| >= 0.5, which is NaN there and exact at w = 1
    for w in (0.3, 0.7, 1.0):
        for m in (gl, torch):
            got = m.lerp(m.tensor([0.5, 0.1], device=device), m.tensor([float("inf"), 0.7], device=device), w)
            if m is gl:
                mine = to_numpy(got)
            else:
                np.testing.assert_array_equal(mine, got.cpu().numpy())


def test_fmod_by_an_infinite_divisor_is_the_dividend(torch, device):
    # found by the issue 17 fuzzer: fmod(-1.5, inf) was NaN (Python's modulus gives inf, then inf - inf)
    inf = float("inf")
    got = []
    for m in (gl, torch):
        x = m.tensor([1.5, -1.5, 0.0, -0.0, inf, 2.0], device=device)
        y = m.tensor([inf, inf, -inf, inf, 2.0, -inf], device=device)
        got.append(np.asarray(m.fmod(x, y).tolist()))
    np.testing.assert_array_equal(got[0], got[1])
    assert np.signbit(got[0]).tolist() == np.signbit(got[1]).tolist()


def test_isclose_with_infinities(torch, device):
    # found by the issue 17 fuzzer: every finite number was close to -inf (|x - y| <= rtol * |y| = inf)
    inf = float("inf")
    got = []
    for m in (gl, torch):
        x = m.tensor([-4.4, 0.5, -inf, inf, 1.0, inf], device=device)
        y = m.tensor([-inf, inf, -inf, -inf, 1.0, inf], device=device)
        got.append((m.isclose(x, y).tolist(), m.allclose(x[:1], y[:1])))
    assert got[0] == got[1] == ([False, False, True, False, True, True], False)
