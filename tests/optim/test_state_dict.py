"""Optimizer state dicts: PyTorch's layout, round trips (in memory and through gradlite.save/load),
resuming mid-training identically, loading PyTorch's own state dict, and failed loads changing nothing."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import gradlite
from gradlite import optim

from ._helpers import host, make_params, set_grads, start_values

KW = {
    "SGD": {"lr": 0.05, "momentum": 0.9},
    "Adam": {"lr": 0.01, "amsgrad": True},
    "AdamW": {"lr": 0.01},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01},
}


def _steps(opt, params, lib, first: int, n: int, device: str = "cpu") -> None:
    for k in range(first, first + n):
        set_grads(params, k, lib, device)
        opt.step()


@pytest.mark.parametrize("name", list(KW))
def test_layout_matches_torch(name, torch_cpu):
    values = start_values()
    ours_p, theirs_p = make_params(values, gradlite), make_params(values, torch_cpu)
    ours = getattr(optim, name)([{"params": ours_p[:1]}, {"params": ours_p[1:], "lr": 0.5}], **KW[name])
    theirs = getattr(torch_cpu.optim, name)(
        [{"params": theirs_p[:1]}, {"params": theirs_p[1:], "lr": 0.5}], **KW[name]
    )
    _steps(ours, ours_p, gradlite, 0, 3)
    _steps(theirs, theirs_p, torch_cpu, 0, 3)
    a, b = ours.state_dict(), theirs.state_dict()
    assert set(a) == {"state", "param_groups"}
    assert sorted(a["state"]) == sorted(b["state"]) == [0, 1, 2]
    for i in a["state"]:
        assert set(a["state"][i]) == set(b["state"][i])
        for key, v in a["state"][i].items():
            assert v.dtype.name == str(b["state"][i][key].dtype).removeprefix("torch.")
            np.testing.assert_allclose(host(v), host(b["state"][i][key]), rtol=1e-5, atol=1e-6)
    for ga, gb in zip(a["param_groups"], b["param_groups"], strict=True):
        assert ga["params"] == gb["params"]
        assert set(ga) <= set(gb)  # PyTorch adds its foreach/fused/... flags
        for k in ga:
            assert ga[k] == gb[k], k


@pytest.mark.parametrize("name", list(KW))
def test_resume_mid_training_is_identical(name, device, tmp_path):
    values = start_values(5)
    ref_p = make_params(values, gradlite, device)
    ref = getattr(optim, name)(ref_p, **KW[name])
    _steps(ref, ref_p, gradlite, 0, 20, device)

    first_p = make_params(values, gradlite, device)
    first = getattr(optim, name)(first_p, **KW[name])
    _steps(first, first_p, gradlite, 0, 10, device)
    path = tmp_path / "opt.ckpt"
    gradlite.save({"params": [p.detach() for p in first_p], "optim": first.state_dict()}, path)
    ckpt = gradlite.load(path)
    second_p = [gradlite.nn.Parameter(t) for t in ckpt["params"]]
    second = getattr(optim, name)(second_p, **{**KW[name], "lr": 123.0})  # lr comes back from the checkpoint
    second.load_state_dict(ckpt["optim"])
    assert second.param_groups[0]["lr"] == KW[name]["lr"]
    _steps(second, second_p, gradlite, 10, 10, device)
    for a, b in zip(ref_p, second_p, strict=True):
        np.testing.assert_array_equal(host(a), host(b))
    # the first optimizer's state was not aliased by the second one (loading copies)
    _steps(first, first_p, gradlite, 10, 10, device)
    for a, b in zip(ref_p, first_p, strict=True):
        np.testing.assert_array_equal(host(a), host(b))


def test_load_torch_state_dict_and_continue(torch_cpu):
    values = start_values(6)
    theirs_p = make_params(values, torch_cpu)
    theirs = torch_cpu.optim.Adam(theirs_p, lr=0.01, amsgrad=True)
    _steps(theirs, theirs_p, torch_cpu, 0, 7)
    sd = theirs.state_dict()
    converted = {
        "state": {i: {k: gradlite.tensor(v.numpy()) for k, v in s.items()} for i, s in sd["state"].items()},
        "param_groups": copy.deepcopy(sd["param_groups"]),
    }
    ours_p = [gradlite.nn.Parameter(gradlite.tensor(host(p))) for p in theirs_p]
    ours = optim.Adam(ours_p, lr=0.01, amsgrad=True)
    ours.load_state_dict(converted)
    _steps(theirs, theirs_p, torch_cpu, 7, 10)
    _steps(ours, ours_p, gradlite, 7, 10)
    for a, b in zip(ours_p, theirs_p, strict=True):
        np.testing.assert_allclose(host(a), host(b), rtol=2e-5, atol=2e-6)


def _snapshot(opt):
    sd = opt.state_dict()
    return (
        {i: {k: host(v) for k, v in s.items()} for i, s in sd["state"].items()},
        copy.deepcopy(sd["param_groups"]),
    )


def _assert_same(snap_a, snap_b):
    assert snap_a[1] == snap_b[1]
    assert snap_a[0].keys() == snap_b[0].keys()
    for i in snap_a[0]:
        for k in snap_a[0][i]:
            np.testing.assert_array_equal(snap_a[0][i][k], snap_b[0][i][k])


def test_failed_load_changes_nothing():
    values = start_values(7)
    ps = make_params(values, gradlite)
    opt = optim.Adam(ps, lr=0.01)
    _steps(opt, ps, gradlite, 0, 3)
    before = _snapshot(opt)
    good = opt.state_dict()

    fewer_groups = {"state": {}, "param_groups": []}
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(fewer_groups)
    wrong_size = copy.deepcopy({"state": {}, "param_groups": good["param_groups"]})
    wrong_size["param_groups"][0]["params"] = [0, 1]
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(wrong_size)
    wrong_shape = {"state": dict(good["state"]), "param_groups": copy.deepcopy(good["param_groups"])}
    wrong_shape["param_groups"][0]["lr"] = 99.0
    wrong_shape["state"][2] = {**good["state"][2], "exp_avg": gradlite.zeros(5)}
    with pytest.raises(ValueError, match="exp_avg.*shape"):
        opt.load_state_dict(wrong_shape)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    after = _snapshot(opt)
    _assert_same(before, after)
    assert opt.param_groups[0]["params"] is not None and opt.param_groups[0]["lr"] == 0.01


def test_state_follows_param_dtype_and_device_step_stays_on_cpu(device):
    p = gradlite.nn.Parameter(gradlite.ones(2, dtype=gradlite.float64, device=device))
    opt = optim.Adam([p], lr=0.1)
    sd = {
        "state": {
            0: {"step": gradlite.tensor(4.0), "exp_avg": gradlite.ones(2), "exp_avg_sq": gradlite.ones(2)}
        },
        "param_groups": [
            {
                "lr": 0.1,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0.0,
                "amsgrad": False,
                "maximize": False,
                "params": [0],
            }
        ],
    }
    opt.load_state_dict(sd)
    st = opt.state[p]
    assert st["exp_avg"].dtype == gradlite.float64 and st["step"].dtype == gradlite.float32
    assert st["exp_avg"].device == p.device and st["step"].device == gradlite.device("cpu")
    p.grad = gradlite.ones(2, dtype=gradlite.float64, device=device)
    opt.step()
    assert float(st["step"]) == 5.0
    assert sd["state"][0]["step"].item() == 4.0  # the loaded dict was copied, not aliased
