"""Train a character-level LSTM (or GRU) on a short bundled story and sample new text from it.

Run: python examples/char_rnn.py [--device cuda] [--epochs N] [--cell gru] [--text FILE]

Full size on the CPU (30 epochs, LSTM): training loss 3.15 -> 0.48 nats/char (uniform guess 3.61),
validation 1.84-1.91 (the story is 2.3 kB, so it overfits), about 26 s on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np
from _shared import blas_threads

import gradlite as torch
from gradlite import nn
from gradlite.utils.data import DataLoader, Dataset

TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "lighthouse.txt")


class Vocab:
    """Characters <-> integer ids."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        return [self.index[c] for c in text]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids)


class CharWindows(Dataset):
    """Overlapping windows of the text: input ``ids[s:s+T]``, target ``ids[s+1:s+T+1]``."""

    def __init__(self, ids: list[int], seq_len: int, stride: int, device):
        self.data = torch.tensor(ids, dtype=torch.int64, device=device)
        self.seq_len = seq_len
        self.starts = list(range(0, len(ids) - seq_len - 1, stride))

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, i):
        s = self.starts[i]
        return self.data[s : s + self.seq_len], self.data[s + 1 : s + self.seq_len + 1]


class CharModel(nn.Module):
    """Embedding -> LSTM/GRU -> linear logits over the vocabulary."""

    def __init__(
        self, vocab_size: int, embed: int = 32, hidden: int = 128, layers: int = 1, cell: str = "lstm"
    ):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed)
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(embed, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state


def sample(model, vocab: Vocab, prompt: str, length: int, temperature: float, device, seed: int = 0) -> str:
    """Continue ``prompt`` by ``length`` characters, drawing each from the model's softmax (on the host)."""
    rng = np.random.default_rng(seed)
    model.eval()
    out = list(prompt)
    with torch.no_grad():
        logits, state = model(torch.tensor([vocab.encode(prompt)], device=device))
        for _ in range(length):
            probs = torch.softmax(logits[0, -1] / temperature, dim=-1).cpu().numpy().astype(np.float64)
            nxt = int(rng.choice(len(probs), p=probs / probs.sum()))
            out.append(vocab.chars[nxt])
            logits, state = model(torch.tensor([[nxt]], device=device), state)
    return "".join(out)


def evaluate(model, loader, loss_fn, vocab_size: int) -> float:
    model.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for x, y in loader:
            logits, _ = model(x)
            total += loss_fn(logits.reshape(-1, vocab_size), y.reshape(-1)).item() * len(y)
            n += len(y)
    return total / max(n, 1)


def plot(history: dict, path: str) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["train_loss"], label="train")
    ax.plot(history["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy (nats / char)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--text", default=TEXT)
    ap.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seq-len", type=int, default=48)
    ap.add_argument("--stride", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--sample-length", type=int, default=200)
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out"))
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument(
        "--blas-threads", type=int, default=1, help="BLAS threads on the CPU (0: library default)"
    )
    args = ap.parse_args(argv)
    with blas_threads(args.blas_threads):
        return run(args)


def run(args) -> dict:

    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    with open(args.text, encoding="utf-8") as f:
        text = f.read()
    vocab = Vocab(text)
    ids = vocab.encode(text)
    split = int(len(ids) * 0.9)
    train = CharWindows(ids[:split], args.seq_len, args.stride, args.device)
    val = CharWindows(ids[split - args.seq_len :], args.seq_len, args.seq_len, args.device)
    train_loader = DataLoader(
        train, batch_size=args.batch_size, shuffle=True, generator=torch.Generator().manual_seed(args.seed)
    )
    val_loader = DataLoader(val, batch_size=64)
    model = CharModel(len(vocab), hidden=args.hidden, cell=args.cell).to(args.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(args.epochs // 3, 1), gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    print(
        f"gradlite {torch.__version__}: {args.cell.upper()} on {len(text)} characters ({len(vocab)} "
        f"distinct), "
        f"{len(train)} training windows, {args.device}"
    )

    history = {"train_loss": [], "val_loss": []}
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, n = 0.0, 0
        for x, y in train_loader:
            logits, _ = model(x)
            loss = loss_fn(logits.reshape(-1, len(vocab)), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            total += loss.item() * len(y)
            n += len(y)
            if not args.quiet:
                sys.stdout.write(f"\r  epoch {epoch:3d}/{args.epochs}  loss {total / n:.3f}")
                sys.stdout.flush()
        scheduler.step()
        history["train_loss"].append(total / n)
        history["val_loss"].append(evaluate(model, val_loader, loss_fn, len(vocab)))
        if not args.quiet:
            sys.stdout.write("\r")
        print(
            f"  epoch {epoch:3d}/{args.epochs}  train {history['train_loss'][-1]:.3f}  "
            f"validation {history['val_loss'][-1]:.3f} nats/char  ({time.perf_counter() - t0:.1f} s)"
        )

    text_out = sample(
        model, vocab, "The keeper ", args.sample_length, args.temperature, args.device, args.seed
    )
    print("sample:\n" + text_out)
    os.makedirs(args.out, exist_ok=True)
    figure = plot(history, os.path.join(args.out, f"char_rnn_{args.cell}_curves.png"))
    result = {
        "uniform_loss": math.log(len(vocab)),
        "first_train_loss": history["train_loss"][0],
        "final_train_loss": history["train_loss"][-1],
        "final_val_loss": history["val_loss"][-1],
        "sample": text_out,
        "seconds": time.perf_counter() - t0,
        "figure": figure,
    }
    print(
        f"train loss {result['final_train_loss']:.3f}, validation {result['final_val_loss']:.3f} nats/char "
        f"(uniform guess: {result['uniform_loss']:.3f}), {result['seconds']:.1f} s"
    )
    return result


if __name__ == "__main__":
    main()
