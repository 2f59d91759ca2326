"""The gradient basics of PyTorch's autograd tutorial, unchanged but for the import.

``y = x + 2``, ``z = y * y * 3``, ``out = z.mean()``, ``out.backward()``, ``x.grad``; the same with
``z = y * y * 2``; ``requires_grad_``; the vector-Jacobian product of ``y = x * 2`` doubled
``while y.data.norm() < 1000`` with ``y.backward(v)``; and ``no_grad``.
Run: python examples/tutorial_autograd_basics.py [--device cuda]
"""

from __future__ import annotations

import argparse

import gradlite as torch


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    dev = args.device

    print("1. a tensor that tracks its computation")
    x = torch.ones(2, 2, requires_grad=True, device=dev)
    print(x)
    y = x + 2
    print(y)
    print("y was created by", y.grad_fn.name())
    z = y * y * 3
    out = z.mean()
    print(z, out)

    print("2. backward: d(out)/dx")
    out.backward()
    print(x.grad)
    grad_mean3 = x.grad.tolist()

    x2 = torch.ones(2, 2, requires_grad=True, device=dev)
    y2 = x2 + 2
    z2 = y2 * y2 * 2
    z2.mean().backward()
    print("with z = y * y * 2:", x2.grad)
    grad_mean2 = x2.grad.tolist()

    print("3. requires_grad_ changes the flag in place")
    a = torch.tensor([[1.5, -0.5], [2.0, 0.25]], device=dev)
    a = (a * 3) / (a - 1)
    print(a.requires_grad)
    a.requires_grad_(True)
    print(a.requires_grad)
    b = (a * a).sum()
    print(b.grad_fn.name())

    print("4. a vector-Jacobian product")
    x = torch.tensor([0.3, -0.2, 0.1], requires_grad=True, device=dev)
    y = x * 2
    doublings = 1
    while y.data.norm() < 1000:
        y = y * 2
        doublings += 1
    print(y)
    v = torch.tensor([0.1, 1.0, 0.0001], dtype=torch.float, device=dev)
    y.backward(v)
    print(x.grad)

    print("5. no_grad stops tracking")
    print(x.requires_grad)
    print((x**2).requires_grad)
    with torch.no_grad():
        print((x**2).requires_grad)
    return {
        "out": out.item(),
        "grad_mean3": grad_mean3,
        "grad_mean2": grad_mean2,
        "doublings": doublings,
        "y": y.tolist(),
        "vjp": x.grad.tolist(),
    }


if __name__ == "__main__":
    main()
