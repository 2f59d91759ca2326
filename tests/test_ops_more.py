"""addcmul, addcdiv, nan_to_num, nansum, nanmean, count_nonzero, diff and meshgrid against PyTorch:
values, gradients (second order for the arithmetic), node names, warnings and errors."""

from __future__ import annotations

import pytest

import gradlite as gl
from tests.autograd._helpers import both, errors_alike

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
    for lib, dev in ((gl, device), (torch, "cpu")):
        with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
            x, y = lib.meshgrid(lib.ones(2, device=dev), lib.ones(3, device=dev))
        assert tuple(x.shape) == (2, 3)
    errors_alike(torch, lambda lib, dev: lib.meshgrid(lib.ones(2, device=dev), indexing="foo"), device,
                 'torch.meshgrid: indexing must be one of "xy" or "ij", but received: foo')
    errors_alike(torch, lambda lib, dev: lib.meshgrid(lib.ones(2, 2, device=dev), indexing="ij"), device,
                 "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got")
