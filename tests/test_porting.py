"""Porting: a training script written in PyTorch's idiom (model class, DataLoader, loss, optimizer,
scheduler, clipping, eval loop, checkpoint and resume) runs on PyTorch and on gradlite with only its
import lines changed, and gives the same losses step by step from the same weights and data order."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

TORCH_IMPORTS = """\
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
"""

GRADLITE_IMPORTS = """\
import gradlite as torch
import gradlite.nn.functional as F
from gradlite import nn
from gradlite.utils.data import DataLoader, TensorDataset
"""

SCRIPT = """

class Net(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, n_hidden)
        self.fc2 = nn.Linear(n_hidden, n_hidden)
        self.head = nn.Linear(n_hidden, n_out)

    def forward(self, x):
        x = torch.tanh(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.head(x)


def make_optimizer(name, params):
    if name == "sgd":
        opt = torch.optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    if name == "adam":
        opt = torch.optim.Adam(params, lr=0.01, weight_decay=1e-4)
        return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)
    if name == "adamw":
        opt = torch.optim.AdamW(params, lr=0.01, amsgrad=True)
        return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.8)
    if name == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=0.003, momentum=0.5, centered=True)
        return opt, torch.optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    opt = torch.optim.Adagrad(params, lr=0.05, lr_decay=0.01)
    return opt, torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=3)


def evaluate(model, loader, loss_fn):
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total_loss += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(dim=1) == y).sum().item()
            n += len(y)
    return total_loss / n, correct / n


def train(init, X, Y, order, opt_name, ckpt_path, epochs=4):
    model = Net(X.shape[1], 16, 3)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    dataset = TensorDataset(torch.tensor(X), torch.tensor(Y))
    loader = DataLoader(dataset, batch_size=16, sampler=order)
    eval_loader = DataLoader(dataset, batch_size=64)
    loss_fn = nn.CrossEntropyLoss()
    optimizer, scheduler = make_optimizer(opt_name, model.parameters())
    losses, evals = [], []
    for epoch in range(epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
            optimizer.step()
            losses.append(loss.item())
        scheduler.step()
        evals.append(evaluate(model, eval_loader, loss_fn))
        if epoch == 1:
            torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict()}, ckpt_path)

    # resume from the epoch-1 checkpoint in a fresh model and optimizer, and redo the last epochs
    ckpt = torch.load(ckpt_path)
    model = Net(X.shape[1], 16, 3)
    model.load_state_dict(ckpt["model"])
    optimizer, scheduler = make_optimizer(opt_name, model.parameters())
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    resumed = []
    for epoch in range(ckpt["epoch"] + 1, epochs):
        model.train()
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
            optimizer.step()
            resumed.append(loss.item())
        scheduler.step()
    return {"losses": losses, "evals": evals, "resumed": resumed, "lr": scheduler.get_last_lr()}
"""


def _data(n=96, d=6, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, d)) * 1.5
    y = rng.integers(0, 3, n)
    x = (centers[y] + rng.standard_normal((n, d))).astype(np.float32)
    return x, y.astype(np.int64)


def _init(d, torch_cpu, seed=0):
    torch_cpu.manual_seed(seed)
    lin = [torch_cpu.nn.Linear(d, 16), torch_cpu.nn.Linear(16, 16), torch_cpu.nn.Linear(16, 3)]
    out = {}
    for name, layer in zip(["fc1", "fc2", "head"], lin, strict=True):
        out[f"{name}.weight"] = layer.weight.detach().numpy().copy()
        out[f"{name}.bias"] = layer.bias.detach().numpy().copy()
    return out


def _run(imports: str, *args):
    namespace: dict = {"__name__": "ported_script"}
    exec(compile(imports + SCRIPT, "<ported script>", "exec"), namespace)
    # tiny matrices: one BLAS thread is fastest, and oversubscribed threads crawl on a busy machine
    with _one_blas_thread():
        return namespace["train"](*args)


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def test_only_the_import_lines_differ():
    torch_text, gradlite_text = (
        (TORCH_IMPORTS + SCRIPT).splitlines(),
        (GRADLITE_IMPORTS + SCRIPT).splitlines(),
    )
    diff = [(a, b) for a, b in zip(torch_text, gradlite_text, strict=True) if a != b]
    assert len(torch_text) == len(gradlite_text) and len(diff) == 4
    assert all(a.startswith(("import ", "from ")) for a, _ in diff)


@pytest.mark.parametrize("opt_name", ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
def test_script_runs_identically_on_torch_and_gradlite(opt_name, torch_cpu, tmp_path):
    x, y = _data()
    init = _init(x.shape[1], torch_cpu)
    order = np.random.default_rng(1).permutation(len(x)).tolist()
    theirs = _run(TORCH_IMPORTS, init, x, y, order, opt_name, str(tmp_path / "torch.pt"))
    ours = _run(GRADLITE_IMPORTS, init, x, y, order, opt_name, str(tmp_path / "gradlite.ckpt"))

    assert len(ours["losses"]) == len(theirs["losses"]) == 4 * 6
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["evals"], theirs["evals"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["resumed"], theirs["resumed"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["lr"], theirs["lr"], rtol=1e-12)
    # resuming from the checkpoint reproduces the uninterrupted run's last two epochs
    np.testing.assert_allclose(ours["resumed"], ours["losses"][12:], rtol=1e-6, atol=1e-7)
    assert ours["losses"][-1] < 0.7 * ours["losses"][0]  # it trained
