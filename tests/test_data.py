"""``gradlite.utils.data``: datasets, DataLoader batching / shuffling / collation, random_split, Subset."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import gradlite
from gradlite.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)
from tests.conftest import to_numpy


def _xy(n=10, device="cpu"):
    x = gradlite.arange(n * 3, dtype=gradlite.float32, device=device).reshape(n, 3)
    y = gradlite.arange(n, device=device)
    return x, y


def test_tensor_dataset(device):
    x, y = _xy(device=device)
    ds = TensorDataset(x, y)
    assert len(ds) == 10
    xi, yi = ds[4]
    assert to_numpy(xi).tolist() == [12, 13, 14] and yi.item() == 4
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(x, gradlite.arange(9))


@pytest.mark.parametrize(
    "batch_size,drop_last,lengths",
    [(4, False, [4, 4, 2]), (4, True, [4, 4]), (5, False, [5, 5]), (20, False, [10])],
)
def test_batching(batch_size, drop_last, lengths, device):
    x, y = _xy(device=device)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(batches) == len(lengths)
    assert [len(b[1]) for b in batches] == lengths
    xb, yb = batches[0]
    assert isinstance(batches[0], list)  # PyTorch collates tuples into lists
    assert xb.shape == (lengths[0], 3) and xb.dtype == gradlite.float32 and yb.dtype == gradlite.int64
    assert xb.device == gradlite.empty(0, device=device).device
    seen = np.concatenate([to_numpy(b[1]) for b in batches])
    assert seen.tolist() == list(range(sum(lengths)))


def test_shuffle_with_generator_is_reproducible_and_complete():
    x, y = _xy(50)
    ds = TensorDataset(x, y)

    def order(loader):
        return [to_numpy(b[1]).tolist() for b in loader]

    a = DataLoader(ds, batch_size=8, shuffle=True, generator=gradlite.Generator().manual_seed(3))
    b = DataLoader(ds, batch_size=8, shuffle=True, generator=gradlite.Generator().manual_seed(3))
    first_a, first_b = order(a), order(b)
    assert first_a == first_b
    flat = sorted(i for batch in first_a for i in batch)
    assert flat == list(range(50))
    assert sum(first_a, []) != list(range(50))  # actually shuffled
    assert order(a) != first_a  # each epoch draws a new permutation
    c = DataLoader(ds, batch_size=8, shuffle=True, generator=gradlite.Generator().manual_seed(4))
    assert order(c) != first_a


def test_shuffle_without_generator_follows_manual_seed():
    ds = TensorDataset(*_xy(30))
    gradlite.manual_seed(7)
    a = [to_numpy(b[1]).tolist() for b in DataLoader(ds, batch_size=30, shuffle=True)]
    gradlite.manual_seed(7)
    b = [to_numpy(b[1]).tolist() for b in DataLoader(ds, batch_size=30, shuffle=True)]
    assert a == b


class Pairs(Dataset):
    """Samples of many kinds, for the collate tests."""

    Point = collections.namedtuple("Point", "x y")

    def __len__(self):
        return 6

    def __getitem__(self, i):
        return {
            "int": i,
            "float": i / 2,
            "str": f"s{i}",
            "array": np.full((2,), i, dtype=np.float32),
            "nested": (gradlite.tensor([i, i + 1]), {"deep": [i * 1.0, gradlite.tensor(float(i))]}),
            "point": self.Point(i, -i),
        }


def test_default_collate_nested():
    batch = next(iter(DataLoader(Pairs(), batch_size=3)))
    assert batch["int"].dtype == gradlite.int64 and to_numpy(batch["int"]).tolist() == [0, 1, 2]
    assert batch["float"].dtype == gradlite.float64 and to_numpy(batch["float"]).tolist() == [0, 0.5, 1.0]
    assert batch["str"] == ["s0", "s1", "s2"]
    assert batch["array"].shape == (3, 2) and batch["array"].dtype == gradlite.float32
    t, deep = batch["nested"]
    assert to_numpy(t).tolist() == [[0, 1], [1, 2], [2, 3]]
    assert to_numpy(deep["deep"][0]).tolist() == [0.0, 1.0, 2.0] and deep["deep"][1].shape == (3,)
    assert isinstance(batch["point"], Pairs.Point) and to_numpy(batch["point"].y).tolist() == [0, -1, -2]


def test_default_collate_matches_torch(torch_cpu):
    samples = [(np.float32(1.5), 2, 3.0, [1, 2]), (np.float32(2.5), 3, 4.0, [3, 4])]
    ours = default_collate(samples)
    theirs = torch_cpu.utils.data.default_collate(samples)
    assert type(ours) is type(theirs) and len(ours) == len(theirs)
    for a, b in zip(ours[:3], theirs[:3], strict=True):
        assert a.dtype.name == str(b.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(to_numpy(a), b.numpy())
    assert [to_numpy(t).tolist() for t in ours[3]] == [t.tolist() for t in theirs[3]]


def test_collate_errors():
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([gradlite.ones(2), gradlite.ones(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(TypeError, match="default_collate: batch must contain"):
        default_collate([object(), object()])


def test_custom_collate_fn_and_no_batching():
    ds = TensorDataset(*_xy(5))
    loader = DataLoader(ds, batch_size=2, collate_fn=lambda batch: len(batch))
    assert list(loader) == [2, 2, 1]
    unbatched = list(DataLoader(ds, batch_size=None))
    assert len(unbatched) == 5 and unbatched[2][1].item() == 2


def test_sampler_and_batch_sampler_arguments():
    ds = TensorDataset(*_xy(6))
    order = [5, 0, 3, 1, 4, 2]
    got = [to_numpy(b[1]).tolist() for b in DataLoader(ds, batch_size=4, sampler=order)]
    assert got == [[5, 0, 3, 1], [4, 2]]
    bs = BatchSampler(SequentialSampler(ds), batch_size=4, drop_last=True)
    assert [to_numpy(b[1]).tolist() for b in DataLoader(ds, batch_sampler=bs)] == [[0, 1, 2, 3]]
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=order, shuffle=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.warns(UserWarning, match="num_workers=2 is ignored"):
        DataLoader(ds, num_workers=2)


def test_iterable_dataset():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(7))

    assert [to_numpy(b).tolist() for b in DataLoader(Stream(), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)


def test_random_split_lengths_and_fractions():
    ds = TensorDataset(*_xy(10))
    a, b = random_split(ds, [7, 3], generator=gradlite.Generator().manual_seed(0))
    assert isinstance(a, Subset) and (len(a), len(b)) == (7, 3)
    ids = sorted(a.indices + b.indices)
    assert ids == list(range(10)) and a.indices != list(range(7))
    again = random_split(ds, [7, 3], generator=gradlite.Generator().manual_seed(0))
    assert again[0].indices == a.indices
    parts = random_split(ds, [0.5, 0.3, 0.2], generator=gradlite.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(TensorDataset(*_xy(11)), [0.5, 0.5])
    assert sorted(len(p) for p in parts) == [5, 6]
    with pytest.raises(
        ValueError, match="Sum of input lengths does not equal the length of the input dataset"
    ):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(ds, [1.5, -0.5])


def test_subset_and_concat():
    ds = TensorDataset(*_xy(10))
    sub = Subset(ds, [9, 2, 4])
    assert len(sub) == 3 and sub[0][1].item() == 9
    both = ConcatDataset([sub, ds])
    assert len(both) == 13 and both[3][1].item() == 0 and both[-1][1].item() == 9
    assert len(sub + ds) == 13
    batch = next(iter(DataLoader(sub, batch_size=3)))
    assert to_numpy(batch[1]).tolist() == [9, 2, 4]


@pytest.mark.parametrize("subset", [False, True])
def test_tensor_dataset_fast_path_equals_plain_collation(subset, device):
    x = gradlite.randn(37, 2, 3, device=device)
    y = gradlite.randint(0, 5, (37,), device=device)
    ds = TensorDataset(x, y)
    if subset:
        ds = Subset(ds, list(range(36, -1, -2)))

    def batches(collate_fn):
        gen = gradlite.Generator().manual_seed(5)
        return list(DataLoader(ds, batch_size=8, shuffle=True, generator=gen, collate_fn=collate_fn))

    fast = batches(None)
    plain = batches(lambda samples: default_collate(samples))  # not default_collate itself: no fast path
    assert len(fast) == len(plain) == len(ds) // 8 + 1
    for (xf, yf), (xp_, yp) in zip(fast, plain, strict=True):
        assert xf.dtype == xp_.dtype and yf.dtype == yp.dtype and xf.device == xp_.device
        np.testing.assert_array_equal(to_numpy(xf), to_numpy(xp_))
        np.testing.assert_array_equal(to_numpy(yf), to_numpy(yp))


def test_fast_path_bad_index():
    ds = TensorDataset(*_xy(4))
    with pytest.raises(IndexError, match="index 9 is out of bounds for dimension 0 with size 4"):
        list(DataLoader(ds, batch_size=2, sampler=[0, 9]))
