"""A two-layer network (Linear, Sigmoid, Linear) trained by hand-written gradient descent, as in the
classic "learning PyTorch with examples" tutorial. Unchanged PyTorch code but for the import; the
weights start from a fixed NumPy draw so every run (and PyTorch) prints the same numbers.
Run: python examples/tutorial_two_layer_net.py [--steps 500] [--device cuda]
"""

from __future__ import annotations

import argparse

import numpy as np

import gradlite as torch


class TwoLayerNet(torch.nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int):
        super().__init__()
        self.linear1 = torch.nn.Linear(d_in, hidden)
        self.sigmoid = torch.nn.Sigmoid()
        self.linear2 = torch.nn.Linear(hidden, d_out)

    def forward(self, x):
        return self.linear2(self.sigmoid(self.linear1(x)))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--d-in", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--d-out", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)
    dev = args.device

    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.standard_normal((args.batch, args.d_in)).astype(np.float32)).to(dev)
    y = torch.from_numpy(rng.standard_normal((args.batch, args.d_out)).astype(np.float32)).to(dev)

    model = TwoLayerNet(args.d_in, args.hidden, args.d_out).to(dev)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, tuple(p.shape)).astype(np.float32)))
    print(model)

    first = None
    for t in range(args.steps):
        y_pred = model(x)
        loss = ((y_pred - y) ** 2).sum()
        if first is None:
            first = loss.item()
        if t % max(args.steps // 5, 1) == 0:
            print(f"step {t:4d}  loss {loss.item():.4f}")
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= args.lr * param.grad
    print(f"loss {first:.4f} -> {loss.item():.4f} after {args.steps} steps")
    return {"first_loss": first, "loss": loss.item(), "bias2": model.linear2.bias.tolist()}


if __name__ == "__main__":
    main()
