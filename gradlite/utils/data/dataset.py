"""Datasets: Dataset, IterableDataset, TensorDataset, Subset, ConcatDataset, and random_split."""

from __future__ import annotations

import bisect
import math
import warnings

import numpy as np

from gradlite.tensor import Tensor, _make


class Dataset:
    """A map-style dataset: subclasses implement ``__getitem__(index)`` and ``__len__()``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__()``."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


class TensorDataset(Dataset):
    """Samples are tuples ``(t[i] for t in tensors)``; every tensor has the same first dimension."""

    def __init__(self, *tensors: Tensor) -> None:
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset takes tensors, got {type(t).__name__}")
        if any(t.dim() == 0 for t in tensors) or len({t.shape[0] for t in tensors}) > 1:
            raise ValueError(
                "Size mismatch between tensors: first dimensions are "
                f"{[t.shape[0] if t.dim() else None for t in tensors]}"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0

    def _gather(self, indices: list[int]) -> list[Tensor]:
        """``default_collate([self[i] for i in indices])`` by one gather per tensor (the fast path)."""
        out = []
        for t in self.tensors:
            b = t._device.backend
            n = t.shape[0]
            if any(not -n <= i < n for i in indices):
                bad = next(i for i in indices if not -n <= i < n)
                raise IndexError(f"index {bad} is out of bounds for dimension 0 with size {n}")
            ix = b.from_host(np.asarray(indices, dtype=np.int64), t._device.index)
            out.append(_make(b.xp.take(t._data, ix, axis=0), t._device))
        return out


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Dataset, indices) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __len__(self) -> int:
        return len(self.indices)

    def _gather(self, indices: list[int]):
        """The DataLoader's fast path: the wrapped dataset's, or plain collation when it has none."""
        inner = getattr(self.dataset, "_gather", None)
        if inner is not None:
            return inner([self.indices[i] for i in indices])
        from gradlite.utils.data.dataloader import default_collate

        return default_collate([self.dataset[self.indices[i]] for i in indices])


class ConcatDataset(Dataset):
    """Several map-style datasets one after the other."""

    def __init__(self, datasets) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


def random_split(dataset: Dataset, lengths, generator=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random subsets of the given lengths (or fractions of 1)."""
    from gradlite.ops.random import randperm

    lengths = list(lengths)
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1 and not all(isinstance(x, int) for x in lengths):
        sizes = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            sizes.append(int(math.floor(n * frac)))
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(
                    f"Length of split at index {i} is 0. This might result in an empty dataset.", stacklevel=2
                )
        lengths = sizes
    if any(int(x) != x or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative integers or fractions, got {lengths}")
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    perm = randperm(n, generator=generator).tolist()
    out, start = [], 0
    for size in lengths:
        out.append(Subset(dataset, perm[start : start + int(size)]))
        start += int(size)
    return out
