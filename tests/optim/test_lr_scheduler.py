"""Learning-rate schedulers: the lr (and, for OneCycleLR, momentum) sequences equal PyTorch's."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import gradlite
from gradlite import optim
from gradlite.optim import lr_scheduler

SCHEDULERS = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5, 5, 9], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}),
    ("LinearLR", {"start_factor": 0.25, "end_factor": 0.9, "total_iters": 6}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1.0 / (1 + epoch) ** 0.5}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 25}),
    (
        "OneCycleLR",
        {
            "max_lr": [0.5, 0.2],
            "epochs": 5,
            "steps_per_epoch": 5,
            "anneal_strategy": "linear",
            "three_phase": True,
        },
    ),
]


def _optimizer(lib, opt_name: str = "SGD"):
    a = lib.ones(2, requires_grad=True)
    b = lib.ones(3, requires_grad=True)
    mod = optim if lib is gradlite else lib.optim
    kw = {"momentum": 0.9} if opt_name == "SGD" else {}
    return mod.__dict__[opt_name]([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, **kw), (a, b)


def _sequence(lib, name, kw, epochs: int, opt_name: str = "SGD"):
    opt, params = _optimizer(lib, opt_name)
    sched = getattr(lib.optim.lr_scheduler if lib is not gradlite else lr_scheduler, name)(opt, **kw)
    seq = [list(sched.get_last_lr())]
    momenta = []
    for _ in range(epochs):
        for p in params:
            p.grad = lib.ones_like(p)
        opt.step()
        sched.step()
        seq.append(list(sched.get_last_lr()))
        momenta.append([g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups])
        assert seq[-1] == [g["lr"] for g in opt.param_groups]
    return seq, momenta


@pytest.mark.parametrize("case", SCHEDULERS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULERS)])
@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_sequence_matches_torch(case, opt_name, torch_cpu):
    name, kw = case
    epochs = 25 if name == "OneCycleLR" else 20
    ours, ours_m = _sequence(gradlite, name, kw, epochs, opt_name)
    theirs, theirs_m = _sequence(torch_cpu, name, kw, epochs, opt_name)
    assert len(ours) == epochs + 1
    for a, b in zip(ours, theirs, strict=True):
        assert a == pytest.approx(b, rel=1e-12, abs=1e-15)
    for a, b in zip(ours_m, theirs_m, strict=True):
        assert a == pytest.approx(b, rel=1e-12)
    assert len({round(x[0], 12) for x in ours}) > 1  # the schedule changed the lr


def test_one_cycle_past_total_steps_raises():
    opt, _ = _optimizer(gradlite)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sched.step()
        sched.step()
        with pytest.raises(
            ValueError, match="Tried to step 3 times. The specified number of total steps is 2"
        ):
            sched.step()


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"mode": "max", "patience": 1, "factor": 0.5, "cooldown": 2},
        {"threshold_mode": "abs", "threshold": 0.1, "patience": 0, "min_lr": [0.02, 0.04]},
    ],
)
def test_reduce_on_plateau_matches_torch(kw, torch_cpu):
    metrics = [1.0, 0.9, 0.95, 0.95, 0.97, 0.89, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.88, 0.9, 0.9] * 2
    seqs = []
    for lib in (gradlite, torch_cpu):
        opt, _ = _optimizer(lib)
        mod = lr_scheduler if lib is gradlite else lib.optim.lr_scheduler
        sched = mod.ReduceLROnPlateau(opt, **kw)
        seq = []
        for m in metrics:
            sched.step(lib.tensor(m, dtype=lib.float64))
            seq.append(sched.get_last_lr())
        seqs.append(seq)
    np.testing.assert_allclose(np.array(seqs[0]), np.array(seqs[1]), rtol=1e-12)
    assert seqs[0][-1] != seqs[0][0]


def test_state_dict_resume():
    opt, _ = _optimizer(gradlite)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4):
            sched.step()
        sd = sched.state_dict()
        assert "optimizer" not in sd and sd["last_epoch"] == 4
        expected = []
        for _ in range(4):
            sched.step()
            expected.append(sched.get_last_lr())
        opt2, _ = _optimizer(gradlite)
        for g, lr in zip(opt2.param_groups, sd["_last_lr"], strict=True):
            g["lr"], g["initial_lr"] = lr, 0.1
        sched2 = lr_scheduler.CosineAnnealingLR(opt2, T_max=10)
        sched2.load_state_dict(sd)
        got = []
        for _ in range(4):
            sched2.step()
            got.append(sched2.get_last_lr())
    np.testing.assert_allclose(np.array(got), np.array(expected), rtol=1e-12)


def test_errors():
    opt, _ = _optimizer(gradlite)
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=1)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        lr_scheduler.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.ExponentialLR(optim.SGD([gradlite.ones(1, requires_grad=True)]), gamma=0.5, last_epoch=3)


def test_warns_when_stepped_before_optimizer():
    opt, _ = _optimizer(gradlite)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_cosine_closed_form_with_epoch():
    opt, _ = _optimizer(gradlite)
    sched = lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        sched.step(5)
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * 5 / 10)) / 2)


def test_no_warning_for_user_optimizer_stepped_first():
    class Plain(optim.Optimizer):
        def __init__(self, params):
            super().__init__(params, {"lr": 0.1})

        def step(self, closure=None):
            return None

    opt = Plain([gradlite.ones(1, requires_grad=True)])
    sched = lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    lr_scheduler.ExponentialLR(opt, gamma=0.9)  # a second scheduler does not wrap step twice
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()
    assert sched.get_last_lr() == [0.05]
