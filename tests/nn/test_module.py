"""nn.Module and the containers: registration, traversal, state dicts, modes, moves, hooks, repr."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import gradlite
from gradlite import nn
from tests.conftest import assert_close, to_numpy
from tests.nn.parity import check_module, copy_from_torch, state_from_torch


def make_net(lib):
    """The same small model class written against either library's API."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = lib.nn.Sequential(
                lib.nn.Conv2d(1, 4, 3, padding=1), lib.nn.BatchNorm2d(4), lib.nn.ReLU(), lib.nn.MaxPool2d(2)
            )
            self.head = lib.nn.ModuleDict({"fc": lib.nn.Linear(4 * 3 * 3, 5), "act": lib.nn.Tanh()})
            self.scale = lib.nn.Parameter(lib.ones(5))
            self.register_buffer("offset", lib.zeros(5))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

        def forward(self, x):
            h = self.features(x).flatten(1)
            return self.head["act"](self.head["fc"](h)) * self.scale + self.offset

    return Net()


def test_custom_model_matches_torch(device, torch):
    tm, gm = make_net(torch), make_net(gradlite).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in gm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in gm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in gm.named_children()] == [n for n, _ in tm.named_children()]
    assert "scratch" not in gm.state_dict()
    check_module(
        torch,
        gm,
        tm,
        [np.random.default_rng(0).standard_normal((2, 1, 6, 6)).astype(np.float32)],
        device,
        rtol=1e-4,
        atol=1e-5,
    )


def test_forgotten_super_init_fails_loudly():
    class Bad(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"before Module.__init__\(\) call.*super\(\).__init__\(\)"):
        Bad()

    class BadParam(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gradlite.zeros(2))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        BadParam()

    class BadBuffer(nn.Module):
        def __init__(self):
            self.register_buffer("b", gradlite.zeros(2))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        BadBuffer()


def test_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(gradlite.zeros(2))
    m.sub = nn.Linear(2, 2)
    m.register_buffer("b", gradlite.ones(2))
    m.plain = gradlite.zeros(3)  # a plain tensor attribute is neither parameter nor buffer
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["b"]
    assert "plain" not in m.state_dict()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = gradlite.zeros(2)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'sub'"):
        m.sub = 3
    with pytest.raises(TypeError, match="cannot assign 'int' as buffer 'b'"):
        m.b = 3
    m.w = None
    assert m.w is None and "w" not in m.state_dict()
    m.b = gradlite.zeros(2)  # reassigning a buffer keeps it a buffer
    assert "b" in m.state_dict()
    del m.sub
    assert not hasattr(m, "sub")
    with pytest.raises(KeyError, match=r'contain "\."'):
        m.register_parameter("a.b", None)
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'missing'"):
        _ = m.missing


def test_shared_parameters_are_listed_once():
    fc = nn.Linear(3, 3)
    m = nn.Sequential(fc, nn.ReLU(), fc)
    assert len(list(m.parameters())) == 2
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(m.modules())) == 3


def test_state_dict_errors_match_torch(device, torch):
    tm = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    gm = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    sd = state_from_torch(tm, device)
    del sd["2.bias"]
    sd["extra.weight"] = gradlite.zeros(1, device=device)
    with pytest.raises(RuntimeError) as g_err:
        gm.load_state_dict(sd)
    tsd = tm.state_dict()
    del tsd["2.bias"]
    tsd["extra.weight"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as t_err:
        tm.load_state_dict(tsd)
    assert str(g_err.value) == str(t_err.value)
    # strict=False loads what matches and reports the rest
    before = to_numpy(gm[2].bias).copy()
    res = gm.load_state_dict(sd, strict=False)
    assert res.missing_keys == ["2.bias"] and res.unexpected_keys == ["extra.weight"]
    assert_close(gm[0].weight, tm[0].weight)
    np.testing.assert_array_equal(to_numpy(gm[2].bias), before)
    # a size mismatch is an error even with strict=False; nothing is written then
    bad = state_from_torch(tm, device)
    bad["0.weight"] = gradlite.zeros(5, 3, device=device)
    with pytest.raises(
        RuntimeError,
        match=r"size mismatch for 0.weight: copying a param with shape "
        r".*\[5, 3\].* the shape in current model is .*\[4, 3\]",
    ):
        gm.load_state_dict(bad, strict=False)
    with pytest.raises(RuntimeError, match="expected torch.Tensor"):
        gm.load_state_dict({**state_from_torch(tm, device), "0.bias": [1, 2, 3, 4]})


def test_load_state_dict_copies_in_place_or_assigns(device):
    m = nn.Linear(2, 3).to(device)
    w = m.weight
    sd = {"weight": gradlite.ones(3, 2, device=device), "bias": gradlite.zeros(3, device=device)}
    m.load_state_dict(sd)
    assert m.weight is w and float(m.weight.sum()) == 6.0 and m.weight.requires_grad
    sd["weight"].fill_(2.0)
    assert float(m.weight.sum()) == 6.0  # copied, not aliased
    m.load_state_dict(sd, assign=True)
    assert m.weight is not w and isinstance(m.weight, nn.Parameter) and m.weight.requires_grad
    assert float(m.weight.sum()) == 12.0


def test_state_dict_detached_and_keep_vars(device):
    m = nn.Linear(2, 3).to(device)
    sd = m.state_dict()
    assert not sd["weight"].requires_grad and not isinstance(sd["weight"], nn.Parameter)
    assert m.state_dict(keep_vars=True)["weight"] is m.weight
    assert list(m.state_dict(prefix="enc.")) == ["enc.weight", "enc.bias"]


def test_train_eval_requires_grad_zero_grad(device):
    m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Sequential(nn.BatchNorm1d(2))).to(device)
    assert all(x.training for x in m.modules())
    assert m.eval() is m and not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("no")
    m(gradlite.randn(4, 2, device=device)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_train_recurses_through_overrides():
    seen = []

    class Frozen(nn.Module):
        def train(self, mode=True):
            seen.append(mode)
            return super().train(False)

    m = nn.Sequential(Frozen())
    m.train()
    assert seen == [True] and not m[0].training and m.training


def test_to_dtype_and_device(device):
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    w = m[0].weight
    m.to(device).double()
    assert m[0].weight is w and w.dtype is gradlite.float64 and w.device.type == device
    assert m[1].running_mean.dtype is gradlite.float64
    assert m[1].num_batches_tracked.dtype is gradlite.int64  # integer buffers keep their dtype
    y = m(gradlite.randn(4, 2, dtype=gradlite.float64, device=device))
    assert y.dtype is gradlite.float64
    m.float().cpu()
    assert w.dtype is gradlite.float32 and w.device.type == "cpu"
    with pytest.raises(TypeError, match="floating point"):
        m.to(gradlite.int64)


@pytest.mark.gpu
@pytest.mark.skipif(not gradlite.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_moves_parameters_grads_and_buffers():
    m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    m(gradlite.randn(4, 2)).sum().backward()
    m.cuda()
    assert all(t.device.type == "cuda" for t in list(m.parameters()) + list(m.buffers()))
    assert all(p.grad.device.type == "cuda" for p in m.parameters())
    m.cpu()
    assert all(t.device.type == "cpu" for t in list(m.parameters()) + list(m.buffers()))


def test_apply_visits_children_first():
    order = []
    m = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    assert m.apply(lambda x: order.append(type(x).__name__)) is m
    assert order == ["Linear", "ReLU", "Sequential", "Sequential"]
    m.apply(lambda x: nn.init.zeros_(x.weight) if isinstance(x, nn.Linear) else None)
    assert float(m[0].weight.abs().sum()) == 0


def test_forward_hooks(device):
    m = nn.Linear(2, 2).to(device)
    calls = []
    h1 = m.register_forward_pre_hook(lambda mod, args: (args[0] * 0,))
    h2 = m.register_forward_hook(lambda mod, args, out: calls.append(out.shape) or out + 1)
    h3 = m.register_forward_pre_hook(lambda mod, args: calls.append("first"), prepend=True)
    y = m(gradlite.ones(3, 2, device=device))
    assert_close(y, (m.bias + 1).expand(3, 2))
    assert calls == ["first", gradlite.Size([3, 2])]
    h4 = m.register_forward_hook(lambda mod, args, kwargs, out: out * kwargs.get("k", 1), with_kwargs=True)
    for h in (h1, h2, h3):
        h.remove()
    x = gradlite.ones(3, 2, device=device)
    assert_close(m(x), m.forward(x))
    h4.remove()
    with m.register_forward_hook(lambda mod, args, out: out * 0):
        assert float(m(x).abs().sum()) == 0
    assert float(m(x).abs().sum()) > 0


def test_get_submodule_parameter_buffer():
    m = nn.Sequential(OrderedDict(enc=nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))))
    assert m.get_submodule("enc.1") is m.enc[1]
    assert m.get_parameter("enc.0.weight") is m.enc[0].weight
    assert m.get_buffer("enc.1.running_mean") is m.enc[1].running_mean
    with pytest.raises(AttributeError, match="has no attribute `dec`"):
        m.get_submodule("dec")


# -- containers ------------------------------------------------------------------------------------------
def layers(lib):
    return [
        lib.nn.Linear(4, 8),
        lib.nn.ReLU(),
        lib.nn.Dropout(0.25),
        lib.nn.Linear(8, 2, bias=False),
        lib.nn.LogSoftmax(dim=1),
    ]


def test_sequential_matches_torch(device, torch):
    tm, gm = torch.nn.Sequential(*layers(torch)), nn.Sequential(*layers(gradlite)).to(device)
    copy_from_torch(gm, tm, device)
    assert repr(gm) == repr(tm)
    tm.eval()
    gm.eval()
    check_module(torch, gm, tm, [np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)], device)
    # named children from an OrderedDict
    names = OrderedDict([("fc1", nn.Linear(4, 8)), ("act", nn.ReLU())])
    tnames = OrderedDict([("fc1", torch.nn.Linear(4, 8)), ("act", torch.nn.ReLU())])
    assert repr(nn.Sequential(names)) == repr(torch.nn.Sequential(tnames))
    assert list(nn.Sequential(names).state_dict()) == list(torch.nn.Sequential(tnames).state_dict())


def test_sequential_indexing_slicing_append():
    s = nn.Sequential(*layers(gradlite))
    assert len(s) == 5 and isinstance(s[0], nn.Linear) and isinstance(s[-1], nn.LogSoftmax)
    sub = s[1:3]
    assert isinstance(sub, nn.Sequential) and list(sub._modules) == ["1", "2"] and sub[0] is s[1]
    s.append(nn.Identity())
    assert len(s) == 6 and isinstance(s[5], nn.Identity)
    s[0] = nn.Linear(4, 8)
    del s[1]
    assert list(s._modules) == [str(i) for i in range(5)] and isinstance(s[1], nn.Dropout)
    s.insert(0, nn.Identity())
    assert isinstance(s[0], nn.Identity) and len(s) == 6
    assert [type(m).__name__ for m in s][:2] == ["Identity", "Linear"]
    with pytest.raises(IndexError, match="out of range"):
        s[10]


def test_module_list_and_dict(torch):
    tl = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)] + [torch.nn.ReLU()])
    gl = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)] + [nn.ReLU()])
    assert repr(gl) == repr(tl)  # "(0-2): 3 x Linear(...)"
    assert list(gl.state_dict()) == list(tl.state_dict())
    gl.append(nn.Tanh())
    gl.extend([nn.Sigmoid()])
    gl.insert(0, nn.Identity())
    assert len(gl) == 7 and isinstance(gl[0], nn.Identity) and isinstance(gl[-1], nn.Sigmoid)
    assert len(gl[1:3]) == 2
    with pytest.raises(NotImplementedError, match="not callable"):
        gl(gradlite.zeros(1))
    td = torch.nn.ModuleDict({"b": torch.nn.Linear(2, 2), "a": torch.nn.ReLU()})
    gd = nn.ModuleDict({"b": nn.Linear(2, 2), "a": nn.ReLU()})
    assert repr(gd) == repr(td) and list(gd.keys()) == ["b", "a"]
    assert list(gd.state_dict()) == list(td.state_dict())
    gd["c"] = nn.Tanh()
    assert "c" in gd and len(gd) == 3 and isinstance(gd.pop("c"), nn.Tanh) and "c" not in gd


def test_parameter_list_and_dict(device, torch):
    pl = nn.ParameterList([nn.Parameter(gradlite.zeros(2, 3)), gradlite.ones(4)])
    tl = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2, 3)), torch.ones(4)])
    assert isinstance(pl[1], nn.Parameter) and pl[1].requires_grad
    assert list(pl.state_dict()) == list(tl.state_dict()) == ["0", "1"]
    assert repr(pl) == repr(tl).replace("torch.", "gradlite.")
    pl.append(gradlite.zeros(1))
    assert len(pl) == 3 and len(list(pl.parameters())) == 3
    pd = nn.ParameterDict({"w": gradlite.zeros(2), "v": nn.Parameter(gradlite.ones(1))})
    td = torch.nn.ParameterDict({"w": torch.zeros(2), "v": torch.nn.Parameter(torch.ones(1))})
    assert list(pd.state_dict()) == list(td.state_dict())
    assert repr(pd) == repr(td).replace("torch.", "gradlite.")
    assert isinstance(pd["w"], nn.Parameter) and set(pd.keys()) == {"w", "v"}
    del pd["w"]
    assert "w" not in pd and list(pd.state_dict()) == ["v"]

    class UsesList(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([gradlite.ones(2) for _ in range(3)])

        def forward(self, x):
            for w in self.ws:
                x = x * w
            return x.sum()

    m = UsesList().to(device)
    m(gradlite.full((2,), 2.0, device=device)).backward()
    assert all(float(w.grad.sum()) == 4.0 for w in m.ws)


def test_full_backward_hooks_match_torch(device, torch):
    def run(lib, dev):
        m = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
        with lib.no_grad():
            for i, p in enumerate(m.parameters()):
                p.copy_(lib.linspace(-1, 1, p.numel()).reshape(p.shape) * (i + 1))
        m = m.to(dev)
        seen = []

        def lin_hook(mod, grad_input, grad_output):
            seen.append([None if g is None else to_numpy(g) for g in grad_input + grad_output])
            return (grad_input[0] * 3,)  # replaces the gradient w.r.t. the input

        def pre_hook(mod, grad_output):
            seen.append([to_numpy(g) for g in grad_output])
            return (grad_output[0] + 1,)

        h1 = m[0].register_full_backward_hook(lin_hook)
        m[1].register_full_backward_pre_hook(pre_hook)
        x = lib.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 2.0]], requires_grad=True, device=dev)
        m(x).sum().backward()
        h1.remove()
        x2 = lib.tensor([[1.0, -2.0, 0.5]], requires_grad=True, device=dev)
        m(x2).sum().backward()  # the removed hook no longer scales x2's gradient
        return seen, to_numpy(x.grad), to_numpy(x2.grad), [to_numpy(p.grad) for p in m.parameters()]

    t_seen, t_gx, t_gx2, t_gp = run(torch, "cpu")
    g_seen, g_gx, g_gx2, g_gp = run(gradlite, device)
    assert len(g_seen) == len(t_seen) == 3
    for a, b in zip(g_seen, t_seen, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_gx, t_gx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_gx2, t_gx2, rtol=1e-5, atol=1e-6)
    for a, b in zip(g_gp, t_gp, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_backward_hook_without_input_grad_and_bad_return(device):
    m = nn.Linear(3, 2).to(device)
    got = []
    m.register_full_backward_hook(lambda mod, gi, go: got.append((gi, go[0].shape)))
    with pytest.warns(UserWarning, match="no inputs require gradients"):
        m(gradlite.ones(4, 3, device=device)).sum().backward()
    assert got == [((None,), gradlite.Size([4, 2]))]
    m2 = nn.Linear(3, 2).to(device)
    m2.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="invalid number of grad_input, got 2, but expected 1"):
        m2(gradlite.ones(4, 3, device=device, requires_grad=True)).sum().backward()
    with gradlite.no_grad():  # no graph: hooks are not involved
        assert m2(gradlite.ones(1, 3, device=device)).shape == (1, 2)


def test_training_steps_match_torch(device, torch):
    """A few SGD steps through conv, batch norm, pooling, an LSTM and a loss: identical trajectories."""

    def make(lib):
        class Net(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = lib.nn.Sequential(
                    lib.nn.Conv2d(1, 3, 3, padding=1),
                    lib.nn.BatchNorm2d(3),
                    lib.nn.ReLU(),
                    lib.nn.MaxPool2d(2),
                )
                self.rnn = lib.nn.LSTM(9, 6, batch_first=True)
                self.head = lib.nn.Linear(6, 4)

            def forward(self, x):
                h = self.conv(x)  # (N, 3, 3, 3): a sequence of 3 rows of 9 features
                out, _ = self.rnn(h.permute(0, 2, 1, 3).flatten(2))
                return self.head(out[:, -1])

        return Net()

    tm, gm = make(torch), make(gradlite).to(device)
    copy_from_torch(gm, tm, device)
    t_opt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    g_opt = gradlite.optim.SGD(gm.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.standard_normal((5, 1, 6, 6)).astype(np.float32)
        y = rng.integers(0, 4, 5)
        t_loss = torch.nn.functional.cross_entropy(tm(torch.tensor(x)), torch.tensor(y))
        g_loss = gradlite.nn.functional.cross_entropy(
            gm(gradlite.tensor(x, device=device)), gradlite.tensor(y, device=device)
        )
        np.testing.assert_allclose(g_loss.item(), t_loss.item(), rtol=1e-4)
        for opt, loss in ((t_opt, t_loss), (g_opt, g_loss)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    for k, v in tm.state_dict().items():
        assert_close(gm.state_dict()[k], v, rtol=1e-4, atol=1e-5)
