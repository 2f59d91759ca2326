"""The training examples reach their figures at reduced sizes (the full-size figures are quoted in the
examples' docs): MLP and CNN on the 8x8 digits, and the character LSTM/GRU."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytest.importorskip("sklearn")


def _load(name: str):
    if str(EXAMPLES) not in sys.path:  # the examples import their shared helpers from their folder
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _main(name: str, argv: list[str]) -> tuple[dict, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = _load(name).main(argv)
    return result, out.getvalue()


def test_mnist_mlp_reduced(device, tmp_path):
    result, log = _main("mnist_mlp", ["--device", device, "--epochs", "8", "--quiet", "--out", str(tmp_path)])
    assert result["test_accuracy"] >= 0.93
    assert result["final_train_loss"] < 0.5 * result["first_train_loss"]
    assert result["reloaded_test_accuracy"] == result["test_accuracy"]
    assert os.path.getsize(result["checkpoint"]) > 0
    if result["figure"] is not None:
        assert Path(result["figure"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "epoch   8/8" in log and "test accuracy" in log


def test_mnist_mlp_small_training_set(tmp_path):
    argv = ["--epochs", "8", "--limit", "400", "--batch-size", "32", "--quiet", "--out", str(tmp_path)]
    result, _ = _main("mnist_mlp", argv)
    assert result["test_accuracy"] >= 0.85
    assert result["reloaded_test_accuracy"] == result["test_accuracy"]


def test_cnn_digits_reduced(device, tmp_path):
    result, log = _main(
        "cnn_digits", ["--device", device, "--epochs", "5", "--quiet", "--out", str(tmp_path)]
    )
    assert result["test_accuracy"] >= 0.93
    assert result["reloaded_test_accuracy"] == result["test_accuracy"]
    assert result["final_train_loss"] < 0.3 * result["first_train_loss"]
    assert "epoch   5/5" in log


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_char_rnn_reduced(cell, device, tmp_path):
    argv = [
        "--device",
        device,
        "--cell",
        cell,
        "--epochs",
        "4",
        "--hidden",
        "64",
        "--sample-length",
        "40",
        "--quiet",
        "--out",
        str(tmp_path),
    ]
    result, log = _main("char_rnn", argv)
    assert result["final_train_loss"] < 0.8 * result["uniform_loss"]
    assert result["final_val_loss"] < result["uniform_loss"]
    assert result["final_train_loss"] < result["first_train_loss"]
    assert result["sample"].startswith("The keeper ") and len(result["sample"]) == len("The keeper ") + 40
    assert "sample:" in log


@pytest.mark.slow
def test_examples_full_size(tmp_path):
    mlp, _ = _main("mnist_mlp", ["--quiet", "--out", str(tmp_path)])
    assert mlp["test_accuracy"] >= 0.97
    cnn, _ = _main("cnn_digits", ["--quiet", "--out", str(tmp_path)])
    assert cnn["test_accuracy"] >= 0.97
    rnn, _ = _main("char_rnn", ["--quiet", "--out", str(tmp_path)])
    assert rnn["final_train_loss"] < 0.3 * rnn["uniform_loss"]
