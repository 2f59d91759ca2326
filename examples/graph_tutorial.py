"""See the graph autograd records for the tutorial program ``z = ((x + 2) * (x + 2) * 2).mean()``:
print it as a tree, write it as SVG (and DOT) into examples/out/, then narrate the backward pass.

Run: python examples/graph_tutorial.py [--device cuda]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import gradlite as torch
from gradlite.autograd import graph

OUT = Path(__file__).resolve().parent / "out"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args(argv)

    x = torch.ones(2, 2, requires_grad=True, device=args.device)
    z = ((x + 2) * (x + 2) * 2).mean()
    names = {"x": x, "z": z}

    print("1. the graph behind z, from z down to the leaf x")
    print(graph.text(z, params=names))

    OUT.mkdir(exist_ok=True)
    view = graph.draw(z, params=names)
    svg_path, dot_path = OUT / "graph_tutorial.svg", OUT / "graph_tutorial.dot"
    view.save(svg_path)
    view.save(dot_path)
    print(
        f"\n2. wrote {svg_path} (open it in a browser; in Jupyter, `graph.draw(z)` shows it inline) and "
        f"{dot_path}"
    )

    print("\n3. backward, node by node")
    graph.explain_backward(z, params=names)
    # z = mean(2 (x + 2)^2) over 4 elements, so dz/dx = 4 (x + 2) / 4 = 3 at x = 1
    print(f"\nx.grad = {x.grad.tolist()}  (expected 3 everywhere)")
    return {"svg": str(svg_path), "grad": x.grad.tolist()}


if __name__ == "__main__":
    main()
