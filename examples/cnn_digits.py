"""Train a small convolutional network on scikit-learn's 8x8 handwritten digits (bundled, no download):
two Conv2d + MaxPool2d blocks and a linear head, AdamW with a OneCycle schedule; plot the curves.

Run: python examples/cnn_digits.py [--device cuda] [--epochs N] [--out DIR]

Full size on the CPU (20 epochs): 99.4% test accuracy, 9-14 s on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from _shared import blas_threads, evaluate, load_digits

import gradlite as torch
from gradlite import nn
from gradlite.utils.data import DataLoader


class DigitsCNN(nn.Module):
    """1x8x8 image -> conv(16) -> pool -> conv(32) -> pool -> 2x2x32 -> 64 -> 10 logits."""

    def __init__(self, channels: int = 16):
        super().__init__()
        c = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c, 2 * c, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * c * 2 * 2, 64), nn.ReLU(), nn.Dropout(0.2), nn.Linear(64, 10)
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def plot(history: dict, path: str) -> str | None:
    """Loss and accuracy curves as a PNG; None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(history["train_loss"]) + 1)
    ax1.plot(epochs, history["train_loss"], label="train")
    ax1.plot(epochs, history["test_loss"], label="test")
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("cross-entropy")
    ax1.legend()
    ax2.plot(epochs, history["test_acc"], label="test accuracy")
    ax2.set_xlabel("epoch")
    ax2.legend()
    fig.suptitle("gradlite CNN on 8x8 digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--quiet", action="store_true", help="no per-batch progress")
    ap.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads on the CPU (0: library default)"
    )
    args = ap.parse_args(argv)
    with blas_threads(args.blas_threads):
        return run(args)


def run(args) -> dict:

    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    train, test = load_digits(args.device, args.limit, args.seed, images=True)
    train_loader = DataLoader(
        train, batch_size=args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(args.seed)
    )
    test_loader = DataLoader(test, batch_size=256)
    model = DigitsCNN(args.channels).to(args.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=len(train_loader)
    )
    loss_fn = nn.CrossEntropyLoss()
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"gradlite {torch.__version__}: CNN ({n_params} parameters) on {len(train)} train / {len(test)} test "
        f"digits, {args.device}"
    )

    history = {"train_loss": [], "test_loss": [], "test_acc": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        running, seen = 0.0, 0
        for i, (x, y) in enumerate(train_loader, 1):
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            running += loss.item() * len(y)
            seen += len(y)
            if not args.quiet and i % 10 == 0:
                sys.stdout.write(
                    f"\r  epoch {epoch:3d}/{args.epochs}  batch {i}/{len(train_loader)}  "
                    f"loss {running / seen:.4f}"
                )
                sys.stdout.flush()
        test_loss, test_acc = evaluate(model, test_loader)
        history["train_loss"].append(running / seen)
        history["test_loss"].append(test_loss)
        history["test_acc"].append(test_acc)
        if not args.quiet:
            sys.stdout.write("\r")
        print(
            f"  epoch {epoch:3d}/{args.epochs}  train loss {running / seen:.4f}  test loss {test_loss:.4f}  "
            f"test acc {test_acc:.2%}  ({time.perf_counter() - t0:.1f} s)"
        )

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "cnn_digits.ckpt")
    torch.save({"model": model.state_dict(), "channels": args.channels}, ckpt)
    restored = DigitsCNN(torch.load(ckpt)["channels"]).to(args.device)
    restored.load_state_dict(torch.load(ckpt, map_location=args.device)["model"])
    _, reloaded_acc = evaluate(restored, test_loader)
    figure = plot(history, os.path.join(args.out, "cnn_digits_curves.png"))
    result = {
        "test_accuracy": history["test_acc"][-1],
        "reloaded_test_accuracy": reloaded_acc,
        "first_train_loss": history["train_loss"][0],
        "final_train_loss": history["train_loss"][-1],
        "parameters": n_params,
        "seconds": time.perf_counter() - t0,
        "checkpoint": ckpt,
        "figure": figure,
    }
    print(
        f"test accuracy {result['test_accuracy']:.2%} (reloaded: {reloaded_acc:.2%}), "
        f"{result['seconds']:.1f} s" + (f"; curves {figure}" if figure else "")
    )
    return result


if __name__ == "__main__":
    main()
