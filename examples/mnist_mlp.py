"""Train an MLP on scikit-learn's 8x8 handwritten digits (bundled, no download) with Adam; save a
checkpoint, reload it into a fresh model and re-evaluate; plot the training curves.

Run: python examples/mnist_mlp.py [--device cuda] [--epochs N] [--out DIR]

Full size on the CPU (40 epochs): 99.4% test accuracy, the reloaded checkpoint the same, 6-9 s on a busy
2-core machine.
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


class MLP(nn.Module):
    """64 pixels -> hidden -> hidden -> 10 digit logits."""

    def __init__(self, hidden: int = 128, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 10),
        )

    def forward(self, x):
        return self.net(x)


def progress(epoch: int, epochs: int, batch: int, batches: int, loss: float) -> None:
    width = 24
    done = int(width * batch / batches)
    sys.stdout.write(f"\r  epoch {epoch:3d}/{epochs} [{'=' * done}{'.' * (width - done)}] loss {loss:.4f}")
    sys.stdout.flush()


def plot(history: dict, path: str) -> str | None:
    """Write the loss and accuracy curves to ``path`` (PNG); None when matplotlib is not installed."""
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
    ax2.plot(epochs, history["train_acc"], label="train")
    ax2.plot(epochs, history["test_acc"], label="test")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.legend()
    fig.suptitle("gradlite MLP on 8x8 digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--limit", type=int, default=None, help="use only this many training samples")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--quiet", action="store_true", help="no per-batch progress bar")
    ap.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads on the CPU (0: library default)"
    )
    args = ap.parse_args(argv)
    with blas_threads(args.blas_threads):
        return run(args)


def run(args) -> dict:

    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    train, test = load_digits(args.device, args.limit, args.seed)
    train_loader = DataLoader(
        train, batch_size=args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(args.seed)
    )
    train_eval = DataLoader(train, batch_size=512)
    test_loader = DataLoader(test, batch_size=512)
    model = MLP(args.hidden).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    print(f"gradlite {torch.__version__}: MLP on {len(train)} train / {len(test)} test digits, {args.device}")

    history = {"train_loss": [], "train_acc": [], "test_loss": [], "test_acc": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        for i, (x, y) in enumerate(train_loader, 1):
            loss = loss_fn(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if not args.quiet and (i % 8 == 0 or i == len(train_loader)):
                progress(epoch, args.epochs, i, len(train_loader), loss.item())
        scheduler.step()
        for name, loader in (("train", train_eval), ("test", test_loader)):
            lo, acc = evaluate(model, loader)
            history[f"{name}_loss"].append(lo)
            history[f"{name}_acc"].append(acc)
        if not args.quiet:
            sys.stdout.write("\r")
        print(
            f"  epoch {epoch:3d}/{args.epochs}  train loss {history['train_loss'][-1]:.4f}  "
            f"train acc {history['train_acc'][-1]:.2%}  test acc {history['test_acc'][-1]:.2%}  "
            f"lr {scheduler.get_last_lr()[0]:.2e}"
        )
    train_seconds = time.perf_counter() - t0

    os.makedirs(args.out, exist_ok=True)
    ckpt = os.path.join(args.out, "mnist_mlp.ckpt")
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "epoch": args.epochs,
            "history": history,
            "hidden": args.hidden,
        },
        ckpt,
    )
    state = torch.load(ckpt, map_location=args.device)
    restored = MLP(state["hidden"]).to(args.device)
    restored.load_state_dict(state["model"])
    _, reloaded_acc = evaluate(restored, test_loader)
    figure = plot(history, os.path.join(args.out, "mnist_mlp_curves.png"))

    result = {
        "test_accuracy": history["test_acc"][-1],
        "train_accuracy": history["train_acc"][-1],
        "reloaded_test_accuracy": reloaded_acc,
        "final_train_loss": history["train_loss"][-1],
        "first_train_loss": history["train_loss"][0],
        "seconds": time.perf_counter() - t0,
        "train_seconds": train_seconds,
        "checkpoint": ckpt,
        "figure": figure,
    }
    print(
        f"test accuracy {result['test_accuracy']:.2%} (reloaded checkpoint: {reloaded_acc:.2%}), "
        f"{result['seconds']:.1f} s; checkpoint {ckpt}" + (f", curves {figure}" if figure else "")
    )
    return result


if __name__ == "__main__":
    main()
