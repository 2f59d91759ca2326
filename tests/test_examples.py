"""Every example runs (small sizes) and computes the right thing; each tutorial program's text, run once
with ``torch`` bound to PyTorch and once to gradlite, prints and returns the same numbers."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import re
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# example -> argv for a small, quick run
TUTORIALS = {
    "tutorial_autograd_basics": [],
    "tutorial_manual_sgd": ["--steps", "100"],
    "tutorial_linear_regression": ["--steps", "300", "--no-plot"],
    "tutorial_detach_control_flow": [],
    "tutorial_two_layer_net": "--steps 60 --batch 16 --d-in 20 --hidden 8 --lr 0.01".split(),
}


def _run(name: str, argv: list, lib: str = "gradlite") -> tuple[dict, str]:
    """Exec the example's source with ``torch`` bound to ``lib``; return (main's result, its stdout)."""
    path = EXAMPLES / f"{name}.py"
    src = path.read_text()
    assert "import gradlite as torch\n" in src, "a tutorial imports gradlite as torch"
    if lib == "torch":
        src = src.replace("import gradlite as torch\n", "import torch\n")
    ns = {"__name__": f"example_{name}_{lib}", "__file__": str(path)}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(src, str(path), "exec"), ns)
        result = ns["main"](argv)
    return result, out.getvalue()


def _load(name: str):
    if str(EXAMPLES) not in sys.path:  # the examples import their shared helpers from their folder
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# -- each example computes what it claims -------------------------------------------------------------
def test_quickstart(device, capsys):
    res = _load("quickstart").main(["--steps", "150", "--device", device])
    assert abs(res["w"] - 3) < 0.3 and abs(res["b"] - 0.8) < 0.1
    assert res["line_loss"] < 0.05
    assert res["accuracy"] > 0.75
    assert "training accuracy" in capsys.readouterr().out


def test_autograd_basics(device):
    res, out = _run("tutorial_autograd_basics", ["--device", device])
    assert res["out"] == 27.0
    assert res["grad_mean3"] == [[4.5, 4.5], [4.5, 4.5]]
    assert res["grad_mean2"] == [[3.0, 3.0], [3.0, 3.0]]
    scale = 2.0 ** res["doublings"]
    assert res["vjp"] == pytest.approx([0.1 * scale, 1.0 * scale, 0.0001 * scale], rel=1e-6)
    assert res["y"] == pytest.approx([0.3 * scale, -0.2 * scale, 0.1 * scale], rel=1e-6)
    assert "grad_fn=<AddBackward0>" in out
    assert "tensor(27., grad_fn=<MeanBackward0>)" in out or "tensor(27., device='cuda:0', grad_fn=<MeanBackward0>)" in out


def test_manual_sgd(device):
    res, out = _run("tutorial_manual_sgd", ["--steps", "100", "--device", device])
    assert res["line"]["w"] == pytest.approx(2.0, abs=0.01)
    assert res["line"]["f5"] == pytest.approx(10.0, abs=0.05)
    q = res["quadratic"]
    assert q["w1"] == pytest.approx(1.5, abs=0.01) and q["w2"] == pytest.approx(-0.5, abs=0.01)
    assert q["b"] == pytest.approx(0.3, abs=0.01) and q["loss"] < 1e-5
    assert "Prediction after training: f(5) = 10.0" in out


def test_linear_regression_fits_and_plots(device, tmp_path):
    argv = ["--steps", "400", "--device", device, "--out", str(tmp_path)]
    res, out = _run("tutorial_linear_regression", argv)
    assert res["w"] == pytest.approx(2.0, abs=0.05) and res["b"] == pytest.approx(1.0, abs=0.05)
    assert res["loss"] < 0.012  # the noise variance is 0.01
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert res["plot"] is None and "no plot" in out
    else:
        png = Path(res["plot"])
        assert png.parent == tmp_path and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_detach_control_flow(device):
    res, _ = _run("tutorial_detach_control_flow", ["--device", device])
    assert res["detach_grad"] == [0.0, 1.0, 4.0, 9.0]
    for a, (d, grad) in res["scalar"].items():
        assert grad == pytest.approx(d / a, rel=1e-6)
    assert res["scalar"][-0.21][0] < -1000  # the else branch (times 100) was taken
    assert all(g > 0 for g in res["vector_grad"])


def test_two_layer_net_learns(device):
    argv = TUTORIALS["tutorial_two_layer_net"] + ["--device", device]
    res, out = _run("tutorial_two_layer_net", argv)
    assert res["loss"] < 0.5 * res["first_loss"]
    assert "(sigmoid): Sigmoid()" in out


# -- the same program text gives the same numbers on PyTorch ---------------------------------------------
_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?")


def _close_token(a: str, b: str) -> bool:
    """Two printed numbers agree up to float32 rounding and the last printed digit."""
    x, y = float(a), float(b)
    mant = a.split("e")[0]
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    exp = int(a.split("e")[1]) if "e" in a else 0
    unit = 10.0 ** (exp - decimals)
    return math.isclose(x, y, rel_tol=1e-4, abs_tol=2 * unit + 1e-6)


def _same_output(gl: str, th: str) -> None:
    gl_lines, th_lines = gl.splitlines(), th.replace("torch.", "gradlite.").splitlines()
    assert len(gl_lines) == len(th_lines)
    for g, t in zip(gl_lines, th_lines, strict=True):
        assert _NUM.sub("#", g) == _NUM.sub("#", t), (g, t)
        for a, b in zip(_NUM.findall(g), _NUM.findall(t), strict=True):
            assert _close_token(a, b), (g, t)


def _same_result(a, b) -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same_result(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same_result(x, y)
    elif isinstance(a, float):
        assert math.isclose(a, b, rel_tol=1e-4, abs_tol=1e-6), (a, b)
    else:
        assert a == b


@pytest.mark.parametrize("name", sorted(TUTORIALS))
def test_tutorial_program_matches_pytorch(name, torch_cpu):
    gl_res, gl_out = _run(name, TUTORIALS[name], "gradlite")
    th_res, th_out = _run(name, TUTORIALS[name], "torch")
    assert gl_out.strip(), "the tutorial prints what it computed"
    _same_output(gl_out, th_out)
    _same_result(gl_res, th_res)


def test_output_comparison_can_fail():
    """The comparison helpers reject different numbers and different text."""
    with pytest.raises(AssertionError):
        _same_output("loss 0.5000", "loss 0.5100")
    with pytest.raises(AssertionError):
        _same_output("tensor([1., 2.])", "tensor([1., 2.], requires_grad=True)")
    with pytest.raises(AssertionError):
        _same_result({"w": 2.0}, {"w": 2.01})
    _same_output("w = 1.999, x 4.0960e+02", "w = 2.000, x 4.0961e+02")
