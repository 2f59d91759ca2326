"""``detach`` and Python control flow: autograd records whatever path the program takes (loops, ifs),
and ``detach`` cuts a value out of the graph. Unchanged PyTorch code but for the import.
Run: python examples/tutorial_detach_control_flow.py [--device cuda]
"""

from __future__ import annotations

import argparse

import gradlite as torch


def f(a):
    """Doubles ``a`` until its norm reaches 1000, then keeps or scales it by the sign of the sum."""
    b = a * 2
    while b.norm() < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    dev = args.device

    print("1. detach: z = u * x with u = (x * x).detach() is treated as a constant")
    x = torch.arange(4.0, requires_grad=True, device=dev)
    y = x * x
    u = y.detach()
    z = u * x
    z.sum().backward()
    print("x.grad =", x.grad, " u =", u)
    print("x.grad == u:", (x.grad == u).tolist())
    detach_grad = x.grad.tolist()
    x.grad.zero_()
    y.sum().backward()
    print("without detach, d(x*x)/dx = 2x:", x.grad)

    print("2. control flow: f(a) is piecewise linear in a, so d = f(a) has gradient d / a")
    results = {}
    for start in (0.37, -0.21):
        a = torch.tensor(start, requires_grad=True, device=dev)
        d = f(a)
        d.backward()
        print(f"a = {start:+.2f}: f(a) = {d.item():.4f}, a.grad = {a.grad.item():.4f}", end="")
        print(f", d / a = {(d / a).item():.4f}")
        results[start] = (d.item(), a.grad.item())

    print("3. a vector input through the same function")
    a = torch.tensor([0.5, -1.0, 0.25], requires_grad=True, device=dev)
    d = f(a)
    d.sum().backward()
    print("f(a) =", d)
    print("a.grad =", a.grad)
    return {"detach_grad": detach_grad, "scalar": results, "vector_grad": a.grad.tolist()}


if __name__ == "__main__":
    main()
