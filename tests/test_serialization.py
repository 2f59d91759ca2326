"""``gradlite.save`` / ``gradlite.load``: round trips of tensors and nested structures, module and optimizer
state dicts, map_location, and clear errors for corrupt, truncated, tampered or pickled files."""

from __future__ import annotations

import io
import json
import math
from collections import OrderedDict

import numpy as np
import pytest

import gradlite
from gradlite import nn, optim
from tests.conftest import HAS_CUDA, STRICT, to_numpy

DTYPES = ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "bool"]
DTYPES.insert(
    2, pytest.param("float16", marks=pytest.mark.skipif(STRICT, reason="array_api_strict has no float16"))
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tensor_round_trip_keeps_dtype_shape_values(dtype, device, tmp_path):
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((3, 4)) * 10).astype(dtype)
    t = gradlite.tensor(values, device=device)
    path = tmp_path / "t.pt"
    gradlite.save(t, path)
    back = gradlite.load(path)
    assert isinstance(back, gradlite.Tensor) and back.dtype == t.dtype and back.shape == (3, 4)
    assert back.device == t.device
    np.testing.assert_array_equal(to_numpy(back), values)


def test_scalar_and_empty_tensors(tmp_path):
    obj = [gradlite.tensor(3.5), gradlite.zeros(0, 4), gradlite.tensor(7)]
    gradlite.save(obj, tmp_path / "x")
    a, b, c = gradlite.load(tmp_path / "x")
    assert a.shape == () and a.item() == 3.5 and b.shape == (0, 4) and c.dtype == gradlite.int64


def test_nested_structure_round_trip(tmp_path):
    w = gradlite.randn(2, 2)
    obj = {
        "model": OrderedDict([("w", w), ("b", gradlite.zeros(2))]),
        "epoch": 12,
        "big": 2**70,
        "lr": 1e-3,
        "special": [math.inf, -math.inf],
        "flags": (True, False, None),
        "name": "run-ü-\u2603",
        3: "int key",
        (1, "a"): ["tuple", "key"],
        "same_twice": [w, w],
        "array": np.arange(4, dtype=np.int16),
        "dtype": gradlite.float64,
        "device": gradlite.device("cpu"),
        "nan": math.nan,
    }
    path = tmp_path / "nested.ckpt"
    gradlite.save(obj, path)
    back = gradlite.load(path)
    assert isinstance(back["model"], OrderedDict) and list(back["model"]) == ["w", "b"]
    np.testing.assert_array_equal(to_numpy(back["model"]["w"]), to_numpy(w))
    assert back["epoch"] == 12 and back["big"] == 2**70 and back["lr"] == 1e-3
    assert back["special"] == [math.inf, -math.inf] and math.isnan(back["nan"])
    assert back["flags"] == (True, False, None) and type(back["flags"]) is tuple
    assert back["name"] == "run-ü-\u2603" and back[3] == "int key" and back[(1, "a")] == ["tuple", "key"]
    assert back["same_twice"][0] is back["same_twice"][1] is back["model"]["w"]
    assert back["array"].dtype == np.int16 and back["array"].tolist() == [0, 1, 2, 3]
    assert back["dtype"] is gradlite.float64 and back["device"] == gradlite.device("cpu")


def test_requires_grad_and_parameters_restored(tmp_path):
    p = nn.Parameter(gradlite.ones(2))
    t = gradlite.ones(2, requires_grad=True)
    gradlite.save({"p": p, "t": t, "plain": gradlite.ones(1)}, tmp_path / "g")
    back = gradlite.load(tmp_path / "g")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert back["t"].requires_grad and back["t"].is_leaf and not back["plain"].requires_grad


def test_module_and_optimizer_state_dicts(device, tmp_path):
    model = nn.Linear(3, 2).to(device)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(gradlite.randn(4, 3, device=device)).sum().backward()
    opt.step()
    gradlite.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "ck")
    ck = gradlite.load(tmp_path / "ck")
    assert set(ck["optim"]["state"]) == {0, 1}
    model2 = nn.Linear(3, 2).to(device)
    model2.load_state_dict(ck["model"])
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    opt2.load_state_dict(ck["optim"])
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    assert opt2.state[model2.weight]["exp_avg"].device == model2.weight.device


def test_file_objects():
    buf = io.BytesIO()
    gradlite.save({"x": gradlite.arange(3)}, buf)
    buf.seek(0)
    assert to_numpy(gradlite.load(buf)["x"]).tolist() == [0, 1, 2]


def test_unsupported_objects_raise_and_write_nothing(tmp_path):
    path = tmp_path / "bad"
    with pytest.raises(TypeError, match=r"cannot store an object of type set \(at obj\['s'\]\)"):
        gradlite.save({"s": {1, 2}}, path)
    with pytest.raises(TypeError, match="cannot store"):
        gradlite.save([lambda: 0], path)
    assert not path.exists()


# -- corrupt files ---------------------------------------------------------------------------------------
def _saved(tmp_path) -> bytes:
    path = tmp_path / "good.ckpt"
    gradlite.save({"w": gradlite.randn(50, 50), "step": 3}, path)
    return path.read_bytes()


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.99])
def test_truncated_file(keep, tmp_path):
    data = _saved(tmp_path)
    path = tmp_path / "truncated.ckpt"
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(RuntimeError, match="truncated.ckpt.*not a valid gradlite checkpoint"):
        gradlite.load(path)


def test_garbage_and_flipped_bytes(tmp_path):
    path = tmp_path / "garbage.ckpt"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(RuntimeError, match="garbage.ckpt"):
        gradlite.load(path)
    data = bytearray(_saved(tmp_path))
    data[len(data) // 3] ^= 0xFF  # inside the 'w' array: the zip CRC catches it
    path = tmp_path / "flipped.ckpt"
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="flipped.ckpt"):
        gradlite.load(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        gradlite.load(tmp_path / "nope")


def _rewrite(path, edit_index=None, extra=None):
    """Rewrite a checkpoint with its JSON index changed by ``edit_index`` (and extra arrays)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    index = json.loads(arrays["__index__"].tobytes())
    if edit_index:
        edit_index(index)
    arrays["__index__"] = np.frombuffer(json.dumps(index).encode(), dtype=np.uint8)
    arrays.update(extra or {})
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _first_item_value(index):
    return index["root"]["items"][0][1]


TAMPER = {
    "dtype": (lambda ix: _first_item_value(ix).update(dtype="float64"), "index says float64"),
    "shape": (lambda ix: _first_item_value(ix).update(shape=[49, 50]), "index says"),
    "missing array": (lambda ix: _first_item_value(ix).update(key="t99"), "not in the archive"),
    "index as array": (lambda ix: _first_item_value(ix).update(key="__index__"), "not in the archive"),
    "unknown type": (lambda ix: _first_item_value(ix).update(type="pickle"), "unknown entry type 'pickle'"),
    "format": (lambda ix: ix.update(format="other"), "not a gradlite checkpoint index"),
    "version": (lambda ix: ix.update(version=99), "unsupported checkpoint version 99"),
    "bad dtype": (lambda ix: _first_item_value(ix).update(dtype="object"), "unsupported dtype 'object'"),
    "bad int": (lambda ix: ix["root"]["items"][1][1].update(v="3"), "index entry of type int"),
    "no root": (lambda ix: ix.pop("root"), "root"),
}


@pytest.mark.parametrize("case", list(TAMPER))
def test_tampered_index(case, tmp_path):
    path = tmp_path / "tampered.ckpt"
    path.write_bytes(_saved(tmp_path))
    edit, message = TAMPER[case]
    _rewrite(path, edit)
    with pytest.raises(RuntimeError, match="tampered.ckpt") as info:
        gradlite.load(path)
    assert message in str(info.value)


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / "pickled.ckpt"
    path.write_bytes(_saved(tmp_path))
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["t0"] = np.array([{"evil": 1}], dtype=object)  # stored with pickle by np.savez
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    with pytest.raises(RuntimeError, match="pickled.ckpt"):
        gradlite.load(path)


def test_not_a_checkpoint_npz(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.ones(3))
    with pytest.raises(RuntimeError, match="plain.npz.*no __index__"):
        gradlite.load(path)


# -- devices -------------------------------------------------------------------------------------------
def _as_cuda_checkpoint(tmp_path):
    """A checkpoint whose tensors were saved from cuda:0 (written by editing the recorded device, so this
    runs without a GPU: exactly what a CPU-only machine sees when it receives a GPU checkpoint)."""
    path = tmp_path / "gpu.ckpt"
    gradlite.save({"w": gradlite.arange(4.0), "n": 1}, path)

    def to_cuda(ix):
        ix["root"]["items"][0][1]["device"] = "cuda:0"

    _rewrite(path, to_cuda)
    return path


@pytest.mark.parametrize("location", ["cpu", gradlite.device("cpu"), {"cuda:0": "cpu"}])
def test_cuda_checkpoint_maps_to_cpu(location, tmp_path):
    back = gradlite.load(_as_cuda_checkpoint(tmp_path), map_location=location)
    assert back["w"].device == gradlite.device("cpu") and to_numpy(back["w"]).tolist() == [0, 1, 2, 3]


@pytest.mark.skipif(HAS_CUDA, reason="checks the error on a machine without CUDA")
def test_cuda_checkpoint_without_cuda_names_map_location(tmp_path):
    with pytest.raises(RuntimeError, match="map_location='cpu'"):
        gradlite.load(_as_cuda_checkpoint(tmp_path))
    with pytest.raises(RuntimeError, match="CUDA"):
        gradlite.load(tmp_path / "gpu.ckpt", map_location="cuda")


def test_map_location_to_device(device, tmp_path):
    gradlite.save({"w": gradlite.ones(2)}, tmp_path / "c")
    back = gradlite.load(tmp_path / "c", map_location=device)
    assert back["w"].device.type == device
    with pytest.raises(TypeError, match="map_location"):
        gradlite.load(tmp_path / "c", map_location=3.5)


@pytest.mark.gpu
@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA device and CuPy")
def test_real_cuda_checkpoint_round_trip(tmp_path):
    t = gradlite.randn(3, device="cuda")
    gradlite.save({"t": t}, tmp_path / "g")
    assert gradlite.load(tmp_path / "g")["t"].device == gradlite.device("cuda:0")
    cpu = gradlite.load(tmp_path / "g", map_location="cpu")["t"]
    assert cpu.device == gradlite.device("cpu")
    np.testing.assert_array_equal(to_numpy(cpu), to_numpy(t))
