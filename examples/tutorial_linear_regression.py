"""Linear regression on 500 noisy points of y = 2x + 1, by gradient descent on ``w`` and ``b`` for
3000 iterations, as in the classic tutorial; saves a plot of the fitted line when matplotlib is installed.
Run: python examples/tutorial_linear_regression.py [--steps 3000] [--out examples/out] [--device cuda]
"""

from __future__ import annotations

import argparse
import os

import numpy as np

import gradlite as torch


def make_data(n: int, seed: int = 0):
    """n points x in [0, 1), y = 2x + 1 + N(0, 0.1^2), as float32 NumPy arrays of shape (n, 1)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1)).astype(np.float32)
    y = (2 * x + 1 + 0.1 * rng.standard_normal((n, 1))).astype(np.float32)
    return x, y


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)

    xs, ys = make_data(args.n)
    x = torch.from_numpy(xs).to(args.device)
    y = torch.from_numpy(ys).to(args.device)
    w = torch.zeros(1, 1, requires_grad=True, device=args.device)
    b = torch.zeros(1, requires_grad=True, device=args.device)

    for step in range(args.steps):
        pred = x.mm(w) + b
        loss = ((pred - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= args.lr * w.grad
            b -= args.lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        if step % max(args.steps // 6, 1) == 0:
            print(f"step {step:5d}  loss {loss.item():.6f}  w {w.item():.4f}  b {b.item():.4f}")
    print(f"fitted y = {w.item():.4f} x + {b.item():.4f} (true y = 2x + 1), final loss {loss.item():.6f}")

    plot = None
    if not args.no_plot:
        plot = save_plot(xs, ys, w.item(), b.item(), args.out)
        print(f"plot saved to {plot}" if plot else "matplotlib is not installed: no plot")
    return {"w": w.item(), "b": b.item(), "loss": loss.item(), "plot": plot}


def save_plot(xs, ys, w: float, b: float, out_dir: str) -> str | None:
    """The data and the fitted line as a PNG in ``out_dir``; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    os.makedirs(out_dir, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.scatter(xs[:, 0], ys[:, 0], s=6, alpha=0.5, label="data")
    line = np.array([0.0, 1.0])
    ax.plot(line, w * line + b, color="C3", label=f"fit: y = {w:.3f} x + {b:.3f}")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out_dir, "linear_regression.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
