"""Manual gradient descent as in the classic tutorials: fit ``y = 2x`` with one weight, then fit
``y = w1 * x**2 + w2 * x + b`` updating ``.data`` by hand. Unchanged PyTorch code but for the import.
Run: python examples/tutorial_manual_sgd.py [--steps 100] [--device cuda]
"""

from __future__ import annotations

import argparse

import gradlite as torch


def fit_line(steps: int, dev: str) -> dict:
    """``f = w * x`` on x = 1..4, y = 2x: mean squared error, lr 0.01, ``w -= lr * w.grad`` under no_grad."""
    X = torch.tensor([1, 2, 3, 4], dtype=torch.float32, device=dev)
    Y = torch.tensor([2, 4, 6, 8], dtype=torch.float32, device=dev)
    w = torch.tensor(0.0, dtype=torch.float32, requires_grad=True, device=dev)

    def forward(x):
        return w * x

    def loss_fn(y, y_pred):
        return ((y_pred - y) ** 2).mean()

    print(f"Prediction before training: f(5) = {forward(5).item():.3f}")
    lr = 0.01
    for epoch in range(steps):
        y_pred = forward(X)
        loss = loss_fn(Y, y_pred)
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
        if epoch % max(steps // 10, 1) == 0:
            print(f"epoch {epoch + 1}: w = {w:.3f}, loss = {loss:.8f}")
    print(f"Prediction after training: f(5) = {forward(5).item():.3f}")
    return {"w": w.item(), "loss": loss.item(), "f5": forward(5).item()}


def fit_quadratic(steps: int, dev: str) -> dict:
    """``w1 * x**2 + w2 * x + b`` fitted to 1.5 x**2 - 0.5 x + 0.3, updating ``w.data`` by hand."""
    x = torch.linspace(-1, 1, 21, device=dev)
    y = 1.5 * x**2 - 0.5 * x + 0.3
    w1 = torch.tensor(0.0, requires_grad=True, device=dev)
    w2 = torch.tensor(0.0, requires_grad=True, device=dev)
    b = torch.tensor(0.0, requires_grad=True, device=dev)
    lr = 0.2
    for step in range(steps * 5):
        y_pred = w1 * x**2 + w2 * x + b
        loss = ((y_pred - y) ** 2).mean()
        loss.backward()
        for p in (w1, w2, b):
            p.data = p.data - lr * p.grad.data
            p.grad.data.zero_()
        if step % max(steps // 2, 1) == 0:
            print(f"step {step:4d}: loss {loss.item():.6f}  w1 {w1.item():.4f}  w2 {w2.item():.4f}", end="")
            print(f"  b {b.item():.4f}")
    print(f"fitted: {w1.item():.4f} x^2 + {w2.item():.4f} x + {b.item():.4f} (true 1.5, -0.5, 0.3)")
    return {"w1": w1.item(), "w2": w2.item(), "b": b.item(), "loss": loss.item()}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    print("1. y = 2x with one weight")
    line = fit_line(args.steps, args.device)
    print("2. y = w1 x^2 + w2 x + b")
    quad = fit_quadratic(args.steps, args.device)
    return {"line": line, "quadratic": quad}


if __name__ == "__main__":
    main()
