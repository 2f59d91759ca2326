"""Regression tests for issue 17's indexing, shape and graph-lifetime rows (F01, F02, F11, F12, F14, F15,
F16, F18, F28, BN), each compared with PyTorch: values, gradients and error classes."""

from __future__ import annotations

import pytest

import gradlite
from tests.conftest import assert_close


def _both(torch, device):
    """(library, device) pairs: gradlite on the test's device, PyTorch as the reference."""
    return ((gradlite, device), (torch, device))


# -- F01: diag of a matrix is a copy -----------------------------------------------------------------------
def test_diag_of_matrix_is_a_copy(device, torch):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.ones(2, 3, device=dev)
        d = lib.diag(x, 1)
        d.fill_(0)
        w = lib.arange(6.0, device=dev).reshape(2, 3).requires_grad_()
        e = lib.diag(w)  # in-place on it is legal: it is not a view of the leaf
        e.mul_(2)
        e.sum().backward()
        out.append((x, d, w.grad))
    for a, b in zip(*out, strict=True):
        assert_close(a, b)


# -- F02: a 0-d bool tensor (or python bool) index is a mask over a new dim of size 1 ----------------------
MASK_KEYS = {
    "true": lambda lib, dev: (lib.tensor(True, device=dev),),
    "false": lambda lib, dev: (lib.tensor(False, device=dev),),
    "after_int": lambda lib, dev: (0, lib.tensor(True, device=dev)),
    "after_ellipsis": lambda lib, dev: (..., lib.tensor(True, device=dev)),
    "before_ellipsis_int": lambda lib, dev: (lib.tensor(True, device=dev), ..., 1),
    "with_index": lambda lib, dev: (
        slice(None), lib.tensor(True, device=dev), lib.tensor([0, 2], device=dev)
    ),
    "broadcast_index": lambda lib, dev: (lib.tensor(True, device=dev), lib.tensor([0, 1, 1], device=dev)),
    "two_masks": lambda lib, dev: (lib.tensor(True, device=dev), lib.tensor(True, device=dev)),
    "none_false": lambda lib, dev: (None, lib.tensor(False, device=dev), 1),
    "python_bool": lambda lib, dev: (True, 0),
    "with_mask": lambda lib, dev: (lib.tensor([True, False], device=dev), lib.tensor(True, device=dev)),
    "all_dims": lambda lib, dev: (1, 2, 3, lib.tensor(True, device=dev)),
}


@pytest.mark.parametrize("key", list(MASK_KEYS))
def test_zero_dim_bool_index_is_a_mask(device, torch, key):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.arange(24.0, device=dev).reshape(2, 3, 4).requires_grad_()
        y = x[MASK_KEYS[key](lib, dev)]
        w = lib.arange(float(y.numel()), device=dev).reshape(y.shape)
        (y * w).sum().backward()
        out.append((y, x.grad))
    for a, b in zip(*out, strict=True):
        assert_close(a, b)


def test_zero_dim_bool_index_errors_and_writes(device, torch):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.arange(6.0, device=dev).reshape(3, 2)
        with pytest.raises(IndexError):
            x[0, 0, 0, lib.tensor(True, device=dev)]
        x[lib.tensor(False, device=dev)] = 9.0
        x[2, lib.tensor(True, device=dev)] = 8.0
        a = lib.arange(6.0, device=dev).reshape(3, 2).requires_grad_()
        b = a * 1
        b[lib.tensor(True, device=dev), 1] = lib.tensor([5.0, 6.0], device=dev, requires_grad=True).sum()
        b.pow(2).sum().backward()
        with pytest.raises(RuntimeError):
            a[lib.tensor(True, device=dev)] = 1.0  # a leaf that requires grad
        out.append((x, b, a.grad))
    for p, q in zip(*out, strict=True):
        assert_close(p, q)


# -- F11: a second backward is legal through a graph that saved nothing ------------------------------------
SECOND_BACKWARD = {
    "add_scalar": lambda lib, x: (x + 1).sum(),
    "sub_neg_mean": lambda lib, x: (2 - (-x)).mean(),
    "views": lambda lib, x: x.t()[0].reshape(1, 2).expand(3, 2).sum(),
    "cat_stack_split": lambda lib, x: lib.stack([lib.cat([x, x]).split(1)[0], x[1:]]).sum(),
    "tril_flip_roll": lambda lib, x: x.tril().flip(0).roll(1).cumsum(0).sum(),
    "clone_to_pad": lambda lib, x: lib.nn.functional.pad(x.clone().double(), (1, 1)).sum(),
    "mul_tensors": lambda lib, x: (x * x).sum(),  # saves x: raises
    "mul_scalar": lambda lib, x: (x * 2).sum(),  # PyTorch saves the scalar as a tensor: raises
    "index_tensor": lambda lib, x: x[lib.tensor([0, 1, 1], device=x.device)].sum(),  # saves the index
    "exp": lambda lib, x: x.exp().sum(),  # saves its output
    "masked_fill": lambda lib, x: x.masked_fill(lib.tensor([True, False, True], device=x.device), 0.0).sum(),
}


@pytest.mark.parametrize("case", list(SECOND_BACKWARD))
def test_second_backward_when_nothing_was_saved(device, torch, case):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.arange(6.0, device=dev).reshape(2, 3).requires_grad_()
        y = SECOND_BACKWARD[case](lib, x)
        y.backward()
        try:
            y.backward()
            err = None
        except RuntimeError as e:
            err = "second time" in str(e)
        out.append((err, x.grad))
    assert out[0][0] == out[1][0]
    assert_close(out[0][1], out[1][1])


# -- F12: var does not save its output (std does) ----------------------------------------------------------
@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inplace_on_var_output(device, torch, op, dtype):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.tensor([[1.0, 2.0], [3.0, 5.0], [0.0, 1.0]], dtype=getattr(lib, dtype), device=dev)
        x.requires_grad_()
        y = getattr(x, op)(0)
        y.mul_(2)
        try:
            (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
            g.pow(2).sum().backward()
            out.append((y, g, x.grad))
        except RuntimeError as e:
            assert "modified by an inplace operation" in str(e)
            out.append(None)
    if out[1] is None:
        assert out[0] is None
        return
    for a, b in zip(*out, strict=True):
        assert_close(a, b)


# -- F14: 0-d results of full reductions are tensors like any other -----------------------------------------
ZERO_DIM_RESULTS = {
    "argmax_add_": lambda lib, x: x.argmax().add_(1),
    "argmin_mul_": lambda lib, x: x.argmin().mul_(3),
    "argmax_of_0d": lambda lib, x: x[0, 0].argmax(0).add_(1),
    "all_dim_mul_": lambda lib, x: x[0].all(0).mul_(False),
    "any_dim_copy_": lambda lib, x: (x[1] > 2).any(0).copy_(lib.tensor(False, device=x.device)),
    "all_fill_": lambda lib, x: x.all().fill_(False),
    "count_nonzero_add_": lambda lib, x: x.count_nonzero().add_(1),
    "int_sum_add_": lambda lib, x: x.long().sum().add_(1),
    "int_max_sub_": lambda lib, x: x.long().max().sub_(1),
    "view_of_0d": lambda lib, x: x.argmax().view(1).add_(1),
    "index_of_0d": lambda lib, x: x.any()[None].logical_not(),
}


@pytest.mark.parametrize("case", list(ZERO_DIM_RESULTS))
def test_zero_dim_reduction_results_take_inplace_ops(device, torch, case):
    got, want = (
        ZERO_DIM_RESULTS[case](lib, lib.tensor([[1.0, 3.0], [0.0, 2.0]], device=dev))
        for lib, dev in _both(torch, device)
    )
    assert_close(got, want)


# -- F15: 0-d tensors: masks, where(cond), dims out of range, repeated dims ---------------------------------
ZERO_DIM_CASES = {
    "mask_true": lambda lib, x: x[x > 0],
    "mask_false": lambda lib, x: x[x < 0],
    "where_int": lambda lib, x: lib.where(lib.tensor(1, device=x.device)),
    "where_zero": lambda lib, x: lib.where(x * 0),
    "nonzero_as_tuple": lambda lib, x: lib.nonzero(x > 0, as_tuple=True),
    "sum_dim_0": lambda lib, x: x.sum(0),
    "sum_dim_-1": lambda lib, x: x.sum(-1, keepdim=True),
    "mean_dims_0_-1_repeated": lambda lib, x: x.mean((0, -1)),
    "sum_dim_1": lambda lib, x: x.sum(1),
    "sum_dim_-2": lambda lib, x: x.sum(-2),
    "mean_dims_0_0": lambda lib, x: x.mean((0, 0)),
    "amax_dim_1": lambda lib, x: x.amax(1),
    "var_dim_1": lambda lib, x: x.var(1),
    "logsumexp_dims_0_0": lambda lib, x: x.logsumexp((0, 0)),
    "all_dim_1": lambda lib, x: (x > 0).all(1),
    "norm_dim_1": lambda lib, x: x.norm(dim=1),
    "squeeze_dim_1": lambda lib, x: x.squeeze(1),
    "matrix_sum_dims_0_-2": lambda lib, x: lib.ones(2, 2, device=x.device).sum((0, -2)),
    "matrix_amin_dims_1_-1": lambda lib, x: lib.ones(2, 2, device=x.device).amin((1, -1)),
    "matrix_std_dims_0_0": lambda lib, x: lib.ones(2, 2, device=x.device).std((0, 0)),
}


def _outcome(fn):
    """What ``fn()`` gives: its tensors (a tuple of them stays a tuple), or the class of its error."""
    try:
        return fn()
    except (IndexError, RuntimeError, ValueError, TypeError) as e:
        return type(e)


def _assert_same_outcome(got, want) -> None:
    """The same error class, or the same values (one tensor or a tuple of them)."""
    if isinstance(want, type):
        assert got is want
        return
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            assert_close(a, b)
        return
    assert_close(got, want)


@pytest.mark.parametrize("case", list(ZERO_DIM_CASES))
def test_zero_dim_tensor_edge_cases(device, torch, case):
    got, want = (
        _outcome(lambda lib=lib, dev=dev: ZERO_DIM_CASES[case](lib, lib.tensor(1.0, device=dev)))
        for lib, dev in _both(torch, device)
    )
    _assert_same_outcome(got, want)


# -- F16: empty tensors: split, tensordot, gather ---------------------------------------------------------
EMPTY_CASES = {
    "split_empty": lambda lib, z: z(0).split(1),
    "split_empty_rows": lambda lib, z: z(0, 3).split(2),
    "split_empty_dim1": lambda lib, z: z(2, 0).split(1, dim=1),
    "split_sizes_zero": lambda lib, z: z(3).split([0, 3, 0]),
    "split_size_0_of_empty": lambda lib, z: z(0).split(0),
    "split_size_0_raises": lambda lib, z: z(5).split(0),
    "chunk_empty": lambda lib, z: z(0).chunk(2),
    "tensordot_empty_result": lambda lib, z: lib.tensordot(z(0, 3), z(3, 0), dims=1),
    "tensordot_empty_contraction": lambda lib, z: lib.tensordot(z(2, 0), z(0, 3), dims=1),
    "tensordot_empty_vectors": lambda lib, z: lib.tensordot(z(0), z(0), dims=1),
    "tensordot_two_dims": lambda lib, z: lib.tensordot(z(2, 0, 3), z(0, 3, 4), dims=2),
    "gather_empty_index": lambda lib, z: lib.gather(z(3), 0, z(0).long()),
    "gather_empty_index_dim1": lambda lib, z: lib.gather(z(3, 2), 1, z(3, 0).long()),
    "gather_empty_source": lambda lib, z: lib.gather(z(0, 2), 1, z(0, 2).long()),
    "gather_0d_index": lambda lib, z: lib.gather(z(3) + 2, 0, z(()).long() + 1),
    "scatter_0d_index": lambda lib, z: z(3).scatter(0, z(()).long() + 1, 2.0),
    "scatter_add_0d_index": lambda lib, z: z(3).scatter_add(0, z(()).long() + 2, z(()) + 5),
}


@pytest.mark.parametrize("case", list(EMPTY_CASES))
def test_empty_tensor_cases(device, torch, case):
    got, want = (
        _outcome(lambda lib=lib, dev=dev: EMPTY_CASES[case](lib, lambda *s: lib.zeros(*s, device=dev)))
        for lib, dev in _both(torch, device)
    )
    _assert_same_outcome(got, want)


def test_empty_split_tensordot_gather_gradients(device, torch):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.ones(0, 2, device=dev, requires_grad=True)
        sum(p.sum() for p in x.split(1)).backward()
        a = lib.ones(2, 0, device=dev, requires_grad=True)
        b = lib.ones(0, 3, device=dev, requires_grad=True)
        lib.tensordot(a, b, dims=1).sum().backward()
        s = lib.tensor([1.0, 2.0, 3.0], device=dev, requires_grad=True)
        none = lib.zeros(0, dtype=lib.long, device=dev)
        y = lib.gather(s, 0, lib.tensor(2, device=dev)) + lib.gather(s, 0, none).sum()
        (g,) = lib.autograd.grad(y * y, s, create_graph=True)
        g.sum().backward()
        out.append((x.grad, a.grad, b.grad, y, g, s.grad))
    for p, q in zip(*out, strict=True):
        assert_close(p, q)


# -- F18: masked_fill's mask may broadcast the result --------------------------------------------------------
@pytest.mark.parametrize("value_tensor", [False, True], ids=["scalar", "tensor"])
def test_masked_fill_mask_broadcasts_result(device, torch, value_tensor):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.tensor([0.5, 2.0], device=dev, requires_grad=True)
        v = lib.tensor(3.0, device=dev, requires_grad=True)
        mask = lib.tensor([[True], [False]], device=dev)
        y = x.masked_fill(mask, v if value_tensor else 1.0)
        (g,) = lib.autograd.grad((y * y * lib.tensor([[1.0, 2.0], [3.0, 4.0]], device=dev)).sum(), x,
                                 create_graph=True)
        g.sum().backward()
        z = lib.tensor(0.5, device=dev).masked_fill(mask, 1.0)  # a 0-d x
        i = lib.tensor([1, 2], device=dev).masked_fill(mask, 7)
        with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
            lib.tensor([0.5], device=dev).masked_fill_(mask, 1.0)
        with pytest.raises(RuntimeError, match=r"tensor a \(4\) must match the size of tensor b \(2\)"):
            lib.ones(2, 3, device=dev).masked_fill(lib.ones(4, 1, dtype=lib.bool, device=dev), 1.0)
        out.append((y, g, x.grad, v.grad if value_tensor else z, z, i, y.grad_fn.name()))
    for p, q in zip(out[0][:-1], out[1][:-1], strict=True):
        assert_close(p, q)
    assert out[0][-1] == out[1][-1]


# -- F28: flatten returns x when nothing merges; the 0-norm sends no gradient ------------------------------
def test_flatten_without_merge_is_identity(device, torch):
    for lib, dev in _both(torch, device):
        v, x = lib.ones(3, device=dev), lib.ones(2, 3, device=dev)
        assert v.flatten() is v and x.flatten(1, 1) is x and lib.flatten(x, -1, 1) is x
        assert x.flatten(0, 1) is not x and tuple(lib.tensor(1.0, device=dev).flatten().shape) == (1,)


ZERO_NORMS = {
    "norm": lambda lib, x: x.norm(p=0),
    "norm_of_nonleaf": lambda lib, x: (x * 2).norm(p=0),
    "vector_norm_dim": lambda lib, x: lib.linalg.vector_norm(x[None], ord=0, dim=1).sum(),
    "plus_sum": lambda lib, x: (x * 2).norm(p=0) + x.sum(),
}


@pytest.mark.parametrize("case", list(ZERO_NORMS))
def test_zero_norm_sends_no_gradient(device, torch, case):
    out = []
    for lib, dev in _both(torch, device):
        x = lib.tensor([0.0, 1.0, -2.0], device=dev, requires_grad=True)
        y = ZERO_NORMS[case](lib, x)
        y.backward()
        (g,) = lib.autograd.grad(ZERO_NORMS[case](lib, x), x, allow_unused=True)
        out.append((y, x.grad, g))
    for a, b in zip(*out, strict=True):
        if b is None:
            assert a is None
        else:
            assert_close(a, b)


# -- BN: a training batch with one value per channel raises and changes no state (stricter than PyTorch) ----
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_state_unchanged_by_a_failed_batch(device, torch_cpu, momentum):
    out = []
    for lib, dev in ((gradlite, device), (torch_cpu, "cpu")):
        m = lib.nn.BatchNorm1d(3, momentum=momentum, device=dev)
        for step in range(3):
            x = lib.arange(12.0, device=dev).reshape(4, 3) * (step + 1)
            m(x)
        before = [b.clone() for b in m.buffers()]
        for bad in (lib.ones(1, 3, device=dev), lib.ones(1, 3, 1, device=dev), lib.ones(2, 4, device=dev)):
            with pytest.raises((ValueError, RuntimeError)):
                m(bad)
        if lib is gradlite:
            for b, c in zip(m.buffers(), before, strict=True):
                assert_close(b, c)
        else:  # PyTorch counts the batch before raising: gradlite is stricter
            assert int(m.num_batches_tracked) == 6
            m.num_batches_tracked.fill_(3)
        m(lib.arange(6.0, device=dev).reshape(2, 3))
        out.append(list(m.buffers()))
    for a, b in zip(*out, strict=True):
        assert_close(a, b)


# -- F28: topk with ties: PyTorch leaves the tied indices unspecified; gradlite takes the lowest ----------
@pytest.mark.parametrize("largest", [True, False])
def test_topk_ties_values_match_and_indices_point_at_them(device, torch, largest):
    data = [[1.0, 3.0, 3.0, 3.0, 0.0], [5.0, 5.0, 5.0, 5.0, 5.0], [2.0, 3.0, 3.0, 1.0, 3.0]]
    for k in range(6):
        (gv, gi), (tv, ti) = (
            lib.tensor(data, device=dev).topk(k, largest=largest) for lib, dev in _both(torch, device)
        )
        assert_close(gv, tv)
        x = gradlite.tensor(data, device=device)
        assert_close(x.gather(1, gi), gv)
        # among equal values the indices ascend (a stable order), the same on every device
        for row_v, row_i in zip(gv.tolist(), gi.tolist(), strict=True):
            for j in range(len(row_v) - 1):
                if row_v[j] == row_v[j + 1]:
                    assert row_i[j] < row_i[j + 1]
