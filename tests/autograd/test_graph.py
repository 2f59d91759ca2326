"""The graph view (text, DOT, SVG) and explain_backward."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest

import gradlite
from gradlite.autograd import graph


def _tutorial(device):
    x = gradlite.ones(2, 2, requires_grad=True, device=device)
    z = ((x + 2) * (x + 2) * 2).mean()
    return x, z


def test_text_tree(device):
    x, z = _tutorial(device)
    out = graph.text(z, params={"x": x, "z": z})
    lines = out.splitlines()
    assert lines[0] == f"z: float32[] {z.device}"
    names = [re.sub(r"^[\s│├└─]*", "", ln).split(" ->")[0] for ln in lines[1:]]
    assert names == [
        "MeanBackward0",
        "MulBackward0",
        "MulBackward0",
        "AddBackward0",
        "x",
        "AddBackward0",
        "x",
    ]
    assert "MulBackward0 -> float32[2, 2]" in out and "(leaf, accumulates .grad)" in out


def test_text_marks_shared_nodes_once(device):
    x = gradlite.ones(3, requires_grad=True, device=device)
    y = x.exp()
    z = (y * 2 + y * 3).sum()
    out = graph.text(z)
    assert out.count("ExpBackward0 -> float32[3]") == 2 and out.count("(see above)") == 1


def test_svg_has_node_labels_and_parses(device):
    x, z = _tutorial(device)
    view = graph.draw(z, params={"x": x, "z": z})
    svg = view._repr_svg_()
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    bold = [t.text for t in root.iter(f"{ns}text") if t.get("font-weight") == "bold"]
    assert sorted(bold) == sorted(
        ["x", "AddBackward0", "AddBackward0", "MulBackward0", "MulBackward0", "MeanBackward0", "z"]
    )
    details = [t.text for t in root.iter(f"{ns}text") if t.get("font-weight") != "bold"]
    assert "float32[2, 2] " + str(gradlite.empty(0, device=device).device) in details
    assert len(list(root.iter(f"{ns}line"))) == 7  # x->add x2, add->mul x2, mul->mul, mul->mean, mean->z
    # forward direction: the leaf is drawn above the output
    ys = {t.text: float(t.get("y")) for t in root.iter(f"{ns}text") if t.get("font-weight") == "bold"}
    assert ys["x"] < ys["AddBackward0"] < ys["MeanBackward0"] < ys["z"]


def test_dot(device):
    x, z = _tutorial(device)
    out = graph.dot(z, params={"x": x})
    assert out.startswith("digraph") and out.count("->") == 7 and 'label="MeanBackward0\\nfloat32[] ' in out


def test_save(tmp_path, device):
    x, z = _tutorial(device)
    view = graph.draw(z)
    for name in ("g.svg", "g.dot", "g.txt"):
        view.save(tmp_path / name)
    assert (tmp_path / "g.svg").read_text().startswith("<svg")
    assert (tmp_path / "g.dot").read_text().startswith("digraph")
    assert "MeanBackward0" in (tmp_path / "g.txt").read_text()


def test_leaf_and_constant(device):
    x = gradlite.ones(2, requires_grad=True, device=device)
    assert graph.text(x, params={"x": x}) == f"x: float32[2] {x.device} (leaf)"
    c = gradlite.ones(2, device=device)
    assert "output: float32[2]" in graph.text(c)


def test_explain_backward_order_and_accumulation(torch, device):
    x, z = _tutorial(device)
    buf = io.StringIO()
    lines = graph.explain_backward(z, params={"x": x, "z": z}, file=buf)
    assert buf.getvalue().splitlines() == lines
    steps = [ln.split(". ", 1)[1].split(":")[0] for ln in lines if re.match(r"\s*\d+\. ", ln)]
    assert steps == [
        "MeanBackward0",
        "MulBackward0",
        "MulBackward0",
        "AddBackward0",
        "AddBackward0",
        "accumulate grad [2, 2] into .grad of leaf x float32[2, 2]",
    ]
    assert "-> grad [2, 2] to AddBackward0" in "\n".join(lines)
    # it ran a real backward: the gradient is PyTorch's
    tx = torch.ones(2, 2, requires_grad=True, device=device)
    ((tx + 2) * (tx + 2) * 2).mean().backward()
    assert x.grad.tolist() == tx.grad.tolist()


def test_explain_backward_leaves_engine_clean(device):
    from gradlite.autograd import engine

    x, z = _tutorial(device)
    with pytest.raises(RuntimeError):
        graph.explain_backward(z * x, file=io.StringIO())  # not a scalar
    assert engine.observer is None


def test_graph_tutorial_example_writes_svg(tmp_path, monkeypatch):
    import examples.graph_tutorial as ex

    monkeypatch.setattr(ex, "OUT", tmp_path)
    res = ex.main([])
    assert res["grad"] == [[3.0, 3.0], [3.0, 3.0]]
    svg = (tmp_path / "graph_tutorial.svg").read_text()
    for label in ("MeanBackward0", "MulBackward0", "AddBackward0", ">x<", ">z<"):
        assert label in svg


def test_qualified_node_names_match_torch(torch, device):
    # name() of PyTorch's C++-only nodes is qualified; the class and the repr use the short name
    def program(lib, dev):
        a = lib.ones(2, device=dev, requires_grad=True)
        nodes = ((a * 2).grad_fn.next_functions[0][0], (a * 2).floor_divide(0.5).grad_fn)
        return [(n.name(), type(n).__name__, repr(n).split(" object")[0]) for n in nodes]

    ours, ref = program(gradlite, device), program(torch, "cpu")
    assert ours == ref == [
        ("torch::autograd::AccumulateGrad", "AccumulateGrad", "<AccumulateGrad"),
        ("torch::autograd::NotImplemented", "NotImplemented", "<NotImplemented"),
    ]


def _chain(n, device="cpu"):
    x = gradlite.ones(2, requires_grad=True, device=device)
    y = x
    for _ in range(n):
        y = y * 1.0
    return y


def test_text_of_a_long_chain_is_linear():
    # issue 17 F25: every line repeated the indentation of all levels above it (24 MB for 4,000 ops)
    small, big = graph.text(_chain(2000)), graph.text(_chain(4000))
    assert len(big) < 2.2 * len(small) and len(big) < 4000 * 150
    assert big.count("MulBackward0 -> float32[2]") == 4000
    assert max(len(line) for line in big.splitlines()) < 200
    assert "indentation restarts" in big
    # the tree above the restart is unchanged
    assert big.splitlines()[2] == "   └─ MulBackward0 -> float32[2] cpu"


def test_text_of_a_200000_op_chain():
    # issue 17 F25: MemoryError at 200,000 ops
    out = graph.text(_chain(200_000))
    assert out.count("MulBackward0") >= 200_000 and len(out) < 200_000 * 150
