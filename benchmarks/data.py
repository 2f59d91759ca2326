"""The benchmarks' data: float32 arrays from fixed seeds, shared by run.py's programs and the peers."""

from __future__ import annotations

import numpy as np


def linreg_data(n: int):
    rng = np.random.default_rng(0)
    xs = rng.random((n, 1)).astype(np.float32)
    ys = (2 * xs + 1 + 0.1 * rng.standard_normal((n, 1))).astype(np.float32)
    return xs, ys


def mlp_params(sizes, seed=0):
    """Weights (out, in) and biases, uniform(-1/sqrt(in), 1/sqrt(in)) as nn.Linear, as float32 arrays."""
    rng = np.random.default_rng(seed)
    out = []
    for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1 / np.sqrt(d_in)
        out.append(rng.uniform(-bound, bound, (d_out, d_in)).astype(np.float32))
        out.append(rng.uniform(-bound, bound, d_out).astype(np.float32))
    return out


def mlp_data(batch: int, d_in: int, d_out: int, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, d_in)).astype(np.float32)
    y = np.eye(d_out, dtype=np.float32)[rng.integers(0, d_out, batch)]
    return x, y
