"""What the training examples share: the bundled digits, evaluation, and a BLAS-thread limit.

The examples import it as ``from _shared import ...`` (their own folder is on ``sys.path`` when run).
"""

from __future__ import annotations

import contextlib

import gradlite as torch
from gradlite import nn
from gradlite.utils.data import TensorDataset, random_split


def load_digits(device, limit: int | None = None, seed: int = 0, images: bool = False):
    """The digits as (train, test) TensorDatasets: pixels scaled to [0, 1] (64-vectors, or 1x8x8 images
    when ``images``), 20% held out for testing."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    x = torch.tensor(data.data / 16.0, dtype=torch.float32, device=device)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    y = torch.tensor(data.target, dtype=torch.int64, device=device)
    full = TensorDataset(x, y)
    n_test = len(full) // 5
    train, test = random_split(
        full, [len(full) - n_test, n_test], generator=torch.Generator().manual_seed(seed)
    )
    if limit is not None:
        train.indices = train.indices[:limit]
    return train, test


def evaluate(model, loader) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` over ``loader``."""
    model.eval()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    total, correct, loss = 0, 0, 0.0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            loss += loss_fn(logits, y).item()
            correct += (logits.argmax(dim=1) == y).sum().item()
            total += len(y)
    return loss / total, correct / total


def blas_threads(n: int):
    """Limit NumPy's BLAS to ``n`` threads during the run (0: leave it alone).

    The matrices here are tiny, so extra BLAS threads only add synchronisation; on a busy machine,
    oversubscribed BLAS threads make each small matmul many times slower than one thread would.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas") if n > 0 else contextlib.nullcontext()
