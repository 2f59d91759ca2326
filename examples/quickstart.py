"""gradlite's main demo: fit y = 3x + 0.8 by hand-written gradient descent, then train a small
nn.Module classifier. Run: python examples/quickstart.py [--device cuda] [--steps N]"""

from __future__ import annotations

import argparse
import time

import gradlite as torch
from gradlite import nn


def fit_line(device: str, steps: int) -> tuple[float, float, float]:
    """Gradient descent on w, b for y = 3x + 0.8 with noise; returns (w, b, final loss)."""
    x = torch.linspace(-1, 1, 100, device=device).reshape(100, 1)
    y = 3 * x + 0.8 + 0.05 * torch.randn(100, 1, device=device)
    w = torch.zeros(1, requires_grad=True, device=device)
    b = torch.zeros(1, requires_grad=True, device=device)
    lr = 0.1
    for step in range(steps):
        loss = ((x * w + b - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
        if step % max(steps // 5, 1) == 0:
            print(f"  step {step:4d}  loss {loss.item():.5f}  w {w.item():.4f}  b {b.item():.4f}")
    return w.item(), b.item(), loss.item()


class Classifier(nn.Module):
    """Two-layer MLP for 2-D points."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


def two_moons(n: int, device: str):
    """Two interleaved half circles (labels 0/1), built with gradlite ops."""
    t = torch.rand(n, device=device) * 3.14159
    label = (torch.rand(n, device=device) > 0.5).float()
    x0, y0 = torch.cos(t), torch.sin(t)
    x = label * (1 - x0) + (1 - label) * x0
    y = label * (0.5 - y0) + (1 - label) * y0
    pts = torch.stack([x, y], 1)
    return pts + 0.1 * torch.randn(n, 2, device=device), label.reshape(n, 1)


def train_classifier(device: str, steps: int) -> float:
    """Train Classifier with plain SGD written by hand; returns the training accuracy."""
    pts, label = two_moons(400, device)
    model = Classifier().to(device)
    lr = 0.5
    for step in range(steps):
        logits = model(pts)
        # binary cross-entropy with logits, written with core ops: log(1 + e^z) - y z
        loss = ((1 + (-logits.abs()).exp()).log() + logits.relu() - label * logits).mean()
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
        if step % max(steps // 5, 1) == 0:
            print(f"  step {step:4d}  loss {loss.item():.4f}")
    with torch.no_grad():
        acc = ((model(pts) > 0).float() == label).float().mean().item()
    return acc


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    print(f"gradlite {torch.__version__} on {args.device}")
    print("1. fit y = 3x + 0.8 by gradient descent")
    w, b, line_loss = fit_line(args.device, args.steps)
    print(f"   w = {w:.3f} (true 3), b = {b:.3f} (true 0.8), loss {line_loss:.5f}")
    print("2. train a 2-16-1 MLP classifier on two moons")
    acc = train_classifier(args.device, args.steps * 2)
    print(f"   training accuracy {acc:.1%}")
    print(f"done in {time.perf_counter() - t0:.2f} s")
    return {"w": w, "b": b, "line_loss": line_loss, "accuracy": acc}


if __name__ == "__main__":
    main()
