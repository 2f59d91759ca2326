"""``DataLoader``: batches of samples from a dataset, with PyTorch's collation rules, in-process."""

from __future__ import annotations

import collections.abc
import warnings

from gradlite.tensor import Tensor, _make
from gradlite.utils.data.dataset import IterableDataset
from gradlite.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler

_COLLATE_ERROR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _stack(batch: list[Tensor]) -> Tensor:
    first = batch[0]
    for i, t in enumerate(batch):
        if t._device is not first._device:
            raise RuntimeError(
                f"default_collate: samples are on different devices ({first._device} and {t._device})"
            )
        if t._data.shape != first._data.shape:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(first.shape)} at entry 0 and "
                f"{list(t.shape)} at entry {i}"
            )
    xp = first._device.backend.xp
    dtype = first._data.dtype
    return _make(
        xp.stack([t._data if t._data.dtype == dtype else xp.astype(t._data, dtype) for t in batch]),
        first._device,
    )


def _is_numpy(x) -> bool:
    return type(x).__module__ == "numpy" and hasattr(x, "dtype")


def default_collate(batch):
    """Merge a list of samples into a batch: tensors and arrays are stacked, numbers become tensors (int64 /
    float64), dicts and sequences are collated field by field, strings are kept as lists."""
    from gradlite.creation import as_tensor, tensor

    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack(batch)
    if _is_numpy(elem):
        if elem.dtype.kind not in "biuf":
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        if elem.shape == ():
            return tensor(batch)
        return _stack([as_tensor(b) for b in batch])
    if isinstance(elem, bool):
        return tensor(batch)
    if isinstance(elem, int):
        return tensor(batch)
    if isinstance(elem, float):
        return tensor(batch, dtype="float64")
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, collections.abc.Mapping):
        return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch, strict=True)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        collated = [default_collate(list(s)) for s in zip(*batch, strict=True)]
        return collated if isinstance(elem, tuple) else type(elem)(collated)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def default_convert(data):
    """Without batching (``batch_size=None``): NumPy arrays become tensors, also in containers."""
    from gradlite.creation import as_tensor

    if _is_numpy(data) and data.dtype.kind in "biuf":
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return {k: default_convert(v) for k, v in data.items()}
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(default_convert(d) for d in data)
    return data


class DataLoader:
    """Iterate over ``dataset`` in batches: ``DataLoader(ds, batch_size=32, shuffle=True, generator=g)``.

    Samples are loaded in this process (``num_workers`` is accepted and ignored with a warning; there is
    no memory pinning). Each pass over a shuffled loader draws a new permutation from ``generator``.
    """

    def __init__(
        self,
        dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler=None,
        batch_sampler=None,
        num_workers: int = 0,
        collate_fn=None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn=None,
        generator=None,
        *,
        prefetch_factor=None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
    ) -> None:
        if num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable multiprocessing."
            )
        if num_workers > 0:
            warnings.warn(
                f"gradlite's DataLoader loads in the main process; num_workers={num_workers} is ignored",
                UserWarning,
                stacklevel=2,
            )
        self.dataset = dataset
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.generator = generator
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                    f"shuffle={shuffle}"
                )
            if sampler is not None or batch_sampler is not None:
                raise ValueError(
                    "DataLoader with IterableDataset: expected unspecified sampler and batch_sampler"
                )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                    "and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = (
            collate_fn
            if collate_fn is not None
            else (
                default_collate if (batch_size is not None or batch_sampler is not None) else default_convert
            )
        )

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self):
        ds, collate = self.dataset, self.collate_fn
        if self._iterable:
            if self.batch_size is None:
                for sample in ds:
                    yield collate(sample)
                return
            batch = []
            for sample in ds:
                batch.append(sample)
                if len(batch) == self.batch_size:
                    yield collate(batch)
                    batch = []
            if batch and not self.drop_last:
                yield collate(batch)
            return
        if self.batch_sampler is None:
            for i in self.sampler:
                yield collate(ds[i])
            return
        fast = getattr(ds, "_gather", None) if collate is default_collate else None
        for indices in self.batch_sampler:
            yield fast(list(indices)) if fast is not None else collate([ds[i] for i in indices])


__all__ = ["DataLoader", "default_collate", "default_convert"]
