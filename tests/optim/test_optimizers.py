"""Optimizers against PyTorch: 20-step trajectories for several option sets, param groups, skipped
parameters, hyper-parameter validation, zero_grad, and the in-place, checked-before-update step."""

from __future__ import annotations

import numpy as np
import pytest

import gradlite
from gradlite import optim

from ._helpers import host, make_params, run, set_grads, start_values

CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "maximize": True, "weight_decay": 0.05}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.02, "weight_decay": 0.1, "amsgrad": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.005, "centered": True, "momentum": 0.5, "weight_decay": 0.1, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-6, "maximize": True}),
]


def _ids(case):
    name, kw = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


def assert_trajectories_equal(ours, theirs, rtol=2e-5, atol=2e-6):
    assert len(ours) == len(theirs)
    for step, (a_step, b_step) in enumerate(zip(ours, theirs, strict=True)):
        for i, (a, b) in enumerate(zip(a_step, b_step, strict=True)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"step {step}, param {i}")


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_trajectory_matches_torch(case, device, torch_cpu):
    name, kw = case
    values = start_values()
    ours = run(getattr(optim, name), make_params(values, gradlite, device), gradlite, 20, device, kw)[1]
    theirs = run(getattr(torch_cpu.optim, name), make_params(values, torch_cpu), torch_cpu, 20, kwargs=kw)[1]
    assert_trajectories_equal(ours, theirs)
    # the run really moved the parameters (a step that did nothing would also "match" a broken reference)
    assert not np.allclose(ours[-1][0], values[0])


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_params_without_grad_are_skipped(name, device, torch_cpu):
    kw = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05}
    values = start_values(1)
    ours_opt, ours = run(
        getattr(optim, name), make_params(values, gradlite, device), gradlite, 20, device, kw, skip_every=2
    )
    theirs_opt, theirs = run(
        getattr(torch_cpu.optim, name), make_params(values, torch_cpu), torch_cpu, 20, kwargs=kw, skip_every=2
    )
    assert_trajectories_equal(ours, theirs)
    # a parameter skipped at step 0 has no state until its first gradient, in both libraries
    ours_steps = [float(s["step"]) for s in ours_opt.state_dict()["state"].values() if "step" in s]
    theirs_steps = [float(s["step"]) for s in theirs_opt.state_dict()["state"].values() if "step" in s]
    assert ours_steps == theirs_steps


def test_float64_params(device, torch_cpu):
    values = start_values(2, dtype=np.float64)
    ours = run(optim.Adam, make_params(values, gradlite, device), gradlite, 20, device, {"lr": 0.01})[1]
    theirs = run(torch_cpu.optim.Adam, make_params(values, torch_cpu), torch_cpu, 20, kwargs={"lr": 0.01})[1]
    assert ours[-1][0].dtype == np.float64
    assert_trajectories_equal(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_param_groups_match_torch(name, device, torch_cpu):
    def groups(ps):
        extra = {"momentum": 0.5} if name in ("SGD", "RMSprop") else {"betas": (0.5, 0.9)}
        return [{"params": ps[:2]}, {"params": [ps[2]], "lr": 0.003, "weight_decay": 0.2, **extra}]

    values = start_values(3)
    kw = {"lr": 0.05}
    ours_opt, ours = run(
        getattr(optim, name), make_params(values, gradlite, device), gradlite, 20, device, kw, groups=groups
    )
    theirs_opt, theirs = run(
        getattr(torch_cpu.optim, name),
        make_params(values, torch_cpu),
        torch_cpu,
        20,
        kwargs=kw,
        groups=groups,
    )
    assert_trajectories_equal(ours, theirs)
    assert [g["lr"] for g in ours_opt.param_groups] == [0.05, 0.003]
    assert (
        ours_opt.state_dict()["param_groups"][1]["params"]
        == theirs_opt.state_dict()["param_groups"][1]["params"]
    )


def test_add_param_group(device, torch_cpu):
    values = start_values(4)
    results = []
    for lib in (gradlite, torch_cpu):
        ps = make_params(values, lib, device if lib is gradlite else "cpu")
        opt = (optim if lib is gradlite else lib.optim).SGD(ps[:1], lr=0.1, momentum=0.9)
        opt.add_param_group({"params": ps[1:], "lr": 0.01})
        assert opt.param_groups[1]["momentum"] == 0.9  # filled in from the defaults

        for k in range(5):
            set_grads(ps, k, lib, device if lib is gradlite else "cpu")
            opt.step()
        results.append([host(p) for p in ps])
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)


def test_add_param_group_errors():
    a, b = gradlite.nn.Parameter(gradlite.ones(2)), gradlite.nn.Parameter(gradlite.ones(2))
    opt = optim.SGD([a], lr=0.1)
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        opt.add_param_group({"params": [1.0]})
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        opt.add_param_group({"params": [b * 2]})
    with pytest.raises(TypeError, match="ordered collections"):
        opt.add_param_group({"params": {b}})
    with pytest.raises(ValueError, match="Invalid learning rate: -0.5"):
        opt.add_param_group({"params": [b], "lr": -0.5})
    assert len(opt.param_groups) == 1


def test_constructor_errors():
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="params argument given to the optimizer should be an iterable"):
        optim.Adam(gradlite.ones(2, requires_grad=True))


BAD = [
    ("SGD", {"lr": -1}),
    ("SGD", {"lr": 0.1, "momentum": -0.5}),
    ("SGD", {"lr": 0.1, "weight_decay": -1e-3}),
    ("SGD", {"lr": 0.1, "nesterov": True}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}),
    ("Adam", {"lr": -0.1}),
    ("Adam", {"eps": -1e-8}),
    ("Adam", {"betas": (1.0, 0.999)}),
    ("Adam", {"betas": (0.9, -0.1)}),
    ("Adam", {"weight_decay": -1}),
    ("AdamW", {"lr": -2.0}),
    ("RMSprop", {"alpha": -0.1}),
    ("RMSprop", {"momentum": -1}),
    ("RMSprop", {"eps": -1.0}),
    ("Adagrad", {"lr_decay": -1}),
    ("Adagrad", {"initial_accumulator_value": -0.5}),
]


@pytest.mark.parametrize("case", BAD, ids=[_ids(c) for c in BAD])
def test_validation_errors_match_torch(case, torch_cpu):
    name, kw = case
    with pytest.raises(ValueError) as theirs:
        getattr(torch_cpu.optim, name)([torch_cpu.ones(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError) as ours:
        getattr(optim, name)([gradlite.ones(2, requires_grad=True)], **kw)
    assert str(ours.value) == str(theirs.value)


def test_zero_grad(device):
    p = gradlite.nn.Parameter(gradlite.ones(3, device=device))
    opt = optim.SGD([p], lr=0.1)
    p.grad = gradlite.ones(3, device=device)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and host(p.grad).tolist() == [0, 0, 0]
    opt.zero_grad()
    assert p.grad is None


def test_step_is_in_place_and_bumps_version(device):
    p = gradlite.nn.Parameter(gradlite.tensor([1.0, 2.0], device=device))
    alias = p.data  # shares p's storage
    y = (p * p).sum()  # saves p for backward
    p.grad = gradlite.tensor([1.0, 1.0], device=device)
    optim.SGD([p], lr=0.5).step()
    assert host(alias).tolist() == [0.5, 1.5]
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_bad_grad_raises_before_any_update(device):
    a = gradlite.nn.Parameter(gradlite.ones(2, device=device))
    b = gradlite.nn.Parameter(gradlite.ones(3, device=device))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = gradlite.ones(2, device=device)
    b._grad = gradlite.ones(4, device=device)  # the setter refuses this; simulate a corrupted grad
    with pytest.raises(RuntimeError, match=r"gradient has shape gradlite.Size\(\[4\]\).*\[3\]"):
        opt.step()
    assert host(a).tolist() == [1, 1] and not opt.state
    b._grad = gradlite.ones(3, dtype=gradlite.float64, device=device)
    with pytest.raises(RuntimeError, match="dtype"):
        opt.step()
    assert host(a).tolist() == [1, 1]


def test_closure_returns_loss(device):
    w = gradlite.nn.Parameter(gradlite.tensor([3.0], device=device))
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with gradlite.no_grad():  # step's closure runs with grad enabled even here
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert host(w).tolist() == [1.5]


def test_repr():
    opt = optim.SGD([gradlite.ones(1, requires_grad=True)], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert (
        text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text and text.endswith(")")
    )


def test_user_defined_optimizer_in_pytorch_style(device, torch_cpu):
    """A custom optimizer written against torch.optim.Optimizer's API runs unchanged on gradlite."""

    def make(lib):
        class SignSGD(lib.optim.Optimizer):
            def __init__(self, params, lr=0.1):
                if lr < 0:
                    raise ValueError(f"Invalid learning rate: {lr}")
                super().__init__(params, dict(lr=lr))

            @lib.no_grad()
            def step(self, closure=None):
                for group in self.param_groups:
                    for p in group["params"]:
                        if p.grad is None:
                            continue
                        state = self.state[p]
                        state["steps"] = state.get("steps", 0) + 1
                        p.add_(p.grad.sign(), alpha=-group["lr"] / state["steps"])

        return SignSGD

    values = start_values(9)
    ours_opt, ours = run(make(gradlite), make_params(values, gradlite, device), gradlite, 10, device)
    theirs_opt, theirs = run(make(torch_cpu), make_params(values, torch_cpu), torch_cpu, 10)
    assert_trajectories_equal(ours, theirs)
    expected = {i: {"steps": 10} for i in range(3)}
    assert ours_opt.state_dict()["state"] == theirs_opt.state_dict()["state"] == expected


@pytest.mark.parametrize("case", CASES[::3] + CASES[-1:], ids=[_ids(c) for c in CASES[::3] + CASES[-1:]])
def test_step_and_clipping_never_read_tensors_back(case, device, monkeypatch):
    """No .item() / bool() / float() / host copy of a tensor inside step() or clip_grad_norm_ (a GPU sync)."""
    name, kw = case
    params = make_params(start_values(), gradlite, device)
    opt = getattr(optim, name)(params, **kw)
    set_grads(params, 0, gradlite, device)

    def refuse(*args, **kwargs):
        raise AssertionError("a tensor was read back to the host")

    for attr in ("item", "tolist", "_host", "__bool__", "__float__", "__int__", "__index__", "numpy"):
        monkeypatch.setattr(gradlite.Tensor, attr, refuse)
    for _ in range(3):
        gradlite.nn.utils.clip_grad_norm_(params, 0.5)
        gradlite.nn.utils.clip_grad_value_(params, 0.1)
        opt.step()
    monkeypatch.undo()
    assert not np.allclose(host(params[0]), start_values()[0])
