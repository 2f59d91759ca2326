"""addcmul, addcdiv, nan_to_num, nansum, nanmean, count_nonzero, diff and meshgrid against PyTorch:
values, gradients (second order for the arithmetic), node names, warnings and errors."""

from __future__ import annotations

import pytest

import gradlite as gl
from tests.autograd._helpers import both, errors_alike
from tests.conftest import STRICT

NAN, INF = float("nan"), float("inf")


def _grads(lib, out, leaves):
    w = lib.arange(out.numel(), dtype=out.dtype, device=out.device).reshape(out.shape) + 1
    return lib.autograd.grad((out * w).sum(), leaves, allow_unused=True)


@pytest.mark.parametrize("op", ["addcmul", "addcdiv"])
def test_addcmul_addcdiv_match_torch(torch, device, op):
    def program(lib, dev):
        a = lib.tensor([[1.0, -2.0, 0.5]], device=dev, requires_grad=True)  # (broadcast against the others)
        b = lib.tensor([[0.5, 1.0, 2.0], [3.0, -1.0, 0.25]], device=dev, requires_grad=True)
        c = lib.tensor([2.0, 4.0, -1.5], device=dev, requires_grad=True)
        out = getattr(lib, op)(a, b, c, value=0.5)
        method = getattr(a.expand(2, 3), op)(b, c)
        ga, gb, gc = lib.autograd.grad((out * out).sum(), (a, b, c), create_graph=True)
        second = lib.autograd.grad((ga * gb).sum() + (gc * gc).sum(), (a, b, c))
        return out, method, ga, gb, gc, *second, out.grad_fn.name()

    both(torch, program, device, rtol=1e-5, atol=1e-6)


def test_addcdiv_integer_quotient_raises_as_torch(torch, device):
    errors_alike(
        torch,
        lambda lib, dev: lib.addcdiv(*(lib.ones(2, dtype=lib.int64, device=dev) for _ in range(3))),
        device,
        "Integer division with addcdiv is no longer supported",
    )


def test_nan_to_num_matches_torch(torch, device):
    def program(lib, dev):
        a = lib.tensor([1.0, NAN, INF, -INF, -2.0], device=dev, requires_grad=True)
        outs = [lib.nan_to_num(a), a.nan_to_num(nan=1.5, posinf=5.0), lib.nan_to_num(a, neginf=-7.0)]
        grads = [lib.autograd.grad(o.sum(), a)[0] for o in outs]  # (weights would overflow the float max)
        ints = lib.nan_to_num(lib.tensor([1, 2], device=dev))
        return *outs, *grads, outs[0].grad_fn.name(), ints, str(ints.dtype).split(".")[-1]

    both(torch, program, device)


def test_nansum_nanmean_count_nonzero_match_torch(torch, device):
    def program(lib, dev):
        a = lib.tensor([[1.0, NAN, 3.0], [NAN, NAN, NAN], [4.0, -2.0, 0.0]], device=dev, requires_grad=True)
        outs = [lib.nansum(a), a.nansum(1), lib.nansum(a, dim=0, keepdim=True), lib.nanmean(a),
                a.nanmean(dim=1), lib.nanmean(a, 0, keepdim=True)]
        grads = [_grads(lib, o, a)[0] for o in outs]
        counts = [lib.count_nonzero(a), a.count_nonzero(dim=0), lib.count_nonzero(lib.tensor([[0, 1], [2, 0]],
                  device=dev), dim=(0, 1))]
        return *outs, *grads, *counts, outs[0].grad_fn.name(), outs[3].grad_fn.name()

    both(torch, program, device)
    errors_alike(torch, lambda lib, dev: lib.nanmean(lib.tensor([1, 2], device=dev)), device,
                 "nanmean(): expected input to have floating point or complex dtype but got Long")


def test_diff_matches_torch(torch, device):
    def program(lib, dev):
        x = lib.tensor([[1.0, 3.0, 6.0, 10.0], [2.0, -1.0, 0.5, 4.0]], device=dev, requires_grad=True)
        p = lib.tensor([[0.0], [1.0]], device=dev, requires_grad=True)
        outs = [lib.diff(x), x.diff(n=2), lib.diff(x, dim=0), lib.diff(x, n=3, prepend=p, append=p * 2),
                lib.diff(x, n=0), lib.diff(x, n=5)]
        grads = [_grads(lib, o, (x, p)) for o in outs[:4]]
        return *outs, *[g for pair in grads for g in pair], outs[0].grad_fn.name()

    both(torch, program, device)
    errors_alike(torch, lambda lib, dev: lib.diff(lib.tensor(1.0, device=dev)), device,
                 "diff expects input to be at least one-dimensional")


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_matches_torch(torch, device, indexing):
    def program(lib, dev):
        a = lib.tensor([1.0, 2.0], device=dev, requires_grad=True)
        b = lib.tensor([3.0, 4.0, 5.0], device=dev, requires_grad=True)
        c = lib.tensor(7.0, device=dev, requires_grad=True)
        x, y, z = lib.meshgrid(a, b, c, indexing=indexing)
        (u, v) = lib.meshgrid([a, b], indexing=indexing)
        ga, gb, gc = lib.autograd.grad((x * y * z).sum() + (u * 2 + v).sum(), (a, b, c))
        return x, y, z, u, v, ga, gb, gc, x.grad_fn.name(), tuple(x.shape)

    both(torch, program, device)


def test_meshgrid_warns_and_raises_as_torch(torch, device):
    # (PyTorch warns once per process: its side is checked in the cpu variant only)
    for lib, dev in ((gl, device), (torch, "cpu")) if device == "cpu" else ((gl, device),):
        with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
            x, y = lib.meshgrid(lib.ones(2, device=dev), lib.ones(3, device=dev))
        assert tuple(x.shape) == (2, 3)
    errors_alike(torch, lambda lib, dev: lib.meshgrid(lib.ones(2, device=dev), indexing="foo"), device,
                 'torch.meshgrid: indexing must be one of "xy" or "ij", but received: foo')
    errors_alike(torch, lambda lib, dev: lib.meshgrid(lib.ones(2, 2, device=dev), indexing="ij"), device,
                 "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got")


def test_nonzero_and_argwhere_match_torch(torch, device):
    def program(lib, dev):
        x = lib.tensor([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]], device=dev)
        flags = lib.tensor([True, False, True], device=dev)
        return (lib.nonzero(x), x.nonzero(as_tuple=True), lib.argwhere(x), flags.nonzero(),
                lib.nonzero(lib.tensor(5.0, device=dev)), lib.nonzero(lib.tensor(0.0, device=dev)),
                lib.nonzero(lib.tensor(5.0, device=dev), as_tuple=True),
                lib.nonzero(lib.zeros(2, 3, device=dev)),
                str(x.nonzero().dtype).split(".")[-1])

    out = both(torch, program, device)
    assert [tuple(t.shape) for t in out[4:6]] == [(1, 0), (0, 0)] and tuple(out[7].shape) == (0, 2)


def test_repeat_interleave_matches_torch(torch, device):
    def program(lib, dev):
        b = lib.tensor([1.0, 2.0, 3.0], device=dev, requires_grad=True)
        m = lib.tensor([[1.0, 2.0], [3.0, 4.0]], device=dev, requires_grad=True)
        outs = [lib.repeat_interleave(b, 2), b.repeat_interleave(lib.tensor([1, 0, 2], device=dev)),
                m.repeat_interleave(2, dim=0), m.repeat_interleave(lib.tensor([1, 2], device=dev), dim=1),
                m.repeat_interleave(3), lib.tensor(3.0, device=dev).repeat_interleave(2)]
        grads = [_grads(lib, o, (b, m)) for o in outs[:5]]
        return (*outs, *[g for pair in grads for g in pair if g is not None],
                [o.grad_fn.name() for o in outs[1:4:2]],  # (counts per element: IndexSelectBackward0)
                lib.repeat_interleave(lib.tensor([2, 1], device=dev)))

    both(torch, program, device)
    cases = [
        (lambda lib, dev: lib.ones(3, device=dev).repeat_interleave(lib.tensor([1, 2], device=dev)),
         "repeats must have the same size as input along dim, but got repeats.size(0) = 2 and input.size(0)"),
        (lambda lib, dev: lib.ones(3, device=dev).repeat_interleave(-1), "Repeats must be non-negative"),
        (lambda lib, dev: lib.ones(3, device=dev).repeat_interleave(lib.tensor([1, -1, 1], device=dev)),
         "repeats can not be negative"),
    ]
    for fn, match in cases:
        errors_alike(torch, fn, device, match)


@pytest.mark.skipif(STRICT, reason="array_api_strict copies a broadcast view into a non-contiguous array")
def test_clone_of_an_expanded_tensor_is_contiguous_as_torch(torch, device):
    # PyTorch's preserve_format gives an overlapping (expanded) tensor a contiguous copy, so it can be viewed
    def program(lib, dev):
        a = lib.arange(4.0, device=dev).reshape(2, 1, 2).requires_grad_()
        v = a.expand(2, 3, 2).clone().view(12)
        (g,) = lib.autograd.grad((v * lib.arange(12.0, device=dev)).sum(), a)
        return v, g, v.grad_fn.name()

    both(torch, program, device)
    t = gl.arange(6.0, device=device).reshape(2, 3).t().clone()  # (dense and transposed: layout kept)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        t.view(6)
